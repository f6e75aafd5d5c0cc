//! What a [`Client`](crate::Client) and its background tasks share: the current state,
//! the connection status, the version watch, the usage counters retired by changes, and
//! the settings fixed at build. The bottom of the client: the builder, the client, the
//! sync task and the usage task all hold an `Arc<Inner>`, and it knows none of them.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use reqwest::header::HeaderValue;
use tokio::sync::watch;

use crate::state::{FlagCounter, State};

/// What the client and its background tasks share.
#[derive(Debug)]
pub(crate) struct Inner {
    pub state: ArcSwap<State>,
    pub status: Mutex<StatusInfo>,
    pub version: watch::Sender<i64>,
    /// Counters of flags changed or deleted since the last report.
    pub retired: Mutex<Vec<Arc<FlagCounter>>>,
    /// When the usage counted now began to be counted.
    pub bucket_start: Mutex<chrono::DateTime<chrono::Utc>>,
    pub config: Config,
}

/// The client's settings, fixed at build.
#[derive(Debug)]
pub(crate) struct Config {
    pub http: reqwest::Client,
    pub base: String,
    pub authorization: HeaderValue,
    pub environment: String,
    pub app_name: String,
    pub instance_id: String,
    pub connection_id: String,
    pub cache_file: Option<PathBuf>,
    pub poll_interval: Duration,
    pub metrics_interval: Option<Duration>,
    pub read_timeout: Duration,
}

/// Connection facts for [`Status`](crate::Status).
#[derive(Debug, Default)]
pub(crate) struct StatusInfo {
    pub streaming: bool,
    pub last_error: Option<String>,
}

impl Inner {
    /// Notes whether the stream is connected, and the last error.
    pub fn streaming(&self, streaming: bool, error: Option<String>) {
        let mut info = self.status.lock().unwrap_or_else(|e| e.into_inner());
        info.streaming = streaming;
        if streaming || error.is_some() {
            info.last_error = error;
        }
    }

    /// Keeps counters no longer in the state until the next usage report.
    pub fn retire(&self, counters: Vec<Arc<FlagCounter>>) {
        self.retired
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(counters);
    }
}
