//! What a release plan does to its flag. A milestone sets the rollout of one rule of the
//! flag in the plan's environment (`rule`, by index; with no rules there, the plan adds
//! one rollout rule, as `PUT …/rollout` does); nothing else is touched, the kill switch
//! included. A rollback writes back the whole flag as it was before the plan, expecting
//! the version the plan last wrote: if someone else changed the flag since, the plan is
//! paused instead and says so.

use chrono::{DateTime, TimeDelta, Utc};
use flagpole_core::{Flag, Problem, Rule};
use flagpole_store::{Change, Expect, Guard, Milestone, ReleasePlan};
use serde::Deserialize;

use super::guards::{self, Reader, Reading};
use crate::config::ReleaseConfig;
use crate::core::Core;
use crate::error::ApiError;
use crate::identity::Principal;
use crate::write::{commit_flag, FlagChange, Mode, WriteGuard};

/// Milestones in one plan.
pub const MAX_MILESTONES: usize = 20;
/// Guards on one plan.
pub const MAX_GUARDS: usize = 10;
/// Longest wait at a milestone, and longest guard window (seconds): 30 days.
pub const MAX_WAIT_SECONDS: i64 = 30 * 24 * 3600;
/// Longest PromQL query.
pub const MAX_QUERY_LEN: usize = 2000;
/// Longest reason kept (and put in an audit entry's action).
const MAX_REASON_LEN: usize = 400;

/// A new plan, as the API receives it.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    /// The rollout percentages to go through, in order, each with a wait in seconds.
    pub milestones: Vec<Milestone>,
    #[serde(default)]
    pub guards: Vec<Guard>,
    /// `rollback` (default) or `pause`.
    #[serde(default)]
    pub on_breach: Option<String>,
    /// The index of the rule whose rollout the plan sets (default 0).
    #[serde(default)]
    pub rule: Option<i64>,
}

/// Checks a new plan's input against the flag; every problem names its field.
pub fn validate(
    config: &ReleaseConfig,
    input: &PlanInput,
    flag: &Flag,
    env: &str,
) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    let mut bad = |path: String, message: String| problems.push(Problem { path, message });
    if input.milestones.is_empty() || input.milestones.len() > MAX_MILESTONES {
        bad(
            "milestones".into(),
            format!("give 1 to {MAX_MILESTONES} milestones (limit MAX_MILESTONES)"),
        );
    }
    for (i, m) in input.milestones.iter().enumerate() {
        if !(0..=100).contains(&m.percent) {
            bad(
                format!("milestones[{i}].percent"),
                "must be 0 to 100".into(),
            );
        }
        if !(0..=MAX_WAIT_SECONDS).contains(&m.wait_seconds) {
            bad(
                format!("milestones[{i}].wait_seconds"),
                format!("must be 0 to {MAX_WAIT_SECONDS} (limit MAX_WAIT_SECONDS)"),
            );
        }
    }
    if input.guards.len() > MAX_GUARDS {
        bad(
            "guards".into(),
            format!("at most {MAX_GUARDS} guards (limit MAX_GUARDS)"),
        );
    }
    for (i, g) in input.guards.iter().enumerate() {
        let p = |f: &str| format!("guards[{i}].{f}");
        match g.source.as_str() {
            "impact" => match &g.metric {
                Some(m) if plain(m) => {}
                _ => bad(
                    p("metric"),
                    "an impact guard names its metric (1 to 200 characters, no control characters)"
                        .into(),
                ),
            },
            "prometheus" => {
                if !g
                    .query
                    .as_deref()
                    .is_some_and(|q| !q.is_empty() && q.len() <= MAX_QUERY_LEN)
                {
                    bad(p("query"), format!("a prometheus guard has a query of 1 to {MAX_QUERY_LEN} bytes (limit MAX_QUERY_LEN)"));
                }
                if config.prometheus_url.is_none() {
                    bad(
                        p("source"),
                        "no Prometheus server is configured (flagpole serve --prometheus-url)"
                            .into(),
                    );
                }
            }
            _ => bad(p("source"), "must be impact or prometheus".into()),
        }
        if g.per.as_deref().is_some_and(|m| !plain(m)) {
            bad(
                p("per"),
                "1 to 200 characters, no control characters".into(),
            );
        }
        if g.labels.len() > 16 || g.labels.iter().any(|(k, v)| !plain(k) || !plain(v)) {
            bad(
                p("labels"),
                "at most 16 labels of 1 to 200 characters".into(),
            );
        }
        if !matches!(g.comparison.as_str(), "gt" | "gte" | "lt" | "lte") {
            bad(p("comparison"), "must be gt, gte, lt or lte".into());
        }
        if !g.threshold.is_finite() {
            bad(p("threshold"), "must be a finite number".into());
        }
        if g.window_seconds
            .is_some_and(|w| !(1..=MAX_WAIT_SECONDS).contains(&w))
        {
            bad(
                p("window_seconds"),
                format!("must be 1 to {MAX_WAIT_SECONDS}"),
            );
        }
    }
    if let Some(b) = &input.on_breach {
        if b != "rollback" && b != "pause" {
            bad("on_breach".into(), "must be rollback or pause".into());
        }
    }
    let rules = flag.environments.get(env).map_or(0, |e| e.rules.len()) as i64;
    let rule = input.rule.unwrap_or(0);
    if !(rule == 0 && rules == 0 || (0..rules).contains(&rule)) {
        bad(
            "rule".into(),
            format!("no rule {rule} in {env} (it has {rules})"),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(problems))
    }
}

