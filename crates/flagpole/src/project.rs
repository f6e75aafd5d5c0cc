//! `flagpole project create|list|show|delete|members|member-set|member-remove|protect|
//! require-approval`: projects, their members, and their protection and approvals per
//! environment; against the database directly (offline) or through a server
//! (`--server`, with the token of a server admin or, for most, of the project's admins).
//! Each command is one API request online and the same write-service call offline; both
//! answer the API's JSON, which one function prints.

use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};
use flagpole_server::identity::{Principal, Role};
use flagpole_server::write::projects::{self, Edit, ProjectInput};
use flagpole_server::AppState;
use flagpole_store::ProjectRecord;
use serde_json::{json, Value};

use crate::flag::encode;
use crate::transfer::{open_state, runtime, Target};

#[derive(Debug, Args)]
pub struct ProjectArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: ProjectCommand,
}

#[derive(Debug, Subcommand)]
enum ProjectCommand {
    /// Create a project (server admins).
    Create(NewProject),
    /// List the projects you reach: key, name, live flags, environments used.
    List,
    /// Print a project as JSON: its fields and its settings per environment.
    Show { key: String },
    /// Delete a project that holds no flag or segment (server admins).
    Delete { key: String },
    /// List a project's members: user and role.
    Members { key: String },
    /// Make a user a member of a project, or change their role in it.
    MemberSet {
        key: String,
        user: String,
        /// viewer, editor or admin (of this project).
        #[arg(long)]
        role: String,
    },
    /// End a user's membership of a project.
    MemberRemove { key: String, user: String },
    /// Protect an environment for a project's flags: only the project's admins, and
    /// those granted the environment, change them there.
    Protect(Setting),
    /// Make changes to a project's flags in an environment go through change requests.
    RequireApproval(Setting),
}

/// A project to create.
#[derive(Debug, Args)]
struct NewProject {
    /// ASCII letters, digits, '.', '_' and '-'; it cannot be changed later.
    key: String,
    /// Shown in the UI (the key when absent).
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    description: Option<String>,
    /// An environment the project uses (repeatable; none: every environment).
    #[arg(long = "environment")]
    environments: Vec<String>,
}

impl NewProject {
    fn input(&self) -> ProjectInput {
        ProjectInput {
            name: self.name.clone(),
            description: self.description.clone(),
            environments: (!self.environments.is_empty()).then(|| self.environments.clone()),
        }
    }
}

/// One of a project's settings in one environment.
#[derive(Debug, Args)]
struct Setting {
    key: String,
    environment: String,
    /// Turn the setting off instead.
    #[arg(long)]
    off: bool,
}

pub fn run(args: ProjectArgs) -> Result<()> {
    let answer = match args.target.client() {
        Some(client) => {
            let (method, path, body) = request(&args.command);
            client.send(method, &path, body.as_ref())?
        }
        None => offline(&args.target, &args.command)?,
    };
    report(&args.command, &answer)
}

/// The API request of a command: method, path, body.
fn request(command: &ProjectCommand) -> (&'static str, String, Option<Value>) {
    let at = |key: &str| format!("/api/v1/projects/{}", encode(key));
    let member = |key: &str, user: &str| format!("{}/members/{}", at(key), encode(user));
    let setting = |s: &Setting, field: &str| {
        let path = format!("{}/environments/{}", at(&s.key), encode(&s.environment));
        ("PUT", path, Some(json!({ field: !s.off })))
    };
    match command {
        ProjectCommand::Create(new) => {
            let input = new.input();
            let body = json!({"key": new.key, "name": input.name, "description": input.description,
                "environments": input.environments});
            ("POST", "/api/v1/projects".into(), Some(body))
        }
        ProjectCommand::List => ("GET", "/api/v1/projects".into(), None),
        ProjectCommand::Show { key } => ("GET", at(key), None),
        ProjectCommand::Delete { key } => ("DELETE", at(key), None),
        ProjectCommand::Members { key } => ("GET", format!("{}/members", at(key)), None),
        ProjectCommand::MemberSet { key, user, role } => {
            ("PUT", member(key, user), Some(json!({ "role": role })))
        }
        ProjectCommand::MemberRemove { key, user } => ("DELETE", member(key, user), None),
        ProjectCommand::Protect(s) => setting(s, "protected"),
        ProjectCommand::RequireApproval(s) => setting(s, "requires_approval"),
    }
}

