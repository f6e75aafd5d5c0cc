//! `flagpole flag list|get|set|enable|disable`: flag administration against a running
//! server (`--project` lists one project's flags, or creates or moves a flag there).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use flagpole_core::Flag;
use serde_json::{json, Value};

use crate::client::{Client, ServerArgs};

#[derive(Debug, Args)]
pub struct FlagArgs {
    #[command(flatten)]
    server: ServerArgs,
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
        /// Only this project's flags.
        #[arg(long)]
        project: Option<String>,
    },
    /// Print a flag as JSON.
    Get { key: String },
    /// Create or replace a flag from a native flag file (JSON or YAML: the flag's fields).
    Set {
        key: String,
        #[arg(long)]
        file: PathBuf,
        /// The project of a new flag, or the one to move the flag to (the file's, else
        /// the flag's own, when absent).
        #[arg(long)]
        project: Option<String>,
        /// Write nothing; print how the sampled contexts of each environment the change
        /// touches would change (impact preview; sampling must be on there).
        #[arg(long)]
        preview: bool,
    },
    /// Turn a flag on in an environment.
    Enable {
        key: String,
        #[arg(long, default_value = "production")]
        environment: String,
        /// Write nothing; print the impact preview instead.
        #[arg(long)]
        preview: bool,
    },
    /// Turn a flag off in an environment (the kill switch).
    Disable {
        key: String,
        #[arg(long, default_value = "production")]
        environment: String,
        /// Write nothing; print the impact preview instead.
        #[arg(long)]
        preview: bool,
    },
}

pub fn run(args: FlagArgs) -> Result<()> {
    let client = args.server.client();
    match args.command {
        FlagCommand::List {
            search,
            tag,
            project,
        } => {
            let query = query(&[("q", search), ("tag", tag), ("project", project)]);
            let answer = client.send("GET", &format!("/api/v1/flags?{query}"), None)?;
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
                crate::output::say!(
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
            crate::output::say!("{}", serde_json::to_string_pretty(&answer)?);
        }
        FlagCommand::Set {
            key,
            file,
            project,
            preview,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let flag: Flag = flagpole_core::parse_yaml(&text)
                .with_context(|| format!("{} is not a valid flag", file.display()))?;
            let mut body = serde_json::to_value(&flag)?;
            if let Some(project) = project {
                body["project"] = json!(project);
            }
            let path = format!("/api/v1/flags/{}", encode(&key));
            let query = if preview { "?preview=true" } else { "" };
            let answer = match client.send("GET", &path, None) {
                Ok(current) => {
                    body["version"] = current["version"].clone();
                    // A file naming no project replaces the flag where it is.
                    if let (Some(fields), Some(own)) =
                        (body.as_object_mut(), current.get("project"))
                    {
                        fields.entry("project").or_insert_with(|| own.clone());
                    }
                    client.send("PUT", &format!("{path}{query}"), Some(&body))?
                }
                Err(_) => {
                    body["key"] = json!(key);
                    client.send("POST", &format!("/api/v1/flags{query}"), Some(&body))?
                }
            };
            if preview {
                print_preview(&answer)?;
            } else {
                crate::output::say!("{} is at version {}", key, answer["version"]);
            }
        }
        FlagCommand::Enable {
            key,
            environment,
            preview,
        } => toggle(&client, &key, &environment, "enable", preview)?,
        FlagCommand::Disable {
            key,
            environment,
            preview,
        } => toggle(&client, &key, &environment, "disable", preview)?,
    }
    Ok(())
}

fn toggle(
    client: &Client,
    key: &str,
    environment: &str,
    action: &str,
    preview: bool,
) -> Result<()> {
    let path = format!(
        "/api/v1/flags/{}/environments/{}/{action}{}",
        encode(key),
        encode(environment),
        if preview { "?preview=true" } else { "" }
    );
    let answer: Value = client.send("POST", &path, None)?;
    if preview {
        return print_preview(&answer);
    }
    crate::output::say!(
        "{key} {action}d in {environment} (version {})",
        answer["version"]
    );
    Ok(())
}

/// Prints the server's impact preview (`{"preview": [report, ...]}`), one block per
/// environment.
fn print_preview(answer: &Value) -> Result<()> {
    for line in preview_lines(answer) {
        crate::output::say!("{line}");
    }
    Ok(())
}

fn preview_lines(answer: &Value) -> Vec<String> {
    let reports = answer["preview"].as_array().cloned().unwrap_or_default();
    if reports.is_empty() {
        return vec!["preview: the change touches no environment (nothing written)".into()];
    }
    let mut out = Vec::new();
    for r in &reports {
        let env = r["environment"].as_str().unwrap_or("");
        let sampled = r["sampled"].as_u64().unwrap_or(0);
        if sampled == 0 {
            out.push(format!(
                "{env}: no sampled contexts (turn sampling on: PUT /api/v1/environments/{env}/sampling)"
            ));
            continue;
        }
        let changed = r["changed"].as_u64().unwrap_or(0);
        out.push(format!(
            "{env}: {changed} of {sampled} sampled contexts change ({:.1}%): {} off→on, {} on→off",
            changed as f64 * 100.0 / sampled as f64,
            r["off_to_on"],
            r["on_to_off"]
        ));
        for (change, n) in r["variants"].as_object().into_iter().flatten() {
            out.push(format!("  variant {change}: {n}"));
        }
        for e in r["examples"].as_array().into_iter().flatten() {
            let side = |o: &Value| {
                let state = if o["enabled"] == json!(true) {
                    "on"
                } else {
                    "off"
                };
                match o["variant"].as_str() {
                    Some(v) => format!("{state} ({v})"),
                    None => state.to_string(),
                }
            };
            out.push(format!(
                "  e.g. {} : {} → {}",
                e["context"],
                side(&e["before"]),
                side(&e["after"])
            ));
        }
    }
    out.push("(preview only: nothing was written)".into());
    out
}

/// A query string (`a=1&b=2`) of the parameters that have a value, the values encoded.
pub(crate) fn query(params: &[(&str, Option<String>)]) -> String {
    let present = params.iter().filter_map(|(name, value)| {
        let value = value.as_deref()?;
        Some(format!("{name}={}", encode(value)))
    });
    present.collect::<Vec<_>>().join("&")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preview_prints_counts_variants_and_examples() {
        let answer = json!({"preview": [
            {"environment": "production", "flag": "f", "sampled": 200, "seen": 900,
             "changed": 20, "off_to_on": 20, "on_to_off": 0,
             "variants": {"-→on": 20},
             "examples": [{"context": {"userId": "u1"},
                           "before": {"enabled": false, "variant": null},
                           "after": {"enabled": true, "variant": "on"}}]},
            {"environment": "development", "flag": "f", "sampled": 0, "seen": 0,
             "changed": 0, "off_to_on": 0, "on_to_off": 0, "variants": {}, "examples": []}
        ]});
        let lines = preview_lines(&answer);
        assert_eq!(
            lines[0],
            "production: 20 of 200 sampled contexts change (10.0%): 20 off→on, 0 on→off"
        );
        assert_eq!(lines[1], "  variant -→on: 20");
        assert!(lines[2].contains("off → on (on)"), "{}", lines[2]);
        assert!(lines[3].starts_with("development: no sampled contexts"));
        assert_eq!(
            lines.last().map(String::as_str),
            Some("(preview only: nothing was written)")
        );
    }
}
