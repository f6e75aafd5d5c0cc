//! `/health/live`, `/health/ready` and `/metrics` (Prometheus text format).

use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::state::AppState;
use crate::telemetry;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics))
}

async fn live() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when a snapshot is published and the store answers within a second.
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let published = state.published();
    match tokio::time::timeout(Duration::from_secs(1), state.store().version()).await {
        Ok(Ok(stored)) => (
            StatusCode::OK,
            Json(
                json!({"status": "ready", "version": published.version, "stored_version": stored}),
            ),
        ),
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

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let published = state.published();
    metrics::gauge!("flagpole_snapshot_version").set(published.version as f64);
    metrics::gauge!("flagpole_snapshot_age_seconds")
        .set(published.built_at.elapsed().as_secs_f64());
    metrics::gauge!("flagpole_flags").set(published.document.flags.len() as f64);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        telemetry::render(),
    )
}
