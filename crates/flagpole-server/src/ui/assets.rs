//! The stylesheet, script and icon, embedded at compile time and served from
//! `/assets/{name}` (no other host, no build step).

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

const CSS: &str = include_str!("../../assets/ui.css");
const JS: &str = include_str!("../../assets/ui.js");
const REVIEW_JS: &str = include_str!("../../assets/review.js");
const ICON: &str = include_str!("../../assets/favicon.svg");

pub async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "ui.css" => (CSS, "text/css; charset=utf-8"),
        "ui.js" => (JS, "text/javascript; charset=utf-8"),
        "review.js" => (REVIEW_JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => (ICON, "image/svg+xml"),
        _ => {
            return ApiError::NotFound {
                kind: "asset",
                name,
            }
            .into_response()
        }
    };
    (
        [(CONTENT_TYPE, kind), (CACHE_CONTROL, "public, max-age=300")],
        body,
    )
        .into_response()
}
