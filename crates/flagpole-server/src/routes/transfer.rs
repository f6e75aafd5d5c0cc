//! Import and export through the API: `POST /api/v1/import` and `GET /api/v1/export`, in
//! the native, Unleash or seed format.

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use flagpole_core::formats::{self, Format};
use flagpole_core::Document;
use serde::Deserialize;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::{Editor, Viewer};
use crate::http::extract::{ApiQuery, Call, RawBody};
use crate::http::schemas::{ImportCounts, ImportResult, WriteErrors};
use crate::write::import::import_document;

router!(pub fn router: import_flags; export_flags);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct TransferQuery {
    /// `native` (default), `unleash` or `seed`.
    #[serde(default)]
    #[param(inline)]
    format: Format,
    /// Environment imported Unleash and seed flags go to, and the one exported to them.
    environment: Option<String>,
    /// Import: the project of every flag and segment that names none. Export: only this
    /// project's flags, and the segments they may use.
    project: Option<String>,
}

impl TransferQuery {
    /// The project asked for, checked as a project key.
    fn project(&self) -> Result<Option<&str>, ApiError> {
        let Some(project) = self.project.as_deref() else {
            return Ok(None);
        };
        flagpole_core::limits::check_name(project).map_err(|e| {
            ApiError::bad_request(
                "invalid_query",
                format!("project: project key {e}"),
                Some("project".into()),
            )
        })?;
        Ok(Some(project))
    }
}

/// Imports flags and segments; those with the key of a stored one replace it.
#[utoipa::path(post, path = "/import", params(TransferQuery), request_body(description = "The document: native (JSON or YAML), Unleash `ClientFeatures` JSON or delta events, or the seed's `flags.json`", content((Value = "application/json"), (String = "application/yaml"))), responses((status = 200, description = "What was imported", body = ImportResult), (status = 400, description = "Unreadable query or document (`duplicate_key`, `too_deep`, …), or an unknown environment", body = ErrorBody), (status = 413, description = "Body too large", body = ErrorBody), (status = 415, description = "Neither JSON nor YAML (`Content-Type: application/json` or `application/yaml`)", body = ErrorBody), (status = 422, description = "The merged flags would be invalid", body = ErrorBody), WriteErrors))]
async fn import_flags(
    Call(state, Editor(who)): Call<Editor>,
    ApiQuery(q): ApiQuery<TransferQuery>,
    RawBody(body): RawBody,
) -> Result<Json<ImportResult>, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("invalid_body", "the body must be UTF-8 text", None))?;
    let environment =
        (q.environment.clone()).unwrap_or_else(|| state.config().seed_environment.clone());
    // Parsed only: validated in `import_document` together with the stored flags and
    // segments it may refer to (`formats::import` would refuse those references).
    let project = q.project()?;
    let mut imported = match q.format {
        Format::Native => Document::from_yaml(text)?,
        Format::Unleash => formats::unleash::import(text, &environment)?,
        Format::Seed => formats::seed::import(text, &environment)?,
    };
    if let Some(project) = project {
        imported.place_in(project);
    }
    let version = import_document(&state, &who, &mut imported).await?;
    let imported = ImportCounts {
        flags: imported.flags.len(),
        segments: imported.segments.len(),
    };
    Ok(Json(ImportResult { imported, version }))
}

/// Exports every flag and segment (native), or one environment (Unleash, seed); of one
/// project with `?project=`.
#[utoipa::path(get, path = "/export", params(TransferQuery), responses((status = 200, description = "The document in the format asked for: a native document (JSON), Unleash `ClientFeatures`, or the seed's `flags.json`", body = Value), (status = 400, description = "Unreadable query", body = ErrorBody), (status = 404, description = "No such environment or project", body = ErrorBody), (status = 422, description = "The flags cannot be written in that format", body = ErrorBody)))]
async fn export_flags(
    Call(state, Viewer(_who)): Call<Viewer>,
    ApiQuery(q): ApiQuery<TransferQuery>,
) -> Result<Response, ApiError> {
    let published = state.published();
    let environment =
        (q.environment.clone()).unwrap_or_else(|| state.config().seed_environment.clone());
    if q.format != Format::Native {
        published.snapshot(&environment)?;
    }
    let document = match q.project()? {
        Some(project) => {
            crate::write::projects::found(&published, project)?;
            published.document().of_project(project)
        }
        None => published.document(),
    };
    let text = formats::export(&document, q.format, &environment)?;
    Ok(([(CONTENT_TYPE, "application/json")], text).into_response())
}
