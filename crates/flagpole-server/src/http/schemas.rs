//! The parts of the OpenAPI document no handler's own types give: the headers several
//! routes read (`If-Match`, `Authorization`, `Last-Event-ID`, `If-None-Match`,
//! `Accept-Encoding`), the request bodies read by a custom extractor (an evaluation
//! context, OFREP's request), the query of the Unleash frontend API, one SSE event as a
//! client reads it, and the refusals many routes share. Every answer a handler returns
//! is its own `Serialize + ToSchema` type, beside the handler, and is what the document
//! shows.
//!
//! Resources that extend a flagpole-core type (`#[serde(flatten)]`) are merged into one
//! object schema when the document is assembled, so the core type's
//! `additionalProperties: false` still holds for the whole resource.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

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

/// An evaluation context, in Unleash's shape (`userId`, `sessionId`, `remoteAddress`,
/// `appName`, `environment`, `currentTime`, `properties: {…}`) or OpenFeature's
/// (`targetingKey` and attributes at the top level). Unknown top-level keys become
/// properties.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationContext(pub BTreeMap<String, Value>);

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

/// The refusals every change of one flag environment documents.
#[derive(Debug, utoipa::IntoResponses)]
pub enum EditErrors {
    #[response(status = 400, description = "Unreadable body or header")]
    Unreadable(ErrorBody),
    #[response(status = 404, description = "No such flag or environment")]
    NotFound(ErrorBody),
    #[response(status = 422, description = "The change is invalid")]
    Invalid(ErrorBody),
}

/// `?project=`: only what one project holds.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProjectQuery {
    /// A project key.
    pub project: Option<String>,
}
