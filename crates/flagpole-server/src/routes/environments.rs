//! `/api/v1/environments`: list and create.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use flagpole_store::Change;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::resources::actor;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/environments",
        get(list_environments).post(create_environment),
    )
}

async fn list_environments(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"environments": state.published().environments}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewEnvironment {
    name: String,
}

async fn create_environment(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewEnvironment>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    flagpole_core::check_environment_name(&body.name)
        .map_err(|m| ApiError::bad_request("invalid_body", m, Some("name".into())))?;
    let _guard = state.write_lock().await;
    let who = actor(&headers);
    state
        .store()
        .create_environment(
            &body.name,
            Change {
                actor: &who,
                action: "environment.created",
                environment: Some(&body.name),
            },
        )
        .await?;
    let published = state.reload().await?;
    let env = published.environments.iter().find(|e| e.name == body.name);
    Ok((StatusCode::CREATED, Json(json!(env))))
}
