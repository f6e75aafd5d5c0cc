//! What the native API reads and writes: flag and segment resources as JSON, and the one
//! path every flag change takes (validate the whole document with the change, commit,
//! publish).

use flagpole_core::{Flag, Segment};
use flagpole_store::{Change, Expect, FlagRecord, SegmentRecord, Written};
use serde_json::{json, Map, Value};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::from_value;
use crate::routes::protection;
use crate::state::AppState;

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

/// Splits the bookkeeping fields (`key`/`name`, `version`, and read-only fields echoed
/// back from a GET) off a body, then reads the rest as `T`.
pub fn split_body<T: serde::de::DeserializeOwned>(
    mut body: Value,
    id_field: &str,
) -> Result<(Option<String>, Option<i64>, T), ApiError> {
    let Value::Object(map) = &mut body else {
        return Err(ApiError::bad_request(
            "invalid_body",
            "the body must be a JSON object",
            None,
        ));
    };
    let id = match map.remove(id_field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_body",
                format!("{id_field}: must be a string"),
                Some(id_field.into()),
            ))
        }
    };
    let version = match map.remove("version") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            ApiError::bad_request(
                "invalid_body",
                "version: must be an integer",
                Some("version".into()),
            )
        })?),
    };
    for read_only in ["archived", "created_at", "updated_at"] {
        map.remove(read_only);
    }
    Ok((id, version, from_value(body)?))
}

/// How a flag changes.
pub enum FlagChange<'a> {
    Put { flag: &'a Flag, archived: bool },
    Delete,
}

/// Applies a flag change: checks that `who` may change the environments it touches,
/// validates the live document with it, commits it with its audit entry, and publishes
/// the new snapshot. Call with the write lock held.
pub async fn commit_flag(
    state: &AppState,
    who: &Principal,
    key: &str,
    change: FlagChange<'_>,
    expect: Expect,
    audit: Change<'_>,
) -> Result<Written, ApiError> {
    let published = state.published();
    let before = published
        .flags
        .get(key)
        .filter(|r| !r.archived)
        .map(|r| &r.flag);
    let after = match &change {
        FlagChange::Put {
            flag,
            archived: false,
        } => Some(*flag),
        _ => None,
    };
    let mut touched = protection::flag_touches(before, after);
    // A change aimed at one environment touches it, even when it changes nothing there.
    touched.extend(audit.environment.map(str::to_string));
    protection::check(&published, who, &touched)?;
    let mut doc = published.document.clone();
    match after {
        Some(flag) => {
            doc.flags.insert(key.to_string(), flag.clone());
        }
        None => {
            doc.flags.shift_remove(key);
        }
    }
    // The limits first: they bound what validation and compilation then cost.
    flagpole_core::check_change(&published.document, &doc)?;
    flagpole_core::validate(&doc)?;
    let written = state.note(match change {
        FlagChange::Put { flag, archived } => {
            state
                .store()
                .put_flag(key, flag, archived, expect, audit)
                .await
        }
        FlagChange::Delete => state.store().delete_flag(key, expect, audit).await,
    })?;
    state.reload().await?;
    Ok(written)
}

/// Applies a segment change (`None` deletes) the same way.
pub async fn commit_segment(
    state: &AppState,
    who: &Principal,
    name: &str,
    segment: Option<&Segment>,
    expect: Expect,
    audit: Change<'_>,
) -> Result<Written, ApiError> {
    let published = state.published();
    protection::check(
        &published,
        who,
        &protection::segment_touches(&published.document, name),
    )?;
    let mut doc = published.document.clone();
    match segment {
        Some(s) => {
            doc.segments.insert(name.to_string(), s.clone());
        }
        None => {
            doc.segments.shift_remove(name);
        }
    }
    // The limits first: they bound what validation and compilation then cost.
    flagpole_core::check_change(&published.document, &doc)?;
    flagpole_core::validate(&doc)?;
    let written = state.note(match segment {
        Some(s) => state.store().put_segment(name, s, expect, audit).await,
        None => state.store().delete_segment(name, expect, audit).await,
    })?;
    state.reload().await?;
    Ok(written)
}

/// Checks a new flag key, segment or environment name ([`flagpole_core::check_name`]):
/// 422 naming `field` and saying why.
pub fn check_new_name(what: &str, field: &str, name: &str) -> Result<(), ApiError> {
    flagpole_core::check_name(name).map_err(|e| {
        ApiError::Invalid(vec![flagpole_core::Problem {
            path: field.into(),
            message: format!("{what} {e}"),
        }])
    })
}

/// `Expect::Version` of the given version, or 428 when the update did not say.
pub fn required(version: Option<i64>) -> Result<Expect, ApiError> {
    version
        .map(Expect::Version)
        .ok_or(ApiError::VersionRequired)
}

/// `Expect::Version` if the caller said which version, else the current one.
pub fn or_current(version: Option<i64>, current: i64) -> Expect {
    Expect::Version(version.unwrap_or(current))
}
