//! `flagpole token create|list|revoke` and `flagpole user create|passwd|list`: against the
//! database directly (offline, e.g. to get back in) or through a server (`--server`,
//! with an admin `--token`). Secrets are printed once, on standard output, and stored
//! only hashed.

use std::io::BufRead;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use flagpole_server::identity::issue::{self, NewToken, NewUser};
use flagpole_server::identity::Principal;
use flagpole_store::{AuthState, Store};
use serde_json::{json, Value};

use crate::transfer::{runtime, Target};

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print its secret (the only time it is shown).
    Create {
        /// What the token is for, e.g. "checkout-service".
        #[arg(long)]
        name: String,
        /// client (server SDKs), frontend (browser SDKs) or admin.
        #[arg(long)]
        kind: String,
        /// The environment a client or frontend token is bound to.
        #[arg(long)]
        environment: Option<String>,
        /// The role of an admin token: viewer, editor or admin.
        #[arg(long)]
        role: Option<String>,
        /// A browser origin a frontend token may be used from (repeatable).
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// A protected environment an editor token may change (repeatable).
        #[arg(long = "grant")]
        grants: Vec<String>,
        /// The token expires after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// Use this text as the token (an existing Unleash token, to move SDKs unchanged:
        /// `alpha:production.…` is project alpha in production, `*:…` or `[]:…` every
        /// project).
        #[arg(long)]
        secret: Option<String>,
        /// A project the token reaches (repeatable; `*` for every one, the default).
        #[arg(long = "project")]
        projects: Vec<String>,
        /// An admin token of a service account, rather than your own.
        #[arg(long)]
        service_account: bool,
    },
    /// List tokens: id, name, kind, scope, state, last use.
    List,
    /// Revoke a token by its id.
    Revoke { id: String },
}

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input with --password-stdin,
    /// else generated and printed once.
    Create {
        name: String,
        /// viewer, editor or admin (server-wide), or member (only the projects the user
        /// is made a member of).
        #[arg(long, default_value = "viewer")]
        role: String,
        /// A protected environment the user may change (repeatable).
        #[arg(long = "grant")]
        grants: Vec<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (ending their sessions), as `create` reads or makes one.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users: name, role, grants.
    List,
}

pub fn token(args: TokenArgs) -> Result<()> {
    match args.command {
        TokenCommand::Create {
            name,
            kind,
            environment,
            role,
            origins,
            grants,
            expires_in_days,
            secret,
            projects,
            service_account,
        } => {
            let new = NewToken {
                name,
                kind,
                environment,
                role,
                origins,
                grants,
                expires_at: expires_in_days
                    .map(|d| chrono::Utc::now() + chrono::TimeDelta::days(i64::from(d))),
                secret,
                projects: (!projects.is_empty()).then_some(projects),
                service_account,
            };
            let created = match args.target.client() {
                Some(client) => {
                    client.send("POST", "/api/v1/tokens", Some(&json!(new_token_json(&new))))?
                }
                None => offline(&args.target, |store| async move {
                    let environments = environments(&*store).await?;
                    let (record, text) = issue::token(&new, "cli (offline)", |e| {
                        environments.iter().any(|n| n == e)
                    })
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                    store
                        .create_token(&record, Principal::local().change("token.created", None))
                        .await?;
                    let mut v = json!(record);
                    v["secret"] = json!(text);
                    Ok(v)
                })?,
            };
            eprintln!(
                "created token {} ({}); its secret, shown only now:",
                created["id"].as_str().unwrap_or(""),
                created["kind"].as_str().unwrap_or("")
            );
            crate::output::say!("{}", created["secret"].as_str().unwrap_or(""));
        }
        TokenCommand::List => {
            let tokens = listed(&args.target, "tokens", |auth| json!(auth.tokens))?;
            for t in tokens.as_array().into_iter().flatten() {
                let scope = t["environment"]
                    .as_str()
                    .or(t["role"].as_str())
                    .unwrap_or("");
                let state = if !t["revoked_at"].is_null() {
                    "revoked"
                } else {
                    "active"
                };
                let used = t["last_used_at"].as_str().unwrap_or("never used");
                crate::output::say!(
                    "{}\t{}\t{}\t{scope}\t{state}\t{used}",
                    t["id"].as_str().unwrap_or(""),
                    t["name"].as_str().unwrap_or(""),
                    t["kind"].as_str().unwrap_or("")
                );
            }
        }
        TokenCommand::Revoke { id } => {
            match args.target.client() {
                Some(client) => {
                    client.send("DELETE", &format!("/api/v1/tokens/{id}"), None)?;
                }
                None => {
                    let id2 = id.clone();
                    offline(&args.target, |store| async move {
                        let change = Principal::local();
                        store
                            .revoke_token(
                                &id2,
                                chrono::Utc::now(),
                                change.change("token.revoked", None),
                            )
                            .await?;
                        Ok(Value::Null)
                    })?;
                }
            }
            crate::output::say!("revoked {id}");
        }
    }
    Ok(())
}

