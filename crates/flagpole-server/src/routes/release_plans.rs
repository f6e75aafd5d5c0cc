//! Release plans (guarded rollouts): `/api/v1/flags/{key}/environments/{env}/release-plan`
//! to start one, read it, pause, resume or cancel it; `/api/v1/release-plans` to list
//! them. What a plan does is in `crate::release`.

use axum::http::StatusCode;
use axum::Json;
use flagpole_store::{PlanFilter, ReleasePlan};
use serde::Deserialize;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::{readable_flag, ProjectEditor, ProjectViewer};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, Call};
use crate::http::schemas::{BodyErrors, WriteErrors};
use crate::release::control;
use crate::release::plan::PlanInput;

router!(pub fn router: get_release_plan, create_release_plan; pause_release_plan; resume_release_plan; cancel_release_plan; list_release_plans);

/// Starts a release plan: the first milestone is applied at once, then the server moves
/// on after each wait while the guards hold.
#[utoipa::path(post, path = "/flags/{key}/environments/{env}/release-plan", params(("key" = String, Path, description = "Flag key"), ("env" = String, Path, description = "Environment name")), request_body = PlanInput, responses((status = 201, description = "The plan, started", body = ReleasePlan), (status = 400, description = "Unreadable body", body = ErrorBody), (status = 404, description = "No such flag or environment", body = ErrorBody), (status = 409, description = "The flag has an active plan there, or a guard is breached already", body = ErrorBody), (status = 422, description = "The plan is invalid (each problem names its field)", body = ErrorBody), BodyErrors, WriteErrors))]
async fn create_release_plan(
    Call(state, ProjectEditor(who)): Call<ProjectEditor>,
    ApiPath((key, env)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<PlanInput>,
) -> Result<(StatusCode, Json<ReleasePlan>), ApiError> {
    let plan = control::start(state.releases().reader(), &who, &key, &env, input).await?;
    Ok((StatusCode::CREATED, Json(plan)))
}

/// The flag's active plan in the environment, else its latest one.
#[utoipa::path(get, path = "/flags/{key}/environments/{env}/release-plan", params(("key" = String, Path, description = "Flag key"), ("env" = String, Path, description = "Environment name")), responses((status = 200, description = "The plan", body = ReleasePlan), (status = 404, description = "The flag has no plan there", body = ErrorBody)))]
async fn get_release_plan(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath((key, env)): ApiPath<(String, String)>,
) -> Result<Json<ReleasePlan>, ApiError> {
    readable_flag(&state, &who, &key)?;
    Ok(Json(control::current(&state, &key, &env).await?))
}

/// Pauses a running plan: no step and no guard check until it is resumed.
#[utoipa::path(post, path = "/flags/{key}/environments/{env}/release-plan/pause", params(("key" = String, Path, description = "Flag key"), ("env" = String, Path, description = "Environment name")), responses((status = 200, description = "The plan, paused", body = ReleasePlan), (status = 404, description = "The flag has no plan there", body = ErrorBody), (status = 409, description = "The plan is not running", body = ErrorBody), WriteErrors))]
async fn pause_release_plan(
    Call(state, ProjectEditor(who)): Call<ProjectEditor>,
    ApiPath((key, env)): ApiPath<(String, String)>,
) -> Result<Json<ReleasePlan>, ApiError> {
    Ok(Json(control::pause(&state, &who, &key, &env).await?))
}

/// Resumes a paused plan from its current milestone (its wait starts again), taking the
/// flag as it is now as the plan's last write.
#[utoipa::path(post, path = "/flags/{key}/environments/{env}/release-plan/resume", params(("key" = String, Path, description = "Flag key"), ("env" = String, Path, description = "Environment name")), responses((status = 200, description = "The plan, running", body = ReleasePlan), (status = 404, description = "The flag has no plan there", body = ErrorBody), (status = 409, description = "The plan is not paused", body = ErrorBody), WriteErrors))]
async fn resume_release_plan(
    Call(state, ProjectEditor(who)): Call<ProjectEditor>,
    ApiPath((key, env)): ApiPath<(String, String)>,
) -> Result<Json<ReleasePlan>, ApiError> {
    Ok(Json(control::resume(&state, &who, &key, &env).await?))
}

/// Cancels an active plan; the flag stays as it is (roll it back from its history if
/// needed).
#[utoipa::path(post, path = "/flags/{key}/environments/{env}/release-plan/cancel", params(("key" = String, Path, description = "Flag key"), ("env" = String, Path, description = "Environment name")), responses((status = 200, description = "The plan, cancelled", body = ReleasePlan), (status = 404, description = "The flag has no plan there", body = ErrorBody), (status = 409, description = "The plan is not active", body = ErrorBody), WriteErrors))]
async fn cancel_release_plan(
    Call(state, ProjectEditor(who)): Call<ProjectEditor>,
    ApiPath((key, env)): ApiPath<(String, String)>,
) -> Result<Json<ReleasePlan>, ApiError> {
    Ok(Json(control::cancel(&state, &who, &key, &env).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PlanQuery {
    flag: Option<String>,
    environment: Option<String>,
    /// Only running and paused plans.
    active: Option<bool>,
    /// Only the plans of this project's flags.
    project: Option<String>,
}

/// Release plans, newest first (at most 1000).
#[utoipa::path(get, path = "/release-plans", params(PlanQuery), responses((status = 200, description = "The plans", body = Vec<ReleasePlan>), (status = 400, description = "Unreadable query", body = ErrorBody)))]
async fn list_release_plans(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> Result<Json<Vec<ReleasePlan>>, ApiError> {
    let filter = PlanFilter {
        flag: q.flag,
        environment: q.environment,
        active: q.active.unwrap_or(false),
    };
    let published = state.published();
    let scope = who.scope();
    let plans = state.store().release_plans(&filter).await?;
    let plans = plans
        .into_iter()
        .filter(|p| {
            let of = published.project_of("flag", &p.flag);
            scope.contains(of) && q.project.as_deref().is_none_or(|want| want == of)
        })
        .collect();
    Ok(Json(plans))
}
