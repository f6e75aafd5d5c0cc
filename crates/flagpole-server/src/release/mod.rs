//! Guarded rollouts. A release plan raises one rule's rollout of a flag in one environment
//! through milestones (`plan.rs`); guards (`guards.rs`) read SDK impact metrics
//! (`impact.rs`, sent with Unleash usage reports) or a Prometheus query, before each step
//! and on every check while the plan runs, and a breach rolls the flag back to its state
//! before the plan (or pauses the plan). The runner here advances plans: every
//! `check_interval`, each running plan whose lease this replica can take is checked and,
//! when due, moved on. Every change a plan makes goes through the one write path
//! (`commit_flag`), audited as `release-plan:ID`.

pub mod guards;
pub mod impact;
pub mod plan;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use flagpole_store::PlanFilter;

use crate::state::AppState;

/// Options of guarded rollouts, parsed once by the binary.
#[derive(Clone, Debug)]
pub struct ReleaseConfig {
    /// How often running plans are checked (guards) and advanced.
    pub check_interval: Duration,
    /// The length of one second of a milestone's wait (tests shorten it).
    pub time_unit: Duration,
    /// The Prometheus server guards with `source: prometheus` query (its base URL).
    pub prometheus_url: Option<String>,
    /// How long a Prometheus query may take.
    pub prometheus_timeout: Duration,
}

impl Default for ReleaseConfig {
    fn default() -> ReleaseConfig {
        ReleaseConfig {
            check_interval: Duration::from_secs(10),
            time_unit: Duration::from_secs(1),
            prometheus_url: None,
            prometheus_timeout: Duration::from_secs(5),
        }
    }
}

/// What guarded rollouts and impact previews keep per process.
#[derive(Debug)]
pub struct Runtime {
    /// This replica's name as a lease owner.
    pub owner: String,
    pub http: reqwest::Client,
    pub samplers: crate::preview::Samplers,
}

impl Runtime {
    pub fn new(config: &ReleaseConfig) -> Runtime {
        let mut id = [0u8; 8];
        let _ = getrandom::fill(&mut id);
        Runtime {
            owner: format!("replica-{}", hex::encode(id)),
            http: reqwest::Client::builder()
                .timeout(config.prometheus_timeout)
                .connect_timeout(config.prometheus_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            samplers: crate::preview::Samplers::default(),
        }
    }
}

/// Runs the release-plan runner until the task is aborted: checks every running plan
/// each `check_interval`, and reloads the sampling settings.
pub async fn run(state: AppState) {
    let interval = state
        .config()
        .release
        .check_interval
        .max(Duration::from_millis(10));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(e) = crate::preview::reload_settings(&state).await {
            tracing::warn!(error = %e, "reading the sampling settings failed");
        }
        if let Err(e) = tick(&state).await {
            tracing::warn!(error = %e, "checking release plans failed");
        }
    }
}

/// One round: every running plan this replica can lease is checked and advanced.
pub async fn tick(state: &AppState) -> Result<(), crate::ApiError> {
    let plans = state
        .store()
        .release_plans(&PlanFilter {
            active: true,
            ..PlanFilter::default()
        })
        .await?;
    let lease = TimeDelta::from_std(state.config().release.check_interval * 3)
        .unwrap_or(TimeDelta::seconds(30))
        .max(TimeDelta::seconds(5));
    for p in plans.into_iter().filter(|p| p.status == "running") {
        let now = Utc::now();
        let owner = &state.release().owner;
        if !state
            .store()
            .claim_release_plan(p.id, owner, now, now + lease)
            .await?
        {
            continue;
        }
        if let Err(e) = plan::check(state, p.id).await {
            tracing::warn!(plan = p.id, error = %e, "checking a release plan failed");
        }
    }
    Ok(())
}
