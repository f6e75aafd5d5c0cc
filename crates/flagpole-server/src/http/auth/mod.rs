//! Access control on HTTP: how a request proves who it is (a token, or a login
//! [`session`]) and what each route lets it do ([`policy`]: the extractor a handler takes
//! first), and CORS for the browser SDK routes ([`cors`]). Who is who (tokens, users,
//! roles) is `crate::identity`'s; tokens and users are checked in memory, so checking a
//! token never waits on the database.

pub mod cors;
pub mod policy;
pub mod session;

pub use policy::{
    readable, readable_flag, Admin, AnySdk, ClientSdk, Editor, Evaluator, FrontendSdk,
    MetricsReader, ProjectEditor, ProjectViewer, Public, SeedReader, SeedWriter, Viewer,
};
