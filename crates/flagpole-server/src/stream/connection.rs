//! One stream: its first frame, then the frames of its channel as they come, an SSE
//! comment after each quiet `heartbeat`, and an end when its credential is revoked, its
//! environment removed, or it falls more than the queue behind (after a last "refetch"
//! frame where the surface has one).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use flagpole_core::Scope;
use tokio::sync::{broadcast, watch};

use super::frame::{Frame, Surface};
use super::hub::{self, Hub, Permit};
use super::{native, ofrep};
use crate::core::Core;
use crate::error::ApiError;
use crate::identity::{Principal, Who};

/// The comment sent when nothing else was for a heartbeat interval.
const HEARTBEAT: &[u8] = b": heartbeat\n\n";

/// Longest `Last-Event-ID` read (our ids are versions: decimal integers).
const MAX_EVENT_ID_LEN: usize = 20;

/// What a stream checks again whenever tokens change: the token it was opened with, or
/// the user.
#[derive(Clone, Debug)]
pub enum Credential {
    Token(String),
    User(String),
}

impl Credential {
    pub fn of(principal: &Principal) -> Credential {
        match &principal.who {
            Who::Token(t) => Credential::Token(t.id.clone()),
            Who::User { user, .. } => Credential::User(user.name.clone()),
            // The stream policies let no one else through.
            Who::Anonymous | Who::Local => Credential::User(String::new()),
        }
    }

    /// Whether the credential still authenticates.
    pub fn is_live(&self, core: &Core) -> bool {
        let directory = core.directory_ref();
        match self {
            Credential::Token(id) => directory.live_token(id, chrono::Utc::now()).is_some(),
            Credential::User(name) => directory.user(name).is_some(),
        }
    }
}

/// The `Last-Event-ID` header: absent or empty is none; anything but a version is 400.
pub fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("\u{0}").trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(v) if v >= 0 && text.len() <= MAX_EVENT_ID_LEN => Ok(Some(v)),
        _ => Err(ApiError::bad_request(
            "invalid_last_event_id",
            "Last-Event-ID must be the id of an event this server sent (a configuration version)",
            Some("Last-Event-ID".into()),
        )),
    }
}

/// Opens a stream and answers with it.
pub async fn respond(
    hub: &Hub,
    credential: Credential,
    environment: &str,
    scope: &Scope,
    surface: Surface,
    last_event_id: Option<i64>,
) -> Result<Response, ApiError> {
    let opened = hub::open(hub, environment, scope, surface, last_event_id).await?;
    let core = hub.core();
    let connection = Connection {
        core: core.clone(),
        credential,
        surface,
        receiver: opened.receiver,
        version: opened.version,
        initial: opened.initial,
        auth: core.directories().changes(),
        heartbeat: core
            .config()
            .streams
            .heartbeat
            .max(Duration::from_millis(10)),
        ended: false,
        _permit: opened.permit,
    };
    let body = Body::from_stream(futures_util::stream::unfold(connection, Connection::next));
    Ok(sse_response(body))
}

/// An answer streaming server-sent events from `body`.
pub fn sse_response(body: Body) -> Response {
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Proxies such as nginx would otherwise hold events back.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

struct Connection {
    core: Core,
    credential: Credential,
    surface: Surface,
    receiver: broadcast::Receiver<Frame>,
    /// The version the client has been brought to.
    version: i64,
    initial: Option<Bytes>,
    auth: watch::Receiver<u64>,
    heartbeat: Duration,
    ended: bool,
    _permit: Permit,
}

enum Wake {
    Frame(Result<Frame, broadcast::error::RecvError>),
    Auth(bool),
    Quiet,
}

impl Connection {
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Connection)> {
        if let Some(bytes) = self.initial.take() {
            return Some((Ok(bytes), self));
        }
        if self.ended {
            return None;
        }
        loop {
            let wake = tokio::select! {
                received = self.receiver.recv() => Wake::Frame(received),
                changed = self.auth.changed() => Wake::Auth(changed.is_ok()),
                () = tokio::time::sleep(self.heartbeat) => Wake::Quiet,
            };
            match wake {
                Wake::Frame(Ok(frame)) => {
                    if frame.version <= self.version {
                        continue;
                    }
                    if !self.credential.is_live(&self.core) {
                        return None;
                    }
                    self.version = frame.version;
                    return Some((Ok(frame.bytes), self));
                }
                Wake::Frame(Err(broadcast::error::RecvError::Lagged(_))) => {
                    metrics::counter!("flagpole_stream_dropped_total").increment(1);
                    self.ended = true;
                    let last = match self.surface {
                        Surface::Native => native::refetch(self.version),
                        Surface::Ofrep => ofrep::refetch(self.version),
                        // Unleash has no such event: the SDK reconnects with its
                        // Last-Event-ID and gets what it missed.
                        Surface::Unleash => return None,
                    };
                    return Some((Ok(last), self));
                }
                Wake::Frame(Err(broadcast::error::RecvError::Closed)) => return None,
                Wake::Auth(alive) => {
                    if !alive || !self.credential.is_live(&self.core) {
                        return None;
                    }
                }
                Wake::Quiet => {
                    if !self.credential.is_live(&self.core) {
                        return None;
                    }
                    return Some((Ok(Bytes::from_static(HEARTBEAT)), self));
                }
            }
        }
    }
}
