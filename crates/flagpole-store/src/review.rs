//! Scheduled changes and change requests: the store keeps them, claims due schedules
//! exactly once across replicas, and audits each step; the server decides what a
//! proposal means and applies it through its one write path.
//!
//! A schedule goes `pending` → `running` (claimed, with a lease) → `applied` or `failed`,
//! or `pending` → `cancelled`. A claim whose lease ran out (its replica died mid-way) can
//! be claimed again; the server then checks the flag's history before applying twice.
//! A change request goes `open` → `applied`, `scheduled` or `rejected`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::records::{Change, Written};
use crate::write::Entry;

/// A scheduled change as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduleRecord {
    pub id: i64,
    /// `flag` or `segment`.
    pub kind: String,
    /// The flag key or segment name.
    pub target: String,
    /// The environments the change touches.
    pub environments: Vec<String>,
    /// The proposed flag or segment, whole.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub body: serde_json::Value,
    /// The version of the flag or segment the proposal was made against.
    pub based_on: i64,
    pub due_at: DateTime<Utc>,
    /// `pending`, `running`, `applied`, `failed` or `cancelled`.
    pub status: String,
    /// Why it failed (or was cancelled).
    pub reason: Option<String>,
    /// The change request whose approval scheduled it.
    pub change_request: Option<i64>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many times a replica claimed it (more than 1: a replica died applying it).
    pub attempts: i64,
}

/// A schedule to store.
#[derive(Clone, Debug)]
pub struct NewSchedule<'a> {
    pub kind: &'a str,
    pub target: &'a str,
    pub environments: &'a [String],
    pub body: &'a serde_json::Value,
    pub based_on: i64,
    pub due_at: DateTime<Utc>,
    pub change_request: Option<i64>,
    pub created_by: &'a str,
}

/// Which schedules to list; filters combine with AND.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ScheduleFilter {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub target: Option<String>,
}

/// A comment on a change request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comment {
    pub author: String,
    pub at: DateTime<Utc>,
    pub text: String,
}

/// A change request as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeRequestRecord {
    pub id: i64,
    pub kind: String,
    pub target: String,
    pub environments: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub body: serde_json::Value,
    pub based_on: i64,
    pub description: String,
    /// `open`, `applied`, `scheduled` or `rejected`.
    pub status: String,
    /// The actor who opened it (`user:NAME`, `token:NAME (…)`).
    pub author: String,
    /// Who approved or rejected it.
    pub reviewer: Option<String>,
    /// The schedule an approval with `apply_at` created.
    pub schedule_id: Option<i64>,
    pub comments: Vec<Comment>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A change request to store.
#[derive(Clone, Debug)]
pub struct NewChangeRequest<'a> {
    pub kind: &'a str,
    pub target: &'a str,
    pub environments: &'a [String],
    pub body: &'a serde_json::Value,
    pub based_on: i64,
    pub description: &'a str,
    pub author: &'a str,
}

/// Storage of schedules and change requests: part of every [`crate::Store`].
///
/// Each change is audited (`schedule.*`, `change_request.*`, with the record as `after`)
/// without raising the configuration version: none of them changes what is served.
#[async_trait::async_trait]
pub trait ReviewStore: Send + Sync {
    /// Stores a new `pending` schedule.
    async fn create_schedule(
        &self,
        new: &NewSchedule<'_>,
        change: Change<'_>,
    ) -> Result<ScheduleRecord, Error>;

    /// Schedules matching the filter, by due time then id.
    async fn schedules(&self, filter: &ScheduleFilter) -> Result<Vec<ScheduleRecord>, Error>;

    async fn schedule(&self, id: i64) -> Result<Option<ScheduleRecord>, Error>;

