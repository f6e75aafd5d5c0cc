//! The storage trait every backend implements, and the records it reads and writes.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flagpole_core::{Flag, Segment};
use serde::{Deserialize, Serialize};

use crate::auth::AuthStore;
use crate::release::ReleaseStore;
use crate::review::ReviewStore;
use crate::Error;

/// Everything the server needs to build its snapshots, read in one transaction.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// The configuration version: raised by every committed write.
    pub version: i64,
    /// In name order.
    pub environments: Vec<Environment>,
    /// Live (not archived) and archived flags, in key order.
    pub flags: Vec<FlagRecord>,
    /// In name order.
    pub segments: Vec<SegmentRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Environment {
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Only admins, and users or tokens granted the environment, may change it.
    pub protected: bool,
    /// Changes to it go through change requests, approved by a second person.
    #[serde(default)]
    pub requires_approval: bool,
}

/// A flag as stored: the native flag plus bookkeeping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlagRecord {
    pub key: String,
    pub flag: Flag,
    /// The flag's own version: 1 on creation, raised by every change to it. A flag deleted
    /// and created again continues the numbering of its history, so versions never repeat.
    pub version: i64,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentRecord {
    pub name: String,
    pub segment: Segment,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One stored version of a flag (the state after a change).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagVersion {
    pub key: String,
    pub version: i64,
    /// `None` when this version deleted the flag (and then `archived` is false).
    pub flag: Option<Flag>,
    pub archived: bool,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// One audited change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// e.g. `flag.created`, `flag.updated`, `flag.archived`, `flag.deleted`,
    /// `segment.updated`, `environment.created`, `import`.
    pub action: String,
    pub flag: Option<String>,
    pub segment: Option<String>,
    /// The environment the change touched, when it touched one only.
    pub environment: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    /// The configuration version this change produced.
    pub config_version: i64,
    /// The client address the change came from, when known.
    pub address: Option<String>,
}

/// Which audit entries to read; all filters are optional and combine with AND.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuditFilter {
    pub flag: Option<String>,
    pub environment: Option<String>,
    /// Entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Entries before this time (exclusive, so that consecutive windows do not overlap).
    pub until: Option<DateTime<Utc>>,
    /// Newest first; at most this many (default 100, at most 1000; 0 or less reads none).
    pub limit: Option<i64>,
}

/// One flag's counts in a usage report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageCount {
    pub flag: String,
    pub yes: i64,
    pub no: i64,
    /// Times each variant was served.
    pub variants: BTreeMap<String, i64>,
}

/// Stored usage of one flag in one environment and hourly bucket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageRecord {
    pub environment: String,
    pub bucket: DateTime<Utc>,
    pub flag: String,
    pub yes: i64,
    pub no: i64,
    pub variants: BTreeMap<String, i64>,
}

/// Which usage to read; filters combine with AND. `since` inclusive, `until` exclusive,
/// both compared with the bucket start.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct UsageFilter {
    pub flag: Option<String>,
    pub environment: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// What a write expects to find, for optimistic concurrency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The key must not exist yet (create).
    Absent,
    /// The stored version must be this one (update).
    Version(i64),
    /// Whatever is there (create or overwrite; used by the seed API and imports).
    Any,
}

/// The result of a committed write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    /// The new version of the flag or segment written (0 for deletions, environments and
    /// imports, which have no single version).
    pub version: i64,
    /// The configuration version after the write.
    pub config_version: i64,
    /// When the write was made: the written flag's or segment's `updated_at` (and its
    /// `created_at` if it is new).
    pub at: DateTime<Utc>,
}

/// Who made a change and how to describe it in the audit log.
#[derive(Clone, Debug)]
pub struct Change<'a> {
    /// `user:NAME`, `token:NAME (KIND)`, or a name for the server's own changes.
    pub actor: &'a str,
    pub action: &'a str,
    pub environment: Option<&'a str>,
    /// The client address the change came from.
    pub address: Option<&'a str>,
}

