//! Unleash to native: features become flags, strategies rules, strategy variants the
//! rule's split, feature variants the environment's default. A variant name whose
//! payload differs between uses keeps each use's payload in its split share.

use indexmap::IndexMap;
use serde_json::Value;

use super::types::{
    ClientFeatures, Constraint, DeltaInput, Feature, Payload, Strategy, UnleashVariant,
};
use crate::condition::{Condition, Operator};
use crate::document::{Compat, Document, Flag, FlagEnvironment, FlagType, Variant};
use crate::error::Error;
use crate::rule::{CustomStrategy, Dependency, Override, Rule, Serve, WeightedVariant};

/// Reads `ClientFeatures` JSON, or `{"events": [...]}` delta events applied in order, into
/// a document with every flag configured in `environment`.
pub fn import(text: &str, environment: &str) -> Result<Document, Error> {
    // Which of the two it is decides the type it is read as, so an error names the
    // field at fault and what was expected there.
    let value: Value = crate::document::parse_json(text, "Unleash JSON")?;
    let read = |e: serde_path_to_error::Error<serde_json::Error>| Error::Parse {
        format: "Unleash JSON",
        path: e.path().to_string(),
        message: e.inner().to_string(),
    };
    let features = if value.get("events").is_some() {
        let delta: DeltaInput = serde_path_to_error::deserialize(value).map_err(read)?;
        let mut f = ClientFeatures::default();
        f.apply(delta.events);
        f
    } else if value.is_object() {
        serde_path_to_error::deserialize(value).map_err(read)?
    } else {
        return Err(Error::Parse {
            format: "Unleash JSON",
            path: ".".into(),
            message: "expected an object: ClientFeatures (`{\"features\": [...]}`) or delta events (`{\"events\": [...]}`)".into(),
        });
    };
    from_client_features(&features, environment)
}

/// Converts `ClientFeatures` into a document with every flag configured in `environment`.
pub fn from_client_features(
    features: &ClientFeatures,
    environment: &str,
) -> Result<Document, Error> {
    let mut doc = Document {
        compat: Compat::Unleash,
        ..Document::default()
    };
    let mut segment_names = IndexMap::new();
    for s in &features.segments {
        let name = match &s.name {
            Some(n) if crate::limits::check_name(n).is_ok() && !doc.segments.contains_key(n) => {
                n.clone()
            }
            // Unnamed, its name taken, or a name Flagpole does not allow (Unleash's are
            // free text): `segment-{id}`, made unique so that it cannot replace a segment
            // already named so; the name is kept as the description.
            _ => {
                let base = format!("segment-{}", s.id);
                let mut name = base.clone();
                let mut n = 1;
                while doc.segments.contains_key(&name) {
                    n += 1;
                    name = format!("{base}-{n}");
                }
                name
            }
        };
        segment_names.insert(s.id, name.clone());
        let description = s.name.clone().filter(|n| *n != name && !n.is_empty());
        doc.segments.insert(
            name,
            crate::document::Segment {
                project: None,
                description,
                compat: Compat::Native,
                conditions: s.constraints.iter().map(condition).collect(),
            },
        );
    }
    for feature in &features.features {
        let flag = import_feature(feature, environment, &segment_names)?;
        doc.flags.insert(feature.name.clone(), flag);
    }
    // Unleash's segments are global: once features name a project of their own, the
    // segments are shared by every project rather than left in `default`.
    if doc.flags.values().any(|f| f.project.is_some()) {
        for segment in doc.segments.values_mut() {
            segment.project = Some(crate::document::GLOBAL_PROJECT.to_string());
        }
    }
    Ok(doc)
}