/// Runs a command on the database named by `--database`, as the write service does for
/// the API; answers what the API would.
fn offline(target: &Target, command: &ProjectCommand) -> Result<Value> {
    let database = target.database().to_string();
    runtime()?.block_on(async move {
        let state = open_state(&database).await?;
        let who = Principal::local();
        let answer = match command {
            ProjectCommand::Create(new) => {
                let created = projects::create(&state, &who, &new.key, &new.input()).await?;
                view(&state, created)
            }
            ProjectCommand::List => {
                let all = state
                    .published()
                    .projects
                    .values()
                    .cloned()
                    .collect::<Vec<_>>();
                let views: Vec<Value> = all.into_iter().map(|p| view(&state, p)).collect();
                json!({ "projects": views })
            }
            ProjectCommand::Show { key } => view(&state, projects::found(&state.published(), key)?),
            ProjectCommand::Delete { key } => {
                projects::delete(&state, &who, key).await?;
                Value::Null
            }
            ProjectCommand::Members { key } => {
                projects::found(&state.published(), key)?;
                let directory = state.directory();
                let members: Vec<Value> = (directory.members(key))
                    .map(|(user, role)| json!({"user": user, "role": role.as_str()}))
                    .collect();
                json!({ "members": members })
            }
            ProjectCommand::MemberSet { key, user, role } => {
                let role = Role::parse(role).ok_or_else(|| {
                    anyhow!("the role must be viewer, editor or admin, not {role:?}")
                })?;
                projects::set_member(&state, &who, key, user, Some(role)).await?;
                Value::Null
            }
            ProjectCommand::MemberRemove { key, user } => {
                projects::set_member(&state, &who, key, user, None).await?;
                Value::Null
            }
            ProjectCommand::Protect(s) | ProjectCommand::RequireApproval(s) => {
                let on = Some(!s.off);
                let protect = matches!(command, ProjectCommand::Protect(_));
                let edit = Edit::Environment {
                    environment: &s.environment,
                    protected: on.filter(|_| protect),
                    requires_approval: on.filter(|_| !protect),
                };
                view(&state, projects::update(&state, &who, &s.key, edit).await?)
            }
        };
        Ok(answer)
    })
}

/// A project as the API shows it: its record and how many live flags it holds.
fn view(state: &AppState, project: ProjectRecord) -> Value {
    let flags = state.published().project_size(&project.key);
    let mut v = json!(project);
    v["flags"] = json!(flags);
    v
}

/// Prints what a command did, from the API's answer.
fn report(command: &ProjectCommand, answer: &Value) -> Result<()> {
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    match command {
        ProjectCommand::Create(new) => crate::output::say!("created project {}", new.key),
        ProjectCommand::List => {
            for p in answer["projects"].as_array().into_iter().flatten() {
                crate::output::say!(
                    "{}\t{}\t{} flags\t{}",
                    text(&p["key"]),
                    text(&p["name"]),
                    p["flags"],
                    environments(&p["environments"])
                );
            }
        }
        ProjectCommand::Show { .. } => {
            crate::output::say!("{}", serde_json::to_string_pretty(answer)?)
        }
        ProjectCommand::Delete { key } => crate::output::say!("deleted project {key}"),
        ProjectCommand::Members { .. } => {
            let mut members: Vec<(String, String)> = (answer["members"].as_array())
                .into_iter()
                .flatten()
                .map(|m| (text(&m["user"]), text(&m["role"])))
                .collect();
            members.sort();
            for (user, role) in members {
                crate::output::say!("{user}\t{role}");
            }
        }
        ProjectCommand::MemberSet { key, user, role } => {
            crate::output::say!("{user} is {role} in {key}")
        }
        ProjectCommand::MemberRemove { key, user } => {
            crate::output::say!("{user} is no longer a member of {key}")
        }
        ProjectCommand::Protect(s) => crate::output::say!(
            "{} is {}protected for project {}",
            s.environment,
            if s.off { "not " } else { "" },
            s.key
        ),
        ProjectCommand::RequireApproval(s) => crate::output::say!(
            "changes to project {}'s flags in {} {}",
            s.key,
            s.environment,
            if s.off {
                "apply directly"
            } else {
                "need an approved change request"
            }
        ),
    }
    Ok(())
}

/// The environments a project uses, as `list` shows them.
fn environments(list: &Value) -> String {
    match list.as_array() {
        None => "every environment".into(),
        Some(envs) => (envs.iter())
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
    }
}
