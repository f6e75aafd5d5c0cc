//! The seed service's `flags.json`: `{"name": {"enabled": bool, "rollout": 0-100}}`.
//!
//! A seed flag becomes a boolean flag whose environment has, below 100%, one rule rolling
//! out to that percentage by user id. Flagpole salts the hash with the flag key where the
//! seed hashed the bare user id, so the users inside a rollout differ from the seed's
//! (deliberately: the seed put the same users first in line for every flag).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::document::{Document, Flag, FlagEnvironment, FlagType};
use crate::error::Error;
use crate::rule::Rule;

/// One flag as the seed stored it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFlag {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default = "hundred")]
    pub rollout: i64,
}

fn hundred() -> i64 {
    100
}

/// Reads a seed `flags.json` into a native document with the flags in `environment`.
pub fn import(text: &str, environment: &str) -> Result<Document, Error> {
    let flags: IndexMap<String, SeedFlag> = crate::document::parse_json(text, "seed flags.json")?;
    let mut doc = Document::default();
    for (name, seed) in flags {
        let mut env = FlagEnvironment {
            enabled: seed.enabled,
            ..FlagEnvironment::default()
        };
        if seed.rollout != 100 {
            env.rules.push(Rule {
                rollout: Some(seed.rollout),
                stickiness: Some("userId".into()),
                ..Rule::default()
            });
        }
        let mut flag = Flag {
            flag_type: FlagType::Boolean,
            ..Flag::default()
        };
        flag.environments.insert(environment.to_string(), env);
        doc.flags.insert(name, flag);
    }
    Ok(doc)
}

/// The seed form of one flag's environment, if it has one: a boolean flag with no rule
/// or a single rule that is only a rollout by user id.
pub fn seed_flag(flag: &Flag, environment: &str) -> Option<SeedFlag> {
    if flag.flag_type != FlagType::Boolean {
        return None;
    }
    let Some(env) = flag.environments.get(environment) else {
        return Some(SeedFlag {
            enabled: false,
            rollout: 100,
        });
    };
    if env.default.is_some() || !env.depends_on.is_empty() {
        return None;
    }
    let rollout = match env.rules.as_slice() {
        [] => 100,
        [rule] => {
            let plain = rule.conditions.is_empty()
                && rule.segments.is_empty()
                && rule.serve.is_none()
                && rule.strategy.is_none()
                && rule.group_id.is_none()
                && rule.stickiness.as_deref() == Some("userId");
            if !plain {
                return None;
            }
            rule.rollout.unwrap_or(100)
        }
        _ => return None,
    };
    Some(SeedFlag {
        enabled: env.enabled,
        rollout,
    })
}

/// Writes `environment` as a seed `flags.json`. Flags the seed cannot express (other
/// types, targeting, variants, dependencies) are refused by name.
pub fn export(doc: &Document, environment: &str) -> Result<String, Error> {
    let mut out = IndexMap::new();
    let mut refused = Vec::new();
    for (key, flag) in &doc.flags {
        match seed_flag(flag, environment) {
            Some(s) => {
                out.insert(key.as_str(), s);
            }
            None => refused.push(key.as_str()),
        }
    }
    if !refused.is_empty() {
        return Err(Error::Export {
            format: "seed flags.json",
            message: format!(
                "these flags use more than on/off and a rollout by user id in {environment}, which the seed format cannot express: {}",
                refused.join(", ")
            ),
        });
    }
    Ok(serde_json::to_string_pretty(&out).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_seed_example() {
        let text = r#"{"some_feature": {"enabled": true, "rollout": 50}, "other": {"enabled": false, "rollout": 100}}"#;
        let doc = import(text, "production").unwrap();
        crate::validate(&doc).unwrap();
        let back = export(&doc, "production").unwrap();
        let a: serde_json::Value = serde_json::from_str(text).unwrap();
        let b: serde_json::Value = serde_json::from_str(&back).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn refuses_bad_input_with_its_path() {
        let err = import(r#"{"f": {"enabled": "maybe"}}"#, "p")
            .unwrap_err()
            .to_string();
        assert!(err.contains("f.enabled"), "{err}");
        let doc = import(r#"{"f": {"enabled": true, "rollout": 500}}"#, "p").unwrap();
        let err = crate::validate(&doc).unwrap_err().to_string();
        assert!(err.contains("rollout 500 is out of range"), "{err}");
    }
}
