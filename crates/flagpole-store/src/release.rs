//! Guarded rollouts: release plans (a flag's rollout in one environment raised through
//! milestones, with guards that roll it back), and the SDK impact metrics their guards
//! read. The store keeps both and interprets neither: what a milestone changes, when a
//! plan advances and what a guard's value is are the server's to decide.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use flagpole_core::Flag;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// One step of a plan: the rollout percentage it sets, and how long to wait at it before
/// the next step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    /// 0-100.
    pub percent: i64,
    /// Seconds to stay at this milestone before the next one (ignored on the last).
    #[serde(default)]
    pub wait_seconds: i64,
}

/// A metric checked before each step and continuously while a plan runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Guard {
    /// `impact` (SDK impact metrics sent to `/api/client/metrics`) or `prometheus`.
    pub source: String,
    /// `impact`: the metric name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// `impact`: a second counter the metric is divided by (e.g. errors per request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    /// `impact`: only samples carrying all of these labels (e.g. `{"my-flag": "enabled"}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `prometheus`: a PromQL expression whose value is one number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// `gt`, `gte`, `lt` or `lte`: the guard is breached when `value <comparison> threshold`.
    pub comparison: String,
    pub threshold: f64,
    /// `impact`: how far back samples count, in seconds (rounded out to whole hours, since
    /// impact metrics are kept by hour; default 3600: the current hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<i64>,
}

/// A release plan as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleasePlan {
    /// Assigned by the store.
    pub id: i64,
    pub flag: String,
    pub environment: String,
    /// The index of the rule in that environment whose rollout the milestones set.
    pub rule: i64,
    pub milestones: Vec<Milestone>,
    pub guards: Vec<Guard>,
    /// `rollback` or `pause`.
    pub on_breach: String,
    /// The milestone in force (index into `milestones`).
    pub step: i64,
    /// `running`, `paused`, `completed`, `rolled_back` or `cancelled`.
    pub status: String,
    /// Why the plan last stopped, paused or rolled back.
    pub reason: Option<String>,
    /// The flag as it was before the plan's first change (what a rollback restores).
    pub before: Flag,
    /// The flag version the plan last wrote (a rollback expects it).
    pub last_version: i64,
    /// When the next milestone is due (while running).
    pub next_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Raised by every update; an update names the revision it is based on.
    pub revision: i64,
}

impl ReleasePlan {
    /// Whether the plan can still change the flag (`running` or `paused`).
    pub fn is_active(&self) -> bool {
        matches!(self.status.as_str(), "running" | "paused")
    }
}

/// Which plans to list; filters combine with AND.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PlanFilter {
    pub flag: Option<String>,
    pub environment: Option<String>,
    /// Only `running` and `paused` plans.
    #[serde(default)]
    pub active: bool,
}

/// One sample of an SDK impact metric, as reported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImpactSample {
    pub name: String,
    /// `counter`, `gauge` or `histogram`.
    pub kind: String,
    pub labels: BTreeMap<String, String>,
    /// Counter increment or gauge value (0 for histograms).
    pub value: f64,
    /// Histograms: observations and their sum.
    pub count: i64,
    pub sum: f64,
    /// Histograms: cumulative count per upper bound (`+Inf` as `f64::INFINITY`, stored
    /// as the string `+Inf`).
    pub buckets: Vec<(String, i64)>,
}

/// Stored impact metric of one series in one environment and hourly bucket: counters and
/// histograms added up, gauges as last reported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImpactRecord {
    pub environment: String,
    pub bucket: DateTime<Utc>,
    #[serde(flatten)]
    pub sample: ImpactSample,
}

/// Whether and how the server samples the contexts it evaluates in one environment (for
/// impact previews).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SamplingSetting {
    #[serde(default)]
    pub environment: String,
    pub enabled: bool,
    /// `full` (contexts as evaluated) or `minimal` (only the attributes rules use, with
    /// identifiers not used for bucketing replaced by keyed hashes).
    #[serde(default = "full")]
    pub mode: String,
    /// How many contexts the sample keeps (at most `MAX_SAMPLE_SIZE`).
    #[serde(default = "default_size")]
    pub size: i64,
}

fn full() -> String {
    "full".into()
}

fn default_size() -> i64 {
    10_000
}

/// Storage of release plans and impact metrics: part of every [`crate::Store`].
#[async_trait::async_trait]
pub trait ReleaseStore: Send + Sync {
    /// Stores a new plan (its `id` and `revision` are assigned) and returns it;
    /// `Conflict` if the flag already has an active plan in that environment.
    async fn create_release_plan(&self, plan: &ReleasePlan) -> Result<ReleasePlan, Error>;

    async fn release_plan(&self, id: i64) -> Result<Option<ReleasePlan>, Error>;

    /// Plans matching the filter, newest first (at most 1000).
    async fn release_plans(&self, filter: &PlanFilter) -> Result<Vec<ReleasePlan>, Error>;

    /// Replaces a plan's state if its stored revision is `plan.revision` (raising it);
    /// `Conflict` if another update came first, `NotFound` if there is no such plan.
    async fn update_release_plan(&self, plan: &ReleasePlan) -> Result<ReleasePlan, Error>;

    /// Takes the plan's lease for `owner` until `until`, if nobody else holds an
    /// unexpired one at `now`: one replica advances a plan at a time.
    async fn claim_release_plan(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, Error>;

    /// Adds impact samples to the hourly bucket starting at `bucket`: counters and
    /// histograms are added to what the bucket holds, gauges replace it. One transaction.
    async fn record_impact(
        &self,
        environment: &str,
        bucket: DateTime<Utc>,
        samples: &[ImpactSample],
    ) -> Result<(), Error>;

    /// Every environment's sampling setting.
    async fn sampling_settings(&self) -> Result<Vec<SamplingSetting>, Error>;

    /// Creates or replaces one environment's sampling setting.
    async fn put_sampling_setting(&self, setting: &SamplingSetting) -> Result<(), Error>;

    /// The samples of metric `name` in `environment` in buckets starting at or after
    /// `since`, ordered by bucket.
    async fn impact(
        &self,
        environment: &str,
        name: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<ImpactRecord>, Error>;
}

/// Merges a new sample into a stored one of the same series.
pub fn merge_sample(stored: &mut ImpactSample, new: &ImpactSample) {
    if new.kind == "gauge" || stored.kind != new.kind {
        *stored = new.clone();
        return;
    }
    stored.value += new.value;
    stored.count += new.count;
    stored.sum += new.sum;
    for (le, n) in &new.buckets {
        match stored.buckets.iter_mut().find(|(l, _)| l == le) {
            Some((_, m)) => *m += n,
            None => stored.buckets.push((le.clone(), *n)),
        }
    }
}

/// The labels of a series as stored (sorted JSON), the key of its row.
pub fn labels_key(labels: &BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).unwrap_or_default()
}
