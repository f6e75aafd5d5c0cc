//! `/health/live`, `/health/ready` and `/metrics` (Prometheus text format).

use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::auth::{MetricsReader, Public};
use crate::http::AppState;
use crate::telemetry;

router!(pub fn router: live; ready; metrics);

/// Health: `ok` or `ready` (with the published and stored configuration versions), or
/// why the server is not ready.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct HealthStatus {
    pub status: &'static str,
    /// The configuration version this process serves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// The configuration version the store holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_version: Option<i64>,
    /// How many configuration versions this process is behind the store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag: Option<i64>,
}

impl HealthStatus {
    fn only(status: &'static str) -> Json<HealthStatus> {
        Json(HealthStatus {
            status,
            ..HealthStatus::default()
        })
    }
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health/live", security(()), responses((status = 200, description = "`{\"status\": \"ok\"}`", body = HealthStatus)))]
async fn live(Public(_who): Public) -> Json<HealthStatus> {
    HealthStatus::only("ok")
}

/// Ready when the store answers within a second and this process has published every
/// change the store holds (a replica that is behind tries to catch up first, and says
/// how far behind it is when it cannot). On a relay: `ready` or `degraded` (200, serving
/// its last state while the upstream is away), with `upstream` connected or not.
#[utoipa::path(get, path = "/health/ready", security(()), responses((status = 200, description = "Ready and caught up, with the published and stored versions (a relay: `ready`, or `degraded` without its upstream)", body = HealthStatus), (status = 503, description = "The store failed or timed out, or this replica has not caught up with it", body = HealthStatus)))]
async fn ready(State(state): State<AppState>, Public(_who): Public) -> Response {
    if let Some(relay) = state.relay() {
        let health = relay.health(state.published().version);
        let code = if health.status == "starting" {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        };
        return (code, Json(health)).into_response();
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
            let (code, status) = if lag == 0 {
                (StatusCode::OK, "ready")
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, "catching up")
            };
            let body = HealthStatus {
                status,
                version: Some(version),
                stored_version: Some(stored),
                lag: Some(lag),
            };
            (code, Json(body)).into_response()
        }
        Ok(Err(e)) => {
            tracing::warn!(error = ?e, "readiness check: store failed");
            let body = HealthStatus::only("store unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
        }
        Err(_) => {
            let body = HealthStatus::only("store timed out");
            (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
        }
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", security(()), responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain")))]
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
