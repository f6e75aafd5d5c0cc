//! Keeping current: the background task that follows the native change stream
//! (`GET /api/v1/environments/{env}/stream`), applies its `snapshot` and `change`
//! events, reconnects with backoff and `Last-Event-ID`, and, while the stream cannot be
//! had, polls for changes.
//!
//! Polling asks `GET /api/v1/environments/{env}/snapshot` (the stream's `snapshot`
//! event as a plain answer) with `If-None-Match`: an unchanged environment answers 304
//! and costs nothing; a changed one answers the whole environment, applied as a
//! `snapshot` event. So the SDK keeps current even where long-lived connections are
//! refused or cut.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use flagpole_core::RandomSource;
use reqwest::header::{ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::cache;
use crate::error::{Error, Result};
use crate::inner::{Config, Inner};
use crate::random::ThreadRng;
use crate::request::{check, get};
use crate::sse::{Event, Parser};
use crate::state::{Change, FlagSet};

/// An open native stream.
#[derive(Debug)]
pub(crate) struct Stream {
    response: reqwest::Response,
    parser: Parser,
    ready: VecDeque<Event>,
    read_timeout: Duration,
}

impl Stream {
    /// Opens the stream; with `last`, it starts with what changed since that version.
    async fn open(config: &Config, last: Option<i64>) -> Result<Stream> {
        let path = format!("/api/v1/environments/{}/stream", config.environment);
        let mut request = get(config, &path).header("Accept", "text/event-stream");
        if let Some(version) = last {
            request = request.header("Last-Event-ID", version.to_string());
        }
        let response = request.send().await.map_err(Error::Request)?;
        let response = check(response).await?;
        Ok(Stream {
            response,
            parser: Parser::default(),
            ready: VecDeque::new(),
            read_timeout: config.read_timeout,
        })
    }

    /// The next event; `None` when the server ended the stream.
    async fn next(&mut self) -> Result<Option<Event>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Ok(Some(event));
            }
            let chunk = tokio::time::timeout(self.read_timeout, self.response.chunk())
                .await
                .map_err(|_| Error::Timeout(self.read_timeout))?
                .map_err(Error::Request)?;
            match chunk {
                Some(bytes) => self.ready.extend(self.parser.push(bytes.as_ref())),
                None => return Ok(None),
            }
        }
    }
}

/// The start-up fetch: opens the stream and reads its `snapshot`.
pub(crate) async fn first(config: &Config) -> Result<(FlagSet, Stream)> {
    let mut stream = Stream::open(config, None).await?;
    let event = stream.next().await?.ok_or(Error::Ended)?;
    if event.event != "snapshot" {
        return Err(Error::Ended);
    }
    let mut set = FlagSet::from_json(event.data.as_bytes()).map_err(|source| Error::Event {
        event: event.event.clone(),
        source,
    })?;
    set.environment = config.environment.clone();
    Ok((set, stream))
}

/// The background task: follows the stream until shutdown, polling while it cannot.
pub(crate) async fn run(
    inner: Arc<Inner>,
    mut set: FlagSet,
    mut stream: Option<Stream>,
    mut shutdown: watch::Receiver<bool>,
) {
    // A version from the server can resume; a cache or bootstrap file's cannot.
    let mut resume = stream.is_some();
    let mut backoff = Backoff::default();
    let mut etag: Option<String> = None;
    while !*shutdown.borrow() {
        let opened = match stream.take() {
            Some(s) => Ok(s),
            None => {
                let last = resume.then_some(set.version);
                tokio::select! {
                    s = Stream::open(&inner.config, last) => s,
                    _ = shutdown.changed() => return,
                }
            }
        };
        match opened {
            Ok(mut s) => {
                inner.streaming(true, None);
                let ended = tokio::select! {
                    r = follow(&inner, &mut set, &mut s, &mut backoff, &mut resume) => r,
                    _ = shutdown.changed() => return,
                };
                inner.streaming(false, ended.err().map(|e| e.to_string()));
            }
            Err(e) => {
                tracing::debug!(error = %e, "flagpole: cannot open the change stream");
                inner.streaming(false, Some(e.to_string()));
            }
        }
        // Wait before opening the stream again; poll meanwhile.
        let until = Instant::now() + backoff.next();
        loop {
            let next_poll = Instant::now() + inner.config.poll_interval;
            let wake = next_poll.min(until);
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = shutdown.changed() => return,
            }
            if wake >= until {
                break;
            }
            match poll(&inner, &mut set, &mut etag).await {
                Ok(()) => resume = true,
                Err(e) => inner.streaming(false, Some(e.to_string())),
            }
        }
    }
}

/// Applies the stream's events until it ends; `Ok` when the server ended it or asked
/// for a refetch (reconnect at once).
async fn follow(
    inner: &Inner,
    set: &mut FlagSet,
    stream: &mut Stream,
    backoff: &mut Backoff,
    resume: &mut bool,
) -> Result<()> {
    while let Some(event) = stream.next().await? {
        if event.event == "refetch" {
            backoff.reset();
            return Ok(());
        }
        apply(inner, set, event).await?;
        *resume = true;
        backoff.reset();
    }
    Ok(())
}

/// Applies one event to the flag set and publishes the next state.
async fn apply(inner: &Inner, set: &mut FlagSet, event: Event) -> Result<()> {
    let bad = |source| Error::Event {
        event: event.event.clone(),
        source,
    };
    let env = &inner.config.environment;
    let current = inner.state.load_full();
    let mut retired = Vec::new();
    let next = match event.event.as_str() {
        "snapshot" => {
            *set = FlagSet::from_json(event.data.as_bytes()).map_err(bad)?;
            set.environment = env.clone();
            current.recompiled(set, env, &mut retired)?
        }
        "change" => {
            let change: Change = serde_json::from_str(&event.data).map_err(bad)?;
            match set.apply(change) {
                Some(keys) => current.with_changes(set, &keys, &mut retired),
                None => current.recompiled(set, env, &mut retired)?,
            }
        }
        _ => return Ok(()),
    };
    let version = next.version;
    inner.state.store(Arc::new(next));
    inner.version.send_replace(version);
    if !retired.is_empty() {
        inner.retire(retired);
    }
    cache::write(inner.config.cache_file.as_deref(), set).await;
    Ok(())
}

/// One poll: the environment's snapshot with `If-None-Match`, applied when it changed.
async fn poll(inner: &Inner, set: &mut FlagSet, etag: &mut Option<String>) -> Result<()> {
    let config = &inner.config;
    let path = format!("/api/v1/environments/{}/snapshot", config.environment);
    let mut request = get(config, &path).timeout(config.read_timeout);
    if let Some(tag) = etag.as_deref() {
        request = request.header(IF_NONE_MATCH, tag);
    }
    let response = request.send().await.map_err(Error::Request)?;
    if response.status() == StatusCode::NOT_MODIFIED {
        return Ok(());
    }
    let response = check(response).await?;
    let tag = response
        .headers()
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let data = response.text().await.map_err(Error::Request)?;
    let event = Event {
        event: "snapshot".to_string(),
        data,
        ..Event::default()
    };
    apply(inner, set, event).await?;
    *etag = tag;
    Ok(())
}

/// Reconnection delays: 250 ms doubling to 30 s, with jitter; reset by an event.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let base = 250u64 << self.failures.min(7);
        self.failures = self.failures.saturating_add(1);
        let capped = base.min(30_000);
        let jitter = ThreadRng.below((capped / 4).max(1) as u32);
        Duration::from_millis(capped - capped / 8 + u64::from(jitter))
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}
