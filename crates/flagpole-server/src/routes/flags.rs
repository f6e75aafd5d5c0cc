//! `/api/v1/flags`: list, create, read, replace, archive, delete, and per-environment
//! configuration (enable, disable, rules, default, rollout).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use flagpole_core::{check_key, Flag, FlagEnvironment, Rule, Serve};
use flagpole_store::{Change, Expect};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{based_on, ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::routes::resources::{
    actor, commit_flag, flag_json, or_current, required, split_body, FlagChange,
};
use crate::schemas::{
    ActorHeader, ErrorBody, FlagEnvironmentInput, FlagEnvironmentResource, FlagInput, FlagList,
    FlagResource, WriteHeaders,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_flags, create_flag))
        .routes(routes!(get_flag, put_flag, delete_flag))
        .routes(routes!(archive_flag))
        .routes(routes!(unarchive_flag))
        .routes(routes!(get_flag_environment, put_flag_environment))
        .routes(routes!(enable_flag))
        .routes(routes!(disable_flag))
        .routes(routes!(put_flag_rules))
        .routes(routes!(put_flag_default))
        .routes(routes!(put_flag_rollout))
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
        .map(flag_json)
        .collect();
    Ok(Json(json!({"flags": flags, "version": published.version})))
}

/// Creates a flag.
#[utoipa::path(
    post,
    path = "/flags",
    tag = "flags",
    params(ActorHeader),
    request_body = FlagInput,
    responses(
        (status = 201, description = "The new flag", body = FlagResource),
        (status = 400, description = "Unreadable body, missing or invalid key, or an unknown environment", body = ErrorBody),
        (status = 409, description = "The flag exists", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "The flag is invalid", body = ErrorBody),
        (status = 500, description = "Storage failed", body = ErrorBody),
    )
)]
async fn create_flag(
    State(state): State<AppState>,
    headers: HeaderMap,
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
    check_key(&key).map_err(|m| {
        ApiError::bad_request(
            "invalid_body",
            format!("key: flag key {m}"),
            Some("key".into()),
        )
    })?;
    check_environments(&state, &flag)?;
    let _guard = state.write_lock().await;
    let who = actor(&headers);
    let audit = Change {
        actor: &who,
        action: "flag.created",
        environment: None,
    };
    commit_flag(
        &state,
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
    Ok((StatusCode::CREATED, Json(flag_json(published.flag(&key)?))))
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
    ApiPath(key): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(flag_json(state.published().flag(&key)?)))
}

/// Replaces a flag; the body must say which version it is based on.
#[utoipa::path(
    put,
    path = "/flags/{key}",
    tag = "flags",
    params(("key" = String, Path, description = "Flag key"), WriteHeaders),
    request_body = FlagInput,
    responses(
        (status = 200, description = "The flag as stored", body = FlagResource),
        (status = 400, description = "Unreadable body or header, a different key, or an unknown environment", body = ErrorBody),
        (status = 404, description = "No such flag", body = ErrorBody),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "The flag is invalid", body = ErrorBody),
        (status = 428, description = "No version given", body = ErrorBody),
        (status = 500, description = "Storage failed", body = ErrorBody),
    )
)]
async fn put_flag(
    State(state): State<AppState>,
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
    check_environments(&state, &flag)?;
    let _guard = state.write_lock().await;
    let archived = state.published().flag(&key)?.archived;
    let who = actor(&headers);
    let audit = Change {
        actor: &who,
        action: "flag.updated",
        environment: None,
    };
    commit_flag(
        &state,
        &key,
        FlagChange::Put {
            flag: &flag,
            archived,
        },
        expect,
        audit,
    )
    .await?;
    Ok(Json(flag_json(state.published().flag(&key)?)))
}

