//! Extractors whose rejections are [`ApiError`]s, so malformed bodies, paths and queries
//! get the same JSON errors as everything else.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{CONTENT_TYPE, IF_MATCH};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use flagpole_core::Context;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body: `Content-Type: application/json`, within the size limit, and of type `T`
/// (errors name the field at fault).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = read_body(req, state.config().max_body_bytes, true).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// An optional JSON body: empty means `None`; anything else must be JSON of type `T`.
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_json = is_json(req.headers());
        let bytes = read_body(req, state.config().max_body_bytes, false).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        parse_json(&bytes).map(|v| OptionalJson(Some(v)))
    }
}

/// An evaluation context as the body: empty means the empty context. It is read straight
/// into a [`Context`] (no JSON tree in between); a body that is JSON but not a context is
/// `invalid_context`.
#[derive(Debug)]
pub struct ContextBody(pub Context);

impl FromRequest<AppState> for ContextBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_json = is_json(req.headers());
        let bytes = read_body(req, state.config().max_body_bytes, false).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(ContextBody(Context::default()));
        }
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        parse_context(&bytes).map(ContextBody)
    }
}

/// Reads a context from JSON text: syntax errors are `invalid_json`, a wrong shape
/// `invalid_context`.
pub fn parse_context(bytes: &[u8]) -> Result<Context, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let ctx = Context::deserialize(&mut *de).and_then(|ctx| de.end().map(|()| ctx));
    ctx.map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::bad_request(
                "invalid_json",
                format!("the body is not valid JSON: {e}"),
                None,
            )
        } else {
            let message = e.to_string();
            let message = match message.find(" at line ") {
                Some(i) => message[..i].to_string(),
                None => message,
            };
            let message = if message.starts_with("invalid type") {
                "a context must be a JSON object".to_string()
            } else {
                message
            };
            ApiError::bad_request(
                "invalid_context",
                format!("invalid context: {message}"),
                None,
            )
        }
    })
}

/// Parses JSON text into `T`, naming the path of the first problem. Anything but
/// whitespace after the JSON value is refused too.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let syntax = inner.is_syntax() || inner.is_eof();
        // `?` is serde_path_to_error's "somewhere unknown" (e.g. a syntax error).
        let field = (path != "." && path != "?" && !path.is_empty()).then_some(path);
        let (what, message) = match &field {
            _ if syntax => (
                "invalid_json",
                format!("the body is not valid JSON: {inner}"),
            ),
            Some(f) => ("invalid_body", format!("{f}: {inner}")),
            None => ("invalid_body", inner.to_string()),
        };
        ApiError::bad_request(what, message, field)
    })?;
    de.end().map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("the body is not valid JSON: {e}"),
            None,
        )
    })?;
    Ok(value)
}

/// Converts a JSON value into `T`, naming the path of the first problem.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != "." && !path.is_empty()).then_some(path);
        let message = match &field {
            Some(f) => format!("{f}: {}", e.inner()),
            None => e.inner().to_string(),
        };
        ApiError::bad_request("invalid_body", message, field)
    })
}

/// The raw body, for imports (any content type, ten times the usual limit).
#[derive(Debug)]
pub struct RawBody(pub Vec<u8>);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        Ok(RawBody(
            read_body(req, state.config().max_body_bytes * 10, false).await?,
        ))
    }
}

/// Whether `If-None-Match` matches `etag`, by the weak comparison RFC 9110 13.1.2
/// requires (`W/` ignored; `*` matches any).
pub fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(axum::http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        })
}

/// Whether the request says its body is JSON.
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        })
}

/// Reads at most `limit` bytes of body (more is 413), checking for a JSON content type
/// when `json_only`.
async fn read_body(req: Request, limit: usize, json_only: bool) -> Result<Vec<u8>, ApiError> {
    if json_only && !is_json(req.headers()) {
        return Err(ApiError::UnsupportedMediaType);
    }
    match axum::body::to_bytes(req.into_body(), limit).await {
        Ok(b) => Ok(b.to_vec()),
        Err(e) => {
            let inner = e.into_inner();
            if inner.is::<http_body_util::LengthLimitError>() {
                Err(ApiError::PayloadTooLarge(limit))
            } else {
                Err(ApiError::bad_request(
                    "invalid_body",
                    format!("cannot read the body: {inner}"),
                    None,
                ))
            }
        }
    }
}

/// Path parameters, with bad percent-encoding answered as 400.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| ApiError::bad_request("invalid_path", e.body_text(), None))
    }
}

/// Query parameters, with unreadable ones answered as 400.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::bad_request("invalid_query", e.body_text(), None))
    }
}

/// The version an update is based on: the body's `version` field or `If-Match`
/// (`"3"`, `W/"3"` or `3`); when both are given they must agree.
pub fn based_on(headers: &HeaderMap, body_version: Option<i64>) -> Result<Option<i64>, ApiError> {
    let Some(raw) = headers.get(IF_MATCH) else {
        return Ok(body_version);
    };
    let text = raw.to_str().unwrap_or("").trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    let header = text.parse::<i64>().map_err(|_| {
        ApiError::bad_request(
            "invalid_header",
            format!("If-Match must be a flag version such as \"3\", not {text:?}"),
            Some("If-Match".into()),
        )
    })?;
    match body_version {
        Some(v) if v != header => Err(ApiError::bad_request(
            "invalid_header",
            format!("If-Match says version {header} but the body says {v}; send one of them"),
            Some("If-Match".into()),
        )),
        _ => Ok(Some(header)),
    }
}
