//! `/api/v1/environments`: list and create.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Admin, Viewer};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::schemas::{ActorHeader, EnvironmentList, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_environments, create_environment))
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
    params(ActorHeader),
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
    flagpole_core::check_environment_name(&body.name)
        .map_err(|m| ApiError::bad_request("invalid_body", m, Some("name".into())))?;
    let _guard = state.write_lock().await;
    state
        .store()
        .create_environment(&body.name, who.change("environment.created", Some(&body.name)))
        .await?;
    let published = state.reload().await?;
    let env = published.environments.iter().find(|e| e.name == body.name);
    Ok((StatusCode::CREATED, Json(json!(env))))
}
