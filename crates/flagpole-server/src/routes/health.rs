//! `/health/live`, `/health/ready` and `/metrics` (Prometheus text format).

use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{MetricsReader, Public};
use crate::schemas::HealthStatus;
use crate::state::AppState;
use crate::telemetry;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(ready))
        .routes(routes!(metrics))
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/health/live",
    security(()),
    tag = "health",
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = HealthStatus))
)]
async fn live(Public(_who): Public) -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when the store answers within a second and this process has published every
/// change the store holds (a replica that is behind tries to catch up first, and says
/// how far behind it is when it cannot). On a relay: `ready` or `degraded` (200, serving
/// its last state while the upstream is away), with `upstream` connected or not.
#[utoipa::path(
    get,
    path = "/health/ready",
    security(()),
    tag = "health",
    responses(
        (status = 200, description = "Ready and caught up, with the published and stored versions (a relay: `ready`, or `degraded` without its upstream)", body = HealthStatus),
        (status = 503, description = "The store failed or timed out, or this replica has not caught up with it", body = HealthStatus),
    )
)]
async fn ready(State(state): State<AppState>, Public(_who): Public) -> impl IntoResponse {
    if let Some(relay) = state.relay() {
        let (code, body) = relay.health(&state);
        return (code, Json(body));
    }
    match tokio::time::timeout(Duration::from_secs(1), state.store().version()).await {
        Ok(Ok(stored)) => {
            state.saw_version(stored);
            if state.published().version < stored {
                let caught_up = tokio::time::timeout(Duration::from_secs(1), state.reload()).await;
                if let Ok(Err(e)) = caught_up {
                    tracing::warn!(error = ?e, "readiness check: catching up failed");
                }
            }
            let version = state.published().version;
            let lag = (stored - version).max(0);
            let status = if lag == 0 { "ready" } else { "catching up" };
            let code = if lag == 0 {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (
                code,
                Json(
                    json!({"status": status, "version": version, "stored_version": stored, "lag": lag}),
                ),
            )
        }
        Ok(Err(e)) => {
            tracing::warn!(error = ?e, "readiness check: store failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "store unavailable"})),
            )
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "store timed out"})),
        ),
    }
}

/// Prometheus metrics.
#[utoipa::path(
    get,
    path = "/metrics",
    security(()),
    tag = "health",
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"))
)]
async fn metrics(State(state): State<AppState>, _: MetricsReader) -> impl IntoResponse {
    let published = state.published();
    metrics::gauge!("flagpole_snapshot_version").set(published.version as f64);
    metrics::gauge!("flagpole_snapshot_age_seconds")
        .set(published.built_at.elapsed().as_secs_f64());
    metrics::gauge!("flagpole_flags").set(published.live_flags() as f64);
    metrics::gauge!("flagpole_change_lag").set(state.lag() as f64);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        telemetry::render(),
    )
}
