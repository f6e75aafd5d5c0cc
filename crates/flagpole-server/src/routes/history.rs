//! History: the audit log, a flag's versions, the diff between two versions, and
//! rollback to a version (itself a new, audited change).

use axum::Json;
use chrono::{DateTime, Utc};
use flagpole_store::{AuditEntry, UsageRecord};
use flagpole_store::{AuditFilter, FlagVersion, UsageFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::change::FlagChange;
use crate::diff::{diff, FieldChange};
use crate::error::{ApiError, ErrorBody};
use crate::http::auth::{readable_flag, ProjectViewer, Viewer};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, Call};
use crate::http::preview::{OrPreview, PreviewQuery};
use crate::http::schemas::{BodyErrors, WriteErrors, WriteHeaders};
use crate::http::views::FlagResource;
use crate::http::AppState;
use crate::identity::Role;
use crate::write::input::required;
use crate::write::{flags, Mode};

router!(pub fn router: list_audit; list_usage; list_flag_versions; get_flag_version; diff_flag_versions; rollback_flag);

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageList {
    pub usage: Vec<UsageRecord>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionSummary {
    pub version: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub archived: bool,
    /// True when this version deleted the flag.
    pub deleted: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    pub flag: String,
    pub versions: Vec<VersionSummary>,
}

/// The leaves that differ between two versions of a flag.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagDiff {
    pub flag: String,
    pub from: i64,
    pub to: i64,
    pub changes: Vec<FieldChange>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    flag: Option<String>,
    environment: Option<String>,
    /// Entries at or after this time.
    since: Option<DateTime<Utc>>,
    /// Entries before this time.
    until: Option<DateTime<Utc>>,
    /// At most this many, newest first: 1 to 1000 (default 100).
    limit: Option<i64>,
    /// Only entries about this project's flags, segments, settings and members
    /// (required of callers without a server-wide role).
    project: Option<String>,
}