fn plain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 200 && !s.chars().any(char::is_control)
}

/// The flag with the plan's rule set to `percent` in its environment.
pub fn with_rollout(flag: &Flag, env: &str, rule: i64, percent: i64) -> Flag {
    let mut next = flag.clone();
    let config = next.environments.entry(env.to_string()).or_default();
    match config.rules.get_mut(rule as usize) {
        Some(r) => r.rollout = Some(percent),
        None => config.rules.push(Rule {
            rollout: Some(percent),
            stickiness: Some("default".into()),
            ..Rule::default()
        }),
    }
    next
}

/// When the milestone the plan is at ends.
pub fn due(
    config: &ReleaseConfig,
    plan: &ReleasePlan,
    from: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let m = plan.milestones.get(plan.step as usize)?;
    let unit = config.time_unit;
    let wait = unit.saturating_mul(m.wait_seconds.clamp(0, MAX_WAIT_SECONDS) as u32);
    Some(from + TimeDelta::from_std(wait).unwrap_or(TimeDelta::zero()))
}

/// Writes `flag` as the plan.
pub async fn write(
    guard: &WriteGuard<'_>,
    plan: &ReleasePlan,
    flag: &Flag,
    expect: Expect,
    action: &str,
) -> Result<i64, ApiError> {
    let actor = format!("release-plan:{}", plan.id);
    let audit = Change {
        actor: &actor,
        action,
        environment: Some(&plan.environment),
        address: None,
    };
    let archived = guard
        .published()
        .flags
        .get(&plan.flag)
        .is_some_and(|r| r.archived);
    let outcome = commit_flag(
        guard,
        Mode::Direct,
        &Principal::local(),
        &plan.flag,
        FlagChange::Put { flag, archived },
        expect,
        audit,
    )
    .await?;
    Ok(outcome.into_written().version)
}

