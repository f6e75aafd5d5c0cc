//! `?preview=true` on a flag write: the request runs as usual (the caller's role, the
//! protected environments, the change's validation) up to the one write service, which
//! then answers with the impact preview instead of writing. The middleware takes the
//! parameter off the URL before the route sees it ([`take`]) and refuses it on routes
//! that do not write flags, so that no other change can be "previewed" into being; the
//! handler takes the [`Mode`] the request asked for as an extractor and passes it to the
//! write service, and answers [`OrPreview`].

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::seed::invalid;
use crate::error::ApiError;
use crate::preview::PreviewReport;
use crate::write::{Mode, Outcome};

/// `?preview=true` on a flag change (docs: README, "Releasing safely").
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// `true`: write nothing and answer 200 with the impact preview (`PreviewAnswer`):
    /// how the environment's sampled contexts would change. The change is still checked
    /// (role, protected environments, validation) first.
    #[param(required = false)]
    pub preview: Option<bool>,
}

/// The answer to `?preview=true`: nothing was written. One report for the environment
/// the change is aimed at, or one for each environment whose configuration it changes
/// (`sampled` is 0 where sampling is off).
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewAnswer {
    pub preview: Vec<PreviewReport>,
}

/// A flag change's answer: what the route answers once the change is written, or with
/// `?preview=true` the preview (200).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum OrPreview<T> {
    Done(T),
    Preview(PreviewAnswer),
}

impl<T> OrPreview<T> {
    /// The preview of a previewed outcome, else `done` of what was written.
    pub fn of<W>(outcome: Outcome<W>, done: impl FnOnce(W) -> T) -> Self {
        match outcome {
            Outcome::Written(written) => OrPreview::Done(done(written)),
            Outcome::Previewed(preview) => OrPreview::Preview(PreviewAnswer { preview }),
        }
    }
}

impl<T: IntoResponse> IntoResponse for OrPreview<T> {
    fn into_response(self) -> Response {
        match self {
            OrPreview::Done(answer) => answer.into_response(),
            OrPreview::Preview(preview) => Json(preview).into_response(),
        }
    }
}

/// The write mode a request asked for: [`Mode::Preview`] with `?preview=true`, else
/// [`Mode::Direct`]. Never [`Mode::Approved`]: only applying an approved change request
/// writes so.
impl<S: Sync> FromRequestParts<S> for Mode {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Mode, Infallible> {
        Ok(match parts.extensions.get::<Asked>() {
            Some(Asked(true)) => Mode::Preview,
            _ => Mode::Direct,
        })
    }
}

/// What [`take`] read, kept in the request's extensions for the [`Mode`] extractor.
#[derive(Clone, Copy, Debug)]
struct Asked(bool);

/// Takes `preview` off the request's query into its extensions, for the [`Mode`]
/// extractor; refuses a malformed value, or a preview asked of a route that does not
/// write flags.
pub fn take(request: &mut Request) -> Result<(), Box<Response>> {
    let asked = read(request)?;
    if let Some(preview) = asked {
        request.extensions_mut().insert(Asked(preview));
    }
    Ok(())
}

/// Reads and removes `preview` from the query: `Ok(None)` when it is not there,
/// `Ok(Some(preview))` when it is (the URL then no longer carries it), or the refusal of
/// a malformed value or of a preview asked of a route that does not write flags.
fn read(request: &mut Request) -> Result<Option<bool>, Box<Response>> {
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
            invalid("preview", msg, "value_error", None).into_response()
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
