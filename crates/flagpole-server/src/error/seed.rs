//! Errors in the seed service's (FastAPI's) shape, `{"detail": …}`: `"Flag not found"`,
//! a list of `{loc, msg, type, input}` for 422, or any other error's message with its
//! status. The seed API (`routes::seed`) and the `?preview` parameter on it answer so.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::ApiError;

/// An error in the seed's (FastAPI's) shape.
#[derive(Debug)]
pub enum SeedError {
    NotFound,
    /// 422 with FastAPI's validation detail list.
    Invalid(Vec<SeedProblem>),
    Conflict(String),
    /// Any other error: its status, and its message as the detail.
    Api(ApiError),
}

/// The seed API's (FastAPI's) error: a message, or for 422 a list of problems.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeedErrorBody {
    pub detail: Value,
}

/// One problem of a 422, as FastAPI reports it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeedProblem {
    /// Where: `["query", "enabled"]`, `["path", "flag_name"]`, `["body", "…"]`.
    pub loc: [String; 2],
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The value refused (absent where the problem is in a stored document).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Option<String>>,
}

impl SeedProblem {
    /// A refused parameter at `loc` (`query`, `path`), with the value given.
    pub fn new(loc: &str, param: &str, msg: String, kind: &str, input: Option<&str>) -> Self {
        SeedProblem {
            loc: [loc.into(), param.into()],
            msg,
            kind: kind.into(),
            input: Some(input.map(str::to_string)),
        }
    }
}

/// A query parameter refused, as FastAPI says it (422, `detail` with its location).
pub fn invalid(param: &str, msg: String, kind: &str, input: Option<&str>) -> SeedError {
    SeedError::Invalid(vec![SeedProblem::new("query", param, msg, kind, input)])
}

impl IntoResponse for SeedError {
    fn into_response(self) -> Response {
        let (status, detail) = match self {
            SeedError::NotFound => (StatusCode::NOT_FOUND, Value::from("Flag not found")),
            SeedError::Invalid(problems) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                serde_json::to_value(problems).unwrap_or_default(),
            ),
            SeedError::Conflict(message) => (StatusCode::CONFLICT, Value::from(message)),
            SeedError::Api(e) => {
                let (status, _) = e.status_and_code();
                if status.is_server_error() {
                    tracing::error!(error = ?e, "request failed");
                }
                let mut response = (
                    status,
                    Json(SeedErrorBody {
                        detail: e.public_message().into(),
                    }),
                )
                    .into_response();
                e.add_headers(status, response.headers_mut());
                return response;
            }
        };
        (status, Json(SeedErrorBody { detail })).into_response()
    }
}

impl From<ApiError> for SeedError {
    fn from(e: ApiError) -> SeedError {
        match e {
            ApiError::Invalid(problems) => SeedError::Invalid(
                problems
                    .into_iter()
                    .map(|p| SeedProblem {
                        loc: ["body".into(), p.path],
                        msg: p.message,
                        kind: "value_error".into(),
                        input: None,
                    })
                    .collect(),
            ),
            ApiError::Conflict(m) => SeedError::Conflict(m),
            other => SeedError::Api(other),
        }
    }
}
