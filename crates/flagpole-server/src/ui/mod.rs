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
mod page;
mod projects;
mod release;
mod schedules;
mod segments;
mod switcher;
mod try_it;

use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tower_http::compression::CompressionLayer;

use crate::http::AppState;

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
        .route("/projects", get(projects::projects_page))
        .route("/projects/{key}", get(projects::project_page))
        .route("/environments", get(admin::environments_page))
        .route("/tokens", get(admin::tokens_page))
        .route("/users", get(admin::users_page))
        .route("/account", get(account::account_page))
        .route("/login", get(login::login_page))
        .route("/assets/{name}", get(assets::asset))
        .layer(axum::middleware::from_fn(headers))
        .layer(CompressionLayer::new())
}

/// The headers every UI answer carries, and the switcher's cookie when a page was asked
/// for a project.
async fn headers(request: Request, next: Next) -> Response {
    let query = request.uri().query().map(str::to_string);
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    switcher::remember(query.as_deref(), h);
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
