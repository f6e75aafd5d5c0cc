//! What relays and their upstream say to each other: the relay stream's events (the
//! whole state, then each change as the upstream published it) and token
//! introspection. The records are the store's own, so a relay publishes exactly the
//! state its upstream published, at the same configuration version.

use chrono::{DateTime, Utc};
use flagpole_store::{Environment, FlagRecord, SegmentRecord};
use serde::{Deserialize, Serialize};

use crate::published::StoredFlag;

/// `event: snapshot`: everything, at `version`; replaces what the relay holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: i64,
    pub environments: Vec<Environment>,
    pub flags: Vec<FlagRecord>,
    pub segments: Vec<SegmentRecord>,
}

/// A [`Snapshot`] as the upstream writes it, from its published records without
/// copying or parsing them.
#[derive(Debug, Serialize)]
pub struct SnapshotOut<'a> {
    pub version: i64,
    pub environments: &'a [Environment],
    pub flags: Vec<&'a StoredFlag>,
    pub segments: Vec<&'a SegmentRecord>,
}

/// A [`Change`] as the upstream writes it.
#[derive(Debug, Serialize)]
pub struct ChangeOut<'a> {
    pub from: i64,
    pub version: i64,
    pub flags: Vec<(&'a str, Option<&'a StoredFlag>)>,
    pub segments: Vec<(&'a str, Option<&'a SegmentRecord>)>,
}

/// `event: change`: the state at `version` is the one at `from` with these records
/// replaced (`null`: deleted).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Change {
    pub from: i64,
    pub version: i64,
    pub flags: Vec<(String, Option<FlagRecord>)>,
    pub segments: Vec<(String, Option<SegmentRecord>)>,
}

/// `event: current`: the relay asked with `Last-Event-ID` equal to the upstream's
/// version; nothing to send until the next change.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Current {
    pub version: i64,
}

/// `POST /api/v1/tokens/introspect`: the token texts an SDK presented to a relay.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IntrospectRequest {
    /// At most [`MAX_INTROSPECT`] token texts.
    pub tokens: Vec<String>,
}

/// The answer, one entry per token asked about, in the same order.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IntrospectResponse {
    pub tokens: Vec<Introspection>,
}

/// What the upstream says about one token: whether it authenticates now and, when it
/// does, what it may do (never its verifier: the relay computes that from the text).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Introspection {
    pub active: bool,
    /// Why not: `unknown`, `revoked` or `expired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenInfo>,
}

/// A token as a relay needs it to check requests.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    /// `client`, `frontend` or `admin`.
    pub kind: String,
    pub environment: Option<String>,
    pub role: Option<String>,
    pub origins: Vec<String>,
    pub grants: Vec<String>,
    /// The projects the token reaches (`*`: every one; what an upstream from before
    /// projects, which leaves it out, means).
    #[serde(default = "every_project")]
    pub projects: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

fn every_project() -> Vec<String> {
    vec![flagpole_core::GLOBAL_PROJECT.to_string()]
}

/// Most tokens one introspection request may ask about.
pub const MAX_INTROSPECT: usize = 500;