/// Storage for flags, segments, environments, history and audit.
///
/// Every write commits its change, the audit entry and the new configuration version in
/// one transaction and returns only once that is durable. Version conflicts are
/// [`Error::Conflict`] and change nothing.
#[async_trait]
pub trait Store: AuthStore + ReleaseStore + ReviewStore + Send + Sync + 'static {
    /// Reads the whole current state in one consistent read.
    async fn load(&self) -> Result<State, Error> {
        let mut flags = Vec::new();
        let mut state = self
            .load_each(&mut |f| {
                flags.push(f);
                Ok(())
            })
            .await?;
        state.flags = flags;
        Ok(state)
    }

    /// [`Store::load`], handing each flag to `each` as it is read, in key order, instead
    /// of collecting them (the state returned has no flags): a caller that keeps flags
    /// in another form holds one parsed flag at a time rather than the whole flag set.
    /// An error from `each` ends the read and is returned.
    async fn load_each(
        &self,
        each: &mut (dyn FnMut(FlagRecord) -> Result<(), Error> + Send),
    ) -> Result<State, Error>;

    /// What changed after configuration version `version`: the changed flags and
    /// segments as they are now, read in one transaction (see [`crate::Changes`]).
    async fn changes_since(&self, version: i64) -> Result<crate::Changes, Error>;

    /// A subscription to the configuration versions every process commits, where the
    /// backend can push them (PostgreSQL); `None` where it cannot (SQLite: one host,
    /// poll [`Store::version`]).
    async fn notifications(&self) -> Result<Option<crate::Notifications>, Error> {
        Ok(None)
    }

    /// The configuration version, cheaply (used by replicas to notice changes).
    async fn version(&self) -> Result<i64, Error>;

    /// Creates an environment if it does not exist; `Conflict` if it does.
    async fn create_environment(&self, name: &str, change: Change<'_>) -> Result<Written, Error>;

    /// Deletes an environment, writing in the same transaction each flag of `flags` (the
    /// flags that had configuration there, without it: a new version and an audit entry
    /// each); `NotFound` if there is no such environment.
    async fn delete_environment(
        &self,
        name: &str,
        flags: &[(String, Flag)],
        change: Change<'_>,
    ) -> Result<Written, Error>;

    /// Marks an environment protected or not (raising the configuration version);
    /// `NotFound` if there is none.
    async fn set_environment_protected(
        &self,
        name: &str,
        protected: bool,
        change: Change<'_>,
    ) -> Result<Written, Error>;

    /// Creates or updates a flag (un-archiving it if archived and `archived` is false).
    async fn put_flag(
        &self,
        key: &str,
        flag: &Flag,
        archived: bool,
        expect: Expect,
        change: Change<'_>,
    ) -> Result<Written, Error>;

    /// Deletes a flag and records a deletion version; `NotFound` if there is none.
    async fn delete_flag(
        &self,
        key: &str,
        expect: Expect,
        change: Change<'_>,
    ) -> Result<Written, Error>;

    /// Creates or updates a segment.
    async fn put_segment(
        &self,
        name: &str,
        segment: &Segment,
        expect: Expect,
        change: Change<'_>,
    ) -> Result<Written, Error>;

    /// Deletes a segment; `NotFound` if there is none.
    async fn delete_segment(
        &self,
        name: &str,
        expect: Expect,
        change: Change<'_>,
    ) -> Result<Written, Error>;

    /// Writes many flags and segments in one transaction (imports): each is created or
    /// overwritten (an overwritten flag is un-archived); one audit entry per flag and
    /// segment written, all with the one configuration version the import produces. If
    /// any item fails, nothing is written.
    async fn import(
        &self,
        flags: &[(String, Flag)],
        segments: &[(String, Segment)],
        change: Change<'_>,
    ) -> Result<Written, Error>;

    /// Every stored version of a flag, oldest first.
    async fn flag_versions(&self, key: &str) -> Result<Vec<FlagVersion>, Error>;

    /// One stored version of a flag.
    async fn flag_version(&self, key: &str, version: i64) -> Result<Option<FlagVersion>, Error>;

    /// Audit entries matching the filter, newest first.
    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, Error>;

    /// Adds SDK-reported usage counts to the hourly bucket starting at `bucket` (added to
    /// what the bucket already holds), in one transaction. Not audited; does not raise the
    /// configuration version.
    async fn record_usage(
        &self,
        environment: &str,
        bucket: DateTime<Utc>,
        counts: &[UsageCount],
    ) -> Result<(), Error>;

    /// Usage counts matching the filter, ordered by bucket, environment, flag.
    async fn usage(&self, filter: &UsageFilter) -> Result<Vec<UsageRecord>, Error>;

    /// Checks that this process can write (a read-only file or a read-only PostgreSQL
    /// role fails here, at start, rather than on every write later); writes nothing.
    async fn check_writable(&self) -> Result<(), Error>;

    /// Checks the database's integrity (e.g. SQLite's `PRAGMA integrity_check`).
    async fn check_integrity(&self) -> Result<(), Error>;
}
