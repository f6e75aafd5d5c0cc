//! The release-plan runner: every `check_interval`, each running plan whose lease this
//! replica can take is checked and, when due, moved on; the impact-preview sampling
//! settings are read again on the same tick.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use flagpole_store::PlanFilter;

use super::guards::Reader;
use super::plan;
use crate::core::Core;
use crate::error::ApiError;

/// Guarded rollouts in this process: where guards read (and plans write through), and
/// this replica's name as a lease owner. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Releases {
    reader: Reader,
    owner: Arc<str>,
}

impl Releases {
    pub fn new(core: Core) -> Releases {
        let mut id = [0u8; 8];
        let _ = getrandom::fill(&mut id);
        Releases {
            owner: format!("replica-{}", hex::encode(id)).into(),
            reader: Reader::new(core),
        }
    }

    /// Where guards read, for starting a plan.
    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    /// Runs the release-plan runner until the task is aborted: checks every running plan
    /// each `check_interval`, and reloads the sampling settings.
    pub async fn run(self) {
        let interval = self
            .reader
            .core()
            .config()
            .release
            .check_interval
            .max(Duration::from_millis(10));
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let core = self.reader.core();
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
        let core = self.reader.core();
        let store = core.store();
        let plans = store
            .release_plans(&PlanFilter {
                active: true,
                ..PlanFilter::default()
            })
            .await?;
        let lease = TimeDelta::from_std(core.config().release.check_interval * 3)
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
            if let Err(e) = plan::check(&self.reader, p.id).await {
                tracing::warn!(plan = p.id, error = %e, "checking a release plan failed");
            }
        }
        Ok(())
    }
}