/// Deletes a flag (its history stays).
#[utoipa::path(
    delete,
    path = "/flags/{key}",
    tag = "flags",
    params(("key" = String, Path, description = "Flag key"), WriteHeaders),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Unreadable If-Match", body = ErrorBody),
        (status = 404, description = "No such flag", body = ErrorBody),
        (status = 409, description = "The flag changed since the If-Match version", body = ErrorBody),
        (status = 422, description = "Another flag depends on it", body = ErrorBody),
        (status = 500, description = "Storage failed", body = ErrorBody),
    )
)]
async fn delete_flag(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let _guard = state.write_lock().await;
    let current = state.published().flag(&key)?.version;
    let expect = or_current(based_on(&headers, None)?, current);
    let who = actor(&headers);
    let audit = Change {
        actor: &who,
        action: "flag.deleted",
        environment: None,
    };
    commit_flag(&state, &key, FlagChange::Delete, expect, audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Archives a flag: it is kept but no longer served.
#[utoipa::path(
    post,
    path = "/flags/{key}/archive",
    tag = "flags",
    params(("key" = String, Path, description = "Flag key"), WriteHeaders),
    responses(
        (status = 200, description = "The flag", body = FlagResource),
        (status = 400, description = "Unreadable If-Match", body = ErrorBody),
        (status = 404, description = "No such flag", body = ErrorBody),
        (status = 409, description = "The flag changed since the If-Match version", body = ErrorBody),
        (status = 422, description = "The change would leave the flags invalid", body = ErrorBody),
        (status = 500, description = "Storage failed", body = ErrorBody),
    )
)]
async fn archive_flag(
    state: State<AppState>,
    key: ApiPath<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    set_archived(state, key, headers, true).await
}

/// Brings an archived flag back.
#[utoipa::path(
    post,
    path = "/flags/{key}/unarchive",
    tag = "flags",
    params(("key" = String, Path, description = "Flag key"), WriteHeaders),
    responses(
        (status = 200, description = "The flag", body = FlagResource),
        (status = 400, description = "Unreadable If-Match", body = ErrorBody),
        (status = 404, description = "No such flag", body = ErrorBody),
        (status = 409, description = "The flag changed since the If-Match version", body = ErrorBody),
        (status = 422, description = "The change would leave the flags invalid", body = ErrorBody),
        (status = 500, description = "Storage failed", body = ErrorBody),
    )
)]
async fn unarchive_flag(
    state: State<AppState>,
    key: ApiPath<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    set_archived(state, key, headers, false).await
}

async fn set_archived(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    headers: HeaderMap,
    archived: bool,
) -> Result<Json<Value>, ApiError> {
    let _guard = state.write_lock().await;
    let published = state.published();
    let record = published.flag(&key)?;
    let expect = or_current(based_on(&headers, None)?, record.version);
    let who = actor(&headers);
    let action = if archived {
        "flag.archived"
    } else {
        "flag.unarchived"
    };
    let audit = Change {
        actor: &who,
        action,
        environment: None,
    };
    commit_flag(
        &state,
        &key,
        FlagChange::Put {
            flag: &record.flag,
            archived,
        },
        expect,
        audit,
    )
    .await?;
    Ok(Json(flag_json(state.published().flag(&key)?)))
}

/// Every environment a flag configures must exist.
fn check_environments(state: &AppState, flag: &Flag) -> Result<(), ApiError> {
    let published = state.published();
    for name in flag.environments.keys() {
        if !published.has_environment(name) {
            return Err(ApiError::bad_request(
                "unknown_environment",
                format!("environments.{name}: there is no environment {name:?}; create it first"),
                Some(format!("environments.{name}")),
            ));
        }
    }
    Ok(())
}