    /// Cancels a `pending` schedule; `NotFound` if there is none, `Conflict` if it is not
    /// pending any more.
    async fn cancel_schedule(&self, id: i64, change: Change<'_>) -> Result<ScheduleRecord, Error>;

    /// Claims up to `limit` schedules due at `now` (pending, or running with a lease
    /// that ran out): each becomes `running` until `lease_until`. A schedule is claimed
    /// by one caller only, however many replicas ask at once.
    async fn claim_due_schedules(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ScheduleRecord>, Error>;

    /// Ends a `running` schedule as `applied` (or `failed` with `reason`); `Conflict` if
    /// it is not running.
    async fn finish_schedule(
        &self,
        id: i64,
        applied: bool,
        reason: Option<&str>,
        change: Change<'_>,
    ) -> Result<ScheduleRecord, Error>;

    /// Marks an environment as requiring approval or not (raising the configuration
    /// version, like [`crate::Store::set_environment_protected`]).
    async fn set_environment_requires_approval(
        &self,
        name: &str,
        required: bool,
        change: Change<'_>,
    ) -> Result<Written, Error>;

    /// Stores a new `open` change request.
    async fn create_change_request(
        &self,
        new: &NewChangeRequest<'_>,
        change: Change<'_>,
    ) -> Result<ChangeRequestRecord, Error>;

    /// Change requests, newest first, optionally of one status.
    async fn change_requests(
        &self,
        status: Option<&str>,
    ) -> Result<Vec<ChangeRequestRecord>, Error>;

    async fn change_request(&self, id: i64) -> Result<Option<ChangeRequestRecord>, Error>;

    /// Writes a change request's body, based_on, environments, status, reviewer and
    /// schedule; `Conflict` unless its stored status is `from_status` (two reviewers
    /// cannot both decide).
    async fn update_change_request(
        &self,
        record: &ChangeRequestRecord,
        from_status: &str,
        change: Change<'_>,
    ) -> Result<ChangeRequestRecord, Error>;

    /// Appends a comment; `NotFound` if there is no such request.
    async fn add_comment(
        &self,
        id: i64,
        comment: &Comment,
        change: Change<'_>,
    ) -> Result<ChangeRequestRecord, Error>;
}

pub(crate) const SCHEDULE: &str = "schedule";
pub(crate) const CHANGE_REQUEST: &str = "change request";

/// A schedule or change request: a proposed change to one flag or segment, audited with
/// the record itself as `after`.
pub(crate) trait Proposal: Serialize {
    /// What errors call the record.
    const KIND: &'static str;

    /// `flag` or `segment`, the flag key or segment name, and the environments touched.
    fn proposes(&self) -> (&str, &str, &[String]);

    /// The proposed flag or segment.
    fn body(&self) -> &serde_json::Value;

    /// The audit entry of a change to the record, `after` it: its flag or segment, the
    /// project the proposed flag or segment names, and its environment when it touches
    /// one only.
    fn entry<'a>(&'a self, change: &Change<'a>, config_version: i64, after: &'a str) -> Entry<'a> {
        let (kind, target, environments) = self.proposes();
        let project = self.body().get("project").and_then(|p| p.as_str());
        let (flag, segment) = match kind {
            "segment" => (None, Some(target)),
            _ => (Some(target), None),
        };
        let environment = match environments {
            [one] => Some(one.as_str()),
            _ => None,
        };
        Entry {
            flag,
            segment,
            environment,
            project: Some(project.unwrap_or(flagpole_core::DEFAULT_PROJECT)),
            after: Some(after),
            ..Entry::new(change, config_version)
        }
    }
}

impl Proposal for ScheduleRecord {
    const KIND: &'static str = SCHEDULE;
    fn proposes(&self) -> (&str, &str, &[String]) {
        (&self.kind, &self.target, &self.environments)
    }
    fn body(&self) -> &serde_json::Value {
        &self.body
    }
}

impl Proposal for ChangeRequestRecord {
    const KIND: &'static str = CHANGE_REQUEST;
    fn proposes(&self) -> (&str, &str, &[String]) {
        (&self.kind, &self.target, &self.environments)
    }
    fn body(&self) -> &serde_json::Value {
        &self.body
    }
}
