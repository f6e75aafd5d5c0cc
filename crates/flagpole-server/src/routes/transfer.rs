//! Import and export through the API: `POST /api/v1/import` and `GET /api/v1/export`, in
//! the native, Unleash or seed format.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use flagpole_core::formats::{self, Format};
use flagpole_core::Document;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Editor, Principal, Viewer};
use crate::error::ApiError;
use crate::extract::{ApiQuery, RawBody};
use crate::routes::protection;
use crate::schemas::{ErrorBody, ImportResult, WriteErrors};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_flags))
        .routes(routes!(export_flags))
}

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
}

/// Imports flags and segments; those with the key of a stored one replace it.
#[utoipa::path(
    post,
    path = "/import",
    tag = "transfer",
    params(TransferQuery),
    request_body(
        description = "The document: native (JSON or YAML), Unleash `ClientFeatures` JSON or delta events, or the seed's `flags.json`",
        content((Value = "application/json"), (String = "application/yaml")),
    ),
    responses(
        (status = 200, description = "What was imported", body = ImportResult),
        (status = 400, description = "Unreadable query or document (`duplicate_key`, `too_deep`, …), or an unknown environment", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Neither JSON nor YAML (`Content-Type: application/json` or `application/yaml`)", body = ErrorBody),
        (status = 422, description = "The merged flags would be invalid", body = ErrorBody),
        WriteErrors,
    )
)]
async fn import_flags(
    State(state): State<AppState>,
    Editor(who): Editor,
    ApiQuery(q): ApiQuery<TransferQuery>,
    RawBody(body): RawBody,
) -> Result<Json<Value>, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("invalid_body", "the body must be UTF-8 text", None))?;
    let environment = q
        .environment
        .unwrap_or_else(|| state.config().seed_environment.clone());
    // Parsed only: validated in `import_document` together with the stored flags and
    // segments it may refer to (`formats::import` would refuse those references).
    let mut imported = match q.format {
        Format::Native => Document::from_yaml(text)?,
        Format::Unleash => formats::unleash::import(text, &environment)?,
        Format::Seed => formats::seed::import(text, &environment)?,
    };
    let written = import_document(&state, &who, &mut imported).await?;
    Ok(Json(json!({
        "imported": {"flags": imported.flags.len(), "segments": imported.segments.len()},
        "version": written,
    })))
}

/// Merges a document into the stored flags (imported flags and segments replace those
/// with the same key) in one transaction. Flags and segments imported from Unleash keep
/// Unleash's semantics (their `compat`), so unknown operators and custom strategies
/// survive and are served back to Unleash SDKs as written.
pub async fn import_document(
    state: &AppState,
    who: &Principal,
    imported: &mut Document,
) -> Result<i64, ApiError> {
    imported.mark_compat_per_item();
    let _guard = state.write_lock().await?;
    let published = state.published();
    for (key, flag) in &imported.flags {
        published.check_environments(flag, &format!("flags.{key}."))?;
    }
    let current = published.document();
    let mut merged = current.clone();
    // The imported document's format version is checked with the rest.
    merged.version = imported.version;
    merged.segments.extend(imported.segments.clone());
    merged.flags.extend(imported.flags.clone());
    // The limits first: they bound what validation and compilation then cost.
    flagpole_core::check_change(&current, &merged)?;
    flagpole_core::validate(&merged)?;
    let mut touched = std::collections::BTreeSet::new();
    for (key, flag) in &imported.flags {
        let before = published.flags.get(key).filter(|r| !r.archived);
        let before = before.map(|r| r.flag());
        touched.extend(protection::flag_touches(before.as_ref(), Some(flag)));
    }
    for (name, segment) in &imported.segments {
        if current.segments.get(name) != Some(segment) {
            touched.extend(protection::segment_touches_in(&merged, name));
        }
    }
    protection::check(&published, who, &touched)?;
    crate::review::gate(&published, &touched)?;
    let flags: Vec<_> = imported.flags.clone().into_iter().collect();
    let segments: Vec<_> = imported.segments.clone().into_iter().collect();
    let written = state.note(
        state
            .store()
            .import(&flags, &segments, who.change("import", None))
            .await,
    )?;
    state.reload().await?;
    Ok(written.config_version)
}

/// Exports every flag and segment (native), or one environment (Unleash, seed).
#[utoipa::path(
    get,
    path = "/export",
    tag = "transfer",
    params(TransferQuery),
    responses(
        (status = 200, description = "The document in the format asked for: a native document (JSON), Unleash `ClientFeatures`, or the seed's `flags.json`", body = Value),
        (status = 400, description = "Unreadable query", body = ErrorBody),
        (status = 404, description = "No such environment", body = ErrorBody),
        (status = 422, description = "The flags cannot be written in that format", body = ErrorBody),
    )
)]
async fn export_flags(
    State(state): State<AppState>,
    Viewer(_who): Viewer,
    ApiQuery(q): ApiQuery<TransferQuery>,
) -> Result<Response, ApiError> {
    let published = state.published();
    let environment = q
        .environment
        .unwrap_or_else(|| state.config().seed_environment.clone());
    if q.format != Format::Native {
        published.snapshot(&environment)?;
    }
    let text = formats::export(&published.document(), q.format, &environment)?;
    Ok(([(CONTENT_TYPE, "application/json")], text).into_response())
}
