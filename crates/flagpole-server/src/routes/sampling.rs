//! `/api/v1/environments/{env}/sampling`: whether the server samples the contexts it
//! evaluates there, for impact previews (`crate::preview`). Off unless an admin turns it
//! on. Other replicas pick a change up at their next release-plan check.

use axum::Json;
use flagpole_store::SamplingSetting;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::core::Core;
use crate::error::{ApiError, ErrorBody};
use crate::http::auth::{Admin, Viewer};
use crate::http::extract::{ApiJson, ApiPath, Call};
use crate::http::schemas::{BodyErrors, WriteErrors};
use crate::http::AppState;
use crate::write::environments;

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
#[utoipa::path(get, path = "/environments/{env}/sampling", params(("env" = String, Path, description = "Environment name")), responses((status = 200, description = "The setting (off when never set)", body = Sampling), (status = 404, description = "No such environment", body = ErrorBody)))]
async fn get_sampling(
    Call(state, Viewer(_who)): Call<Viewer>,
    ApiPath(env): ApiPath<String>,
) -> Result<Json<Sampling>, ApiError> {
    state.published().snapshot(&env)?;
    let setting = crate::sample::setting(state.store(), &env).await?;
    Ok(Json(Sampling::of(&state, setting)))
}

/// Turns sampling on or off in an environment (`mode`: `full` or `minimal`; `size` 1 to
/// `MAX_SAMPLE_SIZE`).
#[utoipa::path(put, path = "/environments/{env}/sampling", params(("env" = String, Path, description = "Environment name")), request_body = SamplingSetting, responses((status = 200, description = "The setting as stored", body = Sampling), (status = 400, description = "Unreadable body", body = ErrorBody), (status = 404, description = "No such environment", body = ErrorBody), (status = 422, description = "A mode or size out of range", body = ErrorBody), BodyErrors, WriteErrors))]
async fn put_sampling(
    Call(state, Admin(_who)): Call<Admin>,
    ApiPath(env): ApiPath<String>,
    ApiJson(setting): ApiJson<SamplingSetting>,
) -> Result<Json<Sampling>, ApiError> {
    let setting = environments::set_sampling(&state, &env, setting).await?;
    Ok(Json(Sampling::of(&state, setting)))
}

impl Sampling {
    /// The setting with this replica's sample of its environment.
    fn of(core: &Core, setting: SamplingSetting) -> Sampling {
        let samplers = core.samplers();
        Sampling {
            sampled: samplers.sampled(&setting.environment),
            seen: samplers.seen(&setting.environment),
            setting,
        }
    }
}