/// Checks one running plan: its guards first, then, when its milestone is over, the next
/// step. Call with the plan's lease held.
pub async fn check(reader: &Reader, id: i64) -> Result<(), ApiError> {
    let core = reader.core();
    let Some(mut plan) = core.store().release_plan(id).await? else {
        return Ok(());
    };
    if plan.status != "running" {
        return Ok(());
    }
    let now = Utc::now();
    let mut failed = None;
    for (i, g) in plan.guards.iter().enumerate() {
        match guards::read(reader, &plan.environment, g, now).await {
            Reading::Value(Some(v)) if guards::breached(g, v) => {
                let why = format!(
                    "guard {i} ({}) breached: {v} {} {}",
                    guards::describe(g),
                    g.comparison,
                    g.threshold
                );
                return breach(core, plan, why).await;
            }
            Reading::Value(_) => {}
            Reading::Failed(e) => {
                failed = Some(format!(
                    "guard {i} ({}) could not be read: {e}",
                    guards::describe(g)
                ))
            }
        }
    }
    if let Some(why) = failed {
        // Not advanced while a guard cannot be read; said once.
        if plan.reason.as_deref() != Some(why.as_str()) {
            plan.reason = Some(clip(why));
            plan.updated_at = now;
            core.store().update_release_plan(&plan).await?;
        }
        return Ok(());
    }
    if plan.next_at.is_some_and(|at| at > now) {
        return Ok(());
    }
    advance(core, plan, now).await
}

/// Moves a plan to its next milestone, or completes it.
async fn advance(core: &Core, mut plan: ReleasePlan, now: DateTime<Utc>) -> Result<(), ApiError> {
    let next = plan.step + 1;
    let Some(m) = plan.milestones.get(next as usize).cloned() else {
        plan.status = "completed".into();
        plan.reason = Some("every milestone reached".into());
        plan.next_at = None;
        plan.updated_at = now;
        core.store().update_release_plan(&plan).await?;
        return Ok(());
    };
    let guard = core.begin_write().await?;
    let published = guard.published();
    let Some(record) = published.flags.get(&plan.flag).filter(|r| !r.archived) else {
        return stop(core, plan, "paused", "the flag is gone or archived".into()).await;
    };
    if record.version != plan.last_version {
        let why = format!(
            "the flag was changed by someone else (version {}, the plan last wrote {}); paused",
            record.version, plan.last_version
        );
        return stop(core, plan, "paused", why).await;
    }
    let flag = with_rollout(&record.flag(), &plan.environment, plan.rule, m.percent);
    let action = format!("flag.release.step: milestone {next} ({}%)", m.percent);
    plan.last_version = write(
        &guard,
        &plan,
        &flag,
        Expect::Version(record.version),
        &action,
    )
    .await?;
    plan.step = next;
    plan.next_at = due(&core.config().release, &plan, now);
    plan.updated_at = now;
    plan.reason = None;
    core.store().update_release_plan(&plan).await?;
    Ok(())
}

/// A guard is breached: roll back or pause, as the plan says, and record why.
async fn breach(core: &Core, mut plan: ReleasePlan, why: String) -> Result<(), ApiError> {
    if plan.on_breach == "pause" {
        return stop(core, plan, "paused", format!("{why}; paused")).await;
    }
    let guard = core.begin_write().await?;
    let action = clip(format!("flag.release.rolled_back: {why}"));
    let before = plan.before.clone();
    match write(
        &guard,
        &plan,
        &before,
        Expect::Version(plan.last_version),
        &action,
    )
    .await
    {
        Ok(version) => {
            plan.last_version = version;
            let why = format!("{why}; rolled back to the flag as it was before the plan");
            stop(core, plan, "rolled_back", why).await
        }
        Err(ApiError::Store(flagpole_store::Error::Conflict { .. }) | ApiError::Conflict(_)) => {
            let why = format!(
                "{why}; not rolled back: the flag was changed by someone else since the plan's last write (version {}); paused",
                plan.last_version
            );
            plan.updated_at = Utc::now();
            stop(core, plan, "paused", why).await
        }
        Err(e) => Err(e),
    }
}

async fn stop(
    core: &Core,
    mut plan: ReleasePlan,
    status: &str,
    why: String,
) -> Result<(), ApiError> {
    tracing::warn!(plan = plan.id, flag = %plan.flag, status, reason = %why, "release plan stopped");
    plan.status = status.into();
    plan.reason = Some(clip(why));
    plan.next_at = None;
    plan.updated_at = Utc::now();
    core.store().update_release_plan(&plan).await?;
    Ok(())
}

fn clip(mut s: String) -> String {
    if s.len() > MAX_REASON_LEN {
        let mut end = MAX_REASON_LEN;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}
