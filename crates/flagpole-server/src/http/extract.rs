//! Extractors whose rejections are [`ApiError`]s, so malformed bodies, paths and queries
//! get the same JSON errors as everything else.

use std::borrow::Cow;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{CONTENT_TYPE, IF_MATCH};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use flagpole_core::Context;
use serde::de::DeserializeOwned;

use super::state::AppState;
use crate::error::ApiError;
use flagpole_core::limits::MAX_CONTEXT_BODY_BYTES;

/// What a JSON-only route reads, for 415 messages.
const JSON_BODY: &str = "a JSON body (Content-Type: application/json)";

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
            return Err(ApiError::UnsupportedMediaType(JSON_BODY));
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
        let limit = MAX_CONTEXT_BODY_BYTES.min(state.config().max_body_bytes);
        let bytes = read_body(req, limit, false).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(ContextBody(Context::default()));
        }
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(JSON_BODY));
        }
        parse_context(&bytes).map(ContextBody)
    }
}

/// Reads a context from JSON text: syntax errors are `invalid_json`, a key given twice
/// `duplicate_key`, a wrong shape or a context beyond its limits `invalid_context` (the
/// core's typed [`flagpole_core::ContextProblem`] decides).
pub fn parse_context(bytes: &[u8]) -> Result<Context, ApiError> {
    Ok(Context::from_json_slice(bytes)?)
}

/// Parses JSON text into `T`, naming the path of the first problem. Anything but
/// whitespace after the JSON value is refused too.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Nesting beyond MAX_DEPTH and keys given twice, before serde keeps the last of two.
    flagpole_core::structure::check_json(bytes)?;
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

/// The raw body of an import: JSON or YAML by its content type (a type an HTML form
/// cannot send, so a cross-site form cannot import), at most ten times the usual limit.
#[derive(Debug)]
pub struct RawBody(pub Vec<u8>);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if !is_json(req.headers()) && !is_yaml(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "a JSON or YAML body (Content-Type: application/json or application/yaml)",
            ));
        }
        Ok(RawBody(
            read_body(req, state.config().max_body_bytes * 10, false).await?,
        ))
    }
}

/// A body of any content type, at most `LIMIT` bytes (more is a JSON 413), for the SDK
/// routes whose content type their protocol checks or does not require.
#[derive(Debug)]
pub struct LimitedBody<const LIMIT: usize>(pub Vec<u8>);

impl<const LIMIT: usize> FromRequest<AppState> for LimitedBody<LIMIT> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = LIMIT.min(state.config().max_body_bytes);
        Ok(LimitedBody(read_body(req, limit, false).await?))
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
    mime(headers).is_some_and(|m| m == "application/json" || m.ends_with("+json"))
}

/// Whether the request says its body is YAML.
pub fn is_yaml(headers: &HeaderMap) -> bool {
    mime(headers).is_some_and(|m| {
        matches!(
            m.as_str(),
            "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml"
        ) || m.ends_with("+yaml")
    })
}

/// The media type of the body, lower case, without parameters.
fn mime(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

/// Reads at most `limit` bytes of body (more is 413), checking for a JSON content type
/// when `json_only`.
async fn read_body(req: Request, limit: usize, json_only: bool) -> Result<Vec<u8>, ApiError> {
    if json_only && !is_json(req.headers()) {
        return Err(ApiError::UnsupportedMediaType(JSON_BODY));
    }
    // A declared length beyond the limit is refused before anything is read.
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge(limit));
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

/// A call the policy `P` admits (`Viewer`, `Editor`, `Admin`, an SDK's, a UI page's…),
/// with the application state: `Call(state, Admin(who)): Call<Admin>` in a handler's
/// arguments.
/// The policy refuses before any other extractor reads the request.
#[derive(Debug)]
pub struct Call<P>(pub AppState, pub P);

impl<P: FromRequestParts<AppState> + Send> FromRequestParts<AppState> for Call<P> {
    type Rejection = P::Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let admitted = P::from_request_parts(parts, state).await?;
        Ok(Call(state.clone(), admitted))
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
        refuse_repeated_parameters(&parts.uri)?;
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::bad_request("invalid_query", e.body_text(), None))
    }
}

/// The query's name/value pairs, refusing a name given twice (which serde would read as
/// its last value, or refuse with a message about fields).
pub fn query_pairs(uri: &axum::http::Uri) -> Result<Vec<(String, String)>, ApiError> {
    let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|e| ApiError::bad_request("invalid_query", e.body_text(), None))?
        .0;
    let names: Vec<&str> = pairs.iter().map(|(name, _)| name.as_str()).collect();
    refuse_repeated(&names)?;
    Ok(pairs)
}

/// [`query_pairs`]' refusal of a name given twice, without copying the pairs or their
/// values (every [`ApiQuery`] pays it, the evaluation routes included).
fn refuse_repeated_parameters(uri: &axum::http::Uri) -> Result<(), ApiError> {
    let Some(query) = uri.query() else {
        return Ok(());
    };
    let names: Vec<Cow<'_, str>> = form_urlencoded::parse(query.as_bytes())
        .map(|(name, _)| name)
        .collect();
    refuse_repeated(&names)
}

/// The value of the one query parameter a route reads, in one pass over the query, with
/// [`ApiQuery`]'s refusal of a name given twice (the seed API's hot `GET` reads only
/// `user_id`, and need not deserialize the query as well).
pub fn query_value<'a>(
    uri: &'a axum::http::Uri,
    wanted: &str,
) -> Result<Option<Cow<'a, str>>, ApiError> {
    let Some(query) = uri.query() else {
        return Ok(None);
    };
    let (names, values): (Vec<Cow<'_, str>>, Vec<Cow<'_, str>>) =
        form_urlencoded::parse(query.as_bytes()).unzip();
    refuse_repeated(&names)?;
    Ok(names
        .iter()
        .position(|name| name == wanted)
        .and_then(|i| values.into_iter().nth(i)))
}

/// Refuses a query parameter `name` whose value is not one of `allowed`.
pub fn one_of(name: &str, value: Option<&str>, allowed: &[&str]) -> Result<(), ApiError> {
    match value {
        Some(value) if !allowed.contains(&value) => Err(ApiError::bad_request(
            "invalid_query",
            format!(
                "{name} must be one of {}, not {value:?}",
                allowed.join(", ")
            ),
            Some(name.into()),
        )),
        _ => Ok(()),
    }
}

/// The refusal of a query that gives a parameter name twice.
fn refuse_repeated<S: AsRef<str>>(names: &[S]) -> Result<(), ApiError> {
    // A scan for the usual handful; a set beyond, so a long query costs linear time.
    let repeated = if names.len() <= 16 {
        names
            .iter()
            .enumerate()
            .find(|(i, name)| names[..*i].iter().any(|n| n.as_ref() == name.as_ref()))
            .map(|(_, name)| name.as_ref())
    } else {
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        names
            .iter()
            .map(AsRef::as_ref)
            .find(|name| !seen.insert(name))
    };
    match repeated {
        None => Ok(()),
        Some(name) => Err(ApiError::bad_request(
            "duplicate_key",
            format!("query parameter {name:?} is given twice"),
            Some(name.to_string()),
        )),
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