/// Reads a flag's configuration in one environment.
#[utoipa::path(
    get,
    path = "/flags/{key}/environments/{env}",
    tag = "flags",
    params(
        ("key" = String, Path, description = "Flag key"),
        ("env" = String, Path, description = "Environment name"),
    ),
    responses(
        (status = 200, description = "The configuration (off and empty when the flag has none there)", body = FlagEnvironmentResource),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
    )
)]
async fn get_flag_environment(
    State(state): State<AppState>,
    ApiPath((key, env)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let published = state.published();
    published.snapshot(&env)?;
    let record = published.flag(&key)?;
    let config = record
        .flag
        .environments
        .get(&env)
        .cloned()
        .unwrap_or_default();
    let mut v = serde_json::to_value(config).unwrap_or_default();
    v["version"] = json!(record.version);
    Ok(Json(v))
}

/// Changes one environment of a flag with `edit`, checking `version` (required unless
/// `require` is false, then defaulting to the current one).
#[allow(clippy::too_many_arguments)] // one private helper behind six thin handlers
async fn update_environment(
    state: &AppState,
    key: &str,
    env: &str,
    headers: &HeaderMap,
    version: Option<i64>,
    require: bool,
    action: &str,
    edit: impl FnOnce(&mut FlagEnvironment) -> Result<(), ApiError>,
) -> Result<Json<Value>, ApiError> {
    let version = based_on(headers, version)?;
    if require && version.is_none() {
        return Err(ApiError::VersionRequired);
    }
    let _guard = state.write_lock().await;
    let published = state.published();
    published.snapshot(env)?;
    let record = published.flag(key)?;
    let expect = or_current(version, record.version);
    let mut flag = record.flag.clone();
    edit(flag.environments.entry(env.to_string()).or_default())?;
    let who = actor(headers);
    let audit = Change {
        actor: &who,
        action,
        environment: Some(env),
    };
    commit_flag(
        state,
        key,
        FlagChange::Put {
            flag: &flag,
            archived: record.archived,
        },
        expect,
        audit,
    )
    .await?;
    Ok(Json(flag_json(state.published().flag(key)?)))
}

/// Replaces a flag's configuration in one environment.
#[utoipa::path(
    put,
    path = "/flags/{key}/environments/{env}",
    tag = "flags",
    params(
        ("key" = String, Path, description = "Flag key"),
        ("env" = String, Path, description = "Environment name"),
        WriteHeaders,
    ),
    request_body = FlagEnvironmentInput,
    responses(
        (status = 200, description = "The flag as stored", body = FlagResource),
        (status = 400, description = "Unreadable body or header", body = ErrorBody),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "The change is invalid", body = ErrorBody),
        (status = 428, description = "No version given", body = ErrorBody),
        (status = 500, description = "Storage failed", body = ErrorBody),
    )
)]
async fn put_flag_environment(
    State(state): State<AppState>,
    ApiPath((key, env)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let (_, version, config): (Option<String>, _, FlagEnvironment) =
        split_body(body, "environment")?;
    update_environment(
        &state,
        &key,
        &env,
        &headers,
        version,
        true,
        "flag.environment.updated",
        |e| {
            *e = config;
            Ok(())
        },
    )
    .await
}

/// Optionally, the version the change is based on.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Based {
    version: Option<i64>,
}

/// Switches a flag on in one environment.
#[utoipa::path(
    post,
    path = "/flags/{key}/environments/{env}/enable",
    tag = "flags",
    params(
        ("key" = String, Path, description = "Flag key"),
        ("env" = String, Path, description = "Environment name"),
        WriteHeaders,
    ),
    request_body = Option<Based>,
    responses(
        (status = 200, description = "The flag as stored", body = FlagResource),
        (status = 400, description = "Unreadable body or header", body = ErrorBody),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "The change is invalid", body = ErrorBody),
        (status = 500, description = "Storage failed", body = ErrorBody),
    )
)]
async fn enable_flag(
    State(state): State<AppState>,
    ApiPath((key, env)): ApiPath<(String, String)>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<Based>,
) -> Result<Json<Value>, ApiError> {
    let version = body.and_then(|b| b.version);
    update_environment(
        &state,
        &key,
        &env,
        &headers,
        version,
        false,
        "flag.enabled",
        |e| {
            e.enabled = true;
            Ok(())
        },
    )
    .await
}

