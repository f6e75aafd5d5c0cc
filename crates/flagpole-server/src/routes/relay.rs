//! What a Flagpole serves to relays: `GET /api/v1/relay/stream` (the whole state, then
//! every change as published, with the store's records) and `POST
//! /api/v1/tokens/introspect` (what the tokens SDKs presented to a relay may do). Both
//! take a viewer credential: a relay reads every environment, and learns of a token
//! only what whoever holds its text can find out by using it. A relay serves both too,
//! so relays chain. What they answer is `crate::relay`'s.

use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::Viewer;
use crate::http::extract::{ApiJson, Call};
use crate::http::schemas::{BodyErrors, StreamHeaders};
use crate::relay::serve;
use crate::relay::wire::{IntrospectRequest, IntrospectResponse, MAX_INTROSPECT};
use crate::stream::{last_event_id, Credential};

// The relay routes (under `/api/v1`).
router!(pub fn router: stream_relay; introspect_tokens);

/// The relay stream: `snapshot` (every environment, flag and segment record, at the
/// configuration version), or `current` when `Last-Event-ID` is that version; then a
/// `change` per published change (`from`, `version`, the records written, `null` for
/// deleted), or a `snapshot` when anything may have changed.
#[utoipa::path(get, path = "/relay/stream", params(StreamHeaders), responses((status = 200, description = "Server-sent events: `snapshot`, `current`, `change` (README, Relay mode); id = configuration version; a comment every heartbeat", content_type = "text/event-stream", body = crate::http::schemas::SseEvent), (status = 400, description = "`Last-Event-ID` is not a version", body = ErrorBody), (status = 401, description = "No valid credential", body = ErrorBody), (status = 403, description = "Not a viewer, editor or admin", body = ErrorBody)))]
async fn stream_relay(
    Call(state, Viewer(who)): Call<Viewer>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let last = last_event_id(&headers)?;
    Ok(serve::open(&state, Credential::of(&who), last))
}

/// What the upstream says about tokens SDKs presented to a relay: for each, whether it
/// authenticates now and, if so, its id, name, kind, environment, role, origins,
/// grants and expiry (never its verifier).
#[utoipa::path(post, path = "/tokens/introspect", request_body = IntrospectRequest, responses((status = 200, description = "One answer per token, in order", body = IntrospectResponse), (status = 400, description = "Not JSON of that shape, or more than 500 tokens", body = ErrorBody), (status = 401, description = "No valid credential", body = ErrorBody), (status = 403, description = "Not a viewer, editor or admin", body = ErrorBody), (status = 503, description = "A relay that cannot reach its own upstream", body = ErrorBody), BodyErrors))]
async fn introspect_tokens(
    Call(state, Viewer(_who)): Call<Viewer>,
    ApiJson(request): ApiJson<IntrospectRequest>,
) -> Result<Json<IntrospectResponse>, ApiError> {
    if request.tokens.len() > MAX_INTROSPECT {
        return Err(ApiError::bad_request(
            "too_many_tokens",
            format!("ask about at most {MAX_INTROSPECT} tokens at once"),
            Some("tokens".into()),
        ));
    }
    let answers = serve::introspect(&state, state.relay(), &request.tokens).await?;
    Ok(Json(IntrospectResponse { tokens: answers }))
}
