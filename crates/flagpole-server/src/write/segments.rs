//! The segment operations of the native API, each one write in the write gate, committed
//! through [`commit_segment`](super::commit_segment) and answered as stored.

use flagpole_core::Segment;
use flagpole_store::{Expect, SegmentRecord};

use super::check::check_new_name;
use super::commit::commit_segment;
use super::input::or_current;
use super::mode::Mode;
use crate::core::{Core, WriteGuard};
use crate::error::ApiError;
use crate::identity::Principal;

/// Creates segment `name`.
pub async fn create(
    core: &Core,
    who: &Principal,
    name: &str,
    segment: &Segment,
) -> Result<SegmentRecord, ApiError> {
    check_new_name("segment name", "name", name)?;
    let guard = core.begin_write().await?;
    let audit = who.change("segment.created", None);
    let (mode, expect) = (Mode::Direct, Expect::Absent);
    commit_segment(&guard, mode, who, name, Some(segment), expect, audit).await?;
    stored(&guard, name)
}

/// Replaces segment `name`, based on `expect`.
pub async fn replace(
    core: &Core,
    who: &Principal,
    name: &str,
    segment: &Segment,
    expect: Expect,
) -> Result<SegmentRecord, ApiError> {
    let guard = core.begin_write().await?;
    stored(&guard, name)?;
    let audit = who.change("segment.updated", None);
    commit_segment(
        &guard,
        Mode::Direct,
        who,
        name,
        Some(segment),
        expect,
        audit,
    )
    .await?;
    stored(&guard, name)
}

/// Deletes segment `name`, based on `version` (the current one when `None`); 409 naming
/// the flags that use it.
pub async fn delete(
    core: &Core,
    who: &Principal,
    name: &str,
    version: Option<i64>,
) -> Result<(), ApiError> {
    let guard = core.begin_write().await?;
    let published = guard.published();
    let current = stored(&guard, name)?.version;
    let users: Vec<&str> = published
        .flags
        .values()
        .filter(|f| {
            f.flag()
                .environments
                .values()
                .flat_map(|e| e.rules.iter())
                .any(|r| r.segments.iter().any(|s| s == name))
        })
        .map(|f| f.key.as_str())
        .collect();
    if !users.is_empty() {
        return Err(ApiError::Conflict(format!(
            "segment {name:?} is used by {} flag(s): {}; remove it from their rules first",
            users.len(),
            users.join(", ")
        )));
    }
    let expect = or_current(version, current);
    let audit = who.change("segment.deleted", None);
    commit_segment(&guard, Mode::Direct, who, name, None, expect, audit).await?;
    Ok(())
}

/// Segment `name` as published, or 404.
fn stored(guard: &WriteGuard<'_>, name: &str) -> Result<SegmentRecord, ApiError> {
    guard
        .published()
        .segments
        .get(name)
        .map(|r| SegmentRecord::clone(r))
        .ok_or_else(|| ApiError::NotFound {
            kind: "segment",
            name: name.to_string(),
        })
}
