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

mod change;
mod connection;
mod frame;
mod hub;
mod native;
mod ofrep;
mod unleash;

pub use connection::{last_event_id, respond, sse_response, Credential};
pub use frame::{Frame, Surface};
pub use hub::Hub;
pub(crate) use native::snapshot_json;
pub use ofrep::{check_ticket, event_streams, ticket};
