//! Safe releases, part one: scheduled changes and change requests.
//!
//! Both hold the proposed new state of one flag or segment and the version it was based
//! on ([`proposal`]); applying one is an ordinary write through the one write path
//! (`resources::commit_flag` / `commit_segment`), so it is checked, audited and
//! published like any other. [`scheduler`] applies due schedules (exactly once across
//! replicas: the store claims each with a lease). [`gate`] is the approval rule the write
//! path enforces: a change to an environment that requires approval is refused unless it
//! comes from an approved change request.

pub mod proposal;
pub mod requests;
pub mod scheduler;

use std::collections::BTreeSet;

use crate::error::ApiError;
use crate::published::Published;

/// At most this many pending schedules per flag or segment.
pub const MAX_PENDING_SCHEDULES: usize = 20;
/// At most this many open change requests per flag or segment.
pub const MAX_OPEN_REQUESTS: usize = 20;
/// The longest description of a change request, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// The longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;
/// At most this many comments on one change request.
pub const MAX_COMMENTS: usize = 100;
/// How far ahead a change can be scheduled, in days.
pub const MAX_SCHEDULE_DAYS: i64 = 366;
/// How far in the past a due time may be (it is then applied at once), in seconds.
pub const MAX_DUE_PAST_SECS: i64 = 60;

tokio::task_local! {
    /// Set while a change approved by a second person is applied.
    static APPROVED: ();
}

/// Runs `write` as an approved change: the approval gate lets it through.
pub async fn approved<F: std::future::Future>(write: F) -> F::Output {
    APPROVED.scope((), write).await
}

/// 409 `approval_required` when `touched` holds an environment that requires approval
/// and the write is not an approved change request.
pub fn gate(published: &Published, touched: &BTreeSet<String>) -> Result<(), ApiError> {
    if APPROVED.try_with(|_| ()).is_ok() {
        return Ok(());
    }
    match touched.iter().find(|env| requires_approval(published, env)) {
        Some(env) => Err(ApiError::ApprovalRequired(env.clone())),
        None => Ok(()),
    }
}

/// Whether `env` requires approval.
pub fn requires_approval(published: &Published, env: &str) -> bool {
    published
        .environments
        .iter()
        .any(|e| e.name == env && e.requires_approval)
}

/// 403 unless `who` may change every environment of `environments`.
pub fn check_may_change(
    published: &Published,
    who: &crate::auth::Principal,
    environments: &[String],
) -> Result<(), ApiError> {
    let touched: BTreeSet<String> = environments.iter().cloned().collect();
    crate::routes::protection::check(published, who, &touched)
}

/// The one environment a proposal touches, for its audit entries.
pub fn proposal_environment(environments: &[String]) -> Option<&str> {
    match environments {
        [one] => Some(one.as_str()),
        _ => None,
    }
}
