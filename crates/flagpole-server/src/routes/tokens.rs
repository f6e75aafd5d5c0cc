//! `/api/v1/tokens`: API tokens: list, create (the secret is shown once), revoke.

use axum::http::StatusCode;
use axum::Json;
use flagpole_store::TokenRecord;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::Admin;
use crate::http::extract::{ApiJson, ApiPath, Call};
use crate::http::schemas::BodyErrors;
use crate::identity::issue::{self, NewToken};

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

/// Lists every token (revoked ones too), without secrets.
#[utoipa::path(get, path = "/tokens", responses((status = 200, description = "Every token, oldest first", body = TokenList)))]
async fn list_tokens(Call(state, Admin(_who)): Call<Admin>) -> Result<Json<TokenList>, ApiError> {
    let tokens = state.store().load_auth().await?.tokens;
    Ok(Json(TokenList { tokens }))
}

/// Creates a token; the answer's `secret` is the only time the token's text is shown.
#[utoipa::path(post, path = "/tokens", request_body = NewToken, responses((status = 400, description = "Unreadable body", body = ErrorBody), (status = 201, description = "The token, with its `secret`", body = NewTokenAnswer), (status = 409, description = "A token with this secret exists", body = ErrorBody), (status = 422, description = "Invalid fields", body = ErrorBody), BodyErrors))]
async fn create_token(
    Call(state, Admin(who)): Call<Admin>,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<NewTokenAnswer>), ApiError> {
    let published = state.published();
    let (record, text) = issue::token(&body, who.actor(), |env| published.has_environment(env))?;
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
    Call(state, Admin(who)): Call<Admin>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TokenRecord>, ApiError> {
    let record = state
        .store()
        .revoke_token(&id, chrono::Utc::now(), who.change("token.revoked", None))
        .await?;
    state.reload_auth().await?;
    Ok(Json(record))
}