/// Switches a flag off in one environment.
#[utoipa::path(
    post,
    path = "/flags/{key}/environments/{env}/disable",
    tag = "flags",
    params(
        ("key" = String, Path, description = "Flag key"),
        ("env" = String, Path, description = "Environment name"),
        WriteHeaders,
    ),
    request_body = Option<Based>,
    responses(
        (status = 200, description = "The flag as stored", body = FlagResource),
        (status = 400, description = "Unreadable body or header", body = ErrorBody),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "The change is invalid", body = ErrorBody),
        (status = 500, description = "Storage failed", body = ErrorBody),
    )
)]
async fn disable_flag(
    State(state): State<AppState>,
    ApiPath((key, env)): ApiPath<(String, String)>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<Based>,
) -> Result<Json<Value>, ApiError> {
    let version = body.and_then(|b| b.version);
    update_environment(
        &state,
        &key,
        &env,
        &headers,
        version,
        false,
        "flag.disabled",
        |e| {
            e.enabled = false;
            Ok(())
        },
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RulesBody {
    /// The flag version the change is based on (or `If-Match`); required.
    version: Option<i64>,
    rules: Vec<Rule>,
}

/// Replaces a flag's rules in one environment.
#[utoipa::path(
    put,
    path = "/flags/{key}/environments/{env}/rules",
    tag = "flags",
    params(
        ("key" = String, Path, description = "Flag key"),
        ("env" = String, Path, description = "Environment name"),
        WriteHeaders,
    ),
    request_body = RulesBody,
    responses(
        (status = 200, description = "The flag as stored", body = FlagResource),
        (status = 400, description = "Unreadable body or header", body = ErrorBody),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "The change is invalid", body = ErrorBody),
        (status = 428, description = "No version given", body = ErrorBody),
        (status = 500, description = "Storage failed", body = ErrorBody),
    )
)]
async fn put_flag_rules(
    State(state): State<AppState>,
    ApiPath((key, env)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RulesBody>,
) -> Result<Json<Value>, ApiError> {
    update_environment(
        &state,
        &key,
        &env,
        &headers,
        body.version,
        true,
        "flag.rules.updated",
        |e| {
            e.rules = body.rules;
            Ok(())
        },
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DefaultBody {
    /// The flag version the change is based on (or `If-Match`); required.
    version: Option<i64>,
    default: Option<Serve>,
}

/// Sets what a flag serves in one environment when no rule decides.
#[utoipa::path(
    put,
    path = "/flags/{key}/environments/{env}/default",
    tag = "flags",
    params(
        ("key" = String, Path, description = "Flag key"),
        ("env" = String, Path, description = "Environment name"),
        WriteHeaders,
    ),
    request_body = DefaultBody,
    responses(
        (status = 200, description = "The flag as stored", body = FlagResource),
        (status = 400, description = "Unreadable body or header", body = ErrorBody),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "The change is invalid", body = ErrorBody),
        (status = 428, description = "No version given", body = ErrorBody),
        (status = 500, description = "Storage failed", body = ErrorBody),
    )
)]
async fn put_flag_default(
    State(state): State<AppState>,
    ApiPath((key, env)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<DefaultBody>,
) -> Result<Json<Value>, ApiError> {
    update_environment(
        &state,
        &key,
        &env,
        &headers,
        body.version,
        true,
        "flag.default.updated",
        |e| {
            e.default = body.default;
            Ok(())
        },
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RolloutBody {
    /// The flag version the change is based on (or `If-Match`); the current one if absent.
    version: Option<i64>,
    /// Percentage of contexts, 0-100.
    rollout: i64,
    /// Set on a new rule (`default` if absent), or replaced on the existing one.
    stickiness: Option<String>,
}

/// Sets the percentage of a flag whose targeting is one rollout (or nothing yet).
#[utoipa::path(
    put,
    path = "/flags/{key}/environments/{env}/rollout",
    tag = "flags",
    params(
        ("key" = String, Path, description = "Flag key"),
        ("env" = String, Path, description = "Environment name"),
        WriteHeaders,
    ),
    request_body = RolloutBody,
    responses(
        (status = 200, description = "The flag as stored", body = FlagResource),
        (status = 400, description = "Unreadable body or header", body = ErrorBody),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
        (status = 409, description = "The flag changed since that version, or has several rules there", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "The change is invalid", body = ErrorBody),
        (status = 500, description = "Storage failed", body = ErrorBody),
    )
)]
async fn put_flag_rollout(
    State(state): State<AppState>,
    ApiPath((key, env)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RolloutBody>,
) -> Result<Json<Value>, ApiError> {
    update_environment(
        &state,
        &key,
        &env,
        &headers,
        body.version,
        false,
        "flag.rollout.updated",
        |e| {
            match e.rules.as_mut_slice() {
                [] => e.rules.push(Rule {
                    rollout: Some(body.rollout),
                    stickiness: Some(body.stickiness.unwrap_or_else(|| "default".into())),
                    ..Rule::default()
                }),
                [only] if only.conditions.is_empty() && only.segments.is_empty() => {
                    only.rollout = Some(body.rollout);
                    if let Some(s) = body.stickiness {
                        only.stickiness = Some(s);
                    }
                }
                rules => {
                    return Err(ApiError::Conflict(format!(
                    "the flag has {} rules in {env}; set each rule's rollout through PUT .../rules",
                    rules.len()
                )))
                }
            }
            Ok(())
        },
    )
    .await
}
