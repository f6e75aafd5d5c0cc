//! `/api/v1/environments`: list, create, protect, delete.

use axum::http::StatusCode;
use axum::Json;
use flagpole_store::Environment;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::{Admin, Viewer};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, Call};
use crate::http::schemas::{BodyErrors, WriteErrors};
use crate::write::environments::{self, Setting};

router!(pub fn router: list_environments, create_environment; update_environment, delete_environment);

#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentList {
    pub environments: Vec<Environment>,
}

/// Lists the environments.
#[utoipa::path(get, path = "/environments", responses((status = 200, description = "Every environment, in name order", body = EnvironmentList)))]
async fn list_environments(Call(state, Viewer(_who)): Call<Viewer>) -> Json<EnvironmentList> {
    let environments = state.published().environments.clone();
    Json(EnvironmentList { environments })
}

/// An environment to create.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewEnvironment {
    name: String,
}

/// Creates an environment.
#[utoipa::path(post, path = "/environments", request_body = NewEnvironment, responses((status = 201, description = "The new environment", body = flagpole_store::Environment), (status = 400, description = "Unreadable body", body = ErrorBody), (status = 409, description = "The environment exists", body = ErrorBody), (status = 422, description = "The name is not allowed (characters, length, or a case twin of an existing one)", body = ErrorBody), BodyErrors, WriteErrors))]
async fn create_environment(
    Call(state, Admin(who)): Call<Admin>,
    ApiJson(body): ApiJson<NewEnvironment>,
) -> Result<(StatusCode, Json<Environment>), ApiError> {
    let created = environments::create(&state, &who, &body.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// What can change about an environment.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EnvironmentUpdate {
    /// Only admins, and users or tokens granted the environment, may change a protected one.
    protected: bool,
}

/// Marks an environment protected, or not.
#[utoipa::path(patch, path = "/environments/{env}", params(("env" = String, Path, description = "Environment name")), request_body = EnvironmentUpdate, responses((status = 400, description = "Unreadable body", body = ErrorBody), (status = 200, description = "The environment", body = flagpole_store::Environment), (status = 404, description = "No such environment", body = ErrorBody), BodyErrors))]
async fn update_environment(
    Call(state, Admin(who)): Call<Admin>,
    ApiPath(env): ApiPath<String>,
    ApiJson(body): ApiJson<EnvironmentUpdate>,
) -> Result<Json<Environment>, ApiError> {
    let setting = Setting::Protected(body.protected);
    let updated = environments::set(&state, &who, &env, setting).await?;
    Ok(Json(updated))
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
#[utoipa::path(delete, path = "/environments/{env}", params(("env" = String, Path, description = "Environment name"), DeleteQuery), responses((status = 204, description = "Deleted (with the flags' configuration there, if asked)"), (status = 400, description = "Unreadable query", body = ErrorBody), (status = 404, description = "No such environment", body = ErrorBody), (status = 409, description = "Flags are configured there, tokens are bound to it, or the seed API serves it", body = ErrorBody), (status = 422, description = "Deleting the configuration would leave the flags invalid", body = ErrorBody)))]
async fn delete_environment(
    Call(state, Admin(who)): Call<Admin>,
    ApiPath(env): ApiPath<String>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> Result<StatusCode, ApiError> {
    environments::delete(&state, &who, &env, query.drop_configuration).await?;
    Ok(StatusCode::NO_CONTENT)
}
