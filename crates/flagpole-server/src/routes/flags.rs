//! `/api/v1/flags`: list, create, read, replace, archive, delete. Per-environment
//! configuration is in `flag_environments.rs`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use flagpole_core::Flag;
use flagpole_store::Expect;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Editor, Principal, Viewer};
use crate::error::ApiError;
use crate::extract::{based_on, ApiJson, ApiPath, ApiQuery};
use crate::routes::resources::{
    check_new_name, commit_flag, flag_json, or_current, required, split_body, FlagChange,
};
use crate::schemas::{
    BodyErrors, ErrorBody, FlagInput, FlagList, FlagOrPreview, FlagResource, PreviewAnswer,
    PreviewQuery, WriteErrors, WriteHeaders,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_flags, create_flag))
        .routes(routes!(get_flag, put_flag, delete_flag))
        .routes(routes!(archive_flag))
        .routes(routes!(unarchive_flag))
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
}

/// Lists flags, optionally filtered.
#[utoipa::path(
    get,
    path = "/flags",
    tag = "flags",
    params(ListQuery),
    responses(
        (status = 200, description = "The matching flags, in key order", body = FlagList),
        (status = 400, description = "Unreadable query", body = ErrorBody),
    )
)]
async fn list_flags(
    State(state): State<AppState>,
    Viewer(_who): Viewer,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
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
    let flags: Vec<Value> = published
        .flags
        .values()
        .filter(|r| if r.archived { archived } else { live })
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
        .map(|r| flag_json(&r))
        .collect();
    Ok(Json(json!({"flags": flags, "version": published.version})))
}

/// Creates a flag.
#[utoipa::path(
    post,
    path = "/flags",
    tag = "flags",
    params(PreviewQuery),
    request_body = FlagInput,
    responses(
        (status = 201, description = "The new flag", body = FlagResource),
        (status = 200, description = "With `?preview=true`: the impact preview (nothing written)", body = PreviewAnswer),
        (status = 400, description = "Unreadable body, missing or invalid key, or an unknown environment", body = ErrorBody),
        (status = 409, description = "The flag exists", body = ErrorBody),
        (status = 422, description = "The flag is invalid", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn create_flag(
    State(state): State<AppState>,
    Editor(who): Editor,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (key, _, flag): (_, _, Flag) = split_body(body, "key")?;
    let key = key.ok_or_else(|| {
        ApiError::bad_request(
            "invalid_body",
            "key: a new flag needs a key",
            Some("key".into()),
        )
    })?;
    check_new_name("flag key", "key", &key)?;
    state.published().check_environments(&flag, "")?;
    let _guard = state.write_lock().await?;
    let audit = who.change("flag.created", None);
    commit_flag(
        &state,
        &who,
        &key,
        FlagChange::Put {
            flag: &flag,
            archived: false,
        },
        Expect::Absent,
        audit,
    )
    .await?;
    let published = state.published();
    Ok((StatusCode::CREATED, Json(flag_json(&published.flag(&key)?))))
}

/// Reads a flag (live or archived).
#[utoipa::path(
    get,
    path = "/flags/{key}",
    tag = "flags",
    params(("key" = String, Path, description = "Flag key")),
    responses(
        (status = 200, description = "The flag", body = FlagResource),
        (status = 404, description = "No such flag", body = ErrorBody),
    )
)]
async fn get_flag(
    State(state): State<AppState>,
    Viewer(_who): Viewer,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(flag_json(&state.published().flag(&key)?)))
}

/// Replaces a flag; the body must say which version it is based on.
#[utoipa::path(
    put,
    path = "/flags/{key}",
    tag = "flags",
    params(("key" = String, Path, description = "Flag key"), WriteHeaders, PreviewQuery),
    request_body = FlagInput,
    responses(
        (status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = FlagOrPreview),
        (status = 400, description = "Unreadable body or header, a different key, or an unknown environment", body = ErrorBody),
        (status = 404, description = "No such flag", body = ErrorBody),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 422, description = "The flag is invalid", body = ErrorBody),
        (status = 428, description = "No version given", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn put_flag(
    State(state): State<AppState>,
    Editor(who): Editor,
    ApiPath(key): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let (body_key, version, flag): (_, _, Flag) = split_body(body, "key")?;
    if body_key.as_ref().is_some_and(|k| *k != key) {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!(
                "key: the body names flag {:?} but the path {key:?}; flags cannot be renamed",
                body_key.unwrap_or_default()
            ),
            Some("key".into()),
        ));
    }
    let expect = required(based_on(&headers, version)?)?;
    state.published().check_environments(&flag, "")?;
    let _guard = state.write_lock().await?;
    let archived = state.published().flag(&key)?.archived;
    let audit = who.change("flag.updated", None);
    commit_flag(
        &state,
        &who,
        &key,
        FlagChange::Put {
            flag: &flag,
            archived,
        },
        expect,
        audit,
    )
    .await?;
    Ok(Json(flag_json(&state.published().flag(&key)?)))
}

