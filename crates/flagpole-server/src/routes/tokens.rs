//! `/api/v1/tokens`: API tokens: list, create (the secret is shown once), revoke.

use axum::http::StatusCode;
use axum::Json;
use flagpole_store::TokenRecord;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::ProjectViewer;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, Call};
use crate::http::schemas::{BodyErrors, ProjectQuery};
use crate::identity::issue::{self, NewToken};
use crate::identity::{Principal, Role, Who};
use flagpole_core::GLOBAL_PROJECT;

router!(pub fn router: list_tokens, create_token; revoke_token);

/// Every token (revoked ones too), oldest first, without secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenRecord>,
}

/// A new token and its text, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewTokenAnswer {
    #[serde(flatten)]
    pub token: TokenRecord,
    /// The token's text: keep it now, it is stored only hashed.
    pub secret: String,
}

/// Whether `who` manages `token`: server-wide admins every token, a project's admins
/// the tokens of their projects only.
fn manages(who: &Principal, token: &TokenRecord) -> bool {
    if who.role() == Some(Role::Admin) {
        return true;
    }
    !token.projects.is_empty()
        && token
            .projects
            .iter()
            .all(|p| p != GLOBAL_PROJECT && who.may(p, Role::Admin))
}

/// Lists the tokens the caller manages (revoked ones too), without secrets.
#[utoipa::path(get, path = "/tokens", params(ProjectQuery), responses((status = 400, description = "Unreadable query", body = ErrorBody), (status = 200, description = "Every token the caller manages (all, for server-wide admins; else those of projects it administers), oldest first", body = TokenList)))]
async fn list_tokens(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiQuery(query): ApiQuery<ProjectQuery>,
) -> Result<Json<TokenList>, ApiError> {
    let tokens = state.store().load_auth().await?.tokens;
    let tokens = tokens
        .into_iter()
        .filter(|t| manages(&who, t))
        .filter(|t| {
            query
                .project
                .as_ref()
                .is_none_or(|p| t.projects.iter().any(|q| q == p || q == GLOBAL_PROJECT))
        })
        .collect();
    Ok(Json(TokenList { tokens }))
}

/// Creates a token; the answer's `secret` is the only time the token's text is shown.
#[utoipa::path(post, path = "/tokens", request_body = NewToken, responses((status = 400, description = "Unreadable body", body = ErrorBody), (status = 201, description = "The token, with its `secret`", body = NewTokenAnswer), (status = 409, description = "A token with this secret exists", body = ErrorBody), (status = 422, description = "Invalid fields", body = ErrorBody), BodyErrors))]
async fn create_token(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<NewTokenAnswer>), ApiError> {
    let published = state.published();
    let (mut record, text) =
        issue::token(&body, who.actor(), |env| published.has_environment(env))?;
    let unknown = record
        .projects
        .iter()
        .position(|p| p != GLOBAL_PROJECT && published.project(p).is_none());
    if let Some(i) = unknown {
        return Err(ApiError::Invalid(vec![flagpole_core::Problem {
            path: format!("projects[{i}]"),
            message: format!("there is no project {:?}", record.projects[i]),
        }]));
    }
    if !manages(&who, &record) {
        return Err(ApiError::Forbidden(
            "tokens of every project are for server-wide admins; a project's admins create tokens of their projects".into(),
        ));
    }
    // An admin token a person creates is theirs (acting as them) unless it is a
    // service account's.
    if record.kind == "admin" && !body.service_account {
        record.owner = match &who.who {
            Who::User { user, .. } => Some(user.name.clone()),
            Who::Token(t) => t.owner.as_ref().map(|u| u.name.clone()),
            _ => None,
        };
    }
    state
        .store()
        .create_token(&record, who.change("token.created", None))
        .await
        .map_err(|e| match e {
            flagpole_store::Error::Conflict { .. } => {
                ApiError::Conflict("a token with this secret exists already".into())
            }
            other => other.into(),
        })?;
    state.reload_auth().await?;
    let answer = NewTokenAnswer {
        token: record,
        secret: text,
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Revokes a token: refused from the next request on (on other replicas, from their next
/// reload).
#[utoipa::path(delete, path = "/tokens/{id}", params(("id" = String, Path, description = "The token's id")), responses((status = 200, description = "The revoked token", body = TokenRecord), (status = 404, description = "No such token", body = ErrorBody)))]
async fn revoke_token(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TokenRecord>, ApiError> {
    let tokens = state.store().load_auth().await?.tokens;
    if tokens.iter().any(|t| t.id == id && !manages(&who, t)) {
        return Err(ApiError::Forbidden(
            "this token reaches projects you do not administer".into(),
        ));
    }
    let record = state
        .store()
        .revoke_token(&id, chrono::Utc::now(), who.change("token.revoked", None))
        .await?;
    state.reload_auth().await?;
    Ok(Json(record))
}
