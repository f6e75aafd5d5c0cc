//! `flagpole flag list|get|set|enable|disable`: flag administration against a running
//! server.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use flagpole_core::Flag;
use serde_json::{json, Value};

use crate::client::Client;

#[derive(Debug, Args)]
pub struct FlagArgs {
    /// The server, e.g. http://127.0.0.1:4242.
    #[arg(
        long,
        env = "FLAGPOLE_SERVER",
        default_value = "http://127.0.0.1:4242",
        global = true
    )]
    server: String,
    /// The admin token to call the server with.
    #[arg(long, env = "FLAGPOLE_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    #[command(subcommand)]
    command: FlagCommand,
}

#[derive(Debug, Subcommand)]
enum FlagCommand {
    /// List flags, one per line: key, type, and on/off per environment.
    List {
        /// Only flags whose key, description or tags contain this.
        #[arg(long)]
        search: Option<String>,
        /// Only flags with this tag.
        #[arg(long)]
        tag: Option<String>,
    },
    /// Print a flag as JSON.
    Get { key: String },
    /// Create or replace a flag from a native flag file (JSON or YAML: the flag's fields).
    Set {
        key: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Turn a flag on in an environment.
    Enable {
        key: String,
        #[arg(long, default_value = "production")]
        environment: String,
    },
    /// Turn a flag off in an environment (the kill switch).
    Disable {
        key: String,
        #[arg(long, default_value = "production")]
        environment: String,
    },
}

pub fn run(args: FlagArgs) -> Result<()> {
    let client = Client::new(&args.server, args.token.as_deref());
    match args.command {
        FlagCommand::List { search, tag } => {
            let mut query = Vec::new();
            if let Some(s) = search {
                query.push(format!("q={}", encode(&s)));
            }
            if let Some(t) = tag {
                query.push(format!("tag={}", encode(&t)));
            }
            let answer = client.send("GET", &format!("/api/v1/flags?{}", query.join("&")), None)?;
            for f in answer["flags"].as_array().into_iter().flatten() {
                let envs: Vec<String> = f["environments"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, e)| {
                        format!(
                            "{name}={}",
                            if e["enabled"] == json!(true) {
                                "on"
                            } else {
                                "off"
                            }
                        )
                    })
                    .collect();
                crate::say!(
                    "{}\t{}\tv{}\t{}",
                    f["key"].as_str().unwrap_or(""),
                    f["type"].as_str().unwrap_or(""),
                    f["version"],
                    envs.join(" ")
                );
            }
        }
        FlagCommand::Get { key } => {
            let answer = client.send("GET", &format!("/api/v1/flags/{}", encode(&key)), None)?;
            crate::say!("{}", serde_json::to_string_pretty(&answer)?);
        }
        FlagCommand::Set { key, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let flag: Flag = flagpole_core::parse_yaml(&text)
                .with_context(|| format!("{} is not a valid flag", file.display()))?;
            let mut body = serde_json::to_value(&flag)?;
            let path = format!("/api/v1/flags/{}", encode(&key));
            let answer = match client.send("GET", &path, None) {
                Ok(current) => {
                    body["version"] = current["version"].clone();
                    client.send("PUT", &path, Some(&body))?
                }
                Err(_) => {
                    body["key"] = json!(key);
                    client.send("POST", "/api/v1/flags", Some(&body))?
                }
            };
            crate::say!("{} is at version {}", key, answer["version"]);
        }
        FlagCommand::Enable { key, environment } => toggle(&client, &key, &environment, "enable")?,
        FlagCommand::Disable { key, environment } => {
            toggle(&client, &key, &environment, "disable")?
        }
    }
    Ok(())
}

fn toggle(client: &Client, key: &str, environment: &str, action: &str) -> Result<()> {
    let path = format!(
        "/api/v1/flags/{}/environments/{}/{action}",
        encode(key),
        encode(environment)
    );
    let answer: Value = client.send("POST", &path, None)?;
    crate::say!(
        "{key} {action}d in {environment} (version {})",
        answer["version"]
    );
    Ok(())
}

/// Percent-encodes a path segment or query value.
pub(crate) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
