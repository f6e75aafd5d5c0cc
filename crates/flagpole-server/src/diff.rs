//! The leaves that differ between two JSON documents (two versions of a flag, a flag and
//! a proposed change to it), each as a [`FieldChange`] with its path
//! (`environments.production.rules[0].rollout`). History, change requests, the UI and the
//! CLI show changes so.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One leaf that differs.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct FieldChange {
    /// e.g. `environments.production.rules[0].rollout`.
    pub path: String,
    /// `null` where absent.
    pub before: Value,
    /// `null` where absent.
    pub after: Value,
}

/// Every leaf that differs between `a` and `b` (`null` where absent), objects key by
/// key in `a`'s order then `b`'s new keys, arrays index by index.
pub fn diff(a: &Value, b: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk("", a, b, &mut out);
    out
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<FieldChange>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                walk(&join(k), va, y.get(k).unwrap_or(&Value::Null), out);
            }
            for (k, vb) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                walk(&join(k), &Value::Null, vb, out);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                walk(
                    &format!("{path}[{i}]"),
                    x.get(i).unwrap_or(&Value::Null),
                    y.get(i).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if a != b => out.push(FieldChange {
            path: path.to_string(),
            before: a.clone(),
            after: b.clone(),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_names_each_changed_leaf() {
        let a = json!({"environments": {"production": {"enabled": false, "rules": [{"rollout": 5}]}}, "tags": ["a"]});
        let b = json!({"environments": {"production": {"enabled": true, "rules": [{"rollout": 25}, {}]}}, "description": "x", "tags": ["a"]});
        let paths: Vec<String> = diff(&a, &b).into_iter().map(|c| c.path).collect();
        assert_eq!(
            paths,
            [
                "environments.production.enabled",
                "environments.production.rules[0].rollout",
                "environments.production.rules[1]",
                "description"
            ]
        );
    }
}
