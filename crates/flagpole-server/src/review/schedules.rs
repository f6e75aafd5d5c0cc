//! Making and cancelling scheduled changes: a schedule needs the right to make the change
//! now (protected environments), is refused where approval is required (only an approved
//! change request schedules there), is due from a minute ago to [`MAX_SCHEDULE_DAYS`]
//! ahead, and a flag or segment has at most [`MAX_PENDING_SCHEDULES`] pending. Applying
//! them is the [`super::scheduler`]'s.

use chrono::{DateTime, Utc};
use flagpole_store::{NewSchedule, ScheduleFilter, ScheduleRecord};
use serde_json::Value;

use super::proposal::{FlagProposalInput, Proposal};
use super::{
    check_may_change, proposal_environment, MAX_DUE_PAST_SECS, MAX_PENDING_SCHEDULES,
    MAX_SCHEDULE_DAYS,
};
use crate::core::Core;
use crate::error::ApiError;
use crate::identity::Principal;
use crate::write::{approval, Mode};

/// What a schedule is for: a flag or a segment, by key.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    /// `flag` or `segment`.
    pub kind: &'a str,
    pub target: &'a str,
}

/// Checks and stores a schedule: the due time, the caller's right to make the change,
/// the approval rule, and the limit of pending schedules.
pub async fn create(
    core: &Core,
    who: &Principal,
    subject: Subject<'_>,
    due_at: DateTime<Utc>,
    proposal: Proposal,
) -> Result<ScheduleRecord, ApiError> {
    check_due("due_at", due_at)?;
    let published = core.published();
    let target = (subject.kind, subject.target);
    check_may_change(&published, who, target, &proposal.environments)?;
    let touched = proposal.environments.iter().cloned().collect();
    let project = published.project_of(subject.kind, subject.target);
    approval::gate(&published, project, &touched, Mode::Direct)?;
    store(core, who.actor(), who, subject, due_at, proposal, None).await
}

/// Stores a schedule (the checks done), as `created_by`; `change_request` names the
/// approved change request it applies.
pub async fn store(
    core: &Core,
    created_by: &str,
    who: &Principal,
    subject: Subject<'_>,
    due_at: DateTime<Utc>,
    proposal: Proposal,
    change_request: Option<i64>,
) -> Result<ScheduleRecord, ApiError> {
    let Subject { kind, target } = subject;
    let pending = ScheduleFilter {
        status: Some("pending".into()),
        kind: Some(kind.into()),
        target: Some(target.into()),
    };
    if core.store().schedules(&pending).await?.len() >= MAX_PENDING_SCHEDULES {
        return Err(ApiError::bad_request(
            "too_many_schedules",
            format!("{kind} {target:?} has {MAX_PENDING_SCHEDULES} pending schedules, the most it may have; cancel one first"),
            None,
        ));
    }
    let new = NewSchedule {
        kind,
        target,
        environments: &proposal.environments,
        body: &proposal.body,
        based_on: proposal.based_on,
        due_at,
        change_request,
        created_by,
    };
    let env = proposal_environment(&proposal.environments);
    let change = who.change("schedule.created", env);
    Ok(core.store().create_schedule(&new, change).await?)
}

/// Cancels a pending schedule (with the right to make its change now).
pub async fn cancel(core: &Core, who: &Principal, id: i64) -> Result<ScheduleRecord, ApiError> {
    let schedule = load(core, id).await?;
    let target = (schedule.kind.as_str(), schedule.target.as_str());
    check_may_change(&core.published(), who, target, &schedule.environments)?;
    let env = proposal_environment(&schedule.environments);
    let change = who.change("schedule.cancelled", env);
    Ok(core.store().cancel_schedule(id, change).await?)
}

/// A schedule by id, or 404.
pub async fn load(core: &Core, id: i64) -> Result<ScheduleRecord, ApiError> {
    core.store()
        .schedule(id)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            kind: "schedule",
            name: id.to_string(),
        })
}

/// Takes the time `field` out of a body and reads the rest as a proposal.
pub fn split_time(
    mut body: Value,
    field: &str,
) -> Result<(DateTime<Utc>, FlagProposalInput), ApiError> {
    let missing = || {
        ApiError::bad_request(
            "invalid_body",
            format!("{field}: required, an RFC 3339 time"),
            Some(field.into()),
        )
    };
    let time = body
        .as_object_mut()
        .ok_or_else(|| {
            ApiError::bad_request("invalid_body", "the body must be a JSON object", None)
        })?
        .remove(field)
        .ok_or_else(missing)?;
    let time: DateTime<Utc> = serde_json::from_value(time).map_err(|e| {
        ApiError::bad_request(
            "invalid_body",
            format!("{field}: not an RFC 3339 time ({e})"),
            Some(field.into()),
        )
    })?;
    Ok((time, crate::write::input::from_value(body)?))
}

/// A due time from a minute ago (then applied at once) to [`MAX_SCHEDULE_DAYS`] ahead.
pub fn check_due(field: &str, due_at: DateTime<Utc>) -> Result<(), ApiError> {
    let now = Utc::now();
    if due_at < now - chrono::Duration::seconds(MAX_DUE_PAST_SECS) {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("{field}: {due_at} is in the past"),
            Some(field.into()),
        ));
    }
    if due_at > now + chrono::Duration::days(MAX_SCHEDULE_DAYS) {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("{field}: at most {MAX_SCHEDULE_DAYS} days ahead"),
            Some(field.into()),
        ));
    }
    Ok(())
}
