//! Project changes: creating, updating, setting a project's protection and approvals
//! per environment, deleting an empty one, and its members; and what every flag and
//! segment write checks of its project (that it exists, and uses only the environments
//! the project does). A project change is written with its audit entry, then published
//! by reading the store again (projects change what every write checks).

use std::collections::BTreeMap;

use chrono::Utc;
use flagpole_core::{Flag, Problem, Segment, DEFAULT_PROJECT, GLOBAL_PROJECT};
use flagpole_store::{Expect, ProjectEnvironment, ProjectRecord};
use serde::Deserialize;

use super::protection::check_project;
use crate::core::Core;
use crate::error::ApiError;
use crate::identity::{Principal, Role};
use crate::published::Published;

/// Longest project name and description, in characters.
pub const MAX_PROJECT_NAME: usize = 100;
pub const MAX_PROJECT_DESCRIPTION: usize = 2000;

/// A project's editable fields, as the API and the CLI take them.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectInput {
    /// Shown in the UI; the key when absent.
    pub name: Option<String>,
    pub description: Option<String>,
    /// The environments the project uses; absent or null: all.
    pub environments: Option<Vec<String>>,
}

/// 422 unless the flag's project exists and the flag configures only environments the
/// project uses.
pub fn check_flag_fits(published: &Published, key: &str, flag: &Flag) -> Result<(), ApiError> {
    let project = existing(published, flag.project(), "project")?;
    if let Some(used) = &project.environments {
        if let Some(env) = flag.environments.keys().find(|e| !used.contains(e)) {
            let field = format!("environments.{env}");
            return Err(ApiError::bad_request(
                "unused_environment",
                format!(
                    "{field}: project {:?} does not use environment {env:?} (it uses {}); flag {key:?} cannot be configured there",
                    project.key,
                    used.join(", ")
                ),
                Some(field),
            ));
        }
    }
    Ok(())
}

/// 422 unless the segment's project exists (or it is global).
pub fn check_segment_fits(published: &Published, _name: &str, s: &Segment) -> Result<(), ApiError> {
    match s.project() {
        GLOBAL_PROJECT => Ok(()),
        p => existing(published, p, "project").map(drop),
    }
}

/// 409 while a live flag of `project` is configured in an environment `used` leaves out.
fn check_still_fits(published: &Published, project: &str, used: &[String]) -> Result<(), ApiError> {
    let scope = flagpole_core::Scope::one(project);
    let mut outside = published.scoped_keys(&scope).filter_map(|key| {
        let flag = published.live_flag(key)?;
        let env = flag
            .environments
            .keys()
            .find(|e| !used.contains(e))?
            .clone();
        Some((key, env))
    });
    match outside.next() {
        None => Ok(()),
        Some((key, env)) => Err(ApiError::Conflict(format!(
            "flag {key:?} of project {project:?} is configured in {env:?}; remove that configuration before the project stops using the environment"
        ))),
    }
}

fn existing<'p>(
    published: &'p Published,
    key: &str,
    field: &str,
) -> Result<&'p ProjectRecord, ApiError> {
    published.project(key).ok_or_else(|| {
        ApiError::Invalid(vec![Problem {
            path: field.into(),
            message: format!("there is no project {key:?}; create it first"),
        }])
    })
}

fn check_input(published: &Published, input: &ProjectInput) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    let mut problem = |path: &str, message: String| {
        problems.push(Problem {
            path: path.into(),
            message,
        })
    };
    if let Some(name) = &input.name {
        if name.trim().is_empty() || name.chars().count() > MAX_PROJECT_NAME {
            problem("name", format!("1 to {MAX_PROJECT_NAME} characters"));
        }
    }
    if let Some(d) = &input.description {
        if d.chars().count() > MAX_PROJECT_DESCRIPTION {
            problem(
                "description",
                format!("at most {MAX_PROJECT_DESCRIPTION} characters"),
            );
        }
    }
    for (i, env) in input.environments.iter().flatten().enumerate() {
        if !published.has_environment(env) {
            problem(
                &format!("environments[{i}]"),
                format!("there is no environment {env:?}"),
            );
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(ApiError::Invalid(problems)),
    }
}

fn record(key: &str, input: &ProjectInput) -> ProjectRecord {
    let now = Utc::now();
    ProjectRecord {
        key: key.to_string(),
        name: input.name.clone().unwrap_or_else(|| key.to_string()),
        description: input.description.clone(),
        environments: input.environments.clone(),
        settings: BTreeMap::new(),
        version: 0,
        created_at: now,
        updated_at: now,
    }
}

