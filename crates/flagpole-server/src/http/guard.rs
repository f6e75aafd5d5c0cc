//! What every request passes before its route: the `Host` must be a name this server
//! answers to (so a DNS-rebinding page cannot reach it under a name of its own), a state
//! change that a browser sends from another site is refused (whatever the mode, the seed
//! API's open mode included), and every answer says `X-Content-Type-Options: nosniff`.
//!
//! Requests without an `Origin` (SDKs, curl, the CLI) are not browser requests and pass;
//! an `Origin` is allowed when it is this server's own (it matches the `Host`), one of
//! `--allowed-origins`, or, on the browser SDK routes, one a frontend token allows.

use axum::extract::Request;
use axum::http::header::{HOST, ORIGIN, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::state::AppState;
use crate::error::{ApiError, ErrorBody};

/// The refusal of a request for another host name, or of a change sent from a page of
/// another origin; `None` lets it through.
pub fn refusal(state: &AppState, request: &Request) -> Option<Response> {
    let headers = request.headers();
    let host = headers.get(HOST).and_then(|v| v.to_str().ok());
    if let Some(host) = host {
        if !state.config().hosts.allows(host) {
            return Some(refuse(
                StatusCode::MISDIRECTED_REQUEST,
                "misdirected_request",
                format!("this server does not answer to the name {host:?}; add it with --allowed-hosts or --public-url"),
            ));
        }
    }
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if unsafe_method {
        if let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) {
            if !origin_allowed(state, origin, host, request.uri().path()) {
                return Some(
                    ApiError::Forbidden(format!(
                        "a change sent from the page {origin} is refused: it is not Flagpole's own origin nor an allowed one"
                    ))
                    .into_response(),
                );
            }
        }
    }
    None
}

/// What every response carries.
pub fn finish(response: &mut Response) {
    response
        .headers_mut()
        .insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

fn origin_allowed(state: &AppState, origin: &str, host: Option<&str>, path: &str) -> bool {
    host.is_some_and(|host| is_own_origin(origin, host))
        || state.config().allowed_origins.iter().any(|o| o == origin)
        || (is_browser_route(path) && state.directory_ref().any_frontend_allows(origin))
}

/// Whether a path is one browsers may call cross-origin.
pub fn is_browser_route(path: &str) -> bool {
    path == "/api/frontend" || path.starts_with("/api/frontend/") || path.starts_with("/ofrep/")
}

/// Whether `origin` (`scheme://host[:port]`) names the `host` the request was sent to.
pub fn is_own_origin(origin: &str, host: &str) -> bool {
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
}

fn refuse(status: StatusCode, code: &str, message: String) -> Response {
    let body = ErrorBody {
        code: code.to_string(),
        message,
        field: None,
        problems: None,
    };
    (status, axum::Json(body)).into_response()
}
