//! `/api/v1/flags`: list, create, read, replace, archive, delete. Per-environment
//! configuration is in `flag_environments.rs`.

use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use flagpole_core::Flag;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::change::FlagChange;
use crate::error::ApiError;
use crate::error::ErrorBody;
use crate::http::auth::{readable_flag, ProjectEditor, ProjectViewer};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, Call};
use crate::http::preview::{OrPreview, PreviewAnswer, PreviewQuery};
use crate::http::schemas::{BodyErrors, WriteErrors, WriteHeaders};
use crate::http::views::FlagResource;
use crate::write::input::{required, split_body};
use crate::write::{flags, Mode};

router!(pub fn router: list_flags, create_flag; get_flag, put_flag, delete_flag; archive_flag; unarchive_flag);

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagList {
    pub flags: Vec<FlagResource>,
    /// The configuration version the list was read from.
    pub version: i64,
}

/// A flag to create or replace. A body read from a GET may be sent back as it is: the
/// read-only fields are ignored.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagInput {
    /// Required to create; when replacing, it must name the flag in the path.
    pub key: Option<String>,
    /// The version the change is based on (or `If-Match`); required to replace.
    pub version: Option<i64>,
    /// Read-only: ignored (archive through `/archive` and `/unarchive`).
    pub archived: Option<bool>,
    /// Read-only: ignored.
    pub created_at: Option<DateTime<Utc>>,
    /// Read-only: ignored.
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub flag: Flag,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Matches key, description and tags, case-insensitively.
    q: Option<String>,
    tag: Option<String>,
    /// Include archived flags: `false` (default), `true`, or `only` to list only them.
    archived: Option<String>,
    /// Only this project's flags.
    project: Option<String>,
}

/// Lists flags, optionally filtered.
#[utoipa::path(get, path = "/flags", params(ListQuery), responses((status = 200, description = "The matching flags, in key order", body = FlagList), (status = 400, description = "Unreadable query", body = ErrorBody)))]
async fn list_flags(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<FlagList>, ApiError> {
    let (live, archived) = match query.archived.as_deref() {
        None | Some("false") => (true, false),
        Some("true") => (true, true),
        Some("only") => (false, true),
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("archived must be true, false or only, not {other:?}"),
                Some("archived".into()),
            ))
        }
    };
    let needle = query.q.as_deref().map(str::to_lowercase);
    let published = state.published();
    let scope = who.scope();
    let flags: Vec<FlagResource> = published
        .flags
        .values()
        .filter(|r| if r.archived { archived } else { live })
        .filter(|r| scope.contains(&r.project))
        .filter(|r| query.project.as_ref().is_none_or(|p| **p == *r.project))
        .map(|r| r.record())
        .filter(|r| query.tag.as_ref().is_none_or(|t| r.flag.tags.contains(t)))
        .filter(|r| {
            needle.as_ref().is_none_or(|n| {
                r.key.to_lowercase().contains(n)
                    || r.flag
                        .description
                        .as_deref()
                        .is_some_and(|d| d.to_lowercase().contains(n))
                    || r.flag.tags.iter().any(|t| t.to_lowercase().contains(n))
            })
        })
        .map(FlagResource::from)
        .collect();
    let version = published.version;
    Ok(Json(FlagList { flags, version }))
}

/// Creates a flag.
#[utoipa::path(post, path = "/flags", params(PreviewQuery), request_body = FlagInput, responses((status = 201, description = "The new flag", body = FlagResource), (status = 200, description = "With `?preview=true`: the impact preview (nothing written)", body = PreviewAnswer), (status = 400, description = "Unreadable body, missing or invalid key, or an unknown environment", body = ErrorBody), (status = 409, description = "The flag exists", body = ErrorBody), (status = 422, description = "The flag is invalid", body = ErrorBody), BodyErrors, WriteErrors))]
async fn create_flag(
    Call(state, ProjectEditor(who)): Call<ProjectEditor>,
    mode: Mode,
    ApiJson(body): ApiJson<Value>,
) -> Result<OrPreview<(StatusCode, Json<FlagResource>)>, ApiError> {
    let (key, _, flag): (_, _, Flag) = split_body(body, "key")?;
    let key = key.ok_or_else(|| {
        ApiError::bad_request(
            "invalid_body",
            "key: a new flag needs a key",
            Some("key".into()),
        )
    })?;
    let outcome = flags::create(&state, mode, &who, &key, &flag).await?;
    let created = |record| (StatusCode::CREATED, Json(FlagResource::from(record)));
    Ok(OrPreview::of(outcome, created))
}

