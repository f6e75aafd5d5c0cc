//! What every route's request passes through, in one middleware: the host and origin
//! guard, the request span and metrics, a relay's refusal of writes, `?preview`, and
//! CORS. One
//! middleware rather than one per concern, because axum wraps every route in each
//! layer, and each `from_fn` layer clones the service inside it on every request: five
//! layers cost a dozen boxed clones per request; this one costs one.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::auth::cors::{self, Cors};
use crate::state::AppState;
use crate::telemetry::Tracked;

pub async fn request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = match crate::guard::refusal(&state, &request) {
        Some(refused) => refused,
        None => {
            let tracked = Tracked::start(&request);
            // A span for what the request logs; when debug logging is off this is
            // `Span::none()`, costing one check of the level.
            let span =
                tracing::debug_span!("request", method = %request.method(), uri = %request.uri());
            let response = route(&state, request, next).instrument(span).await;
            tracked.finish(&response);
            response
        }
    };
    crate::guard::finish(&mut response);
    response
}

async fn route(state: &AppState, mut request: Request, next: Next) -> Response {
    if let Some(refused) = crate::relay::refuse_writes(state, &request) {
        return refused;
    }
    let preview = match crate::preview::request::take(&mut request) {
        Ok(preview) => preview,
        Err(refused) => return *refused,
    };
    let cors = match cors::check(state, &request) {
        Cors::Answered(response) => return response,
        cors => cors,
    };
    let mut response = crate::preview::request::scope(preview, next.run(request)).await;
    cors.decorate(&mut response);
    response
}
