//! What a write checks before it reaches the store: the limits and name rules, the
//! changed flag or segment, and what refers to it (the flags depending on a flag, the
//! flags using a segment), against the published state with the change in place
//! ([`flagpole_core::Pending`]). Costs what the change does, not what the flag set holds.

use flagpole_core::{Flag, Item, Pending, Segment};

use crate::error::ApiError;
use crate::published::Published;

/// Checks a flag change against the published state: the limits, the flag, and the
/// flags that depend on it.
pub fn check_flag(published: &Published, key: &str, flag: Option<&Flag>) -> Result<(), ApiError> {
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
pub fn check_segment(
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