/// Reads a flag (live or archived).
#[utoipa::path(get, path = "/flags/{key}", params(("key" = String, Path, description = "Flag key")), responses((status = 200, description = "The flag", body = FlagResource), (status = 404, description = "No such flag", body = ErrorBody)))]
async fn get_flag(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<FlagResource>, ApiError> {
    readable_flag(&state, &who, &key)?;
    Ok(Json(FlagResource::of(&state, &key)?))
}

/// Replaces a flag; the body must say which version it is based on.
#[utoipa::path(put, path = "/flags/{key}", params(("key" = String, Path, description = "Flag key"), WriteHeaders, PreviewQuery), request_body = FlagInput, responses((status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>), (status = 400, description = "Unreadable body or header, a different key, or an unknown environment", body = ErrorBody), (status = 404, description = "No such flag", body = ErrorBody), (status = 409, description = "The flag changed since that version", body = ErrorBody), (status = 422, description = "The flag is invalid", body = ErrorBody), (status = 428, description = "No version given", body = ErrorBody), BodyErrors, WriteErrors))]
async fn put_flag(
    change: FlagChange,
    mode: Mode,
    ApiJson(body): ApiJson<Value>,
) -> Result<OrPreview<Json<FlagResource>>, ApiError> {
    let (body_key, version, flag): (_, _, Flag) = split_body(body, "key")?;
    let (state, who, key) = (&change.state, &change.who, &change.at);
    if body_key.as_ref().is_some_and(|k| k != key) {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!(
                "key: the body names flag {:?} but the path {key:?}; flags cannot be renamed",
                body_key.unwrap_or_default()
            ),
            Some("key".into()),
        ));
    }
    let expect = required(change.based_on(version)?)?;
    let outcome = flags::replace(state, mode, who, key, &flag, expect).await?;
    Ok(OrPreview::of(outcome, |record| Json(record.into())))
}

/// Deletes a flag (its history stays).
#[utoipa::path(delete, path = "/flags/{key}", params(("key" = String, Path, description = "Flag key"), WriteHeaders, PreviewQuery), responses((status = 204, description = "Deleted"), (status = 200, description = "With `?preview=true`: the impact preview (nothing written)", body = PreviewAnswer), (status = 400, description = "Unreadable If-Match", body = ErrorBody), (status = 404, description = "No such flag", body = ErrorBody), (status = 409, description = "The flag changed since the If-Match version", body = ErrorBody), (status = 422, description = "Another flag depends on it", body = ErrorBody), WriteErrors))]
async fn delete_flag(change: FlagChange, mode: Mode) -> Result<OrPreview<StatusCode>, ApiError> {
    let version = change.based_on(None)?;
    let (state, who, key) = (&change.state, &change.who, &change.at);
    let outcome = flags::delete(state, mode, who, key, version).await?;
    Ok(OrPreview::of(outcome, |_| StatusCode::NO_CONTENT))
}

/// Archives a flag: it is kept but no longer served.
#[utoipa::path(post, path = "/flags/{key}/archive", params(("key" = String, Path, description = "Flag key"), WriteHeaders, PreviewQuery), responses((status = 200, description = "The flag, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>), (status = 400, description = "Unreadable If-Match", body = ErrorBody), (status = 404, description = "No such flag", body = ErrorBody), (status = 409, description = "The flag changed since the If-Match version", body = ErrorBody), (status = 422, description = "The change would leave the flags invalid", body = ErrorBody), WriteErrors))]
async fn archive_flag(change: FlagChange, mode: Mode) -> Archived {
    set_archived(change, mode, true).await
}

/// Brings an archived flag back.
#[utoipa::path(post, path = "/flags/{key}/unarchive", params(("key" = String, Path, description = "Flag key"), WriteHeaders, PreviewQuery), responses((status = 200, description = "The flag, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>), (status = 400, description = "Unreadable If-Match", body = ErrorBody), (status = 404, description = "No such flag", body = ErrorBody), (status = 409, description = "The flag changed since the If-Match version", body = ErrorBody), (status = 422, description = "The change would leave the flags invalid", body = ErrorBody), WriteErrors))]
async fn unarchive_flag(change: FlagChange, mode: Mode) -> Archived {
    set_archived(change, mode, false).await
}

/// What archiving or bringing back a flag answers: the flag, or the preview.
type Archived = Result<OrPreview<Json<FlagResource>>, ApiError>;

async fn set_archived(change: FlagChange, mode: Mode, archived: bool) -> Archived {
    let version = change.based_on(None)?;
    let (state, who, key) = (&change.state, &change.who, &change.at);
    let outcome = flags::set_archived(state, mode, who, key, archived, version).await?;
    Ok(OrPreview::of(outcome, |record| Json(record.into())))
}
