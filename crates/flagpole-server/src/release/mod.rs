//! Guarded rollouts. A release plan raises one rule's rollout of a flag in one environment
//! through milestones (`plan.rs`; started, paused, resumed and cancelled in
//! `control.rs`); guards (`guards.rs`) read SDK impact metrics (`impact.rs`, sent with
//! Unleash usage reports) or a Prometheus query, before each step and on every check
//! while the plan runs, and a breach rolls the flag back to its state before the plan (or
//! pauses the plan). The runner here advances plans: every `check_interval`, each
//! running plan whose lease this replica can take is checked and, when due, moved on.
//! Every change a plan makes goes through the one write service (`crate::write`),
//! audited as `release-plan:ID`.
//!
//! **Layer rule:** release calls the write service and the core; it knows nothing of HTTP.

pub mod control;
pub mod guards;
pub mod impact;
pub mod plan;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use flagpole_store::PlanFilter;

use crate::core::Core;
use crate::error::ApiError;

/// Guarded rollouts in this process: the core they write through, this replica's name as
/// a lease owner, and the HTTP client Prometheus guards query with. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Releases {
    core: Core,
    owner: Arc<str>,
    http: reqwest::Client,
}

impl Releases {
    pub fn new(core: Core) -> Releases {
        let mut id = [0u8; 8];
        let _ = getrandom::fill(&mut id);
        let timeout = core.config().release.prometheus_timeout;
        Releases {
            owner: format!("replica-{}", hex::encode(id)).into(),
            http: reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            core,
        }
    }

    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Runs the release-plan runner until the task is aborted: checks every running plan
    /// each `check_interval`, and reloads the sampling settings.
    pub async fn run(self) {
        let interval = self
            .core
            .config()
            .release
            .check_interval
            .max(Duration::from_millis(10));
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let core = &self.core;
            let published = core.published();
            let reloaded =
                crate::sample::reload_settings(core.samplers(), core.store(), &published);
            if let Err(e) = reloaded.await {
                tracing::warn!(error = %e, "reading the sampling settings failed");
            }
            if let Err(e) = self.tick().await {
                tracing::warn!(error = %e, "checking release plans failed");
            }
        }
    }

    /// One round: every running plan this replica can lease is checked and advanced.
    pub async fn tick(&self) -> Result<(), ApiError> {
        let store = self.core.store();
        let plans = store
            .release_plans(&PlanFilter {
                active: true,
                ..PlanFilter::default()
            })
            .await?;
        let lease = TimeDelta::from_std(self.core.config().release.check_interval * 3)
            .unwrap_or(TimeDelta::seconds(30))
            .max(TimeDelta::seconds(5));
        for p in plans.into_iter().filter(|p| p.status == "running") {
            let now = Utc::now();
            if !store
                .claim_release_plan(p.id, &self.owner, now, now + lease)
                .await?
            {
                continue;
            }
            if let Err(e) = plan::check(self, p.id).await {
                tracing::warn!(plan = p.id, error = %e, "checking a release plan failed");
            }
        }
        Ok(())
    }
}
