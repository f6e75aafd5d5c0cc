//! Applies due schedules: every `interval`, and once at start, the store is asked to claim
//! the schedules that are due (on PostgreSQL with `FOR UPDATE SKIP LOCKED` and a lease,
//! so each is claimed by one replica), and each is applied through the one write path as
//! `schedule:ID (by ACTOR)`, then marked `applied`, or `failed` with the reason when the
//! flag moved on in a way that conflicts (or the change is refused for any other reason).
//! A replica that dies mid-way leaves its claim to run out; the next claimer first looks
//! in the flag's history for the schedule's own version, so nothing is applied twice.

use std::time::Duration;

use chrono::Utc;
use flagpole_core::{Flag, Segment};
use flagpole_store::{Change, Expect, ScheduleRecord, Written};

use crate::core::Core;
use crate::error::ApiError;
use crate::identity::Principal;
use crate::review::proposal::rebase;
use crate::write::{commit_flag, commit_segment, FlagChange, Mode};

/// How often a server looks for due schedules unless configured otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(250);
/// How long a claim lasts before another replica may take the schedule over.
pub const LEASE: Duration = Duration::from_secs(15);
/// At most this many schedules are claimed at once.
const CLAIM_BATCH: i64 = 16;

/// Applies due schedules until the task is aborted.
pub async fn run(core: Core, interval: Duration) {
    loop {
        if let Err(e) = tick(&core).await {
            tracing::warn!(error = %e, "applying due schedules failed; retrying");
        }
        tokio::time::sleep(interval).await;
    }
}

/// Claims and applies what is due now; returns the schedules it finished.
pub async fn tick(core: &Core) -> Result<Vec<ScheduleRecord>, ApiError> {
    let now = Utc::now();
    let lease = chrono::Duration::from_std(LEASE).unwrap_or_default();
    let claimed = core
        .store()
        .claim_due_schedules(now, now + lease, CLAIM_BATCH)
        .await?;
    let mut finished = Vec::new();
    for schedule in claimed {
        match apply_schedule(core, &schedule).await {
            Ok(record) => finished.push(record),
            // The database went away: the claim runs out and the schedule is tried again.
            Err(e) => {
                tracing::warn!(error = %e, id = schedule.id, "a schedule could not be applied")
            }
        }
    }
    Ok(finished)
}

/// The actor a schedule's change is recorded as.
pub fn actor(schedule: &ScheduleRecord) -> String {
    format!("schedule:{} (by {})", schedule.id, schedule.created_by)
}

async fn apply_schedule(
    core: &Core,
    schedule: &ScheduleRecord,
) -> Result<ScheduleRecord, ApiError> {
    let actor = actor(schedule);
    let env = crate::review::proposal_environment(&schedule.environments);
    if schedule.attempts > 1 && already_applied(core, schedule, &actor).await? {
        let change = change(&actor, "schedule.applied", env);
        return Ok(core
            .store()
            .finish_schedule(schedule.id, true, None, change)
            .await?);
    }
    let target = Target {
        kind: &schedule.kind,
        key: &schedule.target,
        body: &schedule.body,
        based_on: schedule.based_on,
    };
    let action = if schedule.kind == "segment" {
        "segment.updated"
    } else {
        "flag.updated"
    };
    // A change request's schedule was approved when it was made.
    let mode = if schedule.change_request.is_some() {
        Mode::Approved
    } else {
        Mode::Direct
    };
    let result = apply(core, target, change(&actor, action, env), mode).await;
    let (applied, reason) = match result {
        Ok(_) => (true, None),
        Err(e) if is_retryable(&e) => return Err(e),
        Err(e) => (false, Some(e.public_message())),
    };
    let action = if applied {
        "schedule.applied"
    } else {
        "schedule.failed"
    };
    if let Some(reason) = &reason {
        tracing::info!(id = schedule.id, %reason, "a schedule failed");
    }
    Ok(core
        .store()
        .finish_schedule(
            schedule.id,
            applied,
            reason.as_deref(),
            change(&actor, action, env),
        )
        .await?)
}

/// What a stored proposal changes.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    pub kind: &'a str,
    pub key: &'a str,
    pub body: &'a serde_json::Value,
    pub based_on: i64,
}

/// Applies a stored proposal through the one write path with the server's own rights
/// (whoever created or approved it was checked then), in `mode` (`Mode::Approved` for
/// an approved change request). A flag that moved on since `based_on` gets the proposal
/// merged onto it ([`rebase`]) when the two changed different parts; otherwise the write
/// fails with 409 and the reason.
pub async fn apply(
    core: &Core,
    target: Target<'_>,
    audit: Change<'_>,
    mode: Mode,
) -> Result<Written, ApiError> {
    let who = Principal::local();
    let guard = core.begin_write().await?;
    // Another replica may have changed the flag a moment ago: decide on the newest.
    let published = core.reload().await?;
    if target.kind == "segment" {
        let segment: Segment = serde_json::from_value(target.body.clone())
            .map_err(|e| ApiError::Conflict(format!("the stored segment is unreadable: {e}")))?;
        let expect = Expect::Version(target.based_on);
        return commit_segment(
            &guard,
            mode,
            &who,
            target.key,
            Some(&segment),
            expect,
            audit,
        )
        .await;
    }
    let proposed: Flag = serde_json::from_value(target.body.clone())
        .map_err(|e| ApiError::Conflict(format!("the stored flag is unreadable: {e}")))?;
    let Some(current) = published.flags.get(target.key) else {
        return Err(ApiError::Conflict(format!(
            "flag {:?} no longer exists",
            target.key
        )));
    };
    let flag = if current.version == target.based_on {
        proposed
    } else {
        let base = core
            .store()
            .flag_version(target.key, target.based_on)
            .await?
            .and_then(|v| v.flag)
            .ok_or_else(|| {
                ApiError::Conflict(format!("version {} is not in the history", target.based_on))
            })?;
        rebase(&base, &proposed, &current.flag()).map_err(|reason| {
            ApiError::Conflict(format!(
                "flag {:?} moved on from version {} to {}: {reason}",
                target.key, target.based_on, current.version
            ))
        })?
    };
    let change = FlagChange::Put {
        flag: &flag,
        archived: current.archived,
    };
    let expect = Expect::Version(current.version);
    let outcome = commit_flag(&guard, mode, &who, target.key, change, expect, audit).await?;
    Ok(outcome.into_written())
}

/// Whether the flag's history holds a version the schedule wrote (its replica stopped
/// after writing it and before recording so).
async fn already_applied(
    core: &Core,
    schedule: &ScheduleRecord,
    actor: &str,
) -> Result<bool, ApiError> {
    if schedule.kind != "flag" {
        return Ok(false);
    }
    let versions = core.store().flag_versions(&schedule.target).await?;
    Ok(versions.iter().any(|v| v.actor == actor))
}

fn is_retryable(e: &ApiError) -> bool {
    matches!(e, ApiError::WriteBusy) || matches!(e, ApiError::Store(s) if s.is_unavailable())
}

fn change<'a>(actor: &'a str, action: &'a str, environment: Option<&'a str>) -> Change<'a> {
    Change {
        actor,
        action,
        environment,
        address: None,
    }
}
