//! The server-sent event streams (`crate::stream`): Unleash's streaming API, the OFREP
//! event stream named in the bulk response's `eventStreams`, and the native change
//! stream of an environment. `docs/streaming.md` describes their events.

use axum::extract::{FromRequestParts, State};
use axum::http::header::ORIGIN;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::{AnySdk, ClientSdk, Evaluator};
use crate::http::extract::{query_pairs, ApiPath, Call};
use crate::http::schemas::{SdkHeaders, SseEvent, StreamHeaders};
use crate::http::AppState;
use crate::identity::Origin;
use crate::identity::{Principal, Who};
use crate::stream::{self, Credential, Surface};

// Unleash's and OFREP's streams (top level).
router!(pub fn router: stream_client_features; stream_ofrep);

// The native stream and its polling counterpart (under `/api/v1`).
router!(pub fn native_router: stream_environment; environment_snapshot);

/// Unleash's streaming API, for Unleash SDKs in streaming mode: `unleash-connected`
/// with the whole state (or, after `Last-Event-ID`, what changed since), then
/// `unleash-updated` with delta events.
#[utoipa::path(get, path = "/api/client/streaming", tag = "unleash", params(SdkHeaders, StreamHeaders), responses((status = 200, description = "Server-sent events: `unleash-connected`, then `unleash-updated` (`{events: [...]}` of Unleash delta events); id = configuration version; a comment every heartbeat", content_type = "text/event-stream", body = SseEvent), (status = 400, description = "`Last-Event-ID` is not a version", body = ErrorBody), (status = 404, description = "The environment does not exist", body = ErrorBody), (status = 503, description = "The server has its maximum of open streams (`--stream-limit`); retry after `Retry-After` seconds, or poll", body = ErrorBody)))]
async fn stream_client_features(
    Call(state, ClientSdk(who)): Call<ClientSdk>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let env = who.sdk_environment();
    follow(&state, &who, &env, &headers, Surface::Unleash).await
}

/// The native change stream of one environment: `snapshot` (every flag with its
/// configuration in the environment, and every segment), then `change` events.
#[utoipa::path(get, path = "/environments/{env}/stream", tag = "evaluation", params(("env" = String, Path, description = "Environment"), StreamHeaders), responses((status = 200, description = "Server-sent events: `snapshot`, `change`, `refetch` (docs/streaming.md); id = configuration version; a comment every heartbeat", content_type = "text/event-stream", body = SseEvent), (status = 400, description = "Unreadable path, or `Last-Event-ID` is not a version", body = ErrorBody), (status = 401, description = "No valid credential", body = ErrorBody), (status = 403, description = "A frontend token, or a client token of another environment", body = ErrorBody), (status = 404, description = "The environment does not exist", body = ErrorBody), (status = 503, description = "The server has its maximum of open streams (`--stream-limit`); retry after `Retry-After` seconds", body = ErrorBody)))]
async fn stream_environment(
    State(state): State<AppState>,
    evaluator: Evaluator,
    ApiPath(env): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    evaluator.may_evaluate(&env)?;
    follow(&state, &evaluator.0, &env, &headers, Surface::Native).await
}

/// The whole environment as the native stream's `snapshot` event carries it (every live
/// flag with its configuration in the environment, and every segment), for SDKs that
/// poll instead of streaming: with `If-None-Match` it answers 304 until something the
/// environment's SDKs see changes.
#[utoipa::path(get, path = "/environments/{env}/snapshot", tag = "evaluation", params(("env" = String, Path, description = "Environment")), responses((status = 200, description = "`{version, environment, flags, segments}` (docs/streaming.md), with an `ETag`", body = Object, headers(("ETag" = String))), (status = 304, description = "Nothing changed since the `If-None-Match` ETag"), (status = 400, description = "Unreadable path", body = ErrorBody), (status = 401, description = "No valid credential", body = ErrorBody), (status = 403, description = "A frontend token, or a client token of another environment", body = ErrorBody), (status = 404, description = "The environment does not exist", body = ErrorBody)))]
async fn environment_snapshot(
    State(state): State<AppState>,
    evaluator: Evaluator,
    ApiPath(env): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    use axum::http::header::{CONTENT_TYPE, ETAG, IF_NONE_MATCH};
    use axum::http::{HeaderValue, StatusCode};
    use axum::response::IntoResponse;
    evaluator.may_evaluate(&env)?;
    let published = state.published();
    published.snapshot(&env)?;
    let scope = evaluator.scope();
    let etag = match scope.fingerprint() {
        None => format!("\"{env}-{}\"", published.payload_version(&env)),
        Some(f) => format!("\"{env}-{}-{f}\"", published.payload_version(&env)),
    };
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\""));
    let unchanged = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, [(ETAG, etag_value)]).into_response());
    }
    let body = stream::snapshot_json(&published, &env, &scope);
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (ETAG, etag_value),
        ],
        body,
    )
        .into_response())
}

/// OFREP's event stream (ADR 0008), as the bulk response's `eventStreams` names it:
/// `message` events with `{"type": "refetchEvaluation", "etag", "lastModified"}`.
#[utoipa::path(get, path = "/ofrep/v1/stream", tag = "ofrep", params(("ticket" = Option<String>, Query, description = "The ticket from `eventStreams` (for clients that cannot send headers, such as browsers' EventSource); else the Authorization header"), StreamHeaders), responses((status = 200, description = "Server-sent events: `message` with `refetchEvaluation`; id = configuration version; a comment every heartbeat", content_type = "text/event-stream", body = SseEvent), (status = 400, description = "A parameter given twice, a ticket too long, or `Last-Event-ID` is not a version", body = ErrorBody), (status = 404, description = "The environment does not exist", body = ErrorBody), (status = 503, description = "The server has its maximum of open streams (`--stream-limit`); retry after `Retry-After` seconds", body = ErrorBody)))]
async fn stream_ofrep(
    Call(state, OfrepStreamSdk(who)): Call<OfrepStreamSdk>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let env = who.sdk_environment();
    follow(&state, &who, &env, &headers, Surface::Ofrep).await
}

/// OFREP streams: a client or frontend token, by the `ticket` query parameter
/// (`stream::check_ticket`) or, without one, as [`AnySdk`].
#[derive(Debug)]
struct OfrepStreamSdk(Principal);

impl FromRequestParts<AppState> for OfrepStreamSdk {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ticket = query_pairs(&parts.uri)?
            .into_iter()
            .find(|(k, _)| k == "ticket")
            .map(|(_, v)| v);
        let Some(ticket) = ticket else {
            return AnySdk::from_request_parts(parts, state)
                .await
                .map(|AnySdk(p)| OfrepStreamSdk(p));
        };
        let origin = parts.headers.get(ORIGIN).and_then(|v| v.to_str().ok());
        let token =
            stream::check_ticket(&state.directory_ref(), &ticket, origin, chrono::Utc::now())?;
        // Streams write nothing, so no audit entry needs the address.
        Ok(OfrepStreamSdk(Principal::new(
            Who::Token(token),
            Origin::Unknown,
        )))
    }
}

/// A stream of `env` on `surface`, from the `Last-Event-ID` the client sends on.
async fn follow(
    state: &AppState,
    who: &Principal,
    env: &str,
    headers: &HeaderMap,
    surface: Surface,
) -> Result<Response, ApiError> {
    let last = stream::last_event_id(headers)?;
    let scope = who.scope();
    stream::respond(
        state.streams(),
        Credential::of(who),
        env,
        &scope,
        surface,
        last,
    )
    .await
}
