//! Change requests: opening one, approving it (four eyes: never its author; applied now
//! or scheduled), rejecting or withdrawing it, rebasing it onto the flag's current
//! version, comments within their limits, and staleness.

use chrono::{DateTime, Utc};
use flagpole_store::{Change, ChangeRequestRecord, Comment, NewChangeRequest};

use super::proposal::{flag_proposal, rebase, FlagProposalInput, Proposal};
use super::scheduler::{self, Target};
use super::schedules::{self, Subject};
use crate::core::Core;
use crate::error::ApiError;
use crate::identity::{Principal, Role, Who};
use crate::review::{self, MAX_COMMENTS, MAX_COMMENT_CHARS};
use crate::write::{protection, Mode};

/// The four-eyes rule: an open request, not the caller's own, touching only environments
/// the caller may change, and based on the flag's current version.
pub fn may_approve(
    core: &Core,
    who: &Principal,
    record: &ChangeRequestRecord,
) -> Result<(), ApiError> {
    if record.status != "open" {
        return Err(ApiError::Conflict(format!(
            "change request {} is {}, not open",
            record.id, record.status
        )));
    }
    // Four eyes are two people: the author's person (a user, or the person whose token
    // it was) is compared, so a second token of the author's is the author again.
    let author = person(&record.author);
    let minted =
        matches!(&who.who, Who::Token(t) if t.owner.is_none() && person(&t.created_by) == author);
    if who.actor() == record.author || who.person() == Some(author) || minted {
        return Err(ApiError::Forbidden(
            "authors cannot approve their own change request: another user must".into(),
        ));
    }
    let published = core.published();
    let project = published.project_of(&record.kind, &record.target);
    if who.role_in(project) < Some(Role::Editor) {
        return Err(ApiError::Forbidden(
            "approving needs the editor role".into(),
        ));
    }
    let target = (record.kind.as_str(), record.target.as_str());
    review::check_may_change(&published, who, target, &record.environments)?;
    let current = published.flag(&record.target)?.version;
    if current != record.based_on {
        return Err(stale(record, current));
    }
    Ok(())
}

/// The person an audit actor names: `user:NAME` (also of a person's token,
/// `user:NAME (token …)`); any other actor is its own.
fn person(actor: &str) -> &str {
    match actor.strip_prefix("user:") {
        Some(rest) => rest.split(" (token ").next().unwrap_or(rest),
        None => actor,
    }
}

pub fn stale(record: &ChangeRequestRecord, current: i64) -> ApiError {
    ApiError::Conflict(format!(
        "flag {:?} moved on from version {} to {current} since change request {} was made: rebase it (POST /api/v1/change-requests/{}/rebase)",
        record.target, record.based_on, record.id, record.id
    ))
}

pub fn author_or_reviewer(
    core: &Core,
    who: &Principal,
    record: &ChangeRequestRecord,
) -> Result<(), ApiError> {
    if who.actor() == record.author {
        return Ok(());
    }
    let target = (record.kind.as_str(), record.target.as_str());
    review::check_may_change(&core.published(), who, target, &record.environments)
}

pub async fn add_comment(
    core: &Core,
    who: &Principal,
    record: &ChangeRequestRecord,
    text: &str,
) -> Result<ChangeRequestRecord, ApiError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_COMMENT_CHARS {
        return Err(field(
            "text",
            &format!("1 to {MAX_COMMENT_CHARS} characters"),
        ));
    }
    if record.comments.len() >= MAX_COMMENTS {
        return Err(ApiError::bad_request(
            "too_many_comments",
            format!("a change request holds at most {MAX_COMMENTS} comments"),
            None,
        ));
    }
    let comment = Comment {
        author: who.actor().to_string(),
        at: Utc::now(),
        text: text.to_string(),
    };
    let env = review::proposal_environment(&record.environments);
    let change = who.change("change_request.commented", env);
    Ok(core
        .store()
        .add_comment(record.id, &comment, change)
        .await?)
}

pub async fn load(core: &Core, id: i64) -> Result<ChangeRequestRecord, ApiError> {
    core.store()
        .change_request(id)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            kind: "change request",
            name: id.to_string(),
        })
}

pub fn field(name: &str, message: &str) -> ApiError {
    ApiError::bad_request(
        "invalid_body",
        format!("{name}: {message}"),
        Some(name.into()),
    )
}

