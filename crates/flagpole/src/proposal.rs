//! What `flagpole schedule create` and `flagpole change-request create` propose (a change
//! to one environment, or a whole flag from a file, as the API takes them), and the
//! aligned tables their `list` commands print.

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use flagpole_core::Flag;
use serde_json::{json, Map, Value};

/// The proposed change: exactly one of these.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Change {
    /// Turn the flag on in --environment.
    #[arg(long, requires = "environment")]
    enable: bool,
    /// Turn the flag off in --environment.
    #[arg(long, requires = "environment")]
    disable: bool,
    /// Set the rollout percentage (0 to 100) in --environment.
    #[arg(long, requires = "environment", value_parser = clap::value_parser!(i64).range(0..=100))]
    rollout: Option<i64>,
    /// The whole new flag, from a native flag file (JSON or YAML).
    #[arg(long, conflicts_with = "environment")]
    flag: Option<PathBuf>,
}

impl Change {
    /// The proposal fields of a request body.
    pub fn body(&self, environment: Option<&str>) -> Result<Map<String, Value>> {
        let mut body = Map::new();
        if let Some(file) = &self.flag {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let flag: Flag = flagpole_core::parse_yaml(&text)
                .with_context(|| format!("{} is not a valid flag", file.display()))?;
            body.insert("flag".into(), serde_json::to_value(&flag)?);
            return Ok(body);
        }
        let Some(env) = environment else {
            bail!("--enable, --disable and --rollout need --environment");
        };
        body.insert("environment".into(), json!(env));
        if self.enable || self.disable {
            body.insert("enabled".into(), json!(self.enable));
        }
        if let Some(rollout) = self.rollout {
            body.insert("rollout".into(), json!(rollout));
        }
        Ok(body)
    }
}

/// Prints a row for each item of the JSON array `items` (its cells made by `row`) under a
/// header, each column as wide as its widest cell.
pub fn table(header: &[&str], items: &Value, row: impl Fn(&Value) -> Vec<String>) -> Result<()> {
    let rows: Vec<Vec<String>> = items.as_array().into_iter().flatten().map(row).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, &w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_string()
    };
    crate::output::say!("{}", line(header.to_vec()));
    for row in &rows {
        crate::output::say!("{}", line(row.iter().map(String::as_str).collect()));
    }
    Ok(())
}

/// A JSON string field, or "" (for table cells).
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A list of strings as "a, b".
pub fn list(v: &Value) -> String {
    v.as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `changes` (`{path, before, after}`) as diff lines.
pub fn print_changes(changes: &Value) -> Result<()> {
    let changes = changes.as_array().map(Vec::as_slice).unwrap_or_default();
    if changes.is_empty() {
        crate::output::say!("  (no difference from the current flag)");
    }
    for c in changes {
        crate::output::say!("  {}", text(&c["path"]));
        if !c["before"].is_null() {
            crate::output::say!("    - {}", c["before"]);
        }
        if !c["after"].is_null() {
            crate::output::say!("    + {}", c["after"]);
        }
    }
    Ok(())
}

/// The leaves where `after` differs from `before`, as the API's `changes` are
/// (`{path, before, after}`); top-level fields `after` lacks (a flag's `version`, `key`)
/// are left out.
pub fn changes(before: &Value, after: &Value) -> Value {
    let before = match (before, after) {
        (Value::Object(b), Value::Object(a)) => Value::Object(
            a.keys()
                .map(|k| (k.clone(), b.get(k).cloned().unwrap_or(Value::Null)))
                .collect(),
        ),
        _ => before.clone(),
    };
    serde_json::to_value(flagpole_server::diff::diff(&before, after)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_skip_fields_the_proposal_lacks() {
        let before = json!({"version": 3, "environments": {"production": {"enabled": false}}});
        let after = json!({"environments": {"production": {"enabled": true}}});
        assert_eq!(
            changes(&before, &after),
            json!([{"path": "environments.production.enabled", "before": false, "after": true}])
        );
    }
}
