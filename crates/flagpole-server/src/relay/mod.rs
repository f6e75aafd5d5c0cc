//! Relay mode: a process with no database of its own that serves every SDK-facing
//! surface from an upstream Flagpole's state. The binary (`flagpole relay`) follows the
//! upstream's relay stream (`GET /api/v1/relay/stream`, served by [`serve`]: the
//! store's records as the upstream published them) and publishes each event here with
//! the upstream's configuration version ([`apply_event`], through
//! `Core::replace_state` and `Core::apply_relayed`), so the relay's own streams, ETags
//! and event ids are the upstream's, and a relay can be another relay's upstream. Tokens
//! are the upstream's ([`tokens`]). Changes are refused (the HTTP middleware asks
//! [`allows`]); `/health/ready` and `/metrics` say whether the upstream is connected
//! ([`Relay::health`]).
//!
//! **Layer rule:** the relay uses the core and the identity layer; it knows nothing of
//! the HTTP layer, which holds the `Relay` and asks it.

mod link;
pub mod serve;
pub mod tokens;
pub mod wire;

pub use link::{allows, apply_event, Relay, RelayHealth};
pub use tokens::{Tokens, Upstream};
