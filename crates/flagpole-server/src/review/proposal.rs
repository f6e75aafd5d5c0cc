//! What a schedule or change request proposes: the whole new flag (or segment) and the
//! version it was made against, from the shapes the API accepts: a full flag body
//! (`"flag": {…}`, as `PUT /api/v1/flags/{key}` takes it) or a small change to one
//! environment (`"environment": "production"` with `enabled`, `rollout`, `rules` and/or
//! `default`), turned into a full flag against the current version. Also the three-way
//! merge that carries a proposal over changes made to other parts of the flag since.

use std::collections::BTreeSet;

use flagpole_core::{Flag, Rule, Segment, Serve};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::published::Published;
use crate::write::check::{check_flag, check_segment};
use crate::write::input::split_body;
use crate::write::protection;

/// The proposal fields of a request body (schedules and change requests add their own).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagProposalInput {
    /// The flag version the change is based on; the current one if absent.
    pub version: Option<i64>,
    /// The whole new flag, as `PUT /api/v1/flags/{key}` takes it; or else:
    #[schema(value_type = Option<Object>)]
    pub flag: Option<Value>,
    /// The environment a small change is for, with one or more of:
    pub environment: Option<String>,
    pub enabled: Option<bool>,
    /// The percentage of a flag whose targeting there is one rollout (or nothing yet).
    pub rollout: Option<i64>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub rules: Option<Vec<Rule>>,
    #[schema(value_type = Option<Object>)]
    pub default: Option<Serve>,
}

/// A proposal ready to store: the new document, its base version and what it touches.
#[derive(Debug)]
pub struct Proposal {
    pub body: Value,
    pub based_on: i64,
    pub environments: Vec<String>,
}

/// Turns a flag proposal into a whole flag against the published flag `key`, checked
/// as a write of it now would be (limits, validity, dependents).
pub fn flag_proposal(
    published: &Published,
    key: &str,
    input: FlagProposalInput,
) -> Result<Proposal, ApiError> {
    let record = published.flag(key)?;
    let based_on = input.version.unwrap_or(record.version);
    if based_on != record.version {
        return Err(ApiError::Conflict(format!(
            "flag {key:?} has version {}, not {based_on} (reload and retry)",
            record.version
        )));
    }
    let patch = input.enabled.is_some()
        || input.rollout.is_some()
        || input.rules.is_some()
        || input.default.is_some();
    let flag = match (input.flag, input.environment) {
        (Some(_), Some(_)) => {
            return Err(field(
                "environment",
                "give either `flag` (the whole flag) or `environment` with a change, not both",
            ))
        }
        (Some(body), None) if !patch => {
            let (body_key, _, flag): (Option<String>, _, Flag) = split_body(body, "key")?;
            if body_key.is_some_and(|k| k != key) {
                return Err(field("flag.key", "flags cannot be renamed"));
            }
            flag
        }
        (Some(_), None) => return Err(field(
            "flag",
            "`enabled`, `rollout`, `rules` and `default` go with `environment`, not with `flag`",
        )),
        (None, Some(env)) => {
            if !patch {
                return Err(field(
                    "environment",
                    "say what changes there: `enabled`, `rollout`, `rules` and/or `default`",
                ));
            }
            published.snapshot(&env)?;
            let mut flag = record.flag.clone();
            let config = flag.environments.entry(env.clone()).or_default();
            if let Some(enabled) = input.enabled {
                config.enabled = enabled;
            }
            if let Some(rules) = input.rules {
                config.rules = rules;
            }
            if let Some(default) = input.default {
                config.default = Some(default);
            }
            if let Some(rollout) = input.rollout {
                set_rollout(&mut config.rules, rollout, &env)?;
            }
            flag
        }
        (None, None) => {
            return Err(field(
                "flag",
                "give `flag` (the whole new flag) or `environment` with a change",
            ))
        }
    };
    published.check_environments(&flag, "flag.")?;
    check_flag(published, key, Some(&flag))?;
    let environments = protection::flag_touches(Some(&record.flag), Some(&flag));
    if environments.is_empty() && flag == record.flag {
        return Err(field("flag", "the proposal changes nothing"));
    }
    Ok(Proposal {
        body: serde_json::to_value(&flag).unwrap_or_default(),
        based_on,
        environments: environments.into_iter().collect(),
    })
}

