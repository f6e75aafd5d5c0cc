//! Native to Unleash: one environment of a document as `ClientFeatures`.

use indexmap::IndexMap;
use serde_json::Value;

use super::types::{
    ClientFeatures, Constraint, Feature, FeatureDependency, Payload, Strategy, UnleashOverride,
    UnleashSegment, UnleashVariant,
};
use crate::condition::Condition;
use crate::document::{Document, Flag, FlagType, Segment, Variant};
use crate::rule::{Rule, Serve, WeightedVariant};

/// Writes one environment of a document as `ClientFeatures`.
pub fn export(doc: &Document, environment: &str) -> ClientFeatures {
    export_parts(
        doc.segments.iter().map(|(k, s)| (k.as_str(), s)),
        doc.flags.iter().map(|(k, f)| (k.as_str(), f)),
        environment,
    )
}

/// [`export`] from a flag set's segments and live flags given one by one (in the order
/// the document would list them), so a caller holding them elsewhere need not build a
/// [`Document`] first.
pub fn export_parts<'a, F>(
    segments: impl IntoIterator<Item = (&'a str, &'a Segment)>,
    flags: F,
    environment: &str,
) -> ClientFeatures
where
    F: IntoIterator<Item = (&'a str, &'a Flag)> + Clone,
{
    let segments: Vec<(&str, &Segment)> = segments.into_iter().collect();
    let segment_ids = segment_ids(
        segments.iter().map(|(n, _)| *n),
        flags.clone().into_iter().map(|(_, f)| f),
    );
    let unleash_segments = segments
        .iter()
        .map(|(name, s)| export_segment(name, s, &segment_ids))
        .collect();
    let features = flags
        .into_iter()
        .map(|(key, flag)| export_flag(key, flag, environment, &segment_ids))
        .collect();
    ClientFeatures {
        version: 2,
        features,
        segments: unleash_segments,
    }
}

/// The Unleash id of each segment name, as [`export_parts`] numbers them: the segments
/// by position (from 1), then the names rules refer to without such a segment (kept
/// from Unleash documents), under ids no segment has, so they keep turning their flag
/// off.
pub fn segment_ids<'a>(
    segments: impl IntoIterator<Item = &'a str>,
    flags: impl IntoIterator<Item = &'a Flag>,
) -> IndexMap<&'a str, i64> {
    let mut segment_ids: IndexMap<&str, i64> = segments
        .into_iter()
        .enumerate()
        .map(|(i, name)| (name, i as i64 + 1))
        .collect();
    let missing = flags
        .into_iter()
        .flat_map(|f| f.environments.values())
        .flat_map(|e| e.rules.iter())
        .flat_map(|r| r.segments.iter())
        .map(String::as_str);
    for name in missing {
        let next = segment_ids.len() as i64 + 1;
        segment_ids.entry(name).or_insert(next);
    }
    segment_ids
}

/// One flag as the Unleash feature [`export_parts`] writes for `environment`, given the
/// flag set's [`segment_ids`].
pub fn export_feature(
    key: &str,
    flag: &Flag,
    environment: &str,
    segment_ids: &IndexMap<&str, i64>,
) -> Feature {
    export_flag(key, flag, environment, segment_ids)
}

/// One segment as [`export_parts`] writes it, given the flag set's [`segment_ids`].
pub fn export_segment(
    name: &str,
    segment: &Segment,
    segment_ids: &IndexMap<&str, i64>,
) -> UnleashSegment {
    UnleashSegment {
        id: segment_ids.get(name).copied().unwrap_or_default(),
        name: Some(name.to_string()),
        constraints: segment.conditions.iter().map(constraint).collect(),
    }
}

fn export_flag(
    key: &str,
    flag: &Flag,
    environment: &str,
    segment_ids: &IndexMap<&str, i64>,
) -> Feature {
    let env = flag.environments.get(environment);
    let mut feature = Feature {
        name: key.to_string(),
        description: flag.description.clone(),
        feature_type: Some("release".into()),
        project: Some(flag.project().to_string()),
        enabled: env.is_some_and(|e| e.enabled),
        ..Feature::default()
    };
    let Some(env) = env else {
        return feature;
    };
    feature.strategies = env
        .rules
        .iter()
        .map(|r| strategy(key, flag, r, segment_ids))
        .collect();
    if let Some(serve) = &env.default {
        feature.variants = unleash_variants(flag, serve, serve.stickiness.as_deref());
    }
    feature.dependencies = env
        .depends_on
        .iter()
        .map(|d| FeatureDependency {
            feature: d.flag.clone(),
            enabled: Some(d.enabled),
            variants: (!d.variants.is_empty()).then(|| d.variants.clone()),
        })
        .collect();
    feature
}

