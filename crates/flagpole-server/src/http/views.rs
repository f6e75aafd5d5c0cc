//! How the native API and the UI show what is stored: a flag or segment with its
//! bookkeeping (key or name, version, archived, times), a change request with its diff
//! and what a reviewer may do.

use flagpole_core::Flag;
use flagpole_store::{ChangeRequestRecord, FlagRecord, SegmentRecord};
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use crate::core::Core;
use crate::diff::{diff, FieldChange};
use crate::identity::Principal;
use crate::preview::{preview, PreviewReport};
use crate::review::requests::may_approve;

/// A flag as the API shows it: the flag's fields plus key, version, archived and times.
pub fn flag_json(record: &FlagRecord) -> Value {
    let mut v = serde_json::to_value(&record.flag).unwrap_or_default();
    if let Value::Object(map) = &mut v {
        let mut out = Map::new();
        out.insert("key".into(), json!(record.key));
        out.insert("version".into(), json!(record.version));
        out.insert("archived".into(), json!(record.archived));
        out.insert("created_at".into(), json!(record.created_at));
        out.insert("updated_at".into(), json!(record.updated_at));
        out.append(map);
        return Value::Object(out);
    }
    v
}

pub fn segment_json(record: &SegmentRecord) -> Value {
    let mut v = serde_json::to_value(&record.segment).unwrap_or_default();
    if let Value::Object(map) = &mut v {
        map.insert("name".into(), json!(record.name));
        map.insert("version".into(), json!(record.version));
        map.insert("created_at".into(), json!(record.created_at));
        map.insert("updated_at".into(), json!(record.updated_at));
    }
    v
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
