//! The SDK's one error type.

use std::path::PathBuf;
use std::time::Duration;

/// What can go wrong when building, starting or shutting down a [`crate::Client`].
///
/// Evaluation never fails: a getter that cannot answer returns the caller's default and,
/// in its [`crate::Details`], an [`crate::ErrorCode`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server URL could not be read.
    #[error("the server URL {url:?} is not a valid absolute URL")]
    InvalidUrl {
        /// The URL as given.
        url: String,
    },
    /// The environment name or token cannot be sent in a request.
    #[error("{what} contains characters that cannot be sent in a request")]
    InvalidInput {
        /// Which input.
        what: &'static str,
    },
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built")]
    Http(#[source] reqwest::Error),
    /// The server could not be reached or answered with an error within the start-up
    /// timeout, and there was no cache or bootstrap file to start from.
    #[error("start-up failed, and there is no cache or bootstrap file to start from: {0}")]
    Startup(#[source] Box<Error>),
    /// A cache or bootstrap file could not be read.
    #[error("cannot read {path}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A cache or bootstrap file, or the flag set the server sent, is not valid.
    #[error("{what} is not a valid flag set")]
    Invalid {
        /// What was read (a file's path, or "the server's snapshot event").
        what: String,
        /// Why.
        #[source]
        source: flagpole_core::Error,
    },
    /// No answer from the server in time (the start-up timeout, or the stream's read
    /// timeout).
    #[error("the server did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed or broke.
    #[error("the request to the server failed: {0}")]
    Request(#[source] reqwest::Error),
    /// The server refused the request.
    #[error("the server answered {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body (the server's error message).
        body: String,
    },
    /// The stream sent an event the SDK cannot read.
    #[error("the stream sent an unreadable {event:?} event")]
    Event {
        /// The event type.
        event: String,
        /// Why it could not be read.
        #[source]
        source: serde_json::Error,
    },
    /// The stream ended before its first event.
    #[error("the stream ended before its first snapshot event")]
    Ended,
    /// A cache file could not be written.
    #[error("cannot write the cache file {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
