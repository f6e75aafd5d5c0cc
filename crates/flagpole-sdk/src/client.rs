//! The [`Client`]: evaluation from the current state (never the network), its status,
//! and shutdown. It is made by the builder (`builder.rs`, where `Client::builder` is),
//! which starts the tasks it stops.

use std::sync::{Arc, Mutex};

use flagpole_core::{Context, Evaluation};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::details::{details_of, value_of, Details, FlagValue};
use crate::error::Result;
use crate::inner::Inner;
use crate::random::ThreadRng;
use crate::state::Source;
use crate::usage;

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

impl Client {
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
    pub async fn flush(&self) -> Result<()> {
        usage::flush(&self.inner).await
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
