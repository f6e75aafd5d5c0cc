//! `?preview=true` on a flag write: the request runs as usual (the caller's role, the
//! protected environments, the change's validation) up to the one write path, which then
//! answers with the impact preview instead of writing (`commit_flag` asks [`requested`]).
//! The parameter is taken off the URL before the route sees it, and is refused on routes
//! that do not write flags, so that no other change can be "previewed" into being.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

tokio::task_local! {
    static PREVIEW: bool;
}

/// Whether the request being handled asked for a preview.
pub fn requested() -> bool {
    PREVIEW.try_with(|p| *p).unwrap_or(false)
}

/// Reads and removes `preview` from the query: `Ok(None)` when it is not there,
/// `Ok(Some(preview))` when it is (the URL then no longer carries it), or the refusal of
/// a malformed value or of a preview asked of a route that does not write flags.
pub fn take(request: &mut Request) -> Result<Option<bool>, Box<Response>> {
    let Some(query) = request.uri().query() else {
        return Ok(None);
    };
    if !query
        .split('&')
        .any(|p| p == "preview" || p.starts_with("preview="))
    {
        return Ok(None);
    }
    let mut preview = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|p| {
            let Some(v) = p.strip_prefix("preview") else {
                return true;
            };
            preview = Some(match v {
                "" | "=true" | "=1" => Some(true),
                "=false" | "=0" => Some(false),
                _ => None,
            });
            false
        })
        .collect();
    let path = request.uri().path();
    // The seed API refuses in its own (FastAPI's) shape.
    let refuse = |message: &str| -> Response {
        if path.starts_with("/flags/") {
            let msg = message.trim_start_matches("preview: ").to_string();
            crate::routes::seed::invalid("preview", msg, "value_error", None).into_response()
        } else {
            ApiError::bad_request("invalid_query", message, Some("preview".into())).into_response()
        }
    };
    let Some(Some(preview)) = preview else {
        return Err(Box::new(refuse("preview: must be true or false")));
    };
    let flag_write = (path.starts_with("/api/v1/flags")
        && !path.contains("/release-plan")
        && !path.ends_with("/schedules"))
        || path.starts_with("/flags/");
    if preview && !flag_write {
        return Err(Box::new(refuse(
            "preview: offered on flag changes only (/api/v1/flags/..., /flags/{name})",
        )));
    }
    let mut uri = request.uri().path().to_string();
    if !rest.is_empty() {
        uri = format!("{uri}?{}", rest.join("&"));
    }
    if let Ok(uri) = uri.parse() {
        *request.uri_mut() = uri;
    }
    Ok(Some(preview))
}

/// Runs the request's handling with what [`take`] read ([`requested`] answers it).
pub async fn scope<F: std::future::Future>(preview: Option<bool>, handling: F) -> F::Output {
    match preview {
        Some(preview) => PREVIEW.scope(preview, handling).await,
        None => handling.await,
    }
}