/// Deletes a flag (its history stays).
#[utoipa::path(
    delete,
    path = "/flags/{key}",
    tag = "flags",
    params(("key" = String, Path, description = "Flag key"), WriteHeaders, PreviewQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 200, description = "With `?preview=true`: the impact preview (nothing written)", body = PreviewAnswer),
        (status = 400, description = "Unreadable If-Match", body = ErrorBody),
        (status = 404, description = "No such flag", body = ErrorBody),
        (status = 409, description = "The flag changed since the If-Match version", body = ErrorBody),
        (status = 422, description = "Another flag depends on it", body = ErrorBody),
        WriteErrors,
    )
)]
async fn delete_flag(
    State(state): State<AppState>,
    Editor(who): Editor,
    ApiPath(key): ApiPath<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let _guard = state.write_lock().await?;
    let current = state.published().flag(&key)?.version;
    let expect = or_current(based_on(&headers, None)?, current);
    let audit = who.change("flag.deleted", None);
    commit_flag(&state, &who, &key, FlagChange::Delete, expect, audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Archives a flag: it is kept but no longer served.
#[utoipa::path(
    post,
    path = "/flags/{key}/archive",
    tag = "flags",
    params(("key" = String, Path, description = "Flag key"), WriteHeaders, PreviewQuery),
    responses(
        (status = 200, description = "The flag, or with `?preview=true` the impact preview (nothing written)", body = FlagOrPreview),
        (status = 400, description = "Unreadable If-Match", body = ErrorBody),
        (status = 404, description = "No such flag", body = ErrorBody),
        (status = 409, description = "The flag changed since the If-Match version", body = ErrorBody),
        (status = 422, description = "The change would leave the flags invalid", body = ErrorBody),
        WriteErrors,
    )
)]
async fn archive_flag(
    state: State<AppState>,
    Editor(who): Editor,
    key: ApiPath<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    set_archived(state, &who, key, headers, true).await
}

/// Brings an archived flag back.
#[utoipa::path(
    post,
    path = "/flags/{key}/unarchive",
    tag = "flags",
    params(("key" = String, Path, description = "Flag key"), WriteHeaders, PreviewQuery),
    responses(
        (status = 200, description = "The flag, or with `?preview=true` the impact preview (nothing written)", body = FlagOrPreview),
        (status = 400, description = "Unreadable If-Match", body = ErrorBody),
        (status = 404, description = "No such flag", body = ErrorBody),
        (status = 409, description = "The flag changed since the If-Match version", body = ErrorBody),
        (status = 422, description = "The change would leave the flags invalid", body = ErrorBody),
        WriteErrors,
    )
)]
async fn unarchive_flag(
    state: State<AppState>,
    Editor(who): Editor,
    key: ApiPath<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    set_archived(state, &who, key, headers, false).await
}

async fn set_archived(
    State(state): State<AppState>,
    who: &Principal,
    ApiPath(key): ApiPath<String>,
    headers: HeaderMap,
    archived: bool,
) -> Result<Json<Value>, ApiError> {
    let _guard = state.write_lock().await?;
    let published = state.published();
    let record = published.flag(&key)?;
    let expect = or_current(based_on(&headers, None)?, record.version);
    let action = if archived {
        "flag.archived"
    } else {
        "flag.unarchived"
    };
    let audit = who.change(action, None);
    commit_flag(
        &state,
        who,
        &key,
        FlagChange::Put {
            flag: &record.flag,
            archived,
        },
        expect,
        audit,
    )
    .await?;
    Ok(Json(flag_json(&state.published().flag(&key)?)))
}
