//! The commits of one flag or one segment: checked in order (protection, approval,
//! limits, the change and what refers to it), then previewed or written with the audit
//! entry and published from what the store committed.

use flagpole_core::{Flag, Segment};
use flagpole_store::{Change, Expect, FlagRecord, SegmentRecord, Written};

use super::mode::{Mode, Outcome};
use super::{approval, check, protection};
use crate::core::WriteGuard;
use crate::error::ApiError;
use crate::identity::Principal;
use crate::preview::previews;
use crate::published::Update;

/// How a flag changes.
#[derive(Clone, Copy, Debug)]
pub enum FlagChange<'a> {
    Put { flag: &'a Flag, archived: bool },
    Delete,
}

/// Applies a flag change: checks that `who` may change the environments it touches and
/// that none requires approval (unless `mode` is [`Mode::Approved`]), checks the change
/// (the limits, the flag itself, and the flags depending on it) against the published
/// state, then previews it or commits it with its audit entry and publishes the new
/// state from what was committed.
pub async fn commit_flag(
    guard: &WriteGuard<'_>,
    mode: Mode,
    who: &Principal,
    key: &str,
    change: FlagChange<'_>,
    expect: Expect,
    audit: Change<'_>,
) -> Result<Outcome, ApiError> {
    let core = guard.core();
    let published = guard.published();
    let before = published.live_flag(key);
    let after = match change {
        FlagChange::Put {
            flag,
            archived: false,
        } => Some(flag),
        _ => None,
    };
    let mut touched = protection::flag_touches(before.as_ref(), after);
    // A change aimed at one environment touches it, even when it changes nothing there.
    touched.extend(audit.environment.map(str::to_string));
    let stored = published.flag_project(key);
    let project = after
        .map(|f| f.project())
        .or(stored)
        .unwrap_or(flagpole_core::DEFAULT_PROJECT);
    if let Some(from) = stored {
        protection::check_move(who, from, project)?;
    }
    if let Some(flag) = after {
        super::projects::check_flag_fits(&published, key, flag)?;
    }
    protection::check(&published, who, project, &touched)?;
    approval::gate(&published, project, &touched, mode)?;
    check::check_flag(&published, key, after)?;
    if mode == Mode::Preview {
        let reports = previews(core, &published, key, after, audit.environment)?;
        return Ok(Outcome::Previewed(reports));
    }
    let written = core.note(match change {
        FlagChange::Put { flag, archived } => {
            core.store()
                .put_flag(key, flag, archived, expect, audit)
                .await
        }
        FlagChange::Delete => core.store().delete_flag(key, expect, audit).await,
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
    core.publish_update(Update {
        version: written.config_version,
        flags: vec![(key.to_string(), record)],
        segments: Vec::new(),
    })
    .await?;
    Ok(Outcome::Written(written))
}

/// Applies a segment change (`None` deletes) the same way: the segment and the flags
/// using it are checked, and only those flags compiled again. Segment changes have no
/// preview: [`Mode::Preview`] is refused.
pub async fn commit_segment(
    guard: &WriteGuard<'_>,
    mode: Mode,
    who: &Principal,
    name: &str,
    segment: Option<&Segment>,
    expect: Expect,
    audit: Change<'_>,
) -> Result<Written, ApiError> {
    if mode == Mode::Preview {
        return Err(ApiError::bad_request(
            "invalid_query",
            "preview: offered on flag changes only",
            Some("preview".into()),
        ));
    }
    let core = guard.core();
    let published = guard.published();
    let touched = protection::segment_touches(&published, name);
    let project = segment
        .or(published.segments.get(name).map(|r| &r.segment))
        .map_or(flagpole_core::DEFAULT_PROJECT, |s| s.project());
    if let Some(s) = segment {
        super::projects::check_segment_fits(&published, name, s)?;
    }
    protection::check(&published, who, project, &touched)?;
    approval::gate(&published, project, &touched, mode)?;
    check::check_segment(&published, name, segment)?;
    let written = core.note(match segment {
        Some(s) => core.store().put_segment(name, s, expect, audit).await,
        None => core.store().delete_segment(name, expect, audit).await,
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
    core.publish_update(Update {
        version: written.config_version,
        flags: Vec::new(),
        segments: vec![(name.to_string(), record)],
    })
    .await?;
    Ok(written)
}
