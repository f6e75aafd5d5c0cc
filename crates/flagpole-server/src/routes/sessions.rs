//! `/api/v1/auth`: logging in and out, who the caller is, and changing one's password.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::policy::SESSION_COOKIE;
use crate::http::auth::{session, Public, Viewer};
use crate::http::extract::{ApiJson, Call};
use crate::http::schemas::BodyErrors;
use crate::http::AppState;
use crate::identity::issue::password_problem;
use crate::identity::{Principal, Who};

router!(pub fn router: login; logout; get_me; change_password);

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Login {
    name: String,
    password: String,
}

/// Logs in: sets the session cookie (HttpOnly, SameSite=Strict; Secure over TLS).
#[utoipa::path(post, path = "/auth/login", security(()), request_body = Login, responses((status = 400, description = "Unreadable body", body = ErrorBody), (status = 200, description = "Logged in; the cookie is set", body = LoggedIn), (status = 401, description = "Wrong user name or password", body = ErrorBody), (status = 429, description = "Too many failed attempts for this user or address", body = ErrorBody), BodyErrors))]
async fn login(
    Call(state, Public(caller)): Call<Public>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Login>,
) -> Result<Response, ApiError> {
    let (id, user) = session::login(&state, &body.name, &body.password, caller.address()).await?;
    let secure = tls(&state, &headers);
    let max_age = state.config().session_absolute.as_secs();
    let cookie = format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    let body = LoggedIn {
        name: user.name.clone(),
        role: user.role.map_or("member", |r| r.as_str()),
    };
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

/// Whether the request came over TLS, as far as the server can tell (a proxy's
/// `X-Forwarded-Proto` counts when the server trusts its proxy).
fn tls(state: &AppState, headers: &HeaderMap) -> bool {
    state.config().trust_proxy_headers
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// Logs out: ends the session and clears the cookie.
#[utoipa::path(post, path = "/auth/logout", responses((status = 204, description = "Logged out"), (status = 401, description = "Not logged in", body = ErrorBody)))]
async fn logout(State(state): State<AppState>, Viewer(who): Viewer) -> Result<Response, ApiError> {
    if let Who::User { session, .. } = &who.who {
        state.store().delete_session(session).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

/// Who the caller is: a user or an admin token, with its role.
#[utoipa::path(get, path = "/auth/me", responses((status = 200, description = "The caller", body = Me)))]
async fn get_me(Viewer(who): Viewer) -> Json<Me> {
    Json(Me::of(&who))
}

/// Who logged in.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedIn {
    pub name: String,
    /// `viewer`, `editor` or `admin`.
    pub role: &'static str,
}

/// The caller: a user, or a token with its role (admin tokens) and grants.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Me {
    User {
        name: String,
        role: Option<&'static str>,
        grants: Vec<String>,
    },
    Token {
        name: String,
        id: String,
        role: Option<&'static str>,
        grants: Vec<String>,
    },
    Anonymous,
}

impl Me {
    fn of(who: &Principal) -> Me {
        let role = who.role().map(|r| r.as_str());
        match &who.who {
            Who::User { user, .. } => Me::User {
                name: user.name.clone(),
                role,
                grants: user.grants.clone(),
            },
            Who::Token(t) => Me::Token {
                name: t.name.clone(),
                id: t.id.clone(),
                role,
                grants: t.grants.clone(),
            },
            Who::Anonymous | Who::Local => Me::Anonymous,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the logged-in user's password and ends their other sessions.
#[utoipa::path(post, path = "/auth/password", request_body = PasswordChange, responses((status = 400, description = "Unreadable body", body = ErrorBody), (status = 204, description = "Changed; every other session of the user has ended"), (status = 401, description = "Not logged in, or the current password is wrong", body = ErrorBody), (status = 403, description = "Tokens have no password", body = ErrorBody), (status = 422, description = "The new password is too short or too long", body = ErrorBody), BodyErrors))]
async fn change_password(
    Call(state, Viewer(who)): Call<Viewer>,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let Who::User { user, session } = &who.who else {
        return Err(ApiError::Forbidden(
            "only a logged-in user has a password to change".into(),
        ));
    };
    let keys = [format!("user:{}", user.name)];
    state.throttle().check(&keys)?;
    let auth = state.store().load_auth().await?;
    let Some(mut record) = auth.users.into_iter().find(|u| u.name == user.name) else {
        return Err(ApiError::Unauthorized(
            "the session has ended; log in again",
        ));
    };
    if !session::verify_password(&body.current_password, Some(record.password_hash.clone())).await {
        state.throttle().fail(&keys);
        return Err(ApiError::Unauthorized("the current password is wrong"));
    }
    if let Some(message) = password_problem(&body.new_password) {
        return Err(ApiError::Invalid(vec![flagpole_core::Problem {
            path: "new_password".into(),
            message,
        }]));
    }
    record.password_hash = session::hash_password(&body.new_password).await;
    record.updated_at = chrono::Utc::now();
    let change = who.change("user.password_changed", None);
    state
        .store()
        .update_user(&record, Some(Some(session)), change)
        .await?;
    state.reload_auth().await?;
    Ok(StatusCode::NO_CONTENT)
}