fn strategy(key: &str, flag: &Flag, r: &Rule, segment_ids: &IndexMap<&str, i64>) -> Strategy {
    let mut s = Strategy {
        constraints: r.conditions.iter().map(constraint).collect(),
        segments: r
            .segments
            .iter()
            .filter_map(|name| segment_ids.get(name.as_str()).copied())
            .collect(),
        ..Strategy::default()
    };
    if let Some(custom) = &r.strategy {
        s.name = custom.name.clone();
        s.parameters = custom.parameters.clone();
        return s;
    }
    let stickiness = r.stickiness.clone().unwrap_or_else(|| "default".into());
    let group = r.group_id.clone().unwrap_or_else(|| key.to_string());
    // Unleash splits strategy variants on the strategy's `stickiness`; only its legacy
    // rollouts roll out on one attribute and split on `default`.
    let split = r.serve.as_ref().and_then(|sv| sv.stickiness.as_deref());
    let legacy = match (stickiness.as_str(), split) {
        ("userId", Some("default")) => Some("gradualRolloutUserId"),
        ("sessionId", Some("default")) => Some("gradualRolloutSessionId"),
        ("random", Some("default")) => Some("gradualRolloutRandom"),
        _ => None,
    };
    match (r.rollout, legacy) {
        (Some(p), Some(name)) => {
            s.name = name.into();
            s.parameters.insert("percentage".into(), p.to_string());
        }
        (Some(p), None) => {
            s.name = "flexibleRollout".into();
            s.parameters.insert("rollout".into(), p.to_string());
            s.parameters.insert("stickiness".into(), stickiness);
        }
        (None, _) => {
            // Everyone: Unleash's default strategy, with the split's stickiness.
            s.name = "default".into();
            s.parameters.insert(
                "stickiness".into(),
                split.map_or(stickiness, str::to_string),
            );
        }
    }
    s.parameters.insert("groupId".into(), group);
    if let Some(serve) = &r.serve {
        s.variants = unleash_variants(flag, serve, None);
    }
    s
}

fn constraint(c: &Condition) -> Constraint {
    let single = c.operator.is_single_value();
    Constraint {
        context_name: c.attribute.clone(),
        operator: c.operator.as_str().to_string(),
        values: if single { Vec::new() } else { c.values.clone() },
        value: if single {
            c.single_value().map(str::to_string)
        } else {
            None
        },
        inverted: c.inverted,
        case_insensitive: c.case_insensitive,
    }
}

fn unleash_variants(flag: &Flag, serve: &Serve, stickiness: Option<&str>) -> Vec<UnleashVariant> {
    let single;
    let entries: &[WeightedVariant] = match &serve.variant {
        Some(v) => {
            single = [WeightedVariant {
                variant: v.clone(),
                weight: 1000,
                ..WeightedVariant::default()
            }];
            &single
        }
        None => &serve.split,
    };
    entries
        .iter()
        .map(|w| UnleashVariant {
            name: w.variant.clone(),
            weight: w.weight,
            weight_type: Some("variable".into()),
            stickiness: Some(stickiness.unwrap_or("default").to_string()),
            payload: match &w.value {
                Some(value) => Some(payload_of(flag.flag_type, value, w.payload_type.as_deref())),
                None => flag
                    .variants
                    .iter()
                    .find(|v| v.name == w.variant)
                    .and_then(|v| payload(flag.flag_type, v)),
            },
            overrides: w
                .overrides
                .iter()
                .map(|o| UnleashOverride {
                    context_name: o.attribute.clone(),
                    values: o.values.clone(),
                })
                .collect(),
        })
        .collect()
}

/// The Unleash payload of a variant's value.
pub fn payload(flag_type: FlagType, v: &Variant) -> Option<Payload> {
    Some(payload_of(
        flag_type,
        v.value.as_ref()?,
        v.payload_type.as_deref(),
    ))
}

/// The Unleash payload of a value of a flag of `flag_type`, with the payload type it was
/// imported from, if the flag type alone does not say it.
pub fn payload_of(flag_type: FlagType, value: &Value, payload_type: Option<&str>) -> Payload {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let explicit = payload_type;
    let payload_type = match (explicit, flag_type) {
        (Some(t), _) => t.to_string(),
        (None, FlagType::String) => "string".into(),
        (None, FlagType::Number) => "number".into(),
        (None, FlagType::Json) => "json".into(),
        (None, FlagType::Boolean) => "string".into(),
    };
    let text = if payload_type == "json" && explicit.is_none() {
        value.to_string()
    } else {
        text
    };
    Payload {
        payload_type,
        value: text,
    }
}
