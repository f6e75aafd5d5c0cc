//! Release plans (guarded rollouts): `/api/v1/flags/{key}/environments/{env}/release-plan`
//! to start one, read it, pause, resume or cancel it; `/api/v1/release-plans` to list
//! them. What a plan does is in `crate::release`.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use flagpole_store::{Expect, PlanFilter, ReleasePlan};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Editor, Principal, Viewer};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::release::guards::{self, Reading};
use crate::release::plan::{self, PlanInput};
use crate::routes::protection;
use crate::schemas::{BodyErrors, ErrorBody, WriteErrors};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_release_plan, create_release_plan))
        .routes(routes!(pause_release_plan))
        .routes(routes!(resume_release_plan))
        .routes(routes!(cancel_release_plan))
        .routes(routes!(list_release_plans))
}

/// Starts a release plan: the first milestone is applied at once, then the server moves
/// on after each wait while the guards hold.
#[utoipa::path(
    post,
    path = "/flags/{key}/environments/{env}/release-plan",
    tag = "release plans",
    params(("key" = String, Path, description = "Flag key"), ("env" = String, Path, description = "Environment name")),
    request_body = PlanInput,
    responses(
        (status = 201, description = "The plan, started", body = ReleasePlan),
        (status = 400, description = "Unreadable body", body = ErrorBody),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
        (status = 409, description = "The flag has an active plan there, or a guard is breached already", body = ErrorBody),
        (status = 422, description = "The plan is invalid (each problem names its field)", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn create_release_plan(
    State(state): State<AppState>,
    Editor(who): Editor,
    ApiPath((key, env)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<PlanInput>,
) -> Result<(StatusCode, Json<ReleasePlan>), ApiError> {
    check_env(&state, &who, &env)?;
    let record = state.published().flag(&key)?.clone();
    plan::validate(&state, &input, &record.flag, &env)?;
    let now = Utc::now();
    for (i, g) in input.guards.iter().enumerate() {
        if let Reading::Value(Some(v)) = guards::read(&state, &env, g, now).await {
            if guards::breached(g, v) {
                return Err(ApiError::Conflict(format!(
                    "guard {i} ({}) is breached already: {v} {} {}",
                    guards::describe(g),
                    g.comparison,
                    g.threshold
                )));
            }
        }
    }
    let _lock = state.write_lock().await?;
    let record = state.published().flag(&key)?.clone();
    let new = ReleasePlan {
        id: 0,
        flag: key.clone(),
        environment: env.clone(),
        rule: input.rule.unwrap_or(0),
        milestones: input.milestones,
        guards: input.guards,
        on_breach: input.on_breach.unwrap_or_else(|| "rollback".into()),
        step: 0,
        status: "running".into(),
        reason: None,
        before: record.flag.clone(),
        last_version: record.version,
        next_at: None,
        created_by: who.actor().to_string(),
        created_at: now,
        updated_at: now,
        revision: 0,
    };
    let mut created = state.store().create_release_plan(&new).await?;
    let first = created.milestones[0].percent;
    let flag = plan::with_rollout(&record.flag, &env, created.rule, first);
    let action = format!("flag.release.step: milestone 0 ({first}%)");
    match plan::write(
        &state,
        &created,
        &flag,
        Expect::Version(record.version),
        &action,
    )
    .await
    {
        Ok(version) => {
            created.last_version = version;
            created.next_at = plan::due(&state, &created, Utc::now());
            Ok((
                StatusCode::CREATED,
                Json(state.store().update_release_plan(&created).await?),
            ))
        }
        Err(e) => {
            created.status = "cancelled".into();
            created.reason = Some(format!("the first milestone could not be written: {e}"));
            state.store().update_release_plan(&created).await?;
            Err(e)
        }
    }
}

/// The flag's active plan in the environment, else its latest one.
#[utoipa::path(
    get,
    path = "/flags/{key}/environments/{env}/release-plan",
    tag = "release plans",
    params(("key" = String, Path, description = "Flag key"), ("env" = String, Path, description = "Environment name")),
    responses(
        (status = 200, description = "The plan", body = ReleasePlan),
        (status = 404, description = "The flag has no plan there", body = ErrorBody),
    )
)]
async fn get_release_plan(
    State(state): State<AppState>,
    Viewer(_who): Viewer,
    ApiPath((key, env)): ApiPath<(String, String)>,
) -> Result<Json<ReleasePlan>, ApiError> {
    Ok(Json(current(&state, &key, &env).await?))
}

/// Pauses a running plan: no step and no guard check until it is resumed.
#[utoipa::path(
    post,
    path = "/flags/{key}/environments/{env}/release-plan/pause",
    tag = "release plans",
    params(("key" = String, Path, description = "Flag key"), ("env" = String, Path, description = "Environment name")),
    responses(
        (status = 200, description = "The plan, paused", body = ReleasePlan),
        (status = 404, description = "The flag has no plan there", body = ErrorBody),
        (status = 409, description = "The plan is not running", body = ErrorBody),
        WriteErrors,
    )
)]
async fn pause_release_plan(
    State(state): State<AppState>,
    Editor(who): Editor,
    ApiPath((key, env)): ApiPath<(String, String)>,
) -> Result<Json<ReleasePlan>, ApiError> {
    let by = format!("paused by {}", who.actor());
    transition(&state, &who, &key, &env, "running", |p| {
        p.status = "paused".into();
        p.next_at = None;
        p.reason = Some(by);
    })
    .await
}

