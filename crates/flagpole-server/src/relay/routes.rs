//! What a Flagpole serves to relays: `GET /api/v1/relay/stream` (the whole state, then
//! every change as published, with the store's records) and `POST
//! /api/v1/tokens/introspect` (what the tokens SDKs presented to a relay may do). Both
//! take a viewer credential: a relay reads every environment, and learns of a token
//! only what whoever holds its text can find out by using it. A relay serves both too,
//! so relays chain.
//!
//! Unlike the SDK streams, each relay connection serializes its own events (relays are
//! few; an SDK stream's events are built once and shared).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use axum::Json;
use tokio::sync::broadcast;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::{self, IntrospectRequest, IntrospectResponse, MAX_INTROSPECT};
use crate::auth::Viewer;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::schemas::{BodyErrors, ErrorBody, StreamHeaders};
use crate::state::{AppState, Applied};
use crate::stream::{last_event_id, Credential};
use crate::Published;

/// The relay routes (under `/api/v1`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stream_relay))
        .routes(routes!(introspect_tokens))
}

/// The relay stream: `snapshot` (every environment, flag and segment record, at the
/// configuration version), or `current` when `Last-Event-ID` is that version; then a
/// `change` per published change (`from`, `version`, the records written, `null` for
/// deleted), or a `snapshot` when anything may have changed.
#[utoipa::path(
    get,
    path = "/relay/stream",
    tag = "relay",
    params(StreamHeaders),
    responses(
        (status = 200, description = "Server-sent events: `snapshot`, `current`, `change` (README, Relay mode); id = configuration version; a comment every heartbeat", content_type = "text/event-stream", body = crate::schemas::SseEvent),
        (status = 400, description = "`Last-Event-ID` is not a version", body = ErrorBody),
        (status = 401, description = "No valid credential", body = ErrorBody),
        (status = 403, description = "Not a viewer, editor or admin", body = ErrorBody),
    )
)]
async fn stream_relay(
    State(state): State<AppState>,
    Viewer(who): Viewer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let last = last_event_id(&headers)?;
    // Subscribe before reading the state, so no change falls in between.
    let receiver = state.subscribe_applied();
    let current = state.published();
    let first = match last {
        Some(v) if v == current.version => frame("current", v, &wire::Current { version: v }),
        _ => snapshot(&current),
    };
    let connection = Connection {
        heartbeat: state
            .config()
            .streams
            .heartbeat
            .max(Duration::from_millis(10)),
        state,
        credential: Credential::of(&who),
        receiver,
        version: current.version,
        pending: Some(first),
    };
    let body = Body::from_stream(futures_util::stream::unfold(connection, Connection::next));
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// What the upstream says about tokens SDKs presented to a relay: for each, whether it
/// authenticates now and, if so, its id, name, kind, environment, role, origins,
/// grants and expiry (never its verifier).
#[utoipa::path(
    post,
    path = "/tokens/introspect",
    tag = "relay",
    request_body = IntrospectRequest,
    responses(
        (status = 200, description = "One answer per token, in order", body = IntrospectResponse),
        (status = 400, description = "Not JSON of that shape, or more than 500 tokens", body = ErrorBody),
        (status = 401, description = "No valid credential", body = ErrorBody),
        (status = 403, description = "Not a viewer, editor or admin", body = ErrorBody),
        (status = 503, description = "A relay that cannot reach its own upstream", body = ErrorBody),
        BodyErrors,
    )
)]
async fn introspect_tokens(
    State(state): State<AppState>,
    Viewer(_who): Viewer,
    ApiJson(request): ApiJson<IntrospectRequest>,
) -> Result<Json<IntrospectResponse>, ApiError> {
    if request.tokens.len() > MAX_INTROSPECT {
        return Err(ApiError::bad_request(
            "too_many_tokens",
            format!("ask about at most {MAX_INTROSPECT} tokens at once"),
            Some("tokens".into()),
        ));
    }
    let mut answers = Vec::with_capacity(request.tokens.len());
    for text in &request.tokens {
        let found = state.directory_ref().token(text, chrono::Utc::now());
        let found = match (found, state.relay()) {
            (Err(crate::auth::identity::Refusal::Unknown), Some(relay)) => {
                match relay.tokens().resolve(&state, text).await {
                    Ok(token) => Ok(token),
                    Err(ApiError::Unauthorized(_)) => {
                        // The upstream's reason is in the relay's cached answer.
                        state.directory_ref().token(text, chrono::Utc::now())
                    }
                    Err(e) => return Err(e),
                }
            }
            (found, _) => found,
        };
        answers.push(super::tokens::describe(found));
    }
    Ok(Json(IntrospectResponse { tokens: answers }))
}

/// One relay stream connection.
struct Connection {
    state: AppState,
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
            if !self.credential_live() {
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
                    let current = self.state.published();
                    self.version = current.version;
                    snapshot(&current)
                }
                Some(Err(broadcast::error::RecvError::Closed)) => return None,
            };
            return Some((Ok(bytes), self));
        }
    }

    fn credential_live(&self) -> bool {
        let directory = self.state.directory_ref();
        match &self.credential {
            Credential::Token(id) => directory.live_token(id, chrono::Utc::now()).is_some(),
            Credential::User(name) => directory.user(name).is_some(),
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