/// Reads the audit log.
#[utoipa::path(get, path = "/audit", params(AuditQuery), responses((status = 200, description = "The matching entries, newest first", body = AuditList), (status = 400, description = "Unreadable query or a limit out of range", body = ErrorBody), WriteErrors))]
async fn list_audit(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditList>, ApiError> {
    if who.role().is_none() {
        match q.project.as_deref() {
            Some(p) if who.may(p, Role::Viewer) => {}
            _ => {
                return Err(ApiError::Forbidden(
                    "the whole audit log is for server-wide roles; ask for one of your projects' (?project=KEY)".into(),
                ))
            }
        }
    }
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
        project: q.project,
        since: q.since,
        until: q.until,
        limit: q.limit,
    };
    let entries = state.store().audit(&filter).await?;
    Ok(Json(AuditList { entries }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct UsageQuery {
    flag: Option<String>,
    environment: Option<String>,
    /// Hourly buckets starting at or after this time.
    since: Option<DateTime<Utc>>,
    /// Hourly buckets starting before this time.
    until: Option<DateTime<Utc>>,
}

/// SDK-reported usage (Unleash metrics) per flag, environment and hourly bucket.
#[utoipa::path(get, path = "/usage", params(UsageQuery), responses((status = 200, description = "The matching usage", body = UsageList), (status = 400, description = "Unreadable query", body = ErrorBody), WriteErrors))]
async fn list_usage(
    Call(state, Viewer(_who)): Call<Viewer>,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> Result<Json<UsageList>, ApiError> {
    let filter = UsageFilter {
        flag: q.flag,
        environment: q.environment,
        since: q.since,
        until: q.until,
    };
    let usage = state.store().usage(&filter).await?;
    Ok(Json(UsageList { usage }))
}

impl From<FlagVersion> for VersionSummary {
    fn from(v: FlagVersion) -> VersionSummary {
        VersionSummary {
            deleted: v.flag.is_none(),
            version: v.version,
            at: v.at,
            actor: v.actor,
            archived: v.archived,
        }
    }
}

/// Lists every stored version of a flag, deleted ones included.
#[utoipa::path(get, path = "/flags/{key}/versions", params(("key" = String, Path, description = "Flag key")), responses((status = 200, description = "The versions, oldest first", body = VersionList), (status = 404, description = "The flag never existed", body = ErrorBody), WriteErrors))]
async fn list_flag_versions(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<VersionList>, ApiError> {
    readable_flag(&state, &who, &key)?;
    let versions = state.store().flag_versions(&key).await?;
    if versions.is_empty() {
        return Err(ApiError::NotFound {
            kind: "flag",
            name: key,
        });
    }
    let versions = versions.into_iter().map(VersionSummary::from).collect();
    Ok(Json(VersionList {
        flag: key,
        versions,
    }))
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

/// Reads one stored version of a flag.
#[utoipa::path(get, path = "/flags/{key}/versions/{version}", params(("key" = String, Path, description = "Flag key"), ("version" = i64, Path, description = "Flag version")), responses((status = 200, description = "The version (`flag` is null for a deletion)", body = flagpole_store::FlagVersion), (status = 400, description = "A version that is not an integer", body = ErrorBody), (status = 404, description = "No such version", body = ErrorBody), WriteErrors))]
async fn get_flag_version(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath((key, version)): ApiPath<(String, i64)>,
) -> Result<Json<FlagVersion>, ApiError> {
    readable_flag(&state, &who, &key)?;
    Ok(Json(load_version(&state, &key, version).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DiffQuery {
    /// The earlier version.
    from: i64,
    /// Defaults to the current version.
    to: Option<i64>,
}

/// Compares two versions of a flag.
#[utoipa::path(get, path = "/flags/{key}/diff", params(("key" = String, Path, description = "Flag key"), DiffQuery), responses((status = 200, description = "Every leaf that differs", body = FlagDiff), (status = 400, description = "Unreadable query (`from` is required)", body = ErrorBody), (status = 404, description = "No such flag or version", body = ErrorBody), WriteErrors))]
async fn diff_flag_versions(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath(key): ApiPath<String>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> Result<Json<FlagDiff>, ApiError> {
    readable_flag(&state, &who, &key)?;
    let to = match q.to {
        Some(v) => v,
        None => state.published().flag(&key)?.version,
    };
    let before = load_version(&state, &key, q.from).await?;
    let after = load_version(&state, &key, to).await?;
    let mut changes = diff(
        &serde_json::to_value(&before.flag).unwrap_or_default(),
        &serde_json::to_value(&after.flag).unwrap_or_default(),
    );
    if before.archived != after.archived {
        changes.push(FieldChange {
            path: "archived".into(),
            before: before.archived.into(),
            after: after.archived.into(),
        });
    }
    Ok(Json(FlagDiff {
        flag: key,
        from: q.from,
        to,
        changes,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    /// The version to restore.
    to_version: i64,
    /// The current version the rollback is based on.
    version: Option<i64>,
}

/// Restores an earlier version of a flag, as a new, audited version.
#[utoipa::path(post, path = "/flags/{key}/rollback", params(("key" = String, Path, description = "Flag key"), WriteHeaders, PreviewQuery), request_body = RollbackBody, responses((status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>), (status = 400, description = "Unreadable body or header", body = ErrorBody), (status = 404, description = "No such flag or version", body = ErrorBody), (status = 409, description = "The flag changed since that version, or the target version is a deletion", body = ErrorBody), (status = 422, description = "The restored flag is no longer valid", body = ErrorBody), (status = 428, description = "No version given", body = ErrorBody), BodyErrors, WriteErrors))]
async fn rollback_flag(
    change: FlagChange,
    mode: Mode,
    ApiJson(body): ApiJson<RollbackBody>,
) -> Result<OrPreview<Json<FlagResource>>, ApiError> {
    let expect = required(change.based_on(body.version)?)?;
    let (state, who, key) = (&change.state, &change.who, &change.at);
    let outcome = flags::roll_back(state, mode, who, key, body.to_version, expect).await?;
    Ok(OrPreview::of(outcome, |record| Json(record.into())))
}
