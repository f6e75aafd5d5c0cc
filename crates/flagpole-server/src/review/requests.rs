//! The rules of change requests the routes share: who may approve (four eyes), who may
//! withdraw or rebase, staleness, and comments within their limits.

use chrono::Utc;
use flagpole_store::{ChangeRequestRecord, Comment};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::review::{self, MAX_COMMENTS, MAX_COMMENT_CHARS};
use crate::state::AppState;

/// The four-eyes rule: an open request, not the caller's own, touching only environments
/// the caller may change, and based on the flag's current version.
pub(crate) fn may_approve(
    state: &AppState,
    who: &Principal,
    record: &ChangeRequestRecord,
) -> Result<(), ApiError> {
    if record.status != "open" {
        return Err(ApiError::Conflict(format!(
            "change request {} is {}, not open",
            record.id, record.status
        )));
    }
    if who.actor() == record.author {
        return Err(ApiError::Forbidden(
            "authors cannot approve their own change request: another user must".into(),
        ));
    }
    if who.role() < Some(crate::auth::Role::Editor) {
        return Err(ApiError::Forbidden(
            "approving needs the editor role".into(),
        ));
    }
    let published = state.published();
    review::check_may_change(&published, who, &record.environments)?;
    let current = published.flag(&record.target)?.version;
    if current != record.based_on {
        return Err(stale(record, current));
    }
    Ok(())
}

pub(crate) fn stale(record: &ChangeRequestRecord, current: i64) -> ApiError {
    ApiError::Conflict(format!(
        "flag {:?} moved on from version {} to {current} since change request {} was made: rebase it (POST /api/v1/change-requests/{}/rebase)",
        record.target, record.based_on, record.id, record.id
    ))
}

pub(crate) fn author_or_reviewer(
    state: &AppState,
    who: &Principal,
    record: &ChangeRequestRecord,
) -> Result<(), ApiError> {
    if who.actor() == record.author {
        return Ok(());
    }
    review::check_may_change(&state.published(), who, &record.environments)
}

pub(crate) async fn add_comment(
    state: &AppState,
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
    Ok(state
        .store()
        .add_comment(record.id, &comment, change)
        .await?)
}

pub(crate) async fn load(state: &AppState, id: i64) -> Result<ChangeRequestRecord, ApiError> {
    state
        .store()
        .change_request(id)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            kind: "change request",
            name: id.to_string(),
        })
}

pub(crate) fn field(name: &str, message: &str) -> ApiError {
    ApiError::bad_request(
        "invalid_body",
        format!("{name}: {message}"),
        Some(name.into()),
    )
}
