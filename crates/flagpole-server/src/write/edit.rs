//! A change to one flag's configuration in one environment (enable, disable, rules,
//! default, rollout, or all of it): the flag as published, edited in that environment,
//! committed as a whole flag (`flags::Put`) based on the version given (or the current
//! one).

use flagpole_core::FlagEnvironment;
use flagpole_store::FlagRecord;

use super::flags::Put;
use super::input::or_current;
use super::mode::{Mode, Outcome};
use crate::core::Core;
use crate::error::ApiError;
use crate::identity::Principal;

/// Which flag environment a change edits, on whose behalf, based on which version.
#[derive(Clone, Copy, Debug)]
pub struct EnvEdit<'a> {
    pub who: &'a Principal,
    pub mode: Mode,
    pub key: &'a str,
    pub env: &'a str,
    /// The flag version the change is based on; the current one when `None`.
    pub version: Option<i64>,
    /// The audit entry's action.
    pub action: &'a str,
}

/// Edits flag `key`'s configuration in `env` with `edit` (an environment the flag has no
/// configuration in starts off and empty) and commits the flag.
pub async fn edit_environment(
    core: &Core,
    at: EnvEdit<'_>,
    edit: impl FnOnce(&mut FlagEnvironment) -> Result<(), ApiError>,
) -> Result<Outcome<FlagRecord>, ApiError> {
    let guard = core.begin_write().await?;
    let published = guard.published();
    published.snapshot(at.env)?;
    let record = published.flag(at.key)?;
    let expect = or_current(at.version, record.version);
    let mut flag = record.flag;
    edit(flag.environments.entry(at.env.to_string()).or_default())?;
    let put = Put {
        mode: at.mode,
        who: at.who,
        key: at.key,
        action: at.action,
        environment: Some(at.env),
    };
    put.commit(&guard, (&flag, record.archived), expect).await
}