fn new_token_json(new: &NewToken) -> Value {
    json!({
        "name": new.name,
        "kind": new.kind,
        "environment": new.environment,
        "role": new.role,
        "origins": new.origins,
        "grants": new.grants,
        "expires_at": new.expires_at,
        "secret": new.secret,
        "projects": new.projects,
        "service_account": new.service_account,
    })
}

pub fn user(args: UserArgs) -> Result<()> {
    match args.command {
        UserCommand::Create {
            name,
            role,
            grants,
            password_stdin,
        } => {
            let (password, generated) = password(password_stdin)?;
            let shown = password.clone();
            let new = NewUser {
                name: name.clone(),
                password,
                role,
                grants,
            };
            match args.target.client() {
                Some(client) => {
                    let body = json!({"name": new.name, "password": new.password, "role": new.role, "grants": new.grants});
                    client.send("POST", "/api/v1/users", Some(&body))?;
                }
                None => {
                    offline(&args.target, |store| async move {
                        let environments = environments(&*store).await?;
                        let record = issue::user(&new, |e| environments.iter().any(|n| n == e))
                            .map_err(|e| anyhow::anyhow!("{e}"))?;
                        store
                            .create_user(&record, Principal::local().change("user.created", None))
                            .await?;
                        Ok(Value::Null)
                    })?;
                }
            }
            report_password(&name, generated.then_some(shown))?;
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let (password, generated) = password(password_stdin)?;
            let shown = password.clone();
            match args.target.client() {
                Some(client) => {
                    let body = json!({"password": password});
                    client.send("PATCH", &format!("/api/v1/users/{name}"), Some(&body))?;
                }
                None => {
                    let name2 = name.clone();
                    offline(&args.target, |store| async move {
                        if let Some(problem) = issue::password_problem(&password) {
                            bail!("{problem}");
                        }
                        let auth = store.load_auth().await?;
                        let Some(mut user) = auth.users.into_iter().find(|u| u.name == name2)
                        else {
                            bail!("there is no user {name2:?}");
                        };
                        user.password_hash =
                            flagpole_server::identity::secret::hash_password(&password);
                        user.updated_at = chrono::Utc::now();
                        let who = Principal::local();
                        store
                            .update_user(
                                &user,
                                Some(None),
                                who.change("user.password_changed", None),
                            )
                            .await?;
                        Ok(Value::Null)
                    })?;
                }
            }
            report_password(&name, generated.then_some(shown))?;
        }
        UserCommand::List => {
            let users = listed(&args.target, "users", |auth| json!(auth.users))?;
            for u in users.as_array().into_iter().flatten() {
                let grants: Vec<&str> = u["grants"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                crate::output::say!(
                    "{}\t{}\t{}",
                    u["name"].as_str().unwrap_or(""),
                    u["role"].as_str().unwrap_or(""),
                    grants.join(",")
                );
            }
        }
    }
    Ok(())
}

/// The password from standard input's first line, or a generated one (`true`).
fn password(from_stdin: bool) -> Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            bail!("standard input held no password");
        }
        return Ok((line, false));
    }
    Ok((flagpole_server::identity::secret::random_hex(12), true))
}

fn report_password(name: &str, generated: Option<String>) -> Result<()> {
    if let Some(password) = generated {
        eprintln!("the password of {name}, shown only now:");
        crate::output::say!("{password}");
    } else {
        eprintln!("set the password of {name}");
    }
    Ok(())
}

async fn environments(store: &dyn Store) -> Result<Vec<String>> {
    Ok(store
        .load()
        .await?
        .environments
        .into_iter()
        .map(|e| e.name)
        .collect())
}

/// The tokens or users (`which`, as the API names them): from the server when one is
/// named, else from the database (`pick` takes them from its access state).
fn listed(target: &Target, which: &str, pick: fn(AuthState) -> Value) -> Result<Value> {
    match target.client() {
        Some(client) => Ok(client.send("GET", &format!("/api/v1/{which}"), None)?[which].clone()),
        None => offline(
            target,
            |store| async move { Ok(pick(store.load_auth().await?)) },
        ),
    }
}

/// Runs `work` on the database named by `--database`.
fn offline<F, Fut>(target: &Target, work: F) -> Result<Value>
where
    F: FnOnce(std::sync::Arc<dyn Store>) -> Fut,
    Fut: std::future::Future<Output = Result<Value>>,
{
    let database = target.database().to_string();
    runtime()?.block_on(async move {
        let store = flagpole_store::open(&database)
            .await
            .with_context(|| format!("cannot open the database {database}"))?;
        flagpole_server::ensure_default_environments(&*store).await?;
        work(store).await
    })
}