fn import_feature(
    feature: &Feature,
    environment: &str,
    segment_names: &IndexMap<i64, String>,
) -> Result<Flag, Error> {
    // The catalogue: every variant named anywhere in the feature, with the payload of
    // its first use (none if any use has none). A use whose payload differs (strategy
    // variants belong to their strategy) carries its own value in its split share.
    let mut catalogue: IndexMap<&str, Option<&Payload>> = IndexMap::new();
    let all = feature
        .variants
        .iter()
        .chain(feature.strategies.iter().flat_map(|s| s.variants.iter()));
    for v in all.clone() {
        let entry = catalogue.entry(&v.name).or_insert(v.payload.as_ref());
        if v.payload.is_none() {
            *entry = None;
        }
    }
    let flag_type = payload_flag_type(all.filter_map(|v| v.payload.as_ref()));
    let variants = catalogue
        .iter()
        .map(|(name, payload)| variant(name, *payload, flag_type))
        .collect();
    let weighted = |v: &UnleashVariant| {
        let mut w = weighted(v);
        let own = catalogue.get(v.name.as_str()).copied().flatten();
        if v.payload.as_ref() != own {
            let typed = variant(&v.name, v.payload.as_ref(), flag_type);
            w.value = typed.value;
            w.payload_type = typed.payload_type;
        }
        w
    };

    let mut env = FlagEnvironment {
        enabled: feature.enabled,
        ..FlagEnvironment::default()
    };
    for s in &feature.strategies {
        env.rules.push(rule(s, segment_names, &weighted));
    }
    if !feature.variants.is_empty() {
        env.default = Some(Serve {
            variant: None,
            split: feature.variants.iter().map(weighted).collect(),
            stickiness: feature.variants[0].stickiness.clone(),
        });
    }
    env.depends_on = feature
        .dependencies
        .iter()
        .map(|d| Dependency {
            flag: d.feature.clone(),
            enabled: d.enabled.unwrap_or(true),
            variants: d.variants.clone().unwrap_or_default(),
        })
        .collect();
    let mut flag = Flag {
        // `default` (Unleash's own first project) is the same as naming none.
        project: feature
            .project
            .clone()
            .filter(|p| !p.is_empty() && p != crate::document::DEFAULT_PROJECT),
        description: feature.description.clone(),
        flag_type,
        variants,
        ..Flag::default()
    };
    flag.environments.insert(environment.to_string(), env);
    Ok(flag)
}

fn condition(c: &Constraint) -> Condition {
    Condition {
        attribute: c.context_name.clone(),
        operator: Operator::parse(&c.operator),
        values: c.values.clone(),
        value: c.value.clone(),
        inverted: c.inverted,
        case_insensitive: c.case_insensitive,
    }
}

fn weighted(v: &UnleashVariant) -> WeightedVariant {
    WeightedVariant {
        variant: v.name.clone(),
        weight: v.weight,
        value: None,
        payload_type: None,
        overrides: v
            .overrides
            .iter()
            .map(|o| Override {
                attribute: o.context_name.clone(),
                values: o.values.clone(),
            })
            .collect(),
    }
}

fn csv(list: &str) -> Vec<String> {
    list.split(',').map(|s| s.trim().to_string()).collect()
}

