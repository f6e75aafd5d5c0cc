//! Safe releases, part one: scheduled changes and change requests.
//!
//! Both hold the proposed new state of one flag or segment and the version it was based
//! on ([`proposal`]); applying one is an ordinary write through the one write service
//! (`crate::write`), so it is checked, audited and published like any other; an
//! approved change request is written in `Mode::Approved`, which passes the approval
//! rule of environments that require one. [`scheduler`] applies due schedules (exactly
//! once across replicas: the store claims each with a lease), [`requests`] holds the
//! rules of change requests.
//!
//! **Layer rule:** review calls the write service and the core; it knows nothing of HTTP.

pub mod proposal;
pub mod requests;
pub mod scheduler;
pub mod schedules;

use std::collections::BTreeSet;

use crate::error::ApiError;
use crate::identity::Principal;
use crate::published::Published;
use crate::write::protection;

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

/// 403 unless `who` may change every environment of `environments` in the project of
/// the flag or segment `(kind, target)`.
pub fn check_may_change(
    published: &Published,
    who: &Principal,
    (kind, target): (&str, &str),
    environments: &[String],
) -> Result<(), ApiError> {
    let touched: BTreeSet<String> = environments.iter().cloned().collect();
    let project = published.project_of(kind, target);
    protection::check(published, who, project, &touched)
}

/// The one environment a proposal touches, for its audit entries.
pub fn proposal_environment(environments: &[String]) -> Option<&str> {
    match environments {
        [one] => Some(one.as_str()),
        _ => None,
    }
}