/// A whole new segment against the published segment `name`.
pub fn segment_proposal(
    published: &Published,
    name: &str,
    version: Option<i64>,
    body: Value,
) -> Result<Proposal, ApiError> {
    let record = published
        .segments
        .get(name)
        .ok_or_else(|| ApiError::NotFound {
            kind: "segment",
            name: name.to_string(),
        })?;
    let based_on = version.unwrap_or(record.version);
    if based_on != record.version {
        return Err(ApiError::Conflict(format!(
            "segment {name:?} has version {}, not {based_on} (reload and retry)",
            record.version
        )));
    }
    let (_, _, segment): (Option<String>, _, Segment) = split_body(body, "name")?;
    check_segment(published, name, Some(&segment))?;
    let environments: BTreeSet<String> = protection::segment_touches(published, name);
    Ok(Proposal {
        body: serde_json::to_value(&segment).unwrap_or_default(),
        based_on,
        environments: environments.into_iter().collect(),
    })
}

/// Carries `proposed` (made against `base`) over to `current`: each part of the flag (its
/// settings outside environments, and each environment's configuration) the proposal
/// changed must be as it was in `base`; the parts it did not change are taken from
/// `current`. `Err` names the part both changed.
pub fn rebase(base: &Flag, proposed: &Flag, current: &Flag) -> Result<Flag, String> {
    let outside = |f: &Flag| Flag {
        environments: Default::default(),
        ..f.clone()
    };
    let (b, p, c) = (outside(base), outside(proposed), outside(current));
    let mut merged = if p == b {
        c.clone()
    } else if c == b || c == p {
        p.clone()
    } else {
        return Err("the flag's settings outside environments (description, type, variants, tags, …) changed since the proposal was made".into());
    };
    let envs: BTreeSet<&String> = base
        .environments
        .keys()
        .chain(proposed.environments.keys())
        .chain(current.environments.keys())
        .collect();
    for env in envs {
        let (b, p, c) = (
            base.environments.get(env),
            proposed.environments.get(env),
            current.environments.get(env),
        );
        let chosen = if p == b {
            c
        } else if c == b || c == p {
            p
        } else {
            return Err(format!(
                "{env} changed since the proposal was made, and the proposal changes it too"
            ));
        };
        if let Some(config) = chosen {
            merged.environments.insert(env.clone(), config.clone());
        }
    }
    Ok(merged)
}

fn set_rollout(rules: &mut Vec<Rule>, rollout: i64, env: &str) -> Result<(), ApiError> {
    match rules.as_mut_slice() {
        [] => rules.push(Rule {
            rollout: Some(rollout),
            stickiness: Some("default".into()),
            ..Rule::default()
        }),
        [only] if only.conditions.is_empty() && only.segments.is_empty() => {
            only.rollout = Some(rollout);
        }
        many => {
            return Err(ApiError::Conflict(format!(
                "the flag has {} rules in {env}; propose `rules` instead of `rollout`",
                many.len()
            )))
        }
    }
    Ok(())
}

fn field(name: &str, message: &str) -> ApiError {
    ApiError::bad_request(
        "invalid_body",
        format!("{name}: {message}"),
        Some(name.into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(json: &str) -> Flag {
        serde_json::from_str(json).expect("flag")
    }

    #[test]
    fn a_change_elsewhere_is_kept_and_a_change_to_the_same_environment_conflicts() {
        let base = flag(
            r#"{"environments": {"production": {"enabled": false}, "development": {"enabled": false}}}"#,
        );
        let proposed = flag(
            r#"{"environments": {"production": {"enabled": true}, "development": {"enabled": false}}}"#,
        );
        let elsewhere = flag(
            r#"{"environments": {"production": {"enabled": false}, "development": {"enabled": true}}}"#,
        );
        let merged = rebase(&base, &proposed, &elsewhere).expect("merges");
        assert!(merged.environments["production"].enabled);
        assert!(merged.environments["development"].enabled);
        let same = flag(
            r#"{"environments": {"production": {"enabled": false, "rules": [{"rollout": 5}]}, "development": {"enabled": false}}}"#,
        );
        let error = rebase(&base, &proposed, &same).expect_err("conflicts");
        assert!(error.contains("production"), "{error}");
    }
}