/// A rule equivalent to an Unleash strategy; percentages Unleash cannot read make a rule
/// that never matches (rollout 0).
fn rule(
    s: &Strategy,
    segment_names: &IndexMap<i64, String>,
    weighted: &dyn Fn(&UnleashVariant) -> WeightedVariant,
) -> Rule {
    let param = |k: &str| s.parameters.get(k);
    let percent = |k: &str| param(k).and_then(|p| p.parse::<u64>().ok());
    let mut r = Rule {
        conditions: s.constraints.iter().map(condition).collect(),
        segments: s
            .segments
            .iter()
            .map(|id| {
                segment_names
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| format!("segment-{id}"))
            })
            .collect(),
        group_id: param("groupId").cloned(),
        ..Rule::default()
    };
    let never = Some(0);
    let mut guard = Vec::new();
    match s.name.as_str() {
        "default" => {}
        "userWithId" => guard.push(Condition {
            attribute: "userId".into(),
            operator: Operator::In,
            values: param("userIds").map(|ids| csv(ids)).unwrap_or_default(),
            ..Condition::default()
        }),
        "remoteAddress" => guard.push(Condition {
            attribute: "remoteAddress".into(),
            operator: Operator::InCidr,
            values: param("IPs").map(|ips| csv(ips)).unwrap_or_default(),
            ..Condition::default()
        }),
        "applicationHostname" => guard.push(Condition {
            attribute: "hostname".into(),
            operator: Operator::In,
            values: csv(param("hostNames").map_or("", String::as_str))
                .into_iter()
                .map(|h| h.to_lowercase())
                .collect(),
            ..Condition::default()
        }),
        name @ ("gradualRolloutUserId" | "gradualRolloutSessionId") => {
            r.stickiness = Some(
                if name == "gradualRolloutUserId" {
                    "userId"
                } else {
                    "sessionId"
                }
                .into(),
            );
            r.rollout = match (percent("percentage"), param("groupId")) {
                (Some(p), Some(_)) => Some(p as i64),
                _ => never,
            };
        }
        "gradualRolloutRandom" => {
            r.stickiness = Some("random".into());
            r.rollout = percent("percentage").map_or(never, |p| Some(p.min(100) as i64));
        }
        "flexibleRollout" => {
            r.stickiness = param("stickiness").cloned();
            r.rollout = percent("rollout").map_or(never, |p| Some(p.min(i64::MAX as u64) as i64));
        }
        other => {
            r.strategy = Some(CustomStrategy {
                name: other.to_string(),
                parameters: s.parameters.clone(),
            })
        }
    }
    // Strategy-level guards go first so a never-matching strategy fails fast.
    guard.append(&mut r.conditions);
    r.conditions = guard;
    if !s.variants.is_empty() {
        // Unleash splits strategy variants on the strategy's stickiness parameter.
        let split_stickiness = param("stickiness").map_or("default", String::as_str);
        r.serve = Some(Serve {
            variant: None,
            split: s.variants.iter().map(weighted).collect(),
            stickiness: (r.stickiness.as_deref().unwrap_or("default") != split_stickiness)
                .then(|| split_stickiness.to_string()),
        });
    }
    r
}

fn payload_flag_type<'p>(payloads: impl Iterator<Item = &'p Payload>) -> FlagType {
    let mut kinds = payloads.map(|p| p.payload_type.as_str()).peekable();
    let Some(first) = kinds.next() else {
        return FlagType::Boolean;
    };
    let all_same = kinds.all(|k| k == first);
    match (first, all_same) {
        ("string" | "csv", true) => FlagType::String,
        ("number", true) => FlagType::Number,
        _ => FlagType::Json,
    }
}

/// A catalogue variant from an Unleash payload. Values keep their type where the flag's
/// type says it; otherwise the text is kept with its original payload type.
fn variant(name: &str, payload: Option<&Payload>, flag_type: FlagType) -> Variant {
    let Some(p) = payload else {
        return Variant {
            name: name.to_string(),
            ..Variant::default()
        };
    };
    let typed = match (p.payload_type.as_str(), flag_type) {
        ("string", FlagType::String | FlagType::Json) => Some(Value::String(p.value.clone())),
        ("number", FlagType::Number | FlagType::Json) => p
            .value
            .parse::<serde_json::Number>()
            .ok()
            .filter(|n| n.to_string() == p.value)
            .map(Value::Number),
        ("json", FlagType::Json) => serde_json::from_str(&p.value).ok(),
        _ => None,
    };
    let keeps_type = typed.is_some()
        && matches!(
            (p.payload_type.as_str(), flag_type),
            ("string", FlagType::String) | ("number", FlagType::Number) | ("json", FlagType::Json)
        );
    Variant {
        name: name.to_string(),
        value: Some(
            typed
                .clone()
                .unwrap_or_else(|| Value::String(p.value.clone())),
        ),
        payload_type: (!keeps_type).then(|| p.payload_type.clone()),
    }
}
