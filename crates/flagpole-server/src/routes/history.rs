//! History: the audit log, a flag's versions, the diff between two versions, and
//! rollback to a version (itself a new, audited change).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use flagpole_store::{AuditFilter, Change, FlagVersion, UsageFilter};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::{based_on, ApiJson, ApiPath, ApiQuery};
use crate::routes::resources::{actor, commit_flag, flag_json, required, FlagChange};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", get(list_audit))
        .route("/usage", get(list_usage))
        .route("/flags/{key}/versions", get(list_flag_versions))
        .route("/flags/{key}/versions/{version}", get(get_flag_version))
        .route("/flags/{key}/diff", get(diff_flag_versions))
        .route("/flags/{key}/rollback", post(rollback_flag))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    flag: Option<String>,
    environment: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: Option<i64>,
}

async fn list_audit(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    if let Some(limit) = q.limit {
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("limit must be from 1 to 1000, not {limit}"),
                Some("limit".into()),
            ));
        }
    }
    let filter = AuditFilter {
        flag: q.flag,
        environment: q.environment,
        since: q.since,
        until: q.until,
        limit: q.limit,
    };
    let entries = state.store().audit(&filter).await?;
    Ok(Json(json!({"entries": entries})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageQuery {
    flag: Option<String>,
    environment: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
}

/// SDK-reported usage (Unleash metrics) per flag, environment and hourly bucket.
async fn list_usage(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> Result<Json<Value>, ApiError> {
    let filter = UsageFilter {
        flag: q.flag,
        environment: q.environment,
        since: q.since,
        until: q.until,
    };
    Ok(Json(json!({"usage": state.store().usage(&filter).await?})))
}

fn version_summary(v: &FlagVersion) -> Value {
    json!({"version": v.version, "at": v.at, "actor": v.actor, "archived": v.archived, "deleted": v.flag.is_none()})
}

async fn list_flag_versions(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let versions = state.store().flag_versions(&key).await?;
    if versions.is_empty() {
        return Err(ApiError::NotFound {
            kind: "flag",
            name: key,
        });
    }
    Ok(Json(
        json!({"flag": key, "versions": versions.iter().map(version_summary).collect::<Vec<_>>()}),
    ))
}

async fn load_version(state: &AppState, key: &str, version: i64) -> Result<FlagVersion, ApiError> {
    state
        .store()
        .flag_version(key, version)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            kind: "flag version",
            name: format!("{key}@{version}"),
        })
}

async fn get_flag_version(
    State(state): State<AppState>,
    ApiPath((key, version)): ApiPath<(String, i64)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(load_version(&state, &key, version).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiffQuery {
    from: i64,
    /// Defaults to the current version.
    to: Option<i64>,
}

async fn diff_flag_versions(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> Result<Json<Value>, ApiError> {
    let to = match q.to {
        Some(v) => v,
        None => state.published().flag(&key)?.version,
    };
    let before = load_version(&state, &key, q.from).await?;
    let after = load_version(&state, &key, to).await?;
    let mut changes = Vec::new();
    diff(
        "",
        &serde_json::to_value(&before.flag).unwrap_or_default(),
        &serde_json::to_value(&after.flag).unwrap_or_default(),
        &mut changes,
    );
    if before.archived != after.archived {
        changes
            .push(json!({"path": "archived", "before": before.archived, "after": after.archived}));
    }
    Ok(Json(
        json!({"flag": key, "from": q.from, "to": to, "changes": changes}),
    ))
}

/// Every leaf that differs, as `{path, before, after}` (`null` where absent).
fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<Value>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                diff(&join(k), va, y.get(k).unwrap_or(&Value::Null), out);
            }
            for (k, vb) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                diff(&join(k), &Value::Null, vb, out);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                diff(
                    &format!("{path}[{i}]"),
                    x.get(i).unwrap_or(&Value::Null),
                    y.get(i).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if a != b => out.push(json!({"path": path, "before": a, "after": b})),
        _ => {}
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    /// The version to restore.
    to_version: i64,
    /// The current version the rollback is based on.
    version: Option<i64>,
}

async fn rollback_flag(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RollbackBody>,
) -> Result<Json<Value>, ApiError> {
    let expect = required(based_on(&headers, body.version)?)?;
    let target = load_version(&state, &key, body.to_version).await?;
    let Some(flag) = target.flag else {
        return Err(ApiError::Conflict(format!(
            "version {} of {key:?} is its deletion; roll back to a version that has the flag",
            body.to_version
        )));
    };
    let _guard = state.write_lock().await;
    let who = actor(&headers);
    let audit = Change {
        actor: &who,
        action: "flag.rolled_back",
        environment: None,
    };
    commit_flag(
        &state,
        &key,
        FlagChange::Put {
            flag: &flag,
            archived: target.archived,
        },
        expect,
        audit,
    )
    .await?;
    Ok(Json(flag_json(state.published().flag(&key)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_each_changed_leaf() {
        let a = json!({"environments": {"production": {"enabled": false, "rules": [{"rollout": 5}]}}, "tags": ["a"]});
        let b = json!({"environments": {"production": {"enabled": true, "rules": [{"rollout": 25}, {}]}}, "description": "x", "tags": ["a"]});
        let mut out = Vec::new();
        diff("", &a, &b, &mut out);
        let paths: Vec<&str> = out.iter().map(|c| c["path"].as_str().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "environments.production.enabled",
                "environments.production.rules[0].rollout",
                "environments.production.rules[1]",
                "description"
            ]
        );
    }
}
