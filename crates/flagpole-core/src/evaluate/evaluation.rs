//! What evaluating one flag answers: the [`Evaluation`] (borrowing from the snapshot),
//! the [`Reason`] behind it, the [`ErrorCode`] when there was none to give, and the
//! [`Chosen`] variant as Unleash reports it. Built by the walk of `mod.rs` and by the
//! explained walk alike.

use serde::Serialize;
use serde_json::Value;

use crate::document::FlagType;
use crate::snapshot::{CompiledFlag, CompiledVariant};

/// Why an evaluation came out as it did; names are OpenFeature's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// The flag is switched off in this environment.
    Disabled,
    /// A rule matched and served a fixed variant, or no variant.
    TargetingMatch,
    /// A weighted split chose the variant.
    Split,
    /// No rule decided: the flag has no rules (its default is served), or none matched
    /// (the flag is off for this context).
    Default,
    /// A flag this one depends on was not in the required state.
    PrerequisiteFailed,
    /// The flag could not be evaluated; see [`Evaluation::error`].
    Error,
}

impl Reason {
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::Disabled => "DISABLED",
            Reason::TargetingMatch => "TARGETING_MATCH",
            Reason::Split => "SPLIT",
            Reason::Default => "DEFAULT",
            Reason::PrerequisiteFailed => "PREREQUISITE_FAILED",
            Reason::Error => "ERROR",
        }
    }
}

/// What went wrong when [`Reason::Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    FlagNotFound,
}

/// The result of evaluating one flag; borrows from the snapshot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation<'s> {
    /// Whether the flag is on for this context.
    pub enabled: bool,
    /// The variant served: the one a rule or the default chose, else, for string, number
    /// and JSON flags, the environment's off variant.
    pub variant: Option<&'s str>,
    /// The value served: the variant's value (for a chosen variant without one, the off
    /// variant's); for boolean flags without one, `enabled`. `None` only for unknown
    /// flags and string, number or JSON flags without variants.
    pub value: Option<&'s Value>,
    /// The variant a rule or the default chose, as Unleash reports it (`None`: Unleash's
    /// `disabled` variant), with its own value.
    pub chosen: Option<Chosen<'s>>,
    pub reason: Reason,
    /// Index of the rule that matched.
    pub rule_index: Option<usize>,
    /// Name of the rule that matched, if it has one.
    pub rule_name: Option<&'s str>,
    pub flag_type: FlagType,
    pub error: Option<ErrorCode>,
    /// Evaluation reached a rollout or split that places contexts by user id, and the
    /// context has none: with one, the answer could differ (OFREP's
    /// `TARGETING_KEY_MISSING`).
    pub needs_user_id: bool,
}

/// A variant chosen by a rule or default, with the value it carries there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Chosen<'s> {
    pub name: &'s str,
    pub value: Option<&'s Value>,
    /// The Unleash payload type of `value`, when the flag type alone does not say it.
    pub payload_type: Option<&'s str>,
}

impl<'s> Chosen<'s> {
    /// The variant `v`, with a split share's own value and payload type (`own`) in place
    /// of the variant's.
    pub(crate) fn of(
        v: &'s CompiledVariant,
        own: Option<&'s (Value, Option<Box<str>>)>,
    ) -> Chosen<'s> {
        match own {
            Some((value, payload_type)) => Chosen {
                name: &v.name,
                value: Some(value),
                payload_type: payload_type.as_deref(),
            },
            None => Chosen {
                name: &v.name,
                value: v.value.as_deref(),
                payload_type: v.payload_type.as_deref(),
            },
        }
    }
}

impl<'s> Evaluation<'s> {
    /// The evaluation of a flag that serves `chosen` (or nothing).
    pub(crate) fn new(
        flag: &'s CompiledFlag,
        enabled: bool,
        reason: Reason,
        chosen: Option<Chosen<'s>>,
    ) -> Evaluation<'s> {
        let off = flag.off.map(|i| &flag.variants[i]);
        let (variant, value) = match (flag.flag_type, chosen) {
            (FlagType::Boolean, _) => (
                chosen.map(|c| c.name),
                chosen
                    .and_then(|c| c.value)
                    .or(Some(if enabled { &TRUE } else { &FALSE })),
            ),
            (_, Some(c)) => (
                Some(c.name),
                c.value.or(off.and_then(|v| v.value.as_deref())),
            ),
            (_, None) => (off.map(|v| &*v.name), off.and_then(|v| v.value.as_deref())),
        };
        Evaluation {
            enabled,
            variant,
            value,
            chosen,
            reason,
            rule_index: None,
            rule_name: None,
            flag_type: flag.flag_type,
            error: None,
            needs_user_id: false,
        }
    }

    pub(crate) fn not_found() -> Evaluation<'static> {
        Evaluation {
            enabled: false,
            variant: None,
            value: None,
            chosen: None,
            reason: Reason::Error,
            rule_index: None,
            rule_name: None,
            flag_type: FlagType::Boolean,
            error: Some(ErrorCode::FlagNotFound),
            needs_user_id: false,
        }
    }
}

/// The values of boolean flags without variant values.
static TRUE: Value = Value::Bool(true);
static FALSE: Value = Value::Bool(false);
