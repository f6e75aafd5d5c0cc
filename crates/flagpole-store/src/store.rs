//! The storage trait every backend implements, and the state it loads; the records it
//! reads and writes are in [`crate::records`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flagpole_core::{Flag, Segment};

use crate::auth::AuthStore;
use crate::error::Error;
use crate::records::{
    AuditEntry, AuditFilter, Change, Environment, Expect, FlagRecord, FlagVersion, ProjectRecord,
    SegmentRecord, UsageCount, UsageFilter, UsageRecord, Written,
};
use crate::release::ReleaseStore;
use crate::review::ReviewStore;

/// Everything the server needs to build its snapshots, read in one transaction.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// The configuration version: raised by every committed write.
    pub version: i64,
    /// In name order.
    pub environments: Vec<Environment>,
    /// In key order.
    pub projects: Vec<ProjectRecord>,
    /// Live (not archived) and archived flags, in key order.
    pub flags: Vec<FlagRecord>,
    /// In name order.
    pub segments: Vec<SegmentRecord>,
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
    async fn changes_since(&self, version: i64) -> Result<crate::feed::Changes, Error>;

    /// A subscription to the configuration versions every process commits, where the
    /// backend can push them (PostgreSQL); `None` where it cannot (SQLite: one host,
    /// poll [`Store::version`]).
    async fn notifications(&self) -> Result<Option<crate::feed::Notifications>, Error> {
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

    /// Creates (`Expect::Absent`) or updates (`Expect::Version`) a project; the store sets
    /// its version, `created_at` and `updated_at` (what `project` holds of them is
    /// ignored). `Invalid` if the key does not follow [`flagpole_core::check_name`].
    async fn put_project(
        &self,
        project: &ProjectRecord,
        expect: Expect,
        change: Change<'_>,
    ) -> Result<Written, Error>;

    /// Deletes an empty project and its memberships (raising the auth version too);
    /// `NotFound` if there is none, `Conflict` while any flag (archived or not) or segment
    /// belongs to it.
    async fn delete_project(
        &self,
        key: &str,
        expect: Expect,
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
