//! The HTTP surface. Each area has a `router()`; [`app`] composes them with the
//! middleware every route shares.

mod environments;
mod evaluate;
mod flags;
mod health;
mod history;
mod ofrep;
mod resources;
mod seed;
mod segments;
mod transfer;
mod unleash;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use crate::telemetry;

pub use transfer::import_document;

/// The whole application, ready to serve or to call with `oneshot` in tests.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .merge(environments::router())
        .merge(flags::router())
        .merge(segments::router())
        .merge(evaluate::router())
        .merge(history::router())
        .merge(transfer::router());
    Router::new()
        .nest("/api/v1", api)
        .merge(seed::router())
        .merge(ofrep::router())
        .merge(unleash::router())
        .merge(health::router())
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(axum::middleware::from_fn(telemetry::track_requests))
        .layer(DefaultBodyLimit::max(state.config().max_body_bytes * 10))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(telemetry::panic_response))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> crate::ApiError {
    crate::ApiError::NotFound {
        kind: "route",
        name: uri.path().to_string(),
    }
}

/// A known path with a method it does not serve: 405 with the usual error body (axum
/// adds the `Allow` header).
async fn method_not_allowed(
    method: axum::http::Method,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
) -> crate::ApiError {
    crate::ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_string(),
    }
}