/// Resumes a paused plan from its current milestone (its wait starts again), taking the
/// flag as it is now as the plan's last write.
#[utoipa::path(
    post,
    path = "/flags/{key}/environments/{env}/release-plan/resume",
    tag = "release plans",
    params(("key" = String, Path, description = "Flag key"), ("env" = String, Path, description = "Environment name")),
    responses(
        (status = 200, description = "The plan, running", body = ReleasePlan),
        (status = 404, description = "The flag has no plan there", body = ErrorBody),
        (status = 409, description = "The plan is not paused", body = ErrorBody),
        WriteErrors,
    )
)]
async fn resume_release_plan(
    State(state): State<AppState>,
    Editor(who): Editor,
    ApiPath((key, env)): ApiPath<(String, String)>,
) -> Result<Json<ReleasePlan>, ApiError> {
    let version = state.published().flag(&key)?.version;
    let state2 = state.clone();
    let by = format!("resumed by {}", who.actor());
    transition(&state, &who, &key, &env, "paused", move |p| {
        p.status = "running".into();
        p.last_version = version;
        p.next_at = plan::due(&state2, p, Utc::now());
        p.reason = Some(by);
    })
    .await
}

/// Cancels an active plan; the flag stays as it is (roll it back from its history if
/// needed).
#[utoipa::path(
    post,
    path = "/flags/{key}/environments/{env}/release-plan/cancel",
    tag = "release plans",
    params(("key" = String, Path, description = "Flag key"), ("env" = String, Path, description = "Environment name")),
    responses(
        (status = 200, description = "The plan, cancelled", body = ReleasePlan),
        (status = 404, description = "The flag has no plan there", body = ErrorBody),
        (status = 409, description = "The plan is not active", body = ErrorBody),
        WriteErrors,
    )
)]
async fn cancel_release_plan(
    State(state): State<AppState>,
    Editor(who): Editor,
    ApiPath((key, env)): ApiPath<(String, String)>,
) -> Result<Json<ReleasePlan>, ApiError> {
    let by = format!("cancelled by {}", who.actor());
    transition(&state, &who, &key, &env, "active", |p| {
        p.status = "cancelled".into();
        p.next_at = None;
        p.reason = Some(by);
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PlanQuery {
    flag: Option<String>,
    environment: Option<String>,
    /// Only running and paused plans.
    active: Option<bool>,
}

/// Release plans, newest first (at most 1000).
#[utoipa::path(
    get,
    path = "/release-plans",
    tag = "release plans",
    params(PlanQuery),
    responses(
        (status = 200, description = "The plans", body = Vec<ReleasePlan>),
        (status = 400, description = "Unreadable query", body = ErrorBody),
    )
)]
async fn list_release_plans(
    State(state): State<AppState>,
    Viewer(_who): Viewer,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> Result<Json<Vec<ReleasePlan>>, ApiError> {
    let filter = PlanFilter {
        flag: q.flag,
        environment: q.environment,
        active: q.active.unwrap_or(false),
    };
    Ok(Json(state.store().release_plans(&filter).await?))
}

fn check_env(state: &AppState, who: &Principal, env: &str) -> Result<(), ApiError> {
    let published = state.published();
    published.snapshot(env)?;
    protection::check(&published, who, &BTreeSet::from([env.to_string()]))
}

async fn current(state: &AppState, key: &str, env: &str) -> Result<ReleasePlan, ApiError> {
    let plans = state
        .store()
        .release_plans(&PlanFilter {
            flag: Some(key.into()),
            environment: Some(env.into()),
            active: false,
        })
        .await?;
    let active = plans.iter().find(|p| p.is_active()).or(plans.first());
    active.cloned().ok_or_else(|| ApiError::NotFound {
        kind: "release plan",
        name: format!("{key} in {env}"),
    })
}

/// Changes the flag's plan in `env` when it is in state `from` (`active`: running or
/// paused).
async fn transition(
    state: &AppState,
    who: &Principal,
    key: &str,
    env: &str,
    from: &str,
    change: impl FnOnce(&mut ReleasePlan),
) -> Result<Json<ReleasePlan>, ApiError> {
    check_env(state, who, env)?;
    let mut p = current(state, key, env).await?;
    let ok = if from == "active" {
        p.is_active()
    } else {
        p.status == from
    };
    if !ok {
        return Err(ApiError::Conflict(format!(
            "release plan {} is {}{}",
            p.id,
            p.status,
            p.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        )));
    }
    change(&mut p);
    p.updated_at = Utc::now();
    Ok(Json(state.store().update_release_plan(&p).await?))
}
