//! How the native API and the UI show what is stored: a flag or segment with its
//! bookkeeping (key or name, version, archived, times), a change request with its diff
//! and what a reviewer may do.

use chrono::{DateTime, Utc};
use flagpole_core::{Flag, FlagEnvironment, Segment};
use flagpole_store::{ChangeRequestRecord, FlagRecord, SegmentRecord};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::core::Core;
use crate::diff::{diff, FieldChange};
use crate::error::ApiError;
use crate::identity::Principal;
use crate::preview::{preview, PreviewReport};
use crate::review::requests::may_approve;

/// A flag as the native API shows it: the flag's fields plus its bookkeeping.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagResource {
    pub key: String,
    /// The flag's own version; send it back (or as `If-Match`) to update the flag.
    pub version: i64,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub flag: Flag,
}

impl From<FlagRecord> for FlagResource {
    fn from(r: FlagRecord) -> FlagResource {
        FlagResource {
            key: r.key,
            version: r.version,
            archived: r.archived,
            created_at: r.created_at,
            updated_at: r.updated_at,
            flag: r.flag,
        }
    }
}

impl FlagResource {
    /// The flag `key` as published now (live or archived), or 404.
    pub fn of(core: &Core, key: &str) -> Result<FlagResource, ApiError> {
        Ok(core.published().flag(key)?.into())
    }
}

/// One environment of a flag, with the flag's version.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagEnvironmentResource {
    #[serde(flatten)]
    pub config: FlagEnvironment,
    pub version: i64,
}

/// A segment as the native API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentResource {
    #[serde(flatten)]
    pub segment: Segment,
    pub name: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<SegmentRecord> for SegmentResource {
    fn from(r: SegmentRecord) -> SegmentResource {
        SegmentResource {
            segment: r.segment,
            name: r.name,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A change request with what a reviewer needs: its diff against the current flag,
/// whether the flag moved on since, whether the caller may approve it (and why not), and
/// the impact preview in each environment it touches that samples contexts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeRequestDetail {
    #[serde(flatten)]
    pub record: ChangeRequestRecord,
    /// The flag's current version (`null`: the flag is gone).
    pub current_version: Option<i64>,
    /// Whether the flag moved on since the request was made (rebase it).
    pub stale: bool,
    /// The request's diff against the current flag.
    pub changes: Vec<FieldChange>,
    pub may_approve: bool,
    /// Why the caller may not approve it.
    pub why_not: Option<String>,
    pub preview: Vec<PreviewReport>,
}

impl ChangeRequestDetail {
    /// The request as `who` sees it now.
    pub fn of(core: &Core, who: &Principal, record: ChangeRequestRecord) -> ChangeRequestDetail {
        let published = core.published();
        let current = published.flags.get(&record.target);
        let before = current
            .map(|r| serde_json::to_value(r.flag()).unwrap_or_default())
            .unwrap_or(Value::Null);
        let refusal = may_approve(core, who, &record).err();
        ChangeRequestDetail {
            current_version: current.map(|r| r.version),
            stale: current.is_none_or(|r| r.version != record.based_on),
            changes: diff(&before, &record.body),
            may_approve: refusal.is_none(),
            why_not: refusal.map(|e| e.public_message()),
            preview: impact(core, &record),
            record,
        }
    }
}

/// The impact preview of a flag request in each environment it touches (reports only
/// where the environment samples contexts; empty for segment requests).
fn impact(core: &Core, record: &ChangeRequestRecord) -> Vec<PreviewReport> {
    if record.kind != "flag" {
        return Vec::new();
    }
    let Ok(proposed) = serde_json::from_value::<Flag>(record.body.clone()) else {
        return Vec::new();
    };
    record
        .environments
        .iter()
        .filter_map(|env| preview(core, env, &record.target, Some(&proposed)).ok())
        .filter(|report| report.sampled > 0)
        .collect()
}
