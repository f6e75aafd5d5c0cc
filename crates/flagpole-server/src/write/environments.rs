//! Environment changes: creating, protecting, requiring approval in, and deleting an
//! environment (with, if asked, every flag's configuration there), and the environments
//! a new database starts with. Each is written with its audit entry, then published by
//! reading the store again (environments change what every snapshot holds).

use std::sync::Arc;

use flagpole_core::{Flag, Problem};
use flagpole_store::{Change, Environment, SamplingSetting, Store};

use crate::core::Core;
use crate::error::ApiError;
use crate::identity::Principal;
use crate::published::Published;

/// The environments a new database starts with.
pub const DEFAULT_ENVIRONMENTS: [&str; 2] = ["development", "production"];

/// Creates an environment; 422 for a name that differs from an existing one only in case.
pub async fn create(core: &Core, who: &Principal, name: &str) -> Result<Environment, ApiError> {
    super::check::check_new_name("environment name", "name", name)?;
    let _guard = core.begin_write().await?;
    let published = core.published();
    let twin = published
        .environments
        .iter()
        .find(|e| e.name != name && e.name.eq_ignore_ascii_case(name));
    if let Some(twin) = twin {
        return Err(ApiError::Invalid(vec![Problem {
            path: "name".into(),
            message: format!(
                "environment name {name:?} differs from {:?} only in case",
                twin.name
            ),
        }]));
    }
    core.store()
        .create_environment(name, who.change("environment.created", Some(name)))
        .await?;
    found(&core.reload().await?, name)
}

/// A yes-or-no setting of an environment.
#[derive(Clone, Copy, Debug)]
pub enum Setting {
    /// Only admins, and users or tokens granted the environment, may change it.
    Protected(bool),
    /// Changes to it need an approved change request.
    RequiresApproval(bool),
}

impl Setting {
    /// The audit log's name for setting it.
    fn action(&self) -> &'static str {
        match *self {
            Setting::Protected(true) => "environment.protected",
            Setting::Protected(false) => "environment.unprotected",
            Setting::RequiresApproval(true) => "environment.approval_required",
            Setting::RequiresApproval(false) => "environment.approval_not_required",
        }
    }
}

/// Sets an environment's `setting`.
pub async fn set(
    core: &Core,
    who: &Principal,
    name: &str,
    setting: Setting,
) -> Result<Environment, ApiError> {
    let _guard = core.begin_write().await?;
    let store = core.store();
    let change = who.change(setting.action(), Some(name));
    match setting {
        Setting::Protected(on) => store.set_environment_protected(name, on, change).await?,
        Setting::RequiresApproval(on) => {
            store
                .set_environment_requires_approval(name, on, change)
                .await?
        }
    };
    found(&core.reload().await?, name)
}

/// Turns impact-preview sampling on or off in an environment (`mode` `full` or
/// `minimal`, `size` within `MAX_SAMPLE_SIZE`), and starts, changes or stops this
/// replica's sample at once (the others at their next settings reload).
pub async fn set_sampling(
    core: &Core,
    name: &str,
    mut setting: SamplingSetting,
) -> Result<SamplingSetting, ApiError> {
    let _guard = core.begin_write().await?;
    core.published().snapshot(name)?;
    crate::sample::check_setting(&setting)?;
    setting.environment = name.to_string();
    core.note(core.store().put_sampling_setting(&setting).await)?;
    let published = core.published();
    crate::sample::reload_settings(core.samplers(), core.store(), &published).await?;
    Ok(setting)
}

/// Deletes an environment: refused (409) for the seed API's environment, while live
/// tokens are bound to it, and while flags are configured there unless
/// `drop_configuration` (then their configuration there goes too, if what is left is
/// valid).
pub async fn delete(
    core: &Core,
    who: &Principal,
    name: &str,
    drop_configuration: bool,
) -> Result<(), ApiError> {
    let _guard = core.begin_write().await?;
    let published = core.published();
    published.snapshot(name)?;
    if name == core.config().seed_environment {
        return Err(ApiError::Conflict(format!(
            "the seed API serves {name} (--seed-environment); serve another one before deleting it"
        )));
    }
    let bound: Vec<String> = core
        .store()
        .load_auth()
        .await?
        .tokens
        .into_iter()
        .filter(|t| t.revoked_at.is_none() && t.environment.as_deref() == Some(name))
        .map(|t| t.id)
        .collect();
    if !bound.is_empty() {
        return Err(ApiError::Conflict(format!(
            "tokens are bound to {name}: {}; revoke them first",
            bound.join(", ")
        )));
    }
    let configured = configured_in(&published, name);
    if !configured.is_empty() && !drop_configuration {
        let keys: Vec<&str> = configured
            .iter()
            .map(|(k, _)| k.as_str())
            .take(20)
            .collect();
        return Err(ApiError::Conflict(format!(
            "{} flag(s) are configured in {name} ({}); delete with drop_configuration=true to delete their configuration there too",
            configured.len(),
            keys.join(", ")
        )));
    }
    let mut doc = published.document();
    for (key, flag) in &configured {
        doc.flags.insert(key.clone(), flag.clone());
    }
    flagpole_core::validate(&doc)?;
    core.store()
        .delete_environment(
            name,
            &configured,
            who.change("environment.deleted", Some(name)),
        )
        .await?;
    core.reload().await?;
    Ok(())
}

/// The flags configured in `name`, each without its configuration there.
fn configured_in(published: &Published, name: &str) -> Vec<(String, Flag)> {
    published
        .flags
        .values()
        .map(|r| (r.key.clone(), r.flag()))
        .filter(|(_, flag)| flag.environments.contains_key(name))
        .map(|(key, mut flag)| {
            flag.environments.shift_remove(name);
            (key, flag)
        })
        .collect()
}

/// The environment `name` as published.
fn found(published: &Arc<Published>, name: &str) -> Result<Environment, ApiError> {
    published
        .environments
        .iter()
        .find(|e| e.name == name)
        .cloned()
        .ok_or_else(|| ApiError::NotFound {
            kind: "environment",
            name: name.to_string(),
        })
}

/// Creates [`DEFAULT_ENVIRONMENTS`] in a store that has no environment yet (at first
/// start, before the server's state exists).
pub async fn ensure_default_environments(store: &dyn Store) -> Result<(), ApiError> {
    // Each flag is read and dropped: only the environments are wanted.
    if !store
        .load_each(&mut |_| Ok(()))
        .await?
        .environments
        .is_empty()
    {
        return Ok(());
    }
    for name in DEFAULT_ENVIRONMENTS {
        let change = Change {
            address: None,
            actor: "flagpole",
            action: "environment.created",
            environment: Some(name),
        };
        store.create_environment(name, change).await?;
    }
    let change = Change {
        address: None,
        actor: "flagpole",
        action: "environment.protected",
        environment: Some("production"),
    };
    store
        .set_environment_protected("production", true, change)
        .await?;
    tracing::info!("created the environments development and production (protected)");
    Ok(())
}
