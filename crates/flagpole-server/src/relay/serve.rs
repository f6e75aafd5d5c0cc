//! What a server serves to relays: the relay stream (`GET /api/v1/relay/stream`,
//! [`open`]) and what it says about tokens SDKs presented to a relay ([`introspect`]).
//! The stream: `snapshot` (every
//! environment, flag and segment record, at the configuration version), or `current`
//! when the relay already holds that version; then a `change` per published change
//! (`from`, `version`, the records written, `null` for deleted), or a `snapshot` when
//! anything may have changed. Unlike the SDK streams, each relay connection serializes
//! its own events (relays are few; an SDK stream's events are built once and shared).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use tokio::sync::broadcast;

use super::link::Relay;
use super::tokens::describe;
use super::wire::{self, Introspection};
use crate::core::{Applied, Core};
use crate::error::ApiError;
use crate::identity::Refusal;
use crate::published::Published;
use crate::stream::{sse_response, Credential};

/// The relay stream for a caller holding `credential` (it ends when that is revoked),
/// resuming after `last` (a configuration version).
pub fn open(core: &Core, credential: Credential, last: Option<i64>) -> Response {
    // Subscribe before reading the state, so no change falls in between.
    let receiver = core.subscribe_applied();
    let current = core.published();
    let first = match last {
        Some(v) if v == current.version => frame("current", v, &wire::Current { version: v }),
        _ => snapshot(&current),
    };
    let connection = Connection {
        heartbeat: core
            .config()
            .streams
            .heartbeat
            .max(Duration::from_millis(10)),
        core: core.clone(),
        credential,
        receiver,
        version: current.version,
        pending: Some(first),
    };
    sse_response(Body::from_stream(futures_util::stream::unfold(
        connection,
        Connection::next,
    )))
}

/// What this server says about token texts a relay asks about: its own directory's
/// answer, or, when this server is itself a relay (`relay`), its upstream's for tokens
/// it has not seen.
pub async fn introspect(
    core: &Core,
    relay: Option<&Arc<Relay>>,
    texts: &[String],
) -> Result<Vec<Introspection>, ApiError> {
    let mut answers = Vec::with_capacity(texts.len());
    for text in texts {
        let found = core.directory_ref().token(text, chrono::Utc::now());
        let found = match (found, relay) {
            (Err(Refusal::Unknown), Some(relay)) => match relay.tokens().resolve(text).await {
                Ok(token) => Ok(token),
                // The upstream's reason is in the relay's cached answer.
                Err(ApiError::Unauthorized(_)) => {
                    core.directory_ref().token(text, chrono::Utc::now())
                }
                Err(e) => return Err(e),
            },
            (found, _) => found,
        };
        answers.push(describe(found));
    }
    Ok(answers)
}

/// One relay stream connection.
struct Connection {
    core: Core,
    credential: Credential,
    receiver: broadcast::Receiver<Arc<Applied>>,
    /// The version the relay has been brought to.
    version: i64,
    pending: Option<Bytes>,
    heartbeat: Duration,
}

impl Connection {
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Connection)> {
        if let Some(bytes) = self.pending.take() {
            return Some((Ok(bytes), self));
        }
        loop {
            let received = tokio::select! {
                r = self.receiver.recv() => Some(r),
                () = tokio::time::sleep(self.heartbeat) => None,
            };
            if !self.credential.is_live(&self.core) {
                return None;
            }
            let bytes = match received {
                None => Bytes::from_static(b": heartbeat\n\n"),
                Some(Ok(applied)) => {
                    if applied.published.version <= self.version {
                        continue;
                    }
                    let bytes = if applied.full || applied.from != self.version {
                        snapshot(&applied.published)
                    } else {
                        change(&applied)
                    };
                    self.version = applied.published.version;
                    bytes
                }
                Some(Err(broadcast::error::RecvError::Lagged(_))) => {
                    let current = self.core.published();
                    self.version = current.version;
                    snapshot(&current)
                }
                Some(Err(broadcast::error::RecvError::Closed)) => return None,
            };
            return Some((Ok(bytes), self));
        }
    }
}

fn snapshot(published: &Published) -> Bytes {
    let data = wire::SnapshotOut {
        version: published.version,
        environments: &published.environments,
        flags: published.flags.values().map(|r| &**r).collect(),
        segments: published.segments.values().map(|r| &**r).collect(),
    };
    frame("snapshot", published.version, &data)
}

fn change(applied: &Applied) -> Bytes {
    let p = &applied.published;
    let data = wire::ChangeOut {
        from: applied.from,
        version: p.version,
        flags: applied
            .flags
            .iter()
            .map(|k| (k.as_str(), p.flags.get(k).map(|r| &**r)))
            .collect(),
        segments: applied
            .segments
            .iter()
            .map(|k| (k.as_str(), p.segments.get(k).map(|r| &**r)))
            .collect(),
    };
    frame("change", p.version, &data)
}

/// One complete SSE frame.
fn frame(event: &str, id: i64, data: &impl serde::Serialize) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_default();
    Bytes::from(format!("event: {event}\nid: {id}\ndata: {json}\n\n"))
}
