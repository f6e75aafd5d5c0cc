//! Unleash's `ClientFeatures` document (what `/api/client/features` serves) and its delta
//! events, to and from the native document.
//!
//! Imported documents are marked `compat: unleash` so Unleash's semantics hold where they
//! differ from Flagpole's: one-level dependencies, unknown operators and strategies kept
//! as written (never matching), and malformed rules turning their flag off.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::condition::{Condition, Operator};
use crate::document::{Compat, Document, Flag, FlagEnvironment, FlagType, Variant};
use crate::error::Error;
use crate::rule::{CustomStrategy, Dependency, Override, Rule, Serve, WeightedVariant};

/// `ClientFeatures`: the flags of one environment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientFeatures {
    #[serde(default = "two")]
    pub version: u32,
    #[serde(default)]
    pub features: Vec<Feature>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<UnleashSegment>,
}

fn two() -> u32 {
    2
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feature {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub feature_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub stale: bool,
    #[serde(default)]
    pub impression_data: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub strategies: Vec<Strategy>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub variants: Vec<UnleashVariant>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub dependencies: Vec<FeatureDependency>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Strategy {
    pub name: String,
    #[serde(
        default,
        skip_serializing_if = "IndexMap::is_empty",
        deserialize_with = "parameters"
    )]
    pub parameters: IndexMap<String, String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub constraints: Vec<Constraint>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub segments: Vec<i64>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub variants: Vec<UnleashVariant>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Constraint {
    pub context_name: String,
    /// Kept as the plain string it was: SDKs drop every flag on an operator they
    /// cannot read as a string.
    pub operator: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::condition::scalars_as_strings"
    )]
    pub values: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::condition::scalar_as_string"
    )]
    pub value: Option<String>,
    #[serde(default)]
    pub inverted: bool,
    #[serde(default)]
    pub case_insensitive: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnleashVariant {
    pub name: String,
    #[serde(default)]
    pub weight: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickiness: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub overrides: Vec<UnleashOverride>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    #[serde(rename = "type")]
    pub payload_type: String,
    pub value: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnleashOverride {
    pub context_name: String,
    #[serde(default, deserialize_with = "crate::condition::scalars_as_strings")]
    pub values: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureDependency {
    pub feature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variants: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UnleashSegment {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub constraints: Vec<Constraint>,
}

/// One event of Unleash's delta API.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum DeltaEvent {
    Hydration {
        #[serde(default)]
        features: Vec<Feature>,
        #[serde(default)]
        segments: Vec<UnleashSegment>,
    },
    FeatureUpdated {
        feature: Feature,
    },
    #[serde(rename_all = "camelCase")]
    FeatureRemoved {
        feature_name: String,
    },
    SegmentUpdated {
        segment: UnleashSegment,
    },
    SegmentRemoved {
        id: i64,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum UnleashInput {
    Delta { events: Vec<DeltaEvent> },
    Features(ClientFeatures),
}

fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn parameters<'de, D: Deserializer<'de>>(d: D) -> Result<IndexMap<String, String>, D::Error> {
    let raw: Option<IndexMap<String, Value>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            Value::Null => None,
            other => Some((k, other.to_string())),
        })
        .collect())
}

impl ClientFeatures {
    /// Applies delta events in order, as an SDK following the delta API would.
    pub fn apply(&mut self, events: Vec<DeltaEvent>) {
        for event in events {
            match event {
                DeltaEvent::Hydration { features, segments } => {
                    self.features = features;
                    self.segments = segments;
                }
                DeltaEvent::FeatureUpdated { feature } => {
                    match self.features.iter_mut().find(|f| f.name == feature.name) {
                        Some(slot) => *slot = feature,
                        None => self.features.push(feature),
                    }
                }
                DeltaEvent::FeatureRemoved { feature_name } => {
                    self.features.retain(|f| f.name != feature_name)
                }
                DeltaEvent::SegmentUpdated { segment } => {
                    match self.segments.iter_mut().find(|s| s.id == segment.id) {
                        Some(slot) => *slot = segment,
                        None => self.segments.push(segment),
                    }
                }
                DeltaEvent::SegmentRemoved { id } => self.segments.retain(|s| s.id != id),
            }
        }
    }
}

/// Reads `ClientFeatures` JSON, or `{"events": [...]}` delta events applied in order, into
/// a document with every flag configured in `environment`.
pub fn import(text: &str, environment: &str) -> Result<Document, Error> {
    let input: UnleashInput = crate::document::parse_json(text, "Unleash JSON")?;
    let features = match input {
        UnleashInput::Features(f) => f,
        UnleashInput::Delta { events } => {
            let mut f = ClientFeatures::default();
            f.apply(events);
            f
        }
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
            Some(n) if !n.is_empty() && !doc.segments.contains_key(n) => n.clone(),
            // Unnamed, or its name taken: `segment-{id}`, made unique so that it cannot
            // replace a segment already named so.
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
        doc.segments.insert(
            name,
            crate::document::Segment {
                description: None,
                compat: Compat::Native,
                conditions: s.constraints.iter().map(condition).collect(),
            },
        );
    }
    for feature in &features.features {
        let flag = import_feature(feature, environment, &segment_names)?;
        doc.flags.insert(feature.name.clone(), flag);
    }
    Ok(doc)
}

fn import_feature(
    feature: &Feature,
    environment: &str,
    segment_names: &IndexMap<i64, String>,
) -> Result<Flag, Error> {
    // The catalogue: every variant named anywhere in the feature, with its payload.
    let mut catalogue: IndexMap<&str, Option<&Payload>> = IndexMap::new();
    let all = feature
        .variants
        .iter()
        .chain(feature.strategies.iter().flat_map(|s| s.variants.iter()));
    for v in all {
        match catalogue.get(v.name.as_str()) {
            Some(existing) if *existing != v.payload.as_ref() => {
                return Err(Error::Import {
                    format: "Unleash JSON",
                    message: format!(
                        "feature {:?} defines variant {:?} twice with different payloads; Flagpole keeps one value per variant name",
                        feature.name, v.name
                    ),
                })
            }
            _ => {
                catalogue.insert(&v.name, v.payload.as_ref());
            }
        }
    }
    let flag_type = payload_flag_type(catalogue.values().flatten().copied());
    let variants = catalogue
        .iter()
        .map(|(name, payload)| variant(name, *payload, flag_type))
        .collect();

    let mut env = FlagEnvironment {
        enabled: feature.enabled,
        ..FlagEnvironment::default()
    };
    for s in &feature.strategies {
        env.rules.push(rule(s, segment_names));
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
fn rule(s: &Strategy, segment_names: &IndexMap<i64, String>) -> Rule {
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

/// Writes one environment of a document as `ClientFeatures`.
pub fn export(doc: &Document, environment: &str) -> ClientFeatures {
    let mut segment_ids: IndexMap<&str, i64> = doc
        .segments
        .keys()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i as i64 + 1))
        .collect();
    // References to missing segments (kept from Unleash documents) stay missing, under
    // ids no segment has, so they keep turning their flag off.
    let missing: Vec<&str> = doc
        .flags
        .values()
        .flat_map(|f| f.environments.values())
        .flat_map(|e| e.rules.iter())
        .flat_map(|r| r.segments.iter())
        .map(String::as_str)
        .filter(|name| !doc.segments.contains_key(*name))
        .collect();
    for name in missing {
        let next = segment_ids.len() as i64 + 1;
        segment_ids.entry(name).or_insert(next);
    }
    let segments = doc
        .segments
        .iter()
        .map(|(name, s)| UnleashSegment {
            id: segment_ids.get(name.as_str()).copied().unwrap_or_default(),
            name: Some(name.clone()),
            constraints: s.conditions.iter().map(constraint).collect(),
        })
        .collect();
    let features = doc
        .flags
        .iter()
        .map(|(key, flag)| export_flag(key, flag, environment, &segment_ids))
        .collect();
    ClientFeatures {
        version: 2,
        features,
        segments,
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
        project: Some("default".into()),
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
    let entries: Vec<(&str, i64, &[Override])> = match &serve.variant {
        Some(v) => vec![(v.as_str(), 1000, &[][..])],
        None => serve
            .split
            .iter()
            .map(|w| (w.variant.as_str(), w.weight, w.overrides.as_slice()))
            .collect(),
    };
    entries
        .into_iter()
        .map(|(name, weight, overrides)| UnleashVariant {
            name: name.to_string(),
            weight,
            weight_type: Some("variable".into()),
            stickiness: Some(stickiness.unwrap_or("default").to_string()),
            payload: flag
                .variants
                .iter()
                .find(|v| v.name == name)
                .and_then(|v| payload(flag.flag_type, v)),
            overrides: overrides
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
    let value = v.value.as_ref()?;
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let payload_type = match (&v.payload_type, flag_type) {
        (Some(t), _) => t.clone(),
        (None, FlagType::String) => "string".into(),
        (None, FlagType::Number) => "number".into(),
        (None, FlagType::Json) => "json".into(),
        (None, FlagType::Boolean) => "string".into(),
    };
    let text = if payload_type == "json" && v.payload_type.is_none() {
        value.to_string()
    } else {
        text
    };
    Some(Payload {
        payload_type,
        value: text,
    })
}
