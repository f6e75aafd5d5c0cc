//! `/api/v1/environments`: list, create, protect.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Admin, Viewer};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::routes::resources::check_new_name;
use crate::schemas::{EnvironmentList, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_environments, create_environment))
        .routes(routes!(update_environment))
}

/// Lists the environments.
#[utoipa::path(
    get,
    path = "/environments",
    tag = "environments",
    responses((status = 200, description = "Every environment, in name order", body = EnvironmentList))
)]
async fn list_environments(State(state): State<AppState>, Viewer(_who): Viewer) -> Json<Value> {
    Json(json!({"environments": state.published().environments}))
}

/// An environment to create.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewEnvironment {
    name: String,
}

/// Creates an environment.
#[utoipa::path(
    post,
    path = "/environments",
    tag = "environments",
    request_body = NewEnvironment,
    responses(
        (status = 201, description = "The new environment", body = flagpole_store::Environment),
        (status = 400, description = "Unreadable body or invalid name", body = ErrorBody),
        (status = 409, description = "The environment exists", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 500, description = "Storage failed", body = ErrorBody),
    )
)]
async fn create_environment(
    State(state): State<AppState>,
    Admin(who): Admin,
    ApiJson(body): ApiJson<NewEnvironment>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_new_name("environment name", "name", &body.name)?;
    let _guard = state.write_lock().await;
    let published = state.published();
    let twin = published
        .environments
        .iter()
        .find(|e| e.name != body.name && e.name.eq_ignore_ascii_case(&body.name));
    if let Some(twin) = twin {
        return Err(ApiError::Invalid(vec![flagpole_core::Problem {
            path: "name".into(),
            message: format!(
                "environment name {:?} differs from {:?} only in case",
                body.name, twin.name
            ),
        }]));
    }
    state
        .store()
        .create_environment(
            &body.name,
            who.change("environment.created", Some(&body.name)),
        )
        .await?;
    let published = state.reload().await?;
    let env = published.environments.iter().find(|e| e.name == body.name);
    Ok((StatusCode::CREATED, Json(json!(env))))
}

/// What can change about an environment.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EnvironmentUpdate {
    /// Only admins, and users or tokens granted the environment, may change a protected one.
    protected: bool,
}

/// Marks an environment protected, or not.
#[utoipa::path(
    patch,
    path = "/environments/{env}",
    tag = "environments",
    params(("env" = String, Path, description = "Environment name")),
    request_body = EnvironmentUpdate,
    responses(
        (status = 400, description = "Unreadable body", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 200, description = "The environment", body = flagpole_store::Environment),
        (status = 401, description = "No credential", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such environment", body = ErrorBody),
    )
)]
async fn update_environment(
    State(state): State<AppState>,
    Admin(who): Admin,
    ApiPath(env): ApiPath<String>,
    ApiJson(body): ApiJson<EnvironmentUpdate>,
) -> Result<Json<Value>, ApiError> {
    let _guard = state.write_lock().await;
    let action = if body.protected {
        "environment.protected"
    } else {
        "environment.unprotected"
    };
    state
        .store()
        .set_environment_protected(&env, body.protected, who.change(action, Some(&env)))
        .await?;
    let published = state.reload().await?;
    let found = published.environments.iter().find(|e| e.name == env);
    Ok(Json(json!(found)))
}
