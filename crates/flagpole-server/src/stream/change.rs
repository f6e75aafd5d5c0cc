//! What one publish changed, as the fan-out keeps it in its ring ([`Change`]), one
//! publish as the surfaces see it ([`Publish`]), and what a reconnecting stream is
//! missing ([`Since`]): the input of every surface's events.

use std::collections::BTreeSet;

use crate::core::Applied;
use crate::published::Published;

/// What one publish changed, as the ring keeps it.
#[derive(Debug)]
pub struct Change {
    pub to: i64,
    /// Flags and segments written (in any environment).
    pub flags: Vec<String>,
    pub segments: Vec<String>,
    /// The Unleash ids of the segments removed.
    pub removed_segment_ids: Vec<i64>,
    /// Anything may have changed (environments, or the fan-out missed publishes):
    /// every stream gets the whole state.
    pub full: bool,
    /// Unleash segment ids moved (they are positions): Unleash streams get the whole
    /// state.
    pub unleash_full: bool,
}

impl Change {
    pub fn between(before: &Published, applied: &Applied, lost: bool) -> Change {
        let after = &applied.published;
        let before_ids = before.segment_ids();
        let after_ids = after.segment_ids();
        let unleash_full = before_ids
            .iter()
            .any(|(name, id)| after_ids.get(name).is_some_and(|a| a != id));
        let removed_segment_ids = before_ids
            .iter()
            .filter(|(name, _)| {
                before.segments.contains_key(**name) && !after.segments.contains_key(**name)
            })
            .map(|(_, id)| *id)
            .collect();
        Change {
            to: after.version,
            flags: applied.flags.clone(),
            segments: applied.segments.clone(),
            removed_segment_ids,
            full: applied.full || lost || applied.from != before.version,
            unleash_full,
        }
    }
}

/// One publish as the surfaces turn it into events: the state before, the state after,
/// and what changed between them.
#[derive(Clone, Copy)]
pub struct Publish<'a> {
    pub before: &'a Published,
    pub after: &'a Published,
    pub change: &'a Change,
}

/// What a reconnecting stream is missing.
#[derive(Debug, Default)]
pub struct Since {
    pub flags: BTreeSet<String>,
    pub segments: BTreeSet<String>,
    pub removed_segment_ids: Vec<i64>,
}
