//! The change feed: what changed after a configuration version, so a replica (or this
//! process after another replica wrote) applies only the changed records. The audit log
//! is the feed: every committed change records its flag or segment and the configuration
//! version it produced, in the same transaction.

use std::collections::BTreeSet;

use crate::records::{FlagRecord, SegmentRecord};

/// What changed after a configuration version, read in one consistent transaction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changes {
    /// The configuration version these changes bring a reader to.
    pub version: i64,
    /// Environments or projects changed, or more than [`MAX_CHANGED_ITEMS`] items did: read
    /// the whole state again ([`crate::Store::load`]); `flags` and `segments` are empty.
    pub reload: bool,
    /// Each changed flag (in key order) as it is now; `None` when it was deleted.
    pub flags: Vec<(String, Option<FlagRecord>)>,
    /// Each changed segment (in name order) as it is now; `None` when it was deleted.
    pub segments: Vec<(String, Option<SegmentRecord>)>,
}

/// Beyond this many changed flags and segments a reader reloads everything instead.
pub const MAX_CHANGED_ITEMS: usize = 10_000;

/// The items a run of audit entries names.
#[derive(Default)]
pub(crate) struct Touched {
    /// Whether environments or projects changed.
    pub(crate) everything: bool,
    pub(crate) flags: BTreeSet<String>,
    pub(crate) segments: BTreeSet<String>,
    entries: usize,
}

impl Touched {
    /// Adds one audit entry. Token, user and membership entries change no configuration.
    pub(crate) fn add(&mut self, action: &str, flag: Option<String>, segment: Option<String>) {
        self.entries += 1;
        if action.starts_with("environment.") || action.starts_with("project.") {
            self.everything = true;
        }
        if let Some(flag) = flag {
            self.flags.insert(flag);
        }
        if let Some(segment) = segment {
            self.segments.insert(segment);
        }
    }

    /// Whether the reader should load everything instead.
    pub(crate) fn reload(&self) -> bool {
        self.everything
            || self.entries > MAX_CHANGED_ITEMS
            || self.flags.len() + self.segments.len() > MAX_CHANGED_ITEMS
    }
}

/// The configuration versions other processes commit, as they commit them (PostgreSQL's
/// `NOTIFY`); see [`crate::Store::notifications`].
pub struct Notifications {
    listener: sqlx::postgres::PgListener,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications").finish_non_exhaustive()
    }
}

impl Notifications {
    pub(crate) fn new(listener: sqlx::postgres::PgListener) -> Notifications {
        Notifications { listener }
    }

    /// The next committed configuration version. `None` when the connection was lost
    /// (the next call connects again and listens again): notifications may have been
    /// missed meanwhile, so read the change feed from the last applied version.
    pub async fn next(&mut self) -> Result<Option<i64>, crate::error::Error> {
        Ok(self
            .listener
            .try_recv()
            .await?
            .and_then(|n| n.payload().parse().ok()))
    }
}
