//! Imports: a whole document merged into the stored flags and segments (those with the
//! key of a stored one replace it), checked as a whole with what it merges into, and
//! written in one transaction.

use std::collections::BTreeSet;

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
    let mut touched = BTreeSet::new();
    for (key, flag) in &imported.flags {
        let before = published.flags.get(key).filter(|r| !r.archived);
        let before = before.map(|r| r.flag());
        touched.extend(protection::flag_touches(before.as_ref(), Some(flag)));
    }
    for (name, segment) in &imported.segments {
        if current.segments.get(name) != Some(segment) {
            touched.extend(protection::segment_touches_in(&merged, name));
        }
    }
    protection::check(&published, who, &touched)?;
    approval::gate(&published, &touched, Mode::Direct)?;
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
