//! What the native API reads and writes: flag and segment resources as JSON, and the one
//! path every flag and segment change takes (check the change and what refers to it,
//! commit, publish what was committed).

use flagpole_core::{Flag, Item, Pending, Segment};
use flagpole_store::{Change, Expect, FlagRecord, SegmentRecord, Written};
use serde_json::{json, Map, Value};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::from_value;
use crate::published::{Published, Update};
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
/// checks the change (the limits, the flag itself, and the flags depending on it)
/// against the published state, commits it with its audit entry, and publishes the new
/// state from what was committed. Costs what the change does, not what the flag set
/// holds. Call with the write lock held.
pub async fn commit_flag(
    state: &AppState,
    who: &Principal,
    key: &str,
    change: FlagChange<'_>,
    expect: Expect,
    audit: Change<'_>,
) -> Result<Written, ApiError> {
    let published = state.published();
    let before = published.live_flag(key);
    let after = match &change {
        FlagChange::Put {
            flag,
            archived: false,
        } => Some(*flag),
        _ => None,
    };
    let mut touched = protection::flag_touches(before.as_ref(), after);
    // A change aimed at one environment touches it, even when it changes nothing there.
    touched.extend(audit.environment.map(str::to_string));
    protection::check(&published, who, &touched)?;
    crate::review::gate(&published, &touched)?;
    check_flag(&published, key, after)?;
    if crate::preview::request::requested() {
        return Err(crate::preview::report::previewed(
            state,
            &published,
            key,
            after,
            audit.environment,
        ));
    }
    let written = state.note(match change {
        FlagChange::Put { flag, archived } => {
            state
                .store()
                .put_flag(key, flag, archived, expect, audit)
                .await
        }
        FlagChange::Delete => state.store().delete_flag(key, expect, audit).await,
    })?;
    let record = match change {
        FlagChange::Put { flag, archived } => Some(FlagRecord {
            key: key.to_string(),
            flag: flag.clone(),
            version: written.version,
            archived,
            created_at: published
                .flags
                .get(key)
                .map_or(written.at, |r| r.created_at),
            updated_at: written.at,
        }),
        FlagChange::Delete => None,
    };
    state
        .publish_update(Update {
            version: written.config_version,
            flags: vec![(key.to_string(), record)],
            segments: Vec::new(),
        })
        .await?;
    Ok(written)
}

/// Applies a segment change (`None` deletes) the same way: the segment and the flags
/// using it are checked, and only those flags compiled again.
pub async fn commit_segment(
    state: &AppState,
    who: &Principal,
    name: &str,
    segment: Option<&Segment>,
    expect: Expect,
    audit: Change<'_>,
) -> Result<Written, ApiError> {
    let published = state.published();
    let touched = protection::segment_touches(&published, name);
    protection::check(&published, who, &touched)?;
    crate::review::gate(&published, &touched)?;
    check_segment(&published, name, segment)?;
    let written = state.note(match segment {
        Some(s) => state.store().put_segment(name, s, expect, audit).await,
        None => state.store().delete_segment(name, expect, audit).await,
    })?;
    let record = segment.map(|s| SegmentRecord {
        name: name.to_string(),
        segment: s.clone(),
        version: written.version,
        created_at: published
            .segments
            .get(name)
            .map_or(written.at, |r| r.created_at),
        updated_at: written.at,
    });
    state
        .publish_update(Update {
            version: written.config_version,
            flags: Vec::new(),
            segments: vec![(name.to_string(), record)],
        })
        .await?;
    Ok(written)
}

/// Checks a flag change against the published state: the limits, the flag, and the
/// flags that depend on it.
pub(crate) fn check_flag(
    published: &Published,
    key: &str,
    flag: Option<&Flag>,
) -> Result<(), ApiError> {
    let item = Item::Flag(key, flag);
    // The limits first: they bound what validation and compilation then cost.
    flagpole_core::check_item(published, item)?;
    let pending = Pending {
        base: published,
        item,
    };
    flagpole_core::validate_flag(&pending, key)?;
    for dependent in published.dependents(key) {
        flagpole_core::validate_flag(&pending, dependent)?;
    }
    Ok(())
}

/// Checks a segment change: the limits, the segment, and the flags that use it.
pub(crate) fn check_segment(
    published: &Published,
    name: &str,
    segment: Option<&Segment>,
) -> Result<(), ApiError> {
    let item = Item::Segment(name, segment);
    flagpole_core::check_item(published, item)?;
    let pending = Pending {
        base: published,
        item,
    };
    flagpole_core::validate_segment(&pending, name)?;
    for user in published.segment_users(name) {
        flagpole_core::validate_flag(&pending, user)?;
    }
    Ok(())
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
