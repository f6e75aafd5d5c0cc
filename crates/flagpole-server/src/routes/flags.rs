//! `/api/v1/flags`: list, create, read, replace, archive, delete, and per-environment
//! configuration (enable, disable, rules, default, rollout).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use flagpole_core::{check_key, Flag, FlagEnvironment, Rule, Serve};
use flagpole_store::{Change, Expect};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::{based_on, ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::routes::resources::{
    actor, commit_flag, flag_json, or_current, required, split_body, FlagChange,
};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/flags", get(list_flags).post(create_flag))
        .route(
            "/flags/{key}",
            get(get_flag).put(put_flag).delete(delete_flag),
        )
        .route("/flags/{key}/archive", post(archive_flag))
        .route("/flags/{key}/unarchive", post(unarchive_flag))
        .route(
            "/flags/{key}/environments/{env}",
            get(get_flag_environment).put(put_flag_environment),
        )
        .route("/flags/{key}/environments/{env}/enable", post(enable_flag))
        .route(
            "/flags/{key}/environments/{env}/disable",
            post(disable_flag),
        )
        .route("/flags/{key}/environments/{env}/rules", put(put_flag_rules))
        .route(
            "/flags/{key}/environments/{env}/default",
            put(put_flag_default),
        )
        .route(
            "/flags/{key}/environments/{env}/rollout",
            put(put_flag_rollout),
        )
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Matches key, description and tags, case-insensitively.
    q: Option<String>,
    tag: Option<String>,
    /// Include archived flags (default false); `only` lists only them.
    archived: Option<String>,
}

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

async fn get_flag(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(flag_json(state.published().flag(&key)?)))
}

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

async fn archive_flag(
    state: State<AppState>,
    key: ApiPath<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    set_archived(state, key, headers, true).await
}

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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Based {
    version: Option<i64>,
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesBody {
    version: Option<i64>,
    rules: Vec<Rule>,
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultBody {
    version: Option<i64>,
    default: Option<Serve>,
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolloutBody {
    version: Option<i64>,
    rollout: i64,
    stickiness: Option<String>,
}

/// Sets the percentage of a flag whose targeting is one rollout (or nothing yet).
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
