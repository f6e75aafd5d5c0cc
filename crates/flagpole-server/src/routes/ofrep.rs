//! The OpenFeature Remote Evaluation Protocol (OFREP), as its specification
//! (<https://github.com/open-feature/protocol>, `service/openapi.yaml`) gives it: `POST /ofrep/v1/evaluate/flags/{key}` and the bulk
//! `POST /ofrep/v1/evaluate/flags` (with ETag and 304). Errors carry `errorCode` and
//! `errorDetails`.

use axum::http::header::ETAG;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use flagpole_core::limits::MAX_CONTEXT_BODY_BYTES;
use flagpole_core::{Context, ContextProblem, Evaluation, Reason};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ErrorBody;
use crate::http::auth::AnySdk;
use crate::http::extract::{is_json, none_match, ApiPath, Call, LimitedBody};
use crate::http::schemas::{ConditionalHeaders, OfrepRequest, SdkHeaders};
use crate::telemetry::count_evaluation;

router!(pub fn router: evaluate_flags; evaluate_flag);

/// An OFREP error: status, code and details (and the key, for single evaluations).
struct OfrepError {
    status: StatusCode,
    key: Option<String>,
    code: &'static str,
    details: String,
}

/// An OFREP error's body.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfrepErrorBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    /// e.g. `PARSE_ERROR`, `INVALID_CONTEXT`, `FLAG_NOT_FOUND`, `TARGETING_KEY_MISSING`,
    /// `GENERAL`.
    error_code: &'static str,
    error_details: String,
}

impl IntoResponse for OfrepError {
    fn into_response(self) -> Response {
        let body = OfrepErrorBody {
            key: self.key.as_deref(),
            error_code: self.code,
            error_details: self.details,
        };
        (self.status, Json(body)).into_response()
    }
}

/// One evaluation of a bulk answer: the evaluation, or its error.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BulkItem<'a> {
    Evaluated(Success<'a>),
    Failed(OfrepErrorBody<'a>),
}

/// The bulk answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfrepBulk<'a> {
    flags: Vec<BulkItem<'a>>,
    metadata: OfrepMetadata,
    /// ADR 0008: the event stream to follow for changes (`type: sse`, `endpoint`
    /// with the `requestUri` of `/ofrep/v1/stream?ticket=…`, `inactivityDelaySec`).
    #[serde(rename = "eventStreams", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    event_streams: Option<Value>,
}

/// What a bulk answer was evaluated from.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfrepMetadata {
    /// The configuration version evaluated.
    version: i64,
}

fn bad_request(key: Option<&str>, code: &'static str, details: impl Into<String>) -> OfrepError {
    OfrepError {
        status: StatusCode::BAD_REQUEST,
        key: key.map(str::to_string),
        code,
        details: details.into(),
    }
}

/// OFREP's answer when the token's environment is gone: `GENERAL`, as a server error.
fn no_environment(env: &str) -> OfrepError {
    OfrepError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        key: None,
        code: "GENERAL",
        details: format!("the environment {env} does not exist"),
    }
}

