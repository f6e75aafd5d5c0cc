//! `flagpole change-request list|show|create|comment|approve|reject|rebase`: proposed flag
//! changes that another user approves (`/api/v1/change-requests`).

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::client::ServerArgs;
use crate::flag::query;
use crate::proposal::{self, text, Change};

#[derive(Debug, Args)]
pub struct ChangeRequestArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[command(subcommand)]
    command: RequestCommand,
}

#[derive(Debug, Subcommand)]
enum RequestCommand {
    /// List change requests, newest first: id, status, flag, environments, author.
    List {
        /// open, applied, scheduled or rejected.
        #[arg(long)]
        status: Option<String>,
    },
    /// Show a change request: its diff against the current flag, whether it is stale,
    /// whether you may approve it, and its comments.
    Show { id: i64 },
    /// Propose a change to a flag.
    Create {
        key: String,
        /// The environment of --enable, --disable or --rollout.
        #[arg(long)]
        environment: Option<String>,
        #[command(flatten)]
        change: Change,
        /// Why.
        #[arg(long)]
        description: Option<String>,
    },
    /// Comment on a change request.
    Comment { id: i64, text: String },
    /// Approve a change request (another user than its author): applies it now, or at
    /// --at.
    Approve {
        id: i64,
        /// Apply it at this time (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Reject a change request (its author may withdraw it so).
    Reject { id: i64 },
    /// Carry a stale change request over to the flag's current version.
    Rebase { id: i64 },
}

pub fn run(args: ChangeRequestArgs) -> Result<()> {
    let client = args.server.client();
    let base = "/api/v1/change-requests";
    match args.command {
        RequestCommand::List { status } => {
            let query = query(&[("status", status)]);
            let answer = client.send("GET", &format!("{base}?{query}"), None)?;
            proposal::table(
                &[
                    "ID",
                    "STATUS",
                    "FLAG",
                    "ENVIRONMENTS",
                    "AUTHOR",
                    "DESCRIPTION",
                ],
                &answer["change_requests"],
                |r| {
                    vec![
                        r["id"].to_string(),
                        text(&r["status"]),
                        text(&r["target"]),
                        proposal::list(&r["environments"]),
                        text(&r["author"]),
                        text(&r["description"]),
                    ]
                },
            )?;
        }
        RequestCommand::Show { id } => show(&client.send("GET", &format!("{base}/{id}"), None)?)?,
        RequestCommand::Create {
            key,
            environment,
            change,
            description,
        } => {
            let mut body = change.body(environment.as_deref())?;
            body.insert("key".into(), json!(key));
            if let Some(d) = description {
                body.insert("description".into(), json!(d));
            }
            let r = client.send("POST", base, Some(&Value::Object(body)))?;
            crate::output::say!(
                "change request {} proposes a change to {key} ({}); another user approves it",
                r["id"],
                proposal::list(&r["environments"])
            );
        }
        RequestCommand::Comment { id, text: comment } => {
            let body = json!({ "text": comment });
            client.send("POST", &format!("{base}/{id}/comments"), Some(&body))?;
            crate::output::say!("commented on change request {id}");
        }
        RequestCommand::Approve { id, at } => {
            let body = at.map(|at| json!({ "apply_at": at }));
            let r = client.send("POST", &format!("{base}/{id}/approve"), body.as_ref())?;
            match r["schedule_id"].as_i64() {
                Some(s) => {
                    crate::output::say!("change request {id} is approved: schedule {s} applies it")
                }
                None => crate::output::say!("change request {id} is {}", text(&r["status"])),
            }
        }
        RequestCommand::Reject { id } => {
            let r = client.send("POST", &format!("{base}/{id}/reject"), None)?;
            crate::output::say!("change request {id} is {}", text(&r["status"]));
        }
        RequestCommand::Rebase { id } => {
            let r = client.send("POST", &format!("{base}/{id}/rebase"), None)?;
            crate::output::say!("change request {id} is based on version {}", r["based_on"]);
        }
    }
    Ok(())
}

fn show(r: &Value) -> Result<()> {
    crate::output::say!("change request {}: flag {}", r["id"], text(&r["target"]));
    crate::output::say!("status:       {}", text(&r["status"]));
    if !text(&r["description"]).is_empty() {
        crate::output::say!("description:  {}", text(&r["description"]));
    }
    crate::output::say!("environments: {}", proposal::list(&r["environments"]));
    crate::output::say!("author:       {}", text(&r["author"]));
    if !r["reviewer"].is_null() {
        crate::output::say!("reviewer:     {}", text(&r["reviewer"]));
    }
    if let Some(s) = r["schedule_id"].as_i64() {
        crate::output::say!("schedule:     {s}");
    }
    let stale = if r["stale"] == json!(true) {
        format!(
            " (stale: the flag is at version {}; rebase it)",
            r["current_version"]
        )
    } else {
        String::new()
    };
    crate::output::say!("based on:     version {}{stale}", r["based_on"]);
    if r["status"] == json!("open") {
        match r["why_not"].as_str() {
            Some(why) if r["may_approve"] != json!(true) => {
                crate::output::say!("you may not approve it: {why}")
            }
            _ => crate::output::say!("you may approve it"),
        }
    }
    crate::output::say!("changes:");
    proposal::print_changes(&r["changes"])?;
    let comments = r["comments"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !comments.is_empty() {
        crate::output::say!("comments:");
    }
    for c in comments {
        crate::output::say!(
            "  {} at {}: {}",
            text(&c["author"]),
            text(&c["at"]),
            text(&c["text"])
        );
    }
    Ok(())
}
