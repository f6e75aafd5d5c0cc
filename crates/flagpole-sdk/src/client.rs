//! The [`Client`]: evaluation from the current state (never the network), its status,
//! and shutdown.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use flagpole_core::{Context, Evaluation, RandomSource, SplitMix64};
use reqwest::header::HeaderValue;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::builder::ClientBuilder;
use crate::details::{details_of, value_of, Details, FlagValue};
use crate::state::{FlagCounter, Source, State};

/// A Flagpole client: holds its environment's flags, evaluates them in process, keeps
/// them current in the background and reports usage.
///
/// Cloning is cheap and every clone shares the same state. Evaluation reads memory
/// only: no getter waits for the network. The background tasks stop, and the usage
/// counts are sent a last time, on [`Client::shutdown`] or when the last clone is
/// dropped (inside a Tokio runtime).
///
/// ```no_run
/// # async fn run() -> Result<(), flagpole_sdk::Error> {
/// use flagpole_sdk::{Client, ContextBuilder};
///
/// let client = Client::builder("http://localhost:8080", "my-client-token")
///     .environment("production")
///     .build()
///     .await?;
/// let ctx = ContextBuilder::user("user-42").property("plan", "pro").build();
/// if client.bool_value("new_ui", &ctx, false) {
///     // the new UI
/// }
/// client.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    lifecycle: Arc<Lifecycle>,
}

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

/// Connection facts for [`Status`].
#[derive(Debug, Default)]
pub(crate) struct StatusInfo {
    pub streaming: bool,
    pub last_error: Option<String>,
}

/// What the client holds and how it keeps it current.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The configuration version held (0 for a bootstrap file).
    pub version: i64,
    /// Where the flags came from.
    pub source: Source,
    /// Whether the change stream is connected now.
    pub streaming: bool,
    /// The last error talking to the server, until a stream delivers again.
    pub last_error: Option<String>,
}

