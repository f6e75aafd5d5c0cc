//! Starting and steering a plan at someone's request: a new plan is checked (its input,
//! the caller's right to change the environment, guards not breached already), stored,
//! and its first milestone written; a plan is paused, resumed or cancelled from the
//! state it must be in.

use std::collections::BTreeSet;

use chrono::Utc;
use flagpole_store::{Expect, PlanFilter, ReleasePlan};

use super::guards::{self, Reader, Reading};
use super::plan::{self, PlanInput};
use crate::core::Core;
use crate::error::ApiError;
use crate::identity::Principal;
use crate::write::protection;

/// Starts a plan for flag `key` in `env`: checks it, stores it and writes its first
/// milestone (a plan whose first write fails is kept, cancelled, with the reason).
pub async fn start(
    reader: &Reader,
    who: &Principal,
    key: &str,
    env: &str,
    input: PlanInput,
) -> Result<ReleasePlan, ApiError> {
    let core = reader.core();
    check_env(core, who, key, env)?;
    let record = core.published().flag(key)?.clone();
    plan::validate(&core.config().release, &input, &record.flag, env)?;
    let now = Utc::now();
    for (i, g) in input.guards.iter().enumerate() {
        if let Reading::Value(Some(v)) = guards::read(reader, env, g, now).await {
            if guards::breached(g, v) {
                return Err(ApiError::Conflict(format!(
                    "guard {i} ({}) is breached already: {v} {} {}",
                    guards::describe(g),
                    g.comparison,
                    g.threshold
                )));
            }
        }
    }
    let guard = core.begin_write().await?;
    let record = guard.published().flag(key)?.clone();
    let new = ReleasePlan {
        id: 0,
        flag: key.to_string(),
        environment: env.to_string(),
        rule: input.rule.unwrap_or(0),
        milestones: input.milestones,
        guards: input.guards,
        on_breach: input.on_breach.unwrap_or_else(|| "rollback".into()),
        step: 0,
        status: "running".into(),
        reason: None,
        before: record.flag.clone(),
        last_version: record.version,
        next_at: None,
        created_by: who.actor().to_string(),
        created_at: now,
        updated_at: now,
        revision: 0,
    };
    let mut created = core.store().create_release_plan(&new).await?;
    let first = created.milestones[0].percent;
    let flag = plan::with_rollout(&record.flag, env, created.rule, first);
    let action = format!("flag.release.step: milestone 0 ({first}%)");
    let expect = Expect::Version(record.version);
    match plan::write(&guard, &created, &flag, expect, &action).await {
        Ok(version) => {
            created.last_version = version;
            created.next_at = plan::due(&core.config().release, &created, Utc::now());
            Ok(core.store().update_release_plan(&created).await?)
        }
        Err(e) => {
            created.status = "cancelled".into();
            created.reason = Some(format!("the first milestone could not be written: {e}"));
            core.store().update_release_plan(&created).await?;
            Err(e)
        }
    }
}

/// The flag's active plan in the environment, else its latest one.
pub async fn current(core: &Core, key: &str, env: &str) -> Result<ReleasePlan, ApiError> {
    let plans = core
        .store()
        .release_plans(&PlanFilter {
            flag: Some(key.into()),
            environment: Some(env.into()),
            active: false,
        })
        .await?;
    let active = plans.iter().find(|p| p.is_active()).or(plans.first());
    active.cloned().ok_or_else(|| ApiError::NotFound {
        kind: "release plan",
        name: format!("{key} in {env}"),
    })
}

/// Pauses a running plan: no step and no guard check until it is resumed.
pub async fn pause(
    core: &Core,
    who: &Principal,
    key: &str,
    env: &str,
) -> Result<ReleasePlan, ApiError> {
    let by = format!("paused by {}", who.actor());
    transition(core, who, key, env, "running", |p| {
        p.status = "paused".into();
        p.next_at = None;
        p.reason = Some(by);
    })
    .await
}

/// Resumes a paused plan from its current milestone (its wait starts again), taking the
/// flag as it is now as the plan's last write.
pub async fn resume(
    core: &Core,
    who: &Principal,
    key: &str,
    env: &str,
) -> Result<ReleasePlan, ApiError> {
    let version = core.published().flag(key)?.version;
    let by = format!("resumed by {}", who.actor());
    transition(core, who, key, env, "paused", move |p| {
        p.status = "running".into();
        p.last_version = version;
        p.next_at = plan::due(&core.config().release, p, Utc::now());
        p.reason = Some(by);
    })
    .await
}

/// Cancels an active plan; the flag stays as it is.
pub async fn cancel(
    core: &Core,
    who: &Principal,
    key: &str,
    env: &str,
) -> Result<ReleasePlan, ApiError> {
    let by = format!("cancelled by {}", who.actor());
    transition(core, who, key, env, "active", |p| {
        p.status = "cancelled".into();
        p.next_at = None;
        p.reason = Some(by);
    })
    .await
}

/// 404 for an unknown environment, 403 unless `who` may change it in the flag's project.
fn check_env(core: &Core, who: &Principal, key: &str, env: &str) -> Result<(), ApiError> {
    let published = core.published();
    published.snapshot(env)?;
    let project = published.project_of("flag", key);
    protection::check(&published, who, project, &BTreeSet::from([env.to_string()]))
}

/// Changes the flag's plan in `env` when it is in state `from` (`active`: running or
/// paused).
async fn transition(
    core: &Core,
    who: &Principal,
    key: &str,
    env: &str,
    from: &str,
    change: impl FnOnce(&mut ReleasePlan),
) -> Result<ReleasePlan, ApiError> {
    check_env(core, who, key, env)?;
    let mut p = current(core, key, env).await?;
    let ok = if from == "active" {
        p.is_active()
    } else {
        p.status == from
    };
    if !ok {
        return Err(ApiError::Conflict(format!(
            "release plan {} is {}{}",
            p.id,
            p.status,
            p.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        )));
    }
    change(&mut p);
    p.updated_at = Utc::now();
    Ok(core.store().update_release_plan(&p).await?)
}