/// Opens a change request for flag `key`: the proposal made whole against the current
/// version and checked as a write of it now would be; at most
/// [`super::MAX_OPEN_REQUESTS`] open per flag.
pub async fn open(
    core: &Core,
    who: &Principal,
    key: &str,
    description: String,
    input: FlagProposalInput,
) -> Result<ChangeRequestRecord, ApiError> {
    let project = core.published().project_of("flag", key).to_string();
    protection::check_project(who, &project, Role::Editor)?;
    let proposal = flag_proposal(&core.published(), key, input)?;
    let open = core.store().change_requests(Some("open")).await?;
    if open.iter().filter(|r| r.target == key).count() >= review::MAX_OPEN_REQUESTS {
        return Err(ApiError::bad_request(
            "too_many_change_requests",
            format!("flag {key:?} has {} open change requests, the most it may have; decide on one first", review::MAX_OPEN_REQUESTS),
            None,
        ));
    }
    let new = NewChangeRequest {
        kind: "flag",
        target: key,
        environments: &proposal.environments,
        body: &proposal.body,
        based_on: proposal.based_on,
        description: &description,
        author: who.actor(),
    };
    let env = review::proposal_environment(&proposal.environments);
    let change = who.change("change_request.created", env);
    Ok(core.store().create_change_request(&new, change).await?)
}

/// Approves a change request (the four-eyes rule, [`may_approve`]): applies it now, in
/// `Mode::Approved`, or schedules it at `apply_at`.
pub async fn approve(
    core: &Core,
    who: &Principal,
    id: i64,
    apply_at: Option<DateTime<Utc>>,
) -> Result<ChangeRequestRecord, ApiError> {
    let mut record = load(core, id).await?;
    may_approve(core, who, &record)?;
    let actor = format!(
        "{} (approving change request {id} by {})",
        who.actor(),
        record.author
    );
    let env = review::proposal_environment(&record.environments);
    record.reviewer = Some(who.actor().to_string());
    if let Some(at) = apply_at {
        schedules::check_due("apply_at", at)?;
        let proposal = Proposal {
            body: record.body.clone(),
            based_on: record.based_on,
            environments: record.environments.clone(),
        };
        let subject = Subject {
            kind: &record.kind,
            target: &record.target,
        };
        let schedule = schedules::store(core, &actor, who, subject, at, proposal, Some(id)).await?;
        record.status = "scheduled".into();
        record.schedule_id = Some(schedule.id);
    } else {
        let target = Target {
            kind: &record.kind,
            key: &record.target,
            body: &record.body,
            based_on: record.based_on,
        };
        let current = core.published().flag(&record.target)?.version;
        if current != record.based_on {
            return Err(stale(&record, current));
        }
        let change = Change {
            actor: &actor,
            action: "flag.updated",
            environment: env,
            address: who.address(),
        };
        scheduler::apply(core, target, change, Mode::Approved).await?;
        record.status = "applied".into();
    }
    save(core, who, &record, "change_request.approved").await
}

/// Rejects a change request, with the reason as a comment (its author may withdraw it
/// so).
pub async fn reject(
    core: &Core,
    who: &Principal,
    id: i64,
    reason: Option<String>,
) -> Result<ChangeRequestRecord, ApiError> {
    let mut record = load(core, id).await?;
    author_or_reviewer(core, who, &record)?;
    if let Some(reason) = reason {
        record = add_comment(core, who, &record, &reason).await?;
    }
    record.status = "rejected".into();
    record.reviewer = Some(who.actor().to_string());
    save(core, who, &record, "change_request.rejected").await
}

/// Carries a change request over to the flag's current version (when the flag changed
/// in other parts than the request does; else 409 naming the part).
pub async fn rebase_request(
    core: &Core,
    who: &Principal,
    id: i64,
) -> Result<ChangeRequestRecord, ApiError> {
    let mut record = load(core, id).await?;
    author_or_reviewer(core, who, &record)?;
    let published = core.published();
    let current = published.flag(&record.target)?;
    if current.version == record.based_on {
        return Ok(record);
    }
    let unreadable = |e: serde_json::Error| ApiError::Conflict(format!("unreadable flag: {e}"));
    let proposed = serde_json::from_value(record.body.clone()).map_err(unreadable)?;
    let base = core
        .store()
        .flag_version(&record.target, record.based_on)
        .await?
        .and_then(|v| v.flag)
        .ok_or_else(|| ApiError::Conflict("the base version is not in the history".into()))?;
    let merged = rebase(&base, &proposed, &current.flag).map_err(|reason| {
        ApiError::Conflict(format!(
            "cannot rebase: {reason}; open a new change request"
        ))
    })?;
    let touched = protection::flag_touches(Some(&current.flag), Some(&merged));
    record.body = serde_json::to_value(&merged).unwrap_or_default();
    record.based_on = current.version;
    record.environments = touched.into_iter().collect();
    save(core, who, &record, "change_request.rebased").await
}

/// Stores an open request's new state, audited as `action`.
async fn save(
    core: &Core,
    who: &Principal,
    record: &ChangeRequestRecord,
    action: &str,
) -> Result<ChangeRequestRecord, ApiError> {
    let env = review::proposal_environment(&record.environments);
    let change = who.change(action, env);
    Ok(core
        .store()
        .update_change_request(record, "open", change)
        .await?)
}