/// Stops the background tasks when the last clone of the client goes.
#[derive(Debug)]
struct Lifecycle {
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Lifecycle {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

impl Client {
    /// Starts building a client for the server at `url` (such as
    /// `http://flagpole.internal:8080`) with a client token.
    pub fn builder(url: impl Into<String>, token: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url.into(), token.into())
    }

    pub(crate) fn start(
        inner: Arc<Inner>,
        shutdown: watch::Sender<bool>,
        tasks: Vec<JoinHandle<()>>,
    ) -> Client {
        Client {
            inner,
            lifecycle: Arc::new(Lifecycle {
                shutdown,
                tasks: Mutex::new(tasks),
            }),
        }
    }

    /// Evaluates `key` for `ctx` and hands the full [`Evaluation`] to `f`: the
    /// allocation-free way to everything the engine says. Counted for usage reports.
    #[inline]
    pub fn evaluate<R>(&self, key: &str, ctx: &Context, f: impl FnOnce(&Evaluation<'_>) -> R) -> R {
        let state = self.inner.state.load();
        let e = state
            .snapshot
            .evaluate(key, ctx, chrono::Utc::now(), &mut ThreadRng);
        state.count(key, &e);
        f(&e)
    }

    /// Whether the flag is on for `ctx` (any flag type; `false` for unknown flags).
    #[inline]
    pub fn is_enabled(&self, key: &str, ctx: &Context) -> bool {
        self.evaluate(key, ctx, |e| e.enabled)
    }

    /// A boolean flag's value, or `default` when the flag is unknown or not boolean.
    /// Does not allocate.
    #[inline]
    pub fn bool_value(&self, key: &str, ctx: &Context, default: bool) -> bool {
        self.evaluate(key, ctx, |e| value_of(e).unwrap_or(default))
    }

    /// A string flag's value, or `default`.
    pub fn string_value(&self, key: &str, ctx: &Context, default: &str) -> String {
        self.evaluate(key, ctx, |e| {
            value_of(e).unwrap_or_else(|_| default.to_string())
        })
    }

    /// A number flag's value, or `default`.
    pub fn number_value(&self, key: &str, ctx: &Context, default: f64) -> f64 {
        self.evaluate(key, ctx, |e| value_of(e).unwrap_or(default))
    }

    /// An integer (a number flag's value without a fraction), or `default`.
    pub fn int_value(&self, key: &str, ctx: &Context, default: i64) -> i64 {
        self.evaluate(key, ctx, |e| value_of(e).unwrap_or(default))
    }

    /// A flag's value as JSON (any type), or `default`.
    pub fn json_value(&self, key: &str, ctx: &Context, default: Value) -> Value {
        self.evaluate(key, ctx, |e| value_of(e).unwrap_or(default))
    }

    /// [`Client::bool_value`] with the variant, reason and error.
    pub fn bool_details(&self, key: &str, ctx: &Context, default: bool) -> Details<bool> {
        self.details(key, ctx, default)
    }

    /// [`Client::string_value`] with the variant, reason and error.
    pub fn string_details(&self, key: &str, ctx: &Context, default: &str) -> Details<String> {
        self.details(key, ctx, default.to_string())
    }

    /// [`Client::number_value`] with the variant, reason and error.
    pub fn number_details(&self, key: &str, ctx: &Context, default: f64) -> Details<f64> {
        self.details(key, ctx, default)
    }

    /// [`Client::int_value`] with the variant, reason and error.
    pub fn int_details(&self, key: &str, ctx: &Context, default: i64) -> Details<i64> {
        self.details(key, ctx, default)
    }

    /// [`Client::json_value`] with the variant, reason and error.
    pub fn json_details(&self, key: &str, ctx: &Context, default: Value) -> Details<Value> {
        self.details(key, ctx, default)
    }

    fn details<T: FlagValue>(&self, key: &str, ctx: &Context, default: T) -> Details<T> {
        self.evaluate(key, ctx, |e| details_of(e, default))
    }

    /// Whether the environment has a live flag `key`.
    pub fn contains(&self, key: &str) -> bool {
        self.inner.state.load().snapshot.contains(key)
    }

    /// The keys of every flag held.
    pub fn keys(&self) -> Vec<String> {
        let state = self.inner.state.load();
        state.snapshot.keys().map(str::to_string).collect()
    }

    /// The configuration version held.
    pub fn version(&self) -> i64 {
        self.inner.state.load().version
    }

    /// Follows the configuration version held: changes whenever a new one is applied.
    pub fn watch_version(&self) -> watch::Receiver<i64> {
        self.inner.version.subscribe()
    }

    /// What the client holds, where it came from, and how it is connected.
    pub fn status(&self) -> Status {
        let state = self.inner.state.load();
        let info = self.inner.status.lock().unwrap_or_else(|e| e.into_inner());
        Status {
            version: state.version,
            source: state.source,
            streaming: info.streaming,
            last_error: info.last_error.clone(),
        }
    }

    /// Sends the usage counted so far now (it is also sent every metrics interval).
    pub async fn flush(&self) -> crate::Result<()> {
        crate::usage::flush(&self.inner).await
    }

    /// Stops following the server and sends the usage counted since the last report.
    /// Waits for both; evaluation keeps working on the state held.
    pub async fn shutdown(&self) {
        self.lifecycle.shutdown.send_replace(true);
        let tasks = std::mem::take(
            &mut *self
                .lifecycle
                .tasks
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for task in tasks {
            let _ = task.await;
        }
    }
}

thread_local! {
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// Random stickiness: SplitMix64 per thread, seeded once from the OS.
pub(crate) struct ThreadRng;

impl RandomSource for ThreadRng {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        RNG.with(|cell| {
            let mut state = cell.get();
            if state == 0 {
                state = getrandom::u64().unwrap_or(0x853c_49e6_748f_ea9b) | 1;
            }
            let mut rng = SplitMix64(state);
            let value = rng.next_u64();
            cell.set(rng.0);
            value
        })
    }
}
