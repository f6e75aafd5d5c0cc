//! Unleash's wire types: `ClientFeatures`, its features, strategies, constraints,
//! variants and segments, and the delta API's events.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

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
        /// Unleash sends `segmentId`; `id` is read too.
        #[serde(alias = "segmentId")]
        id: i64,
    },
}

/// Delta events to apply in order: `{"events": [...]}`.
#[derive(Deserialize)]
pub(super) struct DeltaInput {
    pub events: Vec<DeltaEvent>,
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