/// Reads `{"context": {...}}`.
fn request_context(
    headers: &HeaderMap,
    body: &[u8],
    key: Option<&str>,
) -> Result<Context, OfrepError> {
    if !is_json(headers) {
        return Err(bad_request(
            key,
            "PARSE_ERROR",
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    // Read straight into the context, no JSON tree in between; the core's typed problem
    // decides: syntax errors are PARSE_ERROR, everything else INVALID_CONTEXT.
    match Context::from_request_slice(body) {
        Ok(Some(ctx)) => Ok(ctx),
        Ok(None) => Err(missing_context(key)),
        Err(flagpole_core::Error::Context(ContextProblem::Syntax(e))) => Err(bad_request(
            key,
            "PARSE_ERROR",
            format!("the body is not valid JSON: {e}"),
        )),
        Err(flagpole_core::Error::Context(ContextProblem::BodyNotAnObject(_))) => {
            Err(missing_context(key))
        }
        Err(e) => Err(bad_request(key, "INVALID_CONTEXT", e.to_string())),
    }
}

fn missing_context(key: Option<&str>) -> OfrepError {
    bad_request(
        key,
        "INVALID_CONTEXT",
        "the body must be an object with a `context` object",
    )
}

/// OFREP's reason for an evaluation.
fn reason(e: &Evaluation<'_>) -> &'static str {
    match e.reason {
        Reason::Disabled => "DISABLED",
        Reason::TargetingMatch => "TARGETING_MATCH",
        Reason::Split => "SPLIT",
        Reason::Default if e.enabled => "STATIC",
        Reason::Default | Reason::PrerequisiteFailed => "DEFAULT",
        Reason::Error => "ERROR",
    }
}

/// An evaluation as OFREP answers it: key, value, variant and reason; or the error code
/// and details when the evaluation reached a rollout or split by user id without a
/// targeting key, or the flag has no value to serve.
fn answer<'a>(key: &'a str, e: &Evaluation<'a>) -> Result<Success<'a>, (&'static str, String)> {
    if e.needs_user_id {
        return Err((
            "TARGETING_KEY_MISSING",
            format!("flag '{key}' places this context by user and the context has no targetingKey"),
        ));
    }
    let Some(value) = e.value else {
        return Err((
            "GENERAL",
            format!(
                "flag '{key}' is a {} flag without variants, so it has no value to serve; give it a variant",
                e.flag_type.as_str()
            ),
        ));
    };
    let variant = e.variant.unwrap_or(if e.enabled { "on" } else { "off" });
    Ok(Success {
        key,
        value,
        variant,
        reason: reason(e),
    })
}

/// A successful evaluation, serialized straight from the borrowed evaluation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = OfrepEvaluation)]
pub struct Success<'a> {
    key: &'a str,
    /// Always present (string, number and JSON flags serve their off variant when
    /// nothing chose one).
    #[schema(value_type = serde_json::Value)]
    value: &'a Value,
    variant: &'a str,
    /// `STATIC`, `TARGETING_MATCH`, `SPLIT`, `DISABLED`, `DEFAULT` or `ERROR`.
    reason: &'static str,
}

/// Evaluates one flag (OFREP).
#[utoipa::path(post, path = "/ofrep/v1/evaluate/flags/{key}", operation_id = "ofrep_evaluate_flag", params(("key" = String, Path, description = "Flag key"), SdkHeaders), request_body = OfrepRequest, responses((status = 200, description = "The evaluation", body = Success), (status = 400, description = "`PARSE_ERROR`, `INVALID_CONTEXT`, `TARGETING_KEY_MISSING` (a rollout or split by user reached without one), or `GENERAL` (a typed flag without variants)", body = OfrepErrorBody), (status = 404, description = "`FLAG_NOT_FOUND`", body = OfrepErrorBody), (status = 413, description = "Body too large (`MAX_CONTEXT_BODY_BYTES`)", body = ErrorBody), (status = 500, description = "`GENERAL`: the environment does not exist", body = OfrepErrorBody)))]
async fn evaluate_flag(
    Call(state, AnySdk(who)): Call<AnySdk>,
    ApiPath(key): ApiPath<String>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody<MAX_CONTEXT_BODY_BYTES>,
) -> Result<Response, OfrepError> {
    let ctx = request_context(&headers, &body, Some(&key))?;
    let env = who.sdk_environment();
    let published = state.published();
    let Some(snapshot) = published.snapshots.get(&env) else {
        return Err(no_environment(&env));
    };
    if !snapshot.contains(&key) || !published.visible(&key, &who.scope()) {
        return Err(OfrepError {
            status: StatusCode::NOT_FOUND,
            details: format!("flag '{key}' was not found"),
            key: Some(key),
            code: "FLAG_NOT_FOUND",
        });
    }
    let e = snapshot.evaluate(&key, &ctx, chrono::Utc::now(), &mut state.rng());
    state.sample(&env, &ctx);
    match answer(&key, &e) {
        Ok(success) => {
            count_evaluation(&env, &key, &e);
            Ok(Json(success).into_response())
        }
        Err((code, details)) => Err(bad_request(Some(&key), code, details)),
    }
}

/// Evaluates every flag (OFREP bulk), with an ETag.
#[utoipa::path(post, path = "/ofrep/v1/evaluate/flags", operation_id = "ofrep_evaluate_flags", params(SdkHeaders, ConditionalHeaders, ("flagConfigEtag" = Option<String>, Query, description = "The `etag` of the event-stream message that triggered this request (ADR 0008); not needed here: the answer is always from the latest configuration this server has")), request_body = OfrepRequest, responses((status = 200, description = "Every flag's evaluation (or error), and `eventStreams`: the stream to follow for changes", body = OfrepBulk, headers(("ETag" = String))), (status = 304, description = "Unchanged since the If-None-Match ETag", headers(("ETag" = String))), (status = 400, description = "`PARSE_ERROR` or `INVALID_CONTEXT`", body = OfrepErrorBody), (status = 413, description = "Body too large (`MAX_CONTEXT_BODY_BYTES`)", body = ErrorBody), (status = 500, description = "`GENERAL`: the environment does not exist", body = OfrepErrorBody)))]
async fn evaluate_flags(
    Call(state, AnySdk(who)): Call<AnySdk>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody<MAX_CONTEXT_BODY_BYTES>,
) -> Result<Response, OfrepError> {
    let ctx = request_context(&headers, &body, None)?;
    let env = who.sdk_environment();
    let published = state.published();
    let Some(snapshot) = published.snapshots.get(&env) else {
        return Err(no_environment(&env));
    };
    let now = chrono::Utc::now();
    let mut rng = state.rng();
    state.sample(&env, &ctx);
    let scope = who.scope();
    let flags = published
        .scoped_keys(&scope)
        .map(|key| {
            let e = snapshot.evaluate(key, &ctx, now, &mut rng);
            match answer(key, &e) {
                Ok(success) => {
                    count_evaluation(&env, key, &e);
                    BulkItem::Evaluated(success)
                }
                Err((error_code, error_details)) => BulkItem::Failed(OfrepErrorBody {
                    key: Some(key),
                    error_code,
                    error_details,
                }),
            }
        })
        .collect();
    let event_streams = match &who.who {
        crate::identity::Who::Token(token) => Some(crate::stream::event_streams(token)),
        _ => None,
    };
    let body = OfrepBulk {
        flags,
        metadata: OfrepMetadata {
            version: published.version,
        },
        event_streams,
    };
    let text = serde_json::to_string(&body).unwrap_or_default();
    let etag = format!(
        "\"{}-{:08x}\"",
        published.version,
        flagpole_core::hash::normalized_hash(&env, &text, u32::MAX, 0)
    );
    if none_match(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(ETAG, etag)]).into_response());
    }
    Ok((
        [
            (ETAG, etag),
            (
                axum::http::header::CONTENT_TYPE,
                "application/json".to_string(),
            ),
        ],
        text,
    )
        .into_response())
}