/// Creates a project (server-wide admins).
pub async fn create(
    core: &Core,
    who: &Principal,
    key: &str,
    input: &ProjectInput,
) -> Result<ProjectRecord, ApiError> {
    check_project(who, GLOBAL_PROJECT, Role::Admin)?;
    super::check::check_new_name("project key", "key", key)?;
    let _guard = core.begin_write().await?;
    let published = core.published();
    check_input(&published, input)?;
    let change = who.change("project.created", None);
    core.note(
        core.store()
            .put_project(&record(key, input), Expect::Absent, change)
            .await,
    )?;
    found(&*core.reload().await?, key)
}

/// Creates the projects an import names that do not exist yet (server-wide admins).
pub(super) async fn create_named(
    core: &Core,
    who: &Principal,
    keys: &[&str],
) -> Result<(), ApiError> {
    if keys.is_empty() {
        return Ok(());
    }
    check_project(who, GLOBAL_PROJECT, Role::Admin)?;
    for key in keys {
        super::check::check_new_name("project key", "project", key)?;
        let change = who.change("project.created", None);
        let input = ProjectInput::default();
        core.note(
            core.store()
                .put_project(&record(key, &input), Expect::Absent, change)
                .await,
        )?;
    }
    core.reload().await?;
    Ok(())
}

/// What to change of a project: its fields, or its settings in one environment.
#[derive(Clone, Debug)]
pub enum Edit<'a> {
    Fields(&'a ProjectInput),
    Environment {
        environment: &'a str,
        protected: Option<bool>,
        requires_approval: Option<bool>,
    },
}

/// Changes a project (its admins).
pub async fn update(
    core: &Core,
    who: &Principal,
    key: &str,
    edit: Edit<'_>,
) -> Result<ProjectRecord, ApiError> {
    check_project(who, key, Role::Admin)?;
    let _guard = core.begin_write().await?;
    let published = core.published();
    let mut project = found(&published, key)?;
    let action = match edit {
        Edit::Fields(input) => {
            check_input(&published, input)?;
            project.name = input.name.clone().unwrap_or(project.name);
            project.description = input.description.clone().or(project.description);
            if let Some(used) = &input.environments {
                check_still_fits(&published, key, used)?;
                project.environments = Some(used.clone());
            }
            "project.updated"
        }
        Edit::Environment {
            environment,
            protected,
            requires_approval,
        } => {
            published.snapshot(environment)?;
            let setting = project.settings.entry(environment.to_string()).or_default();
            setting.protected = protected.unwrap_or(setting.protected);
            setting.requires_approval = requires_approval.unwrap_or(setting.requires_approval);
            if *setting == ProjectEnvironment::default() {
                project.settings.remove(environment);
            }
            "project.environment_updated"
        }
    };
    let expect = Expect::Version(project.version);
    let change = who.change(action, None);
    core.note(core.store().put_project(&project, expect, change).await)?;
    found(&*core.reload().await?, key)
}

/// Deletes an empty project (server-wide admins); `default` and the seed API's project
/// stay.
pub async fn delete(core: &Core, who: &Principal, key: &str) -> Result<(), ApiError> {
    check_project(who, GLOBAL_PROJECT, Role::Admin)?;
    if key == DEFAULT_PROJECT || key == core.config().seed_project {
        return Err(ApiError::Conflict(format!(
            "project {key:?} cannot be deleted: flags without a project, and the seed API, live there"
        )));
    }
    let _guard = core.begin_write().await?;
    let project = found(&core.published(), key)?;
    let change = who.change("project.deleted", None);
    core.note(
        core.store()
            .delete_project(key, Expect::Version(project.version), change)
            .await,
    )?;
    core.reload().await?;
    core.reload_auth().await
}

/// Makes `user` a member of `project` with `role`, or ends the membership (`None`)
/// (the project's admins).
pub async fn set_member(
    core: &Core,
    who: &Principal,
    project: &str,
    user: &str,
    role: Option<Role>,
) -> Result<(), ApiError> {
    check_project(who, project, Role::Admin)?;
    found(&core.published(), project)?;
    let action = match role {
        Some(_) => "member.set",
        None => "member.removed",
    };
    let role = role.map(Role::as_str);
    let change = who.change(action, None);
    core.store().set_member(project, user, role, change).await?;
    core.reload_auth().await
}

/// A project of `published`, or 404.
pub fn found(published: &Published, key: &str) -> Result<ProjectRecord, ApiError> {
    published
        .project(key)
        .cloned()
        .ok_or_else(|| ApiError::NotFound {
            kind: "project",
            name: key.to_string(),
        })
}
