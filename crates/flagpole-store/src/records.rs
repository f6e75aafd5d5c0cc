//! The records the store reads and writes (environments, projects, flags, segments, flag
//! versions, audit entries, usage), and what callers say of reads and writes: filters, the version
//! a write expects, who makes a change, and what a committed write returns.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use flagpole_core::{Flag, Segment};
use serde::{Deserialize, Serialize};

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

/// A project: a named group of flags and segments, with its own settings per environment.
/// Projects are configuration: a change to one raises the configuration version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectRecord {
    /// Follows [`flagpole_core::check_name`].
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    /// The environments the project uses; `None` = all.
    pub environments: Option<Vec<String>>,
    /// Per environment: whether it is protected, or requires approval, for this project.
    #[serde(default)]
    pub settings: BTreeMap<String, ProjectEnvironment>,
    /// 1 on creation, raised by every change (set by the store).
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A project's own settings in one environment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectEnvironment {
    /// Only admins, and users or tokens granted the environment, may change the project's
    /// flags there.
    #[serde(default)]
    pub protected: bool,
    /// Changes to the project's flags there go through change requests.
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
    /// `segment.updated`, `environment.created`, `project.created`, `import`.
    pub action: String,
    pub flag: Option<String>,
    pub segment: Option<String>,
    /// The environment the change touched, when it touched one only.
    pub environment: Option<String>,
    /// The project of the flag or segment changed (after the change; for a deletion, the
    /// one it had), of the project changed, or of the membership changed; `None` for
    /// environments, tokens and users.
    #[serde(default)]
    pub project: Option<String>,
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
    pub project: Option<String>,
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
    /// The new version of the flag, segment or project written (0 for deletions,
    /// environments and imports, which have no single version).
    pub version: i64,
    /// The configuration version after the write.
    pub config_version: i64,
    /// When the write was made: the written flag's, segment's or project's `updated_at`
    /// (and its `created_at` if it is new).
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
