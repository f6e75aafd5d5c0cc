//! The JSON bodies of the HTTP API as the OpenAPI document describes them (served at
//! `/api/v1/openapi.json`). The handlers build most bodies with `json!`; these types give
//! those shapes a name and a schema.
//!
//! Resources that extend a flagpole-core type (`#[serde(flatten)]`) are merged into one
//! object schema when the document is assembled, so the core type's
//! `additionalProperties: false` still holds for the whole resource.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use flagpole_core::{Flag, FlagEnvironment, FlagType, Reason, Segment};
use flagpole_store::{AuditEntry, Environment, UsageRecord};
use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::diff::FieldChange;
use crate::error::ErrorBody;

/// Headers of the native API's updates.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct WriteHeaders {
    /// The version the change is based on (`"3"`, `W/"3"` or `3`), instead of or agreeing
    /// with the body's `version`.
    #[param(rename = "If-Match", required = false)]
    pub if_match: String,
}

/// The header SDK-facing APIs (OFREP, Unleash) authenticate with.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct SdkHeaders {
    /// A client or frontend token (`Bearer <token>`, or the token alone as Unleash SDKs
    /// send it); the environment evaluated is the one the token is bound to.
    #[param(rename = "Authorization", required = true)]
    pub authorization: String,
}

/// One server-sent event of a stream, as an SSE client reads it (`docs/streaming.md`
/// says what each stream's `data` holds).
#[derive(Debug, Serialize, ToSchema)]
pub struct SseEvent {
    /// The event's name, e.g. `unleash-updated`, `change`, `message`.
    pub event: Option<String>,
    /// The configuration version the event brings the client to.
    pub id: Option<String>,
    /// The event's JSON, as text.
    pub data: Option<String>,
    /// A reconnection delay in milliseconds, when the server suggests one.
    pub retry: Option<i64>,
}

/// The header a reconnecting client sends.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct StreamHeaders {
    /// The id of the last event received (a configuration version): the stream starts
    /// with what changed since, or the whole state when that is too old.
    #[param(rename = "Last-Event-ID", required = false)]
    pub last_event_id: i64,
}

/// The header of a conditional read.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct ConditionalHeaders {
    /// ETags of earlier answers: unchanged answers are 304 without a body.
    #[param(rename = "If-None-Match", required = false)]
    pub if_none_match: String,
}

/// The header asking for a compressed answer.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct EncodingHeaders {
    /// `gzip` for a gzip-compressed answer.
    #[param(rename = "Accept-Encoding", required = false)]
    pub accept_encoding: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentList {
    pub environments: Vec<Environment>,
}

/// A flag as the native API shows it: the flag's fields plus its bookkeeping.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagResource {
    pub key: String,
    /// The flag's own version; send it back (or as `If-Match`) to update the flag.
    pub version: i64,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub flag: Flag,
}

/// A flag to create or replace. A body read from a GET may be sent back as it is: the
/// read-only fields are ignored.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagInput {
    /// Required to create; when replacing, it must name the flag in the path.
    pub key: Option<String>,
    /// The version the change is based on (or `If-Match`); required to replace.
    pub version: Option<i64>,
    /// Read-only: ignored (archive through `/archive` and `/unarchive`).
    pub archived: Option<bool>,
    /// Read-only: ignored.
    pub created_at: Option<DateTime<Utc>>,
    /// Read-only: ignored.
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub flag: Flag,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagList {
    pub flags: Vec<FlagResource>,
    /// The configuration version the list was read from.
    pub version: i64,
}

/// One environment of a flag, with the flag's version.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagEnvironmentResource {
    pub version: i64,
    #[serde(flatten)]
    pub config: FlagEnvironment,
}

/// One environment's configuration to store.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagEnvironmentInput {
    /// Ignored.
    pub environment: Option<String>,
    /// The flag version the change is based on (or `If-Match`); required.
    pub version: Option<i64>,
    #[serde(flatten)]
    pub config: FlagEnvironment,
}

/// A segment as the native API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentResource {
    pub name: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub segment: Segment,
}

/// A segment to create or replace; read-only fields are ignored.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentInput {
    /// Required to create; when replacing, it must name the segment in the path.
    pub name: Option<String>,
    /// The version the change is based on (or `If-Match`); required to replace.
    pub version: Option<i64>,
    /// Read-only: ignored.
    pub created_at: Option<DateTime<Utc>>,
    /// Read-only: ignored.
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub segment: Segment,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentList {
    pub segments: Vec<SegmentResource>,
}

/// An evaluation context, in Unleash's shape (`userId`, `sessionId`, `remoteAddress`,
/// `appName`, `environment`, `currentTime`, `properties: {…}`) or OpenFeature's
/// (`targetingKey` and attributes at the top level). Unknown top-level keys become
/// properties.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationContext(pub BTreeMap<String, Value>);

