//! Imports: a whole document merged into the stored flags and segments (those with the
//! key of a stored one replace it), checked as a whole with what it merges into, and
//! written in one transaction.

use std::collections::{BTreeMap, BTreeSet};

use flagpole_core::Document;

use super::mode::Mode;
use super::{approval, protection};
use crate::core::Core;
use crate::error::ApiError;
use crate::identity::Principal;

/// Merges a document into the stored flags (imported flags and segments replace those
/// with the same key) in one transaction; answers the configuration version written.
/// Flags and segments imported from Unleash keep Unleash's semantics (their `compat`),
/// so unknown operators and custom strategies survive and are served back to Unleash
/// SDKs as written.
pub async fn import_document(
    core: &Core,
    who: &Principal,
    imported: &mut Document,
) -> Result<i64, ApiError> {
    imported.mark_compat_per_item();
    let _guard = core.begin_write().await?;
    let published = core.published();
    for (key, flag) in &imported.flags {
        published.check_environments(flag, &format!("flags.{key}."))?;
        // A project the import creates uses every environment.
        if published.project(flag.project()).is_some() {
            super::projects::check_flag_fits(&published, key, flag)?;
        }
    }
    let current = published.document();
    let mut merged = current.clone();
    // The imported document's format version is checked with the rest.
    merged.version = imported.version;
    merged.segments.extend(imported.segments.clone());
    merged.flags.extend(imported.flags.clone());
    // The limits first: they bound what validation and compilation then cost.
    flagpole_core::check_change(&current, &merged)?;
    flagpole_core::validate(&merged)?;
    // What each project's changes touch: a flag's in its project (a flag moved by the
    // import also in the one it leaves), a segment's in its own.
    let mut touched: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (key, flag) in &imported.flags {
        let before = published.flags.get(key);
        if let Some(from) = before.map(|r| &*r.project) {
            protection::check_move(who, from, flag.project())?;
        }
        let before = before.filter(|r| !r.archived).map(|r| r.flag());
        let envs = protection::flag_touches(before.as_ref(), Some(flag));
        touched
            .entry(flag.project().to_string())
            .or_default()
            .extend(envs);
    }
    for (name, segment) in &imported.segments {
        if current.segments.get(name) != Some(segment) {
            let envs = protection::segment_touches_in(&merged, name);
            touched
                .entry(segment.project().to_string())
                .or_default()
                .extend(envs);
        }
    }
    for (project, envs) in &touched {
        protection::check(&published, who, project, envs)?;
        approval::gate(&published, project, envs, Mode::Direct)?;
    }
    let missing: Vec<&str> = touched
        .keys()
        .map(String::as_str)
        .filter(|p| *p != flagpole_core::GLOBAL_PROJECT && published.project(p).is_none())
        .collect();
    super::projects::create_named(core, who, &missing).await?;
    let flags: Vec<_> = imported.flags.clone().into_iter().collect();
    let segments: Vec<_> = imported.segments.clone().into_iter().collect();
    let written = core.note(
        core.store()
            .import(&flags, &segments, who.change("import", None))
            .await,
    )?;
    core.reload().await?;
    Ok(written.config_version)
}
