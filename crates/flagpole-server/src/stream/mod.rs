//! Server-sent event streams to SDKs: Unleash's streaming API
//! (`/api/client/streaming`), OFREP's event stream (`/ofrep/v1/stream`) and the native
//! change stream (`/api/v1/environments/{env}/stream`). `docs/streaming.md` describes
//! the wire formats.
//!
//! One fan-out task per server ([`hub`]) follows `Core::subscribe_applied`, works
//! out what each publish changed in each environment, and builds each event once per
//! environment and surface as a complete SSE frame ([`Frame`], shared `Bytes`). Each
//! environment and surface has a broadcast channel of [`StreamConfig::queue`] frames;
//! every connection ([`connection`]) reads it at its own pace, so a connection costs a
//! cursor, not a copy. A connection that falls more than the queue behind is sent a
//! final "refetch" (or, for Unleash, is closed) and reconnects. Event ids are
//! configuration versions: a reconnect with `Last-Event-ID` gets what changed since,
//! from a ring of recent changes, or the whole state again when the ring no longer
//! covers it.

mod connection;
mod hub;
mod native;
pub(crate) use native::snapshot_json;
mod ofrep;
mod unleash;

use std::sync::{Arc, OnceLock};

use axum::body::Bytes;

use crate::core::Core;
use crate::error::ApiError;
use crate::published::Published;
use flagpole_core::{Flag, Segment};

pub use connection::{last_event_id, respond, sse_response, Credential};
pub use ofrep::{check_ticket, event_streams, ticket};

/// The three kinds of stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Surface {
    Unleash,
    Native,
    Ofrep,
}

/// One SSE event, framed once and shared by every connection it goes to.
#[derive(Clone, Debug)]
pub struct Frame {
    /// The configuration version after the change (the event's id).
    pub version: i64,
    pub bytes: Bytes,
}

/// A live (not archived) flag of a published state, parsed.
pub(crate) fn live_flag(published: &Published, key: &str) -> Option<Flag> {
    published.live_flag(key)
}

/// A segment of a published state.
pub(crate) fn segment<'a>(published: &'a Published, name: &str) -> Option<&'a Segment> {
    published.segments.get(name).map(|r| &r.segment)
}

/// An SSE frame: `event`, `id` and one line of `data` (JSON has no raw newlines).
pub(crate) fn frame(event: &str, id: i64, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + event.len() + 40);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(event.as_bytes());
    out.extend_from_slice(b"\nid: ");
    out.extend_from_slice(id.to_string().as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// The streams of one server: the core they follow, and the fan-out (started by the
/// first stream) with the count of open connections. Streams check their credential
/// again whenever the core's directory of tokens and users changes.
#[derive(Debug)]
pub struct Hub {
    core: Core,
    shared: OnceLock<Arc<hub::Shared>>,
}

impl Hub {
    pub fn new(core: Core) -> Hub {
        Hub {
            core,
            shared: OnceLock::new(),
        }
    }

    /// How many streams are open.
    pub fn connections(&self) -> usize {
        self.shared.get().map_or(0, |s| s.connections())
    }

    fn shared(&self) -> &Arc<hub::Shared> {
        self.shared.get_or_init(|| hub::Shared::start(&self.core))
    }
}

/// A stream just opened: its first frame (if any), the channel it follows, and the
/// version that first frame brings the client to.
pub(crate) struct Opened {
    pub initial: Option<Bytes>,
    pub receiver: tokio::sync::broadcast::Receiver<Frame>,
    pub version: i64,
    pub permit: hub::Permit,
}

/// Opens a stream of `surface` for `environment`, resuming after `last_event_id`.
pub(crate) async fn open(
    hub: &Hub,
    environment: &str,
    surface: Surface,
    last_event_id: Option<i64>,
) -> Result<Opened, ApiError> {
    let shared = hub.shared().clone();
    let permit = shared.permit(hub.core.config().streams.max_connections)?;
    shared.caught_up(hub.core.published().version).await;
    shared.subscribe(environment, surface, last_event_id, permit)
}
