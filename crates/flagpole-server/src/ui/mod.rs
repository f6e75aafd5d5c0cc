//! The web UI at `/`: server-rendered pages (maud templates checked at compile time), one
//! hand-written stylesheet and one small script, all embedded in the binary.
//!
//! Pages only read. Every change a page makes is sent by `assets/ui.js` as JSON to the
//! native API (`/api/v1/…`) with the session cookie, so the UI writes through the same
//! handlers, validation, version checks, audit entries, permission and
//! protected-environment checks as every other client; the browser's `Origin` on those
//! requests is the proof the session policy asks for. Pages answer with a strict
//! Content-Security-Policy (no inline script or style, nothing from another host).

mod account;
mod admin;
mod assets;
mod change_requests;
mod chart;
mod diff;
mod editor;
mod flag;
mod flags;
mod history;
mod layout;
mod login;
mod release;
mod schedules;
mod segments;
mod try_it;

use axum::extract::{FromRequestParts, Request};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use tower_http::compression::CompressionLayer;

use crate::error::ApiError;
use crate::http::auth::policy::authenticate;
use crate::http::AppState;
use crate::identity::{Principal, Role};

/// What every page may load: its own script, stylesheet and images, and nothing else.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The UI's routes (all `GET`: changes go to the API).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(flags::list_flags_page))
        .route("/new", get(flags::new_flag_page))
        .route("/flag/{key}", get(flag::flag_page))
        .route("/history", get(history::history_page))
        .route("/history/{key}", get(history::diff_page))
        .route("/schedules", get(schedules::schedules_page))
        .route("/change-requests", get(change_requests::list_page))
        .route("/change-requests/{id}", get(change_requests::request_page))
        .route("/try", get(try_it::try_page))
        .route("/release-plans", get(release::release_plans_page))
        .route("/segments", get(segments::segments_page))
        .route("/environments", get(admin::environments_page))
        .route("/tokens", get(admin::tokens_page))
        .route("/users", get(admin::users_page))
        .route("/account", get(account::account_page))
        .route("/login", get(login::login_page))
        .route("/assets/{name}", get(assets::asset))
        .layer(axum::middleware::from_fn(headers))
        .layer(CompressionLayer::new())
}

/// The headers every UI answer carries.
async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A logged-in user (or admin-token holder) viewing a page. Without a session the page
/// redirects to the login page, which comes back here afterwards.
#[derive(Debug)]
pub struct Page {
    pub who: Principal,
    pub role: Role,
}

impl Page {
    pub fn can_edit(&self) -> bool {
        self.role >= Role::Editor
    }

    pub fn is_admin(&self) -> bool {
        self.role >= Role::Admin
    }

    /// Whether this user may change `environment` (protected ones need an admin or a
    /// grant).
    pub fn may_change(&self, environment: &str, protected: bool) -> bool {
        self.can_edit() && self.who.may_change(environment, protected)
    }

    pub fn name(&self) -> &str {
        match &self.who.who {
            crate::identity::Who::User { user, .. } => &user.name,
            crate::identity::Who::Token(t) => &t.name,
            _ => "",
        }
    }
}

impl FromRequestParts<AppState> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let here = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        match authenticate(parts, state).await {
            Ok(who) => match who.role() {
                Some(role) => Ok(Page { who, role }),
                None => Err(ApiError::Forbidden(
                    "the web UI is for users; SDK tokens cannot open it".into(),
                )
                .into_response()),
            },
            Err(ApiError::Unauthorized(_)) => {
                Err(Redirect::to(&format!("/login?next={}", encode(&here))).into_response())
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A value safe to embed in a `<script type="application/json">` block.
pub fn json_data(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The UI's query parameters, bounded: at most `max` characters.
pub fn bounded(value: Option<String>, max: usize) -> Option<String> {
    value
        .map(|v| v.trim().chars().take(max).collect::<String>())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_data_cannot_close_its_script() {
        let text = json_data(&serde_json::json!({"a": "</script><b>&"}));
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(back["a"], "</script><b>&");
    }

    #[test]
    fn encode_keeps_paths_readable() {
        assert_eq!(encode("/flag/a b?env=x"), "/flag/a%20b%3Fenv%3Dx");
    }
}
