//! The approval rule the write path enforces: a change to an environment that requires
//! approval is refused (409 `approval_required`, with where to propose it instead) unless
//! it is written in [`Mode::Approved`](super::Mode::Approved), which only applying an
//! approved change request does.

use std::collections::BTreeSet;

use super::mode::Mode;
use crate::error::ApiError;
use crate::published::Published;

/// 409 `approval_required` when `touched` holds an environment that requires approval
/// and the write is not an approved change request.
pub fn gate(
    published: &Published,
    project: &str,
    touched: &BTreeSet<String>,
    mode: Mode,
) -> Result<(), ApiError> {
    if mode == Mode::Approved {
        return Ok(());
    }
    match touched
        .iter()
        .find(|env| published.requires_approval(project, env))
    {
        Some(env) => Err(ApiError::ApprovalRequired(env.clone())),
        None => Ok(()),
    }
}
