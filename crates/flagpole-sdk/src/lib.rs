//! The Flagpole Rust SDK: feature flags evaluated in process, kept current over
//! Flagpole's change stream.
//!
//! A [`Client`] connects to a Flagpole server with a client token, fetches its
//! environment's flags once, and evaluates them in memory with `flagpole-core`, the
//! engine the server itself uses, so every answer is the server's answer (random
//! stickiness aside) and no evaluation makes a request. A background task follows the
//! native change stream (`GET /api/v1/environments/{env}/stream`) and swaps in each
//! change as it comes, typically within milliseconds of the write; when the stream
//! cannot be had it reconnects with backoff and polls meanwhile (with ETags, see
//! [`ClientBuilder::poll_interval`]).
//!
//! - **Start-up** waits at most [`ClientBuilder::startup_timeout`]. When the server
//!   cannot be reached, the client starts from its cache file (the last good state of
//!   an earlier run) or a bootstrap file, says so in [`Client::status`], and catches up
//!   when the server comes back; without either, [`ClientBuilder::build`] fails with
//!   [`Error::Startup`], which says why.
//! - **Evaluation** never blocks on the network and, for [`Client::bool_value`] and
//!   [`Client::is_enabled`], does not allocate.
//! - **Usage** is counted per flag, variant and outcome and sent to
//!   `/api/client/metrics` as Unleash SDKs send it, every
//!   [`ClientBuilder::metrics_interval`] and at [`Client::shutdown`].
//! - **OpenFeature**: with the `openfeature` cargo feature, `openfeature::FlagpoleProvider`
//!   is a provider for the `open-feature` crate.
//!
//! # Example
//!
//! ```no_run
//! use flagpole_sdk::{Client, ContextBuilder};
//! use serde_json::json;
//!
//! # async fn run() -> Result<(), flagpole_sdk::Error> {
//! let client = Client::builder("http://localhost:8080", "my-client-token")
//!     .environment("production")
//!     .cache_file("flags-cache.json")
//!     .build()
//!     .await?;
//!
//! let ctx = ContextBuilder::user("user-42")
//!     .property("plan", "enterprise")
//!     .build();
//! let new_ui = client.bool_value("new_ui", &ctx, false);
//! let color = client.string_value("button_color", &ctx, "blue");
//! let limit = client.number_value("rate_limit", &ctx, 100.0);
//! let theme = client.json_value("theme", &ctx, json!({}));
//!
//! let details = client.string_details("button_color", &ctx, "blue");
//! println!("{} ({:?}, variant {:?})", details.value, details.reason, details.variant);
//!
//! client.shutdown().await; // sends the last usage counts
//! # let _ = (new_ui, color, limit, theme);
//! # Ok(()) }
//! ```
//!
//! # Evaluating offline
//!
//! With a bootstrap file and no server, the client still starts and answers from the
//! file:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), flagpole_sdk::Error> {
//! use std::time::Duration;
//! use flagpole_sdk::{Client, ContextBuilder, Reason, Source};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let file = dir.path().join("flags.yaml");
//! std::fs::write(&file, "
//! flags:
//!   new_ui:
//!     type: boolean
//!     environments:
//!       production:
//!         enabled: true
//!         rules:
//!           - conditions: [{attribute: plan, operator: IN, values: [enterprise]}]
//! ").unwrap();
//!
//! let client = Client::builder("http://127.0.0.1:9", "token")
//!     .bootstrap_file(&file)
//!     .startup_timeout(Duration::from_millis(200))
//!     .metrics_interval(None)
//!     .build()
//!     .await?;
//! assert_eq!(client.status().source, Source::Bootstrap);
//!
//! let enterprise = ContextBuilder::user("u1").property("plan", "enterprise").build();
//! let details = client.bool_details("new_ui", &enterprise, false);
//! assert!(details.value);
//! assert_eq!(details.reason, Reason::TargetingMatch);
//! assert!(!client.bool_value("new_ui", &ContextBuilder::user("u2").build(), false));
//! client.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Cargo features
//!
//! - `openfeature`: the OpenFeature provider (`open-feature` crate).
//! - `rustls`: HTTPS to the server. Without it the client speaks plain HTTP, for a
//!   server on the same host or network, or behind a TLS-terminating sidecar.

#![deny(missing_docs)]

mod builder;
mod cache;
mod client;
mod context;
mod details;
mod error;
mod inner;
#[cfg(feature = "openfeature")]
pub mod openfeature;
mod random;
mod request;
mod sse;
mod state;
mod sync;
mod usage;

pub use builder::ClientBuilder;
pub use client::{Client, Status};
pub use context::ContextBuilder;
pub use details::{Details, ErrorCode};
pub use error::{Error, Result};
pub use flagpole_core::{Context, Evaluation, FlagType, Reason};
pub use state::Source;
