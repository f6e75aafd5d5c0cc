//! The flag operations of the native API and the seed API, each one write in the write
//! gate: the flag read under the gate, changed, committed through
//! [`commit_flag`](super::commit_flag), and answered as stored.

use std::borrow::Cow;

use flagpole_core::DEFAULT_PROJECT;
use flagpole_core::{Flag, FlagEnvironment, FlagType, Rule};
use flagpole_store::{Expect, FlagRecord};

use super::check::check_new_name;
use super::commit::{commit_flag, FlagChange};
use super::input::or_current;
use super::mode::{Mode, Outcome};
use crate::core::{Core, WriteGuard};
use crate::error::ApiError;
use crate::identity::Principal;

/// Creates flag `key`.
pub async fn create(
    core: &Core,
    mode: Mode,
    who: &Principal,
    key: &str,
    flag: &Flag,
) -> Result<Outcome<FlagRecord>, ApiError> {
    check_new_name("flag key", "key", key)?;
    let guard = core.begin_write().await?;
    guard.published().check_environments(flag, "")?;
    let mut flag = Cow::Borrowed(flag);
    if flag.project.as_deref() == Some(DEFAULT_PROJECT) {
        flag.to_mut().project = None;
    }
    let put = Put {
        mode,
        who,
        key,
        action: "flag.created",
        environment: None,
    };
    put.commit(&guard, (&flag, false), Expect::Absent).await
}

/// Replaces flag `key` (archived or not, it stays so), based on `expect`.
pub async fn replace(
    core: &Core,
    mode: Mode,
    who: &Principal,
    key: &str,
    flag: &Flag,
    expect: Expect,
) -> Result<Outcome<FlagRecord>, ApiError> {
    let guard = core.begin_write().await?;
    let published = guard.published();
    published.check_environments(flag, "")?;
    let archived = published.flag(key)?.archived;
    // A replacement that names no project keeps the flag where it is; naming another
    // moves it (audited as such, by an admin of both).
    let stored = published.flag_project(key).unwrap_or(DEFAULT_PROJECT);
    let mut flag = Cow::Borrowed(flag);
    if flag.project.is_none() && stored != DEFAULT_PROJECT {
        flag.to_mut().project = Some(stored.to_string());
    }
    if flag.project.as_deref() == Some(DEFAULT_PROJECT) {
        flag.to_mut().project = None;
    }
    let action = match flag.project() == stored {
        true => "flag.updated",
        false => "flag.moved",
    };
    let put = Put {
        mode,
        who,
        key,
        action,
        environment: None,
    };
    put.commit(&guard, (&flag, archived), expect).await
}

/// Deletes flag `key` (its history stays), based on `version` (the current one when
/// `None`).
pub async fn delete(
    core: &Core,
    mode: Mode,
    who: &Principal,
    key: &str,
    version: Option<i64>,
) -> Result<Outcome, ApiError> {
    let guard = core.begin_write().await?;
    let expect = or_current(version, guard.published().flag(key)?.version);
    let audit = who.change("flag.deleted", None);
    commit_flag(&guard, mode, who, key, FlagChange::Delete, expect, audit).await
}

/// Archives flag `key` (kept, no longer served) or brings it back.
pub async fn set_archived(
    core: &Core,
    mode: Mode,
    who: &Principal,
    key: &str,
    archived: bool,
    version: Option<i64>,
) -> Result<Outcome<FlagRecord>, ApiError> {
    let guard = core.begin_write().await?;
    let record = guard.published().flag(key)?;
    let expect = or_current(version, record.version);
    let action = if archived {
        "flag.archived"
    } else {
        "flag.unarchived"
    };
    let put = Put {
        mode,
        who,
        key,
        action,
        environment: None,
    };
    put.commit(&guard, (&record.flag, archived), expect).await
}

