//! Rules, what they serve, and dependencies between flags.

use serde::{Deserialize, Serialize};

use crate::condition::Condition;

/// One targeting rule. It matches when every condition and every named segment holds
/// and the context falls inside the rollout.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A label for people; shown as the matched rule in evaluation details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Names of segments whose conditions must also hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<String>,
    /// Percentage (0-100) of contexts the rule applies to; absent means everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<i64>,
    /// Which attribute places a context in the rollout and the split: `default` (user id,
    /// then session id, then random), `random`, or an attribute name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickiness: Option<String>,
    /// Salt of the rollout hash; the flag key when absent. Rules sharing a group id
    /// roll out to the same users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// What to serve when the rule matches; the environment's `default` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serve: Option<Serve>,
    /// An Unleash strategy Flagpole does not implement, kept as written so it survives a
    /// round trip. A rule carrying one never matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<CustomStrategy>,
}

/// An Unleash strategy kept verbatim.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomStrategy {
    pub name: String,
    #[serde(default, skip_serializing_if = "indexmap::IndexMap::is_empty")]
    pub parameters: indexmap::IndexMap<String, String>,
}

/// What to serve: one variant, or a weighted split between variants.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Serve {
    /// Serve this variant to everyone the rule matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Or split them by weight.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub split: Vec<WeightedVariant>,
    /// Which attribute keeps a context on its variant; the rule's stickiness (for rules)
    /// or `default` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickiness: Option<String>,
}

impl Serve {
    /// Serve one variant.
    pub fn variant(name: impl Into<String>) -> Serve {
        Serve {
            variant: Some(name.into()),
            ..Serve::default()
        }
    }
}

/// One share of a split.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WeightedVariant {
    pub variant: String,
    /// Relative weight; shares are `weight / sum of weights`.
    pub weight: i64,
    /// A value this share serves instead of the variant's own (Unleash strategy variants
    /// carry their own payloads, so one name can mean different values in two rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// The Unleash payload type of `value`, when the flag type alone does not say it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_type: Option<String>,
    /// Contexts whose attribute equals one of the values get this variant regardless of
    /// weights.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
}

/// Pins contexts to a variant by attribute value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub attribute: String,
    #[serde(deserialize_with = "crate::condition::scalars_as_strings")]
    pub values: Vec<String>,
}

/// A requirement on another flag's result for the same context.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    pub flag: String,
    /// Whether the other flag must be on (default) or off.
    #[serde(default = "yes", skip_serializing_if = "Clone::clone")]
    pub enabled: bool,
    /// If given, the other flag must serve one of these variants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<String>,
}

fn yes() -> bool {
    true
}
