//! The server's one error type, and the one place errors become HTTP responses:
//! `{"code": "...", "message": "...", "field"?: "...", "problems"?: [...]}` with a stable
//! snake_case `code` ([`ErrorBody`], as the OpenAPI document describes it). Server errors
//! are logged once and answered without internals. The seed API answers in its own
//! (FastAPI's) shape ([`seed`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use flagpole_core::{ContextProblem, Problem};
use serde::Serialize;
use utoipa::ToSchema;

pub mod seed;

/// Every error of the native API: a stable snake_case `code`, a message that says what to
/// fix, the field at fault when there is one, and all validation problems for 422.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// e.g. `invalid_json`, `invalid_body`, `invalid_query`, `invalid_path`,
    /// `invalid_header`, `unknown_environment`, `validation_failed`, `not_found`,
    /// `method_not_allowed`, `conflict`, `version_required`, `payload_too_large`,
    /// `unsupported_media_type`, `internal`.
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem found (422 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<Problem>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed: a body, path or query that cannot be read.
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// The request is well-formed but the change it asks for is invalid.
    #[error("{}", problem_lines(.0))]
    Invalid(Vec<Problem>),
    /// No credential, or one that is unknown, revoked or expired (401).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A credential that may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed attempts; retry after this many seconds (429).
    #[error("too many failed attempts; try again in {0} seconds")]
    TooManyRequests(u64),
    #[error("{kind} {name:?} not found")]
    NotFound { kind: &'static str, name: String },
    #[error("{method} is not allowed on {path} (the Allow header lists the methods that are)")]
    MethodNotAllowed { method: String, path: String },
    #[error("{0}")]
    Conflict(String),
    /// The change touches an environment that requires approval (409).
    #[error("{0} requires approval: propose this change as a change request (POST /api/v1/change-requests), which another user approves")]
    ApprovalRequired(String),
    #[error("this update must say which version it is based on: a `version` field or an If-Match header")]
    VersionRequired,
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// The body's content type is not one this route reads; says which it reads.
    #[error("expected {0}")]
    UnsupportedMediaType(&'static str),
    #[error("storage failed")]
    Store(#[from] flagpole_store::Error),
    /// The server has its maximum of open event streams (503).
    #[error("this server has its maximum of {0} open event streams; retry later, or poll")]
    TooManyStreams(usize),
    /// Writes are waiting on a database that does not answer (503).
    #[error("changes cannot be saved now: the database is not answering; retry later")]
    WriteBusy,
    /// A relay cannot reach its upstream to check a token it has not seen (503).
    #[error("this relay cannot reach its upstream to check the token; retry later")]
    UpstreamUnavailable,
    /// A change sent to a relay (405).
    #[error("this is a relay; write to the upstream")]
    RelayReadOnly,
    /// The stored configuration does not compile; should never happen since every write
    /// is validated first.
    #[error("the stored configuration is invalid")]
    Stored(#[source] flagpole_core::Error),
}

impl ApiError {
    pub fn bad_request(
        code: &'static str,
        message: impl Into<String>,
        field: Option<String>,
    ) -> ApiError {
        ApiError::BadRequest {
            code,
            message: message.into(),
            field,
        }
    }

    /// The HTTP status and stable code of each error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use flagpole_store::Error as S;
        match self {
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::NotFound { .. } | ApiError::Store(S::NotFound { .. }) => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            ApiError::MethodNotAllowed { .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            ApiError::Conflict(_) | ApiError::Store(S::Conflict { .. }) => {
                (StatusCode::CONFLICT, "conflict")
            }
            ApiError::ApprovalRequired(_) => (StatusCode::CONFLICT, "approval_required"),
            ApiError::VersionRequired => (StatusCode::PRECONDITION_REQUIRED, "version_required"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Store(S::Invalid { .. }) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            }
            ApiError::Store(e) if e.is_unavailable() => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            ApiError::WriteBusy => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::UpstreamUnavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable")
            }
            ApiError::RelayReadOnly => (StatusCode::METHOD_NOT_ALLOWED, "relay_read_only"),
            ApiError::TooManyStreams(_) => (StatusCode::SERVICE_UNAVAILABLE, "too_many_streams"),
            ApiError::Store(_) | ApiError::Stored(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        }
    }

    /// The message shown to the caller; server errors hide their internals.
    pub(crate) fn public_message(&self) -> String {
        match self {
            ApiError::Store(
                inner @ (flagpole_store::Error::NotFound { .. }
                | flagpole_store::Error::Conflict { .. }
                | flagpole_store::Error::Invalid { .. }),
            ) => inner.to_string(),
            ApiError::Store(e) if e.is_unavailable() => {
                "the database cannot be reached; evaluations go on from the last configuration, changes cannot be saved now: retry later".into()
            }
            ApiError::Store(_) | ApiError::Stored(_) => "internal error; see the server log".into(),
            ApiError::Invalid(problems) => match problems.as_slice() {
                [one] => one.to_string(),
                many => format!("{} problems; see `problems`", many.len()),
            },
            other => other.to_string(),
        }
    }
}

fn problem_lines(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl From<flagpole_core::Error> for ApiError {
    fn from(e: flagpole_core::Error) -> ApiError {
        match e {
            flagpole_core::Error::Invalid(problems) => ApiError::Invalid(problems),
            flagpole_core::Error::Parse { ref path, .. } => {
                let field = (!path.is_empty() && path != ".").then(|| path.clone());
                ApiError::bad_request("invalid_body", e.to_string(), field)
            }
            flagpole_core::Error::Context(ContextProblem::Syntax(e)) => ApiError::bad_request(
                "invalid_json",
                format!("the body is not valid JSON: {e}"),
                None,
            ),
            flagpole_core::Error::Context(ContextProblem::Duplicate(_)) => {
                ApiError::bad_request("duplicate_key", e.to_string(), None)
            }
            flagpole_core::Error::Context(_) => {
                ApiError::bad_request("invalid_context", e.to_string(), None)
            }
            flagpole_core::Error::DuplicateKey { ref path, .. } => {
                let field = (!path.is_empty() && path != ".").then(|| path.clone());
                ApiError::bad_request("duplicate_key", e.to_string(), field)
            }
            flagpole_core::Error::TooDeep { .. } => {
                ApiError::bad_request("too_deep", e.to_string(), None)
            }
            flagpole_core::Error::Import { .. } | flagpole_core::Error::Export { .. } => {
                ApiError::Invalid(vec![Problem {
                    path: String::new(),
                    message: e.to_string(),
                }])
            }
        }
    }
}

impl ApiError {
    /// The headers an answer of this error carries besides its body: `WWW-Authenticate`
    /// on 401, `Retry-After` on 429 and 503.
    pub(crate) fn add_headers(&self, status: StatusCode, headers: &mut axum::http::HeaderMap) {
        use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
        use axum::http::HeaderValue;
        match self {
            ApiError::Unauthorized(_) => {
                headers.insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"flagpole\""),
                );
            }
            ApiError::TooManyRequests(seconds) => {
                headers.insert(RETRY_AFTER, (*seconds).into());
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(RETRY_AFTER, 2u32.into());
            }
            _ => {}
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        let mut body = ErrorBody {
            code: code.to_string(),
            message: self.public_message(),
            field: None,
            problems: None,
        };
        match &self {
            ApiError::BadRequest { field: Some(f), .. } => body.field = Some(f.clone()),
            ApiError::Invalid(problems) => {
                if let [one] = problems.as_slice() {
                    if !one.path.is_empty() {
                        body.field = Some(one.path.clone());
                    }
                }
                body.problems = Some(problems.clone());
            }
            _ => {}
        }
        let mut response = (status, Json(body)).into_response();
        self.add_headers(status, response.headers_mut());
        response
    }
}

/// A panic in a handler becomes a logged 500 with the usual error body.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    let body = ErrorBody {
        code: "internal".into(),
        message: "internal error; see the server log".into(),
        field: None,
        problems: None,
    };
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}