/// Restores version `to` of flag `key` as a new version, based on `expect`; 409 when
/// that version is the flag's deletion.
pub async fn roll_back(
    core: &Core,
    mode: Mode,
    who: &Principal,
    key: &str,
    to: i64,
    expect: Expect,
) -> Result<Outcome<FlagRecord>, ApiError> {
    let target = core.store().flag_version(key, to).await?;
    let target = target.ok_or_else(|| ApiError::NotFound {
        kind: "flag version",
        name: format!("{key}@{to}"),
    })?;
    let Some(flag) = target.flag else {
        return Err(ApiError::Conflict(format!(
            "version {to} of {key:?} is its deletion; roll back to a version that has the flag"
        )));
    };
    let guard = core.begin_write().await?;
    let put = Put {
        mode,
        who,
        key,
        action: "flag.rolled_back",
        environment: None,
    };
    put.commit(&guard, (&flag, target.archived), expect).await
}

/// The seed API's write: boolean flag `name` on or off in `environment`, for `rollout`
/// percent of users by user id (no rule at 100). A new flag is created; an existing one
/// must be a boolean flag whose targeting there the seed API can express (else 409).
pub async fn set_switch(
    core: &Core,
    mode: Mode,
    who: &Principal,
    name: &str,
    environment: &str,
    (enabled, rollout): (bool, i64),
) -> Result<Outcome, ApiError> {
    let guard = core.begin_write().await?;
    let project = &core.config().seed_project;
    let (mut flag, expect) = match guard.published().flags.get(name) {
        Some(record) if *record.project != **project => {
            return Err(ApiError::Conflict(format!(
                "flag {name:?} belongs to project {:?}; the seed API works on project {project:?}",
                record.project
            )))
        }
        Some(record) => (record.flag(), Expect::Version(record.version)),
        None => (
            Flag {
                project: (project != flagpole_core::DEFAULT_PROJECT).then(|| project.clone()),
                ..Flag::default()
            },
            Expect::Absent,
        ),
    };
    let expressible = flagpole_core::formats::seed::seed_flag(&flag, environment).is_some();
    if flag.flag_type != FlagType::Boolean || !expressible {
        return Err(ApiError::Conflict(format!(
            "flag {name:?} uses targeting the seed API cannot express in {environment}; change it through /api/v1"
        )));
    }
    let rules = match rollout {
        100.. => Vec::new(),
        _ => vec![Rule {
            rollout: Some(rollout),
            stickiness: Some("userId".into()),
            ..Rule::default()
        }],
    };
    let config = FlagEnvironment {
        enabled,
        rules,
        ..FlagEnvironment::default()
    };
    flag.environments.insert(environment.to_string(), config);
    let action = if expect == Expect::Absent {
        "flag.created"
    } else {
        "flag.updated"
    };
    let change = FlagChange::Put {
        flag: &flag,
        archived: false,
    };
    let audit = who.change(action, Some(environment));
    commit_flag(&guard, mode, who, name, change, expect, audit).await
}

/// A whole flag written as `key` by `who`, audited as `action` (aimed at `environment`,
/// when the change is).
pub(super) struct Put<'a> {
    pub mode: Mode,
    pub who: &'a Principal,
    pub key: &'a str,
    pub action: &'a str,
    pub environment: Option<&'a str>,
}

impl Put<'_> {
    /// Commits the flag (archived or not) based on `expect`, and answers it as stored.
    pub async fn commit(
        self,
        guard: &WriteGuard<'_>,
        (flag, archived): (&Flag, bool),
        expect: Expect,
    ) -> Result<Outcome<FlagRecord>, ApiError> {
        let change = FlagChange::Put { flag, archived };
        let audit = self.who.change(self.action, self.environment);
        let outcome = commit_flag(guard, self.mode, self.who, self.key, change, expect, audit);
        match outcome.await? {
            Outcome::Written(_) => Ok(Outcome::Written(guard.published().flag(self.key)?)),
            Outcome::Previewed(reports) => Ok(Outcome::Previewed(reports)),
        }
    }
}
