//! Flagpole's HTTP server: the native API under `/api/v1`, the seed service's API under
//! `/flags`, health and metrics. Reads evaluate from an immutable snapshot swapped
//! atomically after every committed write; they never wait on the database.

pub mod auth;
mod error;
mod extract;
pub mod follow;
pub mod guard;
pub mod preview;
mod published;
pub mod relay;
pub mod release;
pub mod review;
mod routes;
pub mod schemas;
mod state;
pub mod stream;
pub mod telemetry;
mod ui;
mod usage;

pub use error::ApiError;
pub use preview::report::{preview, PreviewReport};
pub use published::{Published, Update};
pub use release::ReleaseConfig;
pub use routes::{app, import_document, service};
pub use state::{
    ensure_default_environments, AppState, Applied, ServerConfig, DEFAULT_ENVIRONMENTS,
};
