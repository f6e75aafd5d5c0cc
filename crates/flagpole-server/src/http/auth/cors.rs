//! CORS for the browser-facing SDK routes (`/api/frontend…` and `/ofrep/…`): a page may
//! call them from an origin that a frontend token allows. A preflight carries no token,
//! so it is answered for any origin some live frontend token allows; the request itself
//! is then checked against its own token's origins ([`super::policy::FrontendSdk`]).
//! Every other route sends no CORS headers, so browsers keep other sites out.

use axum::extract::Request;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, ORIGIN,
    VARY,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::http::guard::is_browser_route;
use crate::http::state::AppState;

/// Request headers a page may send (when the preflight does not list its own).
const ALLOWED_HEADERS: &str =
    "authorization, content-type, if-none-match, x-api-key, unleash-appname, unleash-sdk, unleash-connection-id";
/// Longest `Access-Control-Request-Headers` echoed back.
const MAX_REQUEST_HEADERS: usize = 1024;

/// What CORS makes of a request before its route.
#[derive(Debug)]
pub enum Cors {
    /// Not a cross-origin request to a browser route: nothing to add.
    None,
    /// A preflight, answered here.
    Answered(Response),
    /// A request from an origin some frontend token allows: its answer carries the CORS
    /// headers for it ([`Cors::decorate`]).
    Allowed(HeaderValue),
}

/// Answers a preflight, or says what the answer to the request must carry.
pub fn check(state: &AppState, request: &Request) -> Cors {
    let Some(origin) = request.headers().get(ORIGIN).cloned() else {
        return Cors::None;
    };
    if !is_browser_route(request.uri().path()) {
        return Cors::None;
    }
    let allowed = origin
        .to_str()
        .is_ok_and(|o| state.directory().any_frontend_allows(o));
    if request.method() == Method::OPTIONS {
        if !allowed {
            return Cors::Answered(
                ApiError::Forbidden(
                    "this origin is not allowed by any frontend token; add it to the token's origins"
                        .into(),
                )
                .into_response(),
            );
        }
        let headers = request
            .headers()
            .get(ACCESS_CONTROL_REQUEST_HEADERS)
            .filter(|h| h.len() <= MAX_REQUEST_HEADERS)
            .cloned()
            .unwrap_or(HeaderValue::from_static(ALLOWED_HEADERS));
        let mut response = StatusCode::NO_CONTENT.into_response();
        let h = response.headers_mut();
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(ACCESS_CONTROL_ALLOW_HEADERS, headers);
        h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        h.insert(VARY, HeaderValue::from_static("Origin"));
        return Cors::Answered(response);
    }
    if allowed {
        Cors::Allowed(origin)
    } else {
        Cors::None
    }
}

impl Cors {
    /// Adds the CORS headers an allowed origin's answer carries.
    pub fn decorate(self, response: &mut Response) {
        if let Cors::Allowed(origin) = self {
            let h = response.headers_mut();
            h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(
                ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("ETag"),
            );
            h.append(VARY, HeaderValue::from_static("Origin"));
        }
    }
}
