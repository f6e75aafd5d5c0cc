//! What events are made of: the three surfaces, a complete SSE frame shared by every
//! connection it goes to, and the reads of a published state the event builders share.

use axum::body::Bytes;
use flagpole_core::{Flag, Scope, Segment};

use crate::published::Published;

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

/// A live (not archived) flag of a published state within `scope`, parsed.
pub fn live_flag(published: &Published, key: &str, scope: &Scope) -> Option<Flag> {
    if !published.visible(key, scope) {
        return None;
    }
    published.live_flag(key)
}

/// A segment of a published state that `scope` sees.
pub fn segment<'a>(published: &'a Published, name: &str, scope: &Scope) -> Option<&'a Segment> {
    published
        .segments
        .get(name)
        .map(|r| &r.segment)
        .filter(|s| scope.sees_segment(s.project()))
}

/// An SSE frame: `event`, `id` and one line of `data` (JSON has no raw newlines).
pub fn frame(event: &str, id: i64, data: &[u8]) -> Bytes {
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
