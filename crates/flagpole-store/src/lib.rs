//! Flagpole's storage: one [`Store`] trait, with SQLite as the embedded default and
//! PostgreSQL for several replicas.
//!
//! Backends keep flags and segments as native JSON documents beside their versions and
//! projects, the projects, the audit log, every version of every flag, and a
//! configuration version raised by every write. Writes are single transactions.
//! [`conformance`] is the one test suite every backend passes.
//!
//! The SQL is written once (module `sql`) and compiled for each backend; what differs
//! between backends (how transactions begin, the timestamp type, locking, JSON casts,
//! notifications) is the crate-internal `Backend` trait.

mod auth;
mod backend;
pub mod conformance;
mod error;
mod feed;
mod postgres;
mod records;
mod release;
mod review;
mod rules;
mod sql;
mod sqlite;
mod store;
mod write;

use std::path::Path;
use std::sync::Arc;

pub use auth::{AuthState, AuthStore, MemberRecord, SessionRecord, TokenRecord, UserRecord};
pub use error::Error;
pub use feed::{Changes, Notifications, MAX_CHANGED_ITEMS};
pub use postgres::{PostgresStore, CHANGES_CHANNEL};
pub use records::{
    AuditEntry, AuditFilter, Change, Environment, Expect, FlagRecord, FlagVersion,
    ProjectEnvironment, ProjectRecord, SegmentRecord, UsageCount, UsageFilter, UsageRecord,
    Written,
};
pub use release::{
    labels_key, Guard, ImpactRecord, ImpactSample, Milestone, PlanFilter, ReleasePlan,
    ReleaseStore, SamplingSetting,
};
pub use review::{
    ChangeRequestRecord, Comment, NewChangeRequest, NewSchedule, ReviewStore, ScheduleFilter,
    ScheduleRecord,
};
pub use sqlite::SqliteStore;
pub use store::{State, Store};

/// Opens the store a URL names:
///
/// - `postgres://…` or `postgresql://…`: PostgreSQL (see [`PostgresStore::connect`]);
/// - `sqlite::memory:`: a private in-memory SQLite database;
/// - `sqlite://PATH`, `sqlite:PATH` or a plain file path: a SQLite file, created if missing.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, Error> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::connect(url).await?));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path == ":memory:" {
        return Ok(Arc::new(SqliteStore::open_in_memory().await?));
    }
    Ok(Arc::new(SqliteStore::open(Path::new(path)).await?))
}
