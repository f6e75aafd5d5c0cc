//! What an explained evaluation records: the [`Trace`] of one flag's evaluation, step by
//! step (each dependency, each rule with each condition and its rollout, the variant
//! served and its split), beside the [`Explained`] result. Plain data, serialized as the
//! server's explain API answers it.

use serde::Serialize;

use crate::evaluate::Evaluation;

/// An evaluation with the steps that led to it.
#[derive(Debug)]
pub struct Explained<'s> {
    pub evaluation: Evaluation<'s>,
    pub trace: Trace,
}

/// What one flag's evaluation looked at, in order.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trace {
    pub flag: String,
    /// The kill switch in this environment.
    pub enabled: bool,
    /// Unleash would refuse the flag for a malformed rule, so it is off.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unusable: bool,
    /// Each dependency checked, in order (checking stops at the first that fails).
    pub dependencies: Vec<DependencyStep>,
    /// Each rule reached, in order (the walk stops at the first that matches).
    pub rules: Vec<RuleStep>,
    /// How the variant was chosen, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serve: Option<ServeStep>,
}

/// One dependency on another flag.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DependencyStep {
    pub flag: String,
    /// What the other flag must be: on (`true`) or off.
    pub required_enabled: bool,
    /// If not empty, the other flag must serve one of these variants.
    pub required_variants: Vec<String>,
    /// What the other flag came out as (`None` when it does not exist).
    pub enabled: Option<bool>,
    pub variant: Option<String>,
    pub holds: bool,
}

/// One rule, as far as it was checked.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleStep {
    pub index: usize,
    pub name: Option<String>,
    /// The rule can never match (an Unleash strategy Flagpole does not implement, or a
    /// condition Unleash treats as never true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub never: bool,
    pub conditions: Vec<ConditionStep>,
    /// The rollout, when the conditions held and the rule has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutStep>,
    pub matched: bool,
}

/// One condition (a rule's own, or one of a segment's).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConditionStep {
    /// The segment the condition comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    pub attribute: String,
    pub operator: String,
    pub values: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub inverted: bool,
    /// The value the context has for the attribute.
    pub context_value: Option<String>,
    pub matched: bool,
}

/// Where the context fell in a rule's rollout.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutStep {
    pub percentage: u32,
    pub stickiness: String,
    /// The value hashed (`None`: drawn at random, or the attribute is missing).
    pub stickiness_value: Option<String>,
    /// The bucket, 1 to 100 (`None` when the attribute is missing).
    pub bucket: Option<u32>,
    pub included: bool,
}

/// The variant served and how it was chosen.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServeStep {
    /// `rule` (the matching rule's serve) or `default` (the environment's default).
    pub from: String,
    pub variant: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitStep>,
}

/// A weighted split: the ranges of buckets per variant and the context's bucket.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SplitStep {
    pub stickiness: String,
    pub stickiness_value: Option<String>,
    /// The bucket, 1 to `total`, or `None` when an override pinned the variant.
    pub bucket: Option<u32>,
    pub total: u32,
    pub ranges: Vec<SplitRange>,
    /// The context value an override pinned to its variant (no bucket is drawn then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned_by: Option<String>,
}

/// Buckets `from..=to` get `variant`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SplitRange {
    pub variant: String,
    pub from: u32,
    pub to: u32,
}
