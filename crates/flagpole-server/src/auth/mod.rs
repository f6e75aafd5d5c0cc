//! Access control: who is asking ([`identity`]), how they prove it ([`secret`],
//! [`session`]), and what each route lets them do ([`policy`]). Tokens and users live in
//! the store; this process keeps them in memory (a [`Directory`], swapped whole when the
//! store's auth version moves), so checking a token never waits on the database.

pub mod cors;
pub mod identity;
pub mod issue;
pub mod policy;
pub mod secret;
pub mod session;

pub use identity::{Directory, Kind, Principal, Role, Who};
pub use policy::{
    Admin, AnySdk, ClientSdk, Editor, Evaluator, FrontendSdk, MetricsReader, Public, SeedReader,
    SeedWriter, Viewer,
};
