//! `/api/v1/environments`: list, create, protect, delete.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Admin, Viewer};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::resources::check_new_name;
use crate::schemas::{BodyErrors, EnvironmentList, ErrorBody, WriteErrors};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_environments, create_environment))
        .routes(routes!(update_environment, delete_environment))
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
        (status = 400, description = "Unreadable body", body = ErrorBody),
        (status = 409, description = "The environment exists", body = ErrorBody),
        (status = 422, description = "The name is not allowed (characters, length, or a case twin of an existing one)", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn create_environment(
    State(state): State<AppState>,
    Admin(who): Admin,
    ApiJson(body): ApiJson<NewEnvironment>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_new_name("environment name", "name", &body.name)?;
    let _guard = state.write_lock().await?;
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
        (status = 200, description = "The environment", body = flagpole_store::Environment),
        (status = 401, description = "No credential", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such environment", body = ErrorBody),
        BodyErrors,
    )
)]
async fn update_environment(
    State(state): State<AppState>,
    Admin(who): Admin,
    ApiPath(env): ApiPath<String>,
    ApiJson(body): ApiJson<EnvironmentUpdate>,
) -> Result<Json<Value>, ApiError> {
    let _guard = state.write_lock().await?;
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

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DeleteQuery {
    /// Also delete every flag's configuration in the environment (else: 409 while any
    /// flag has some).
    #[serde(default)]
    drop_configuration: bool,
}

/// Deletes an environment: refused while flags are configured there (unless
/// `drop_configuration=true`), while live tokens are bound to it, and for the seed API's
/// environment.
#[utoipa::path(
    delete,
    path = "/environments/{env}",
    tag = "environments",
    params(("env" = String, Path, description = "Environment name"), DeleteQuery),
    responses(
        (status = 204, description = "Deleted (with the flags' configuration there, if asked)"),
        (status = 400, description = "Unreadable query", body = ErrorBody),
        (status = 404, description = "No such environment", body = ErrorBody),
        (status = 409, description = "Flags are configured there, tokens are bound to it, or the seed API serves it", body = ErrorBody),
        (status = 422, description = "Deleting the configuration would leave the flags invalid", body = ErrorBody),
    )
)]
async fn delete_environment(
    State(state): State<AppState>,
    Admin(who): Admin,
    ApiPath(env): ApiPath<String>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> Result<StatusCode, ApiError> {
    let _guard = state.write_lock().await?;
    let published = state.published();
    published.snapshot(&env)?;
    if env == state.config().seed_environment {
        return Err(ApiError::Conflict(format!(
            "the seed API serves {env} (--seed-environment); serve another one before deleting it"
        )));
    }
    let bound: Vec<String> = state
        .store()
        .load_auth()
        .await?
        .tokens
        .into_iter()
        .filter(|t| t.revoked_at.is_none() && t.environment.as_deref() == Some(env.as_str()))
        .map(|t| t.id)
        .collect();
    if !bound.is_empty() {
        return Err(ApiError::Conflict(format!(
            "tokens are bound to {env}: {}; revoke them first",
            bound.join(", ")
        )));
    }
    let configured: Vec<(String, flagpole_core::Flag)> = published
        .flags
        .values()
        .map(|r| (r.key.clone(), r.flag()))
        .filter(|(_, flag)| flag.environments.contains_key(&env))
        .map(|(key, mut flag)| {
            flag.environments.shift_remove(&env);
            (key, flag)
        })
        .collect();
    if !configured.is_empty() && !query.drop_configuration {
        let keys: Vec<&str> = configured
            .iter()
            .map(|(k, _)| k.as_str())
            .take(20)
            .collect();
        return Err(ApiError::Conflict(format!(
            "{} flag(s) are configured in {env} ({}); delete with drop_configuration=true to delete their configuration there too",
            configured.len(),
            keys.join(", ")
        )));
    }
    let mut doc = published.document();
    for (key, flag) in &configured {
        doc.flags.insert(key.clone(), flag.clone());
    }
    flagpole_core::validate(&doc)?;
    state
        .store()
        .delete_environment(
            &env,
            &configured,
            who.change("environment.deleted", Some(&env)),
        )
        .await?;
    state.reload().await?;
    Ok(StatusCode::NO_CONTENT)
}