/// One flag's evaluation with its details.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationResult {
    pub flag: String,
    pub enabled: bool,
    /// The variant served: the one a rule or the default chose, else (string, number and
    /// JSON flags) the environment's off variant.
    pub variant: Option<String>,
    /// The value served: the variant's value; for boolean flags without one, `enabled`.
    /// Null only for a string, number or JSON flag without variants.
    pub value: Option<Value>,
    pub reason: Reason,
    /// The rule that decided, if one did.
    pub rule: Option<MatchedRule>,
    #[serde(rename = "type")]
    pub flag_type: FlagType,
    /// Present (true) when evaluation reached a rollout or split by user id and the
    /// context has none, so the answer was drawn at random (OFREP answers
    /// `TARGETING_KEY_MISSING` there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs_user_id: Option<bool>,
    /// With `?explain=true`: each step evaluation took (dependencies, each rule in
    /// order with each condition and the context value it read, the rollout bucket and
    /// threshold, the split's ranges).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<flagpole_core::Trace>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatchedRule {
    /// Position in the environment's `rules`, from 0.
    pub index: usize,
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationList {
    pub environment: String,
    /// The configuration version evaluated.
    pub version: i64,
    pub flags: Vec<EvaluationResult>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageList {
    pub usage: Vec<UsageRecord>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionSummary {
    pub version: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub archived: bool,
    /// True when this version deleted the flag.
    pub deleted: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    pub flag: String,
    pub versions: Vec<VersionSummary>,
}

/// The leaves that differ between two versions of a flag.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagDiff {
    pub flag: String,
    pub from: i64,
    pub to: i64,
    pub changes: Vec<FieldChange>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub imported: ImportCounts,
    /// The configuration version the import produced.
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportCounts {
    pub flags: usize,
    pub segments: usize,
}

/// An OFREP evaluation request.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfrepRequest {
    pub context: EvaluationContext,
}

/// One OFREP evaluation: a value, variant and reason, or (in bulk answers) an error.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfrepEvaluation {
    pub key: String,
    /// Always present on success (string, number and JSON flags serve their off variant
    /// when nothing chose one).
    pub value: Option<Value>,
    pub variant: Option<String>,
    /// `STATIC`, `TARGETING_MATCH`, `SPLIT`, `DISABLED`, `DEFAULT` or `ERROR`.
    pub reason: Option<String>,
    pub error_code: Option<String>,
    pub error_details: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfrepBulk {
    pub flags: Vec<OfrepEvaluation>,
    pub metadata: OfrepMetadata,
    /// ADR 0008: the event stream to follow for changes (`type: sse`, `endpoint`
    /// with the `requestUri` of `/ofrep/v1/stream?ticket=…`, `inactivityDelaySec`).
    #[serde(rename = "eventStreams")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub event_streams: Option<Vec<Value>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfrepMetadata {
    /// The configuration version evaluated.
    pub version: i64,
}

/// An OFREP error.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfrepErrorBody {
    pub key: Option<String>,
    /// e.g. `PARSE_ERROR`, `INVALID_CONTEXT`, `FLAG_NOT_FOUND`, `TARGETING_KEY_MISSING`,
    /// `GENERAL`.
    pub error_code: String,
    pub error_details: String,
}

/// Query parameters of the Unleash frontend API: the context. Any other parameter
/// (or `properties[name]`) is a context property.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct FrontendQuery {
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub remote_address: Option<String>,
    pub app_name: Option<String>,
    pub environment: Option<String>,
    pub current_time: Option<String>,
}

/// The Unleash frontend API's answer: the toggles enabled for the context.
#[derive(Debug, Serialize, ToSchema)]
pub struct FrontendToggles {
    pub toggles: Vec<FrontendToggle>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FrontendToggle {
    pub name: String,
    pub enabled: bool,
    /// `{name, enabled, feature_enabled, payload?: {type, value}}`.
    pub variant: Value,
    pub impression_data: bool,
}

/// The refusals of every route that reads a JSON body, as the OpenAPI document lists them.
#[derive(Debug, utoipa::IntoResponses)]
pub enum BodyErrors {
    /// The body is larger than the route accepts.
    #[response(status = 413, description = "Body too large")]
    TooLarge(ErrorBody),
    /// The body is not JSON (`Content-Type`).
    #[response(status = 415, description = "Not JSON")]
    NotJson(ErrorBody),
}

/// The failures of every route that writes, as the OpenAPI document lists them.
#[derive(Debug, utoipa::IntoResponses)]
pub enum WriteErrors {
    /// Storage failed; the server log says why.
    #[response(status = 500, description = "Storage failed")]
    Internal(ErrorBody),
    /// The database cannot be reached; evaluations go on, changes wait (`Retry-After`).
    #[response(
        status = 503,
        description = "The database cannot be reached; retry after Retry-After"
    )]
    Unavailable(ErrorBody),
}
