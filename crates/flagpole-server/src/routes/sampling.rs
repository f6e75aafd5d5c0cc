//! `/api/v1/environments/{env}/sampling`: whether the server samples the contexts it
//! evaluates there, for impact previews (`crate::preview`). Off unless an admin turns it
//! on. Other replicas pick a change up at their next release-plan check.

use axum::extract::State;
use axum::Json;
use flagpole_core::Problem;
use flagpole_store::SamplingSetting;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Admin, Viewer};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::preview::MAX_SAMPLE_SIZE;
use crate::schemas::{BodyErrors, ErrorBody, WriteErrors};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_sampling, put_sampling))
}

/// An environment's sampling setting and how full its sample is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Sampling {
    #[serde(flatten)]
    setting: SamplingSetting,
    /// Contexts in this replica's sample.
    sampled: usize,
    /// Contexts offered to it since it started.
    seen: u64,
}

/// Reads an environment's sampling setting.
#[utoipa::path(
    get,
    path = "/environments/{env}/sampling",
    tag = "environments",
    params(("env" = String, Path, description = "Environment name")),
    responses(
        (status = 200, description = "The setting (off when never set)", body = Sampling),
        (status = 404, description = "No such environment", body = ErrorBody),
    )
)]
async fn get_sampling(
    State(state): State<AppState>,
    Viewer(_who): Viewer,
    ApiPath(env): ApiPath<String>,
) -> Result<Json<Sampling>, ApiError> {
    state.published().snapshot(&env)?;
    let setting = state
        .store()
        .sampling_settings()
        .await?
        .into_iter()
        .find(|s| s.environment == env)
        .unwrap_or(SamplingSetting {
            environment: env.clone(),
            enabled: false,
            mode: "full".into(),
            size: 10_000,
        });
    let samplers = &state.release().samplers;
    Ok(Json(Sampling {
        sampled: samplers.sampled(&env),
        seen: samplers.seen(&env),
        setting,
    }))
}

/// Turns sampling on or off in an environment (`mode`: `full` or `minimal`; `size` 1 to
/// `MAX_SAMPLE_SIZE`).
#[utoipa::path(
    put,
    path = "/environments/{env}/sampling",
    tag = "environments",
    params(("env" = String, Path, description = "Environment name")),
    request_body = SamplingSetting,
    responses(
        (status = 200, description = "The setting as stored", body = Sampling),
        (status = 400, description = "Unreadable body", body = ErrorBody),
        (status = 404, description = "No such environment", body = ErrorBody),
        (status = 422, description = "A mode or size out of range", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn put_sampling(
    State(state): State<AppState>,
    Admin(_who): Admin,
    ApiPath(env): ApiPath<String>,
    ApiJson(mut setting): ApiJson<SamplingSetting>,
) -> Result<Json<Sampling>, ApiError> {
    state.published().snapshot(&env)?;
    let mut problems = Vec::new();
    if setting.mode != "full" && setting.mode != "minimal" {
        problems.push(Problem {
            path: "mode".into(),
            message: "must be full or minimal".into(),
        });
    }
    if !(1..=MAX_SAMPLE_SIZE).contains(&setting.size) {
        problems.push(Problem {
            path: "size".into(),
            message: format!("must be 1 to {MAX_SAMPLE_SIZE} (limit MAX_SAMPLE_SIZE)"),
        });
    }
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    setting.environment = env.clone();
    state.note(state.store().put_sampling_setting(&setting).await)?;
    crate::preview::reload_settings(&state).await?;
    get_sampling(
        State(state),
        Viewer(crate::auth::Principal::local()),
        ApiPath(env),
    )
    .await
}
