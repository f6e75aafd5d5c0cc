//! Flagpole's HTTP server: the native API under `/api/v1`, the seed service's API under
//! `/flags`, the SDK surfaces (OFREP, Unleash, event streams), the web UI, health and
//! metrics. Reads evaluate from an immutable snapshot swapped atomically after every
//! committed write; they never wait on the database.
//!
//! The crate is in layers, each importing only those below it (ARCHITECTURE.md):
//! configuration and errors; identity, the published state, samples and usage; the
//! [`core`]; the impact [`preview`]; the one [`write`] service; [`review`] and
//! [`release`]; [`stream`], [`relay`] and [`follow`]; [`http`]; the routes and the UI.

pub mod config;
pub mod core;
pub mod diff;
mod error;
pub mod follow;
pub mod http;
pub mod identity;
pub mod preview;
mod published;
pub mod relay;
pub mod release;
pub mod review;
mod routes;
pub mod sample;
pub mod stream;
pub mod telemetry;
mod ui;
mod usage;
pub mod write;

pub use config::{Hosts, ReleaseConfig, ServerConfig, StreamConfig};
pub use core::{Applied, Core};
pub use error::ApiError;
pub use http::AppState;
pub use preview::{preview, PreviewReport};
pub use published::{Published, Update};
pub use routes::{app, service};
pub use write::environments::{ensure_default_environments, DEFAULT_ENVIRONMENTS};
pub use write::import::import_document;
