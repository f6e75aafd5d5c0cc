//! `flagpole schedule list|show|create|cancel`: scheduled flag changes on a running
//! server (`/api/v1/schedules`).

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::client::{Client, ServerArgs};
use crate::flag::{encode, query};
use crate::proposal::{self, text, Change};

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[command(subcommand)]
    command: ScheduleCommand,
}

#[derive(Debug, Subcommand)]
enum ScheduleCommand {
    /// List schedules by due time: id, status, due, flag or segment, environments, author.
    List {
        /// pending, running, applied, failed or cancelled.
        #[arg(long)]
        status: Option<String>,
        /// Only the schedules of this flag.
        #[arg(long)]
        flag: Option<String>,
    },
    /// Show a schedule and what it changes in the flag as it is now.
    Show { id: i64 },
    /// Schedule a change to a flag.
    Create {
        key: String,
        /// When to apply it (RFC 3339, e.g. 2026-12-01T09:00:00Z).
        #[arg(long)]
        at: String,
        /// The environment of --enable, --disable or --rollout.
        #[arg(long)]
        environment: Option<String>,
        #[command(flatten)]
        change: Change,
    },
    /// Cancel a pending schedule.
    Cancel { id: i64 },
}

pub fn run(args: ScheduleArgs) -> Result<()> {
    let client = args.server.client();
    match args.command {
        ScheduleCommand::List { status, flag } => {
            let query = query(&[("status", status), ("flag", flag)]);
            let path = format!("/api/v1/schedules?{query}");
            let answer = client.send("GET", &path, None)?;
            proposal::table(
                &["ID", "STATUS", "DUE", "TARGET", "ENVIRONMENTS", "BY"],
                &answer["schedules"],
                |s| {
                    vec![
                        s["id"].to_string(),
                        text(&s["status"]),
                        text(&s["due_at"]),
                        format!("{} {}", text(&s["kind"]), text(&s["target"])),
                        proposal::list(&s["environments"]),
                        text(&s["created_by"]),
                    ]
                },
            )?;
        }
        ScheduleCommand::Show { id } => {
            let s = client.send("GET", &format!("/api/v1/schedules/{id}"), None)?;
            show(&client, &s)?;
        }
        ScheduleCommand::Create {
            key,
            at,
            environment,
            change,
        } => {
            let mut body = change.body(environment.as_deref())?;
            body.insert("due_at".into(), json!(at));
            let path = format!("/api/v1/flags/{}/schedules", encode(&key));
            let s = client.send("POST", &path, Some(&Value::Object(body)))?;
            crate::output::say!(
                "schedule {} changes {key} at {} ({})",
                s["id"],
                text(&s["due_at"]),
                proposal::list(&s["environments"])
            );
        }
        ScheduleCommand::Cancel { id } => {
            let s = client.send("DELETE", &format!("/api/v1/schedules/{id}"), None)?;
            crate::output::say!("schedule {id} is {}", text(&s["status"]));
        }
    }
    Ok(())
}

fn show(client: &Client, s: &Value) -> Result<()> {
    let (kind, target) = (text(&s["kind"]), text(&s["target"]));
    crate::output::say!("schedule {}: {kind} {target}", s["id"]);
    crate::output::say!("status:       {}", text(&s["status"]));
    if !s["reason"].is_null() {
        crate::output::say!("reason:       {}", text(&s["reason"]));
    }
    crate::output::say!("due:          {}", text(&s["due_at"]));
    crate::output::say!("environments: {}", proposal::list(&s["environments"]));
    crate::output::say!("based on:     version {}", s["based_on"]);
    crate::output::say!("created by:   {}", text(&s["created_by"]));
    if let Some(cr) = s["change_request"].as_i64() {
        crate::output::say!("from:         change request {cr}");
    }
    let current = match kind.as_str() {
        "segment" => client.send(
            "GET",
            &format!("/api/v1/segments/{}", encode(&target)),
            None,
        ),
        _ => client.send("GET", &format!("/api/v1/flags/{}", encode(&target)), None),
    }?;
    crate::output::say!("changes against version {}:", current["version"]);
    proposal::print_changes(&proposal::changes(&current, &s["body"]))
}
