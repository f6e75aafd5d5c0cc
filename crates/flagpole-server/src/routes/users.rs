//! `/api/v1/users`: users and their roles (admins only).

use axum::http::StatusCode;
use axum::Json;
use flagpole_store::UserRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::{session, Admin};
use crate::http::extract::{ApiJson, ApiPath, Call};
use crate::http::schemas::BodyErrors;
use crate::identity::issue::{self, NewUser};

router!(pub fn router: list_users, create_user; update_user, delete_user);

/// Every user, in name order, without password hashes.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserRecord>,
}

/// Lists users (without password hashes).
#[utoipa::path(get, path = "/users", responses((status = 200, description = "Every user, in name order", body = UserList)))]
async fn list_users(Call(state, Admin(_who)): Call<Admin>) -> Result<Json<UserList>, ApiError> {
    let users = state.store().load_auth().await?.users;
    Ok(Json(UserList { users }))
}

/// Creates a user.
#[utoipa::path(post, path = "/users", request_body = NewUser, responses((status = 400, description = "Unreadable body", body = ErrorBody), (status = 201, description = "The user", body = UserRecord), (status = 409, description = "The user exists", body = ErrorBody), (status = 422, description = "Invalid fields", body = ErrorBody), BodyErrors))]
async fn create_user(
    Call(state, Admin(who)): Call<Admin>,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<UserRecord>), ApiError> {
    let published = state.published();
    issue::check_user(
        &body.name,
        Some(&body.password),
        &body.role,
        &body.grants,
        |e| published.has_environment(e),
    )?;
    let hash = session::hash_password(&body.password).await;
    let record = issue::user_record(&body, hash);
    state
        .store()
        .create_user(&record, who.change("user.created", None))
        .await?;
    state.reload_auth().await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UserUpdate {
    role: Option<String>,
    grants: Option<Vec<String>>,
    /// A new password; every session of the user ends.
    password: Option<String>,
}

/// Changes a user's role, grants or password.
#[utoipa::path(patch, path = "/users/{name}", params(("name" = String, Path, description = "User name")), request_body = UserUpdate, responses((status = 400, description = "Unreadable body", body = ErrorBody), (status = 200, description = "The user", body = UserRecord), (status = 404, description = "No such user", body = ErrorBody), (status = 422, description = "Invalid fields", body = ErrorBody), BodyErrors))]
async fn update_user(
    Call(state, Admin(who)): Call<Admin>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<UserUpdate>,
) -> Result<Json<UserRecord>, ApiError> {
    let auth = state.store().load_auth().await?;
    let mut record = auth
        .users
        .into_iter()
        .find(|u| u.name == name)
        .ok_or(ApiError::NotFound {
            kind: "user",
            name: name.clone(),
        })?;
    record.role = body.role.unwrap_or(record.role);
    record.grants = body.grants.unwrap_or(record.grants);
    let published = state.published();
    issue::check_user(
        &record.name,
        body.password.as_deref(),
        &record.role,
        &record.grants,
        |e| published.has_environment(e),
    )?;
    let end_sessions = match &body.password {
        Some(password) => {
            record.password_hash = session::hash_password(password).await;
            Some(None)
        }
        None => None,
    };
    record.updated_at = chrono::Utc::now();
    state
        .store()
        .update_user(&record, end_sessions, who.change("user.updated", None))
        .await?;
    state.reload_auth().await?;
    Ok(Json(record))
}

/// Deletes a user and ends their sessions.
#[utoipa::path(delete, path = "/users/{name}", params(("name" = String, Path, description = "User name")), responses((status = 204, description = "Deleted"), (status = 404, description = "No such user", body = ErrorBody)))]
async fn delete_user(
    Call(state, Admin(who)): Call<Admin>,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store()
        .delete_user(&name, who.change("user.deleted", None))
        .await?;
    state.reload_auth().await?;
    Ok(StatusCode::NO_CONTENT)
}
