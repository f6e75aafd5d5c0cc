//! Evaluation: (snapshot, flag key, context, now, random source) to a result. Reads only
//! what it is given and does not allocate.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::context::Context;
use crate::document::FlagType;
use crate::random::RandomSource;
use crate::snapshot::{CompiledFlag, CompiledRule, CompiledServe, Snapshot, Split, Stickiness};

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
    /// The variant served, if any.
    pub variant: Option<&'s str>,
    /// The value served: the variant's value; for boolean flags without one, `enabled`.
    pub value: Option<&'s Value>,
    pub reason: Reason,
    /// Index of the rule that matched.
    pub rule_index: Option<usize>,
    /// Name of the rule that matched, if it has one.
    pub rule_name: Option<&'s str>,
    pub flag_type: FlagType,
    pub error: Option<ErrorCode>,
}

static TRUE: Value = Value::Bool(true);
static FALSE: Value = Value::Bool(false);

impl<'s> Evaluation<'s> {
    fn new(flag: &'s CompiledFlag, enabled: bool, reason: Reason) -> Evaluation<'s> {
        Evaluation {
            enabled,
            variant: None,
            value: boolean_value(flag.flag_type, enabled),
            reason,
            rule_index: None,
            rule_name: None,
            flag_type: flag.flag_type,
            error: None,
        }
    }

    fn not_found() -> Evaluation<'static> {
        Evaluation {
            enabled: false,
            variant: None,
            value: None,
            reason: Reason::Error,
            rule_index: None,
            rule_name: None,
            flag_type: FlagType::Boolean,
            error: Some(ErrorCode::FlagNotFound),
        }
    }
}

fn boolean_value(flag_type: FlagType, enabled: bool) -> Option<&'static Value> {
    match flag_type {
        FlagType::Boolean if enabled => Some(&TRUE),
        FlagType::Boolean => Some(&FALSE),
        _ => None,
    }
}

/// A variant choice: by a weighted split or fixed.
struct Served {
    variant: usize,
    split: bool,
}

impl Snapshot {
    /// Evaluates one flag. An unknown key gives `enabled: false`, reason `ERROR` and
    /// [`ErrorCode::FlagNotFound`].
    #[inline]
    pub fn evaluate<'s>(
        &'s self,
        key: &str,
        ctx: &Context,
        now: DateTime<Utc>,
        rng: &mut dyn RandomSource,
    ) -> Evaluation<'s> {
        match self.index.get(key) {
            Some(&i) => self.evaluate_index(i, ctx, now, rng),
            None => Evaluation::not_found(),
        }
    }

    /// Evaluates every flag, in document order.
    pub fn evaluate_all<'s, 'a>(
        &'s self,
        ctx: &'a Context,
        now: DateTime<Utc>,
        rng: &'a mut dyn RandomSource,
    ) -> impl Iterator<Item = (&'s str, Evaluation<'s>)> + 'a
    where
        's: 'a,
    {
        (0..self.flags.len())
            .map(move |i| (&*self.flags[i].key, self.evaluate_index(i, ctx, now, rng)))
    }

    pub(crate) fn evaluate_index<'s>(
        &'s self,
        i: usize,
        ctx: &Context,
        now: DateTime<Utc>,
        rng: &mut dyn RandomSource,
    ) -> Evaluation<'s> {
        let flag = &self.flags[i];
        if !flag.enabled || flag.poisoned {
            return Evaluation::new(flag, false, Reason::Disabled);
        }
        if !flag.dependencies.is_empty() && !self.dependencies_hold(flag, ctx, now, rng) {
            return Evaluation::new(flag, false, Reason::PrerequisiteFailed);
        }
        if flag.rules.is_empty() {
            return match &flag.default {
                None => Evaluation::new(flag, true, Reason::Default),
                Some(s) => self.served(flag, choose(s, ctx, rng), Reason::Default),
            };
        }
        match self.first_match(flag, ctx, now, rng) {
            Some((index, rule)) => {
                let serve = rule.serve.as_ref().or(flag.default.as_ref());
                let served = serve.and_then(|s| choose(s, ctx, rng));
                let mut e = self.served(flag, served, Reason::TargetingMatch);
                e.rule_index = Some(index);
                e.rule_name = rule.name.as_deref();
                e
            }
            None => Evaluation::new(flag, false, Reason::Default),
        }
    }

    fn served<'s>(
        &'s self,
        flag: &'s CompiledFlag,
        served: Option<Served>,
        reason: Reason,
    ) -> Evaluation<'s> {
        let mut e = Evaluation::new(flag, true, reason);
        if let Some(s) = served {
            let v = &flag.variants[s.variant];
            e.variant = Some(&v.name);
            if let Some(value) = &v.value {
                e.value = Some(value);
            }
            if s.split {
                e.reason = Reason::Split;
            }
        }
        e
    }

    fn first_match<'f>(
        &self,
        flag: &'f CompiledFlag,
        ctx: &Context,
        now: DateTime<Utc>,
        rng: &mut dyn RandomSource,
    ) -> Option<(usize, &'f CompiledRule)> {
        flag.rules
            .iter()
            .enumerate()
            .find(|(_, rule)| rule_matches(rule, ctx, now, rng))
    }

    fn dependencies_hold(
        &self,
        flag: &CompiledFlag,
        ctx: &Context,
        now: DateTime<Utc>,
        rng: &mut dyn RandomSource,
    ) -> bool {
        flag.dependencies.iter().all(|dep| {
            let Some(parent_index) = dep.flag else {
                return false;
            };
            let parent = &self.flags[parent_index];
            if flag.compat.is_native() {
                // Transitive: the parent is evaluated in full, its own dependencies too.
                let e = self.evaluate_index(parent_index, ctx, now, rng);
                e.enabled == dep.enabled
                    && (dep.variants.is_empty()
                        || e.variant
                            .is_some_and(|v| dep.variants.iter().any(|d| &**d == v)))
            } else {
                // Unleash: one level only, and the parent's variant is the one it would
                // pick whether or not it is enabled.
                if !parent.dependencies.is_empty() {
                    return false;
                }
                let enabled = parent.enabled && !parent.poisoned && {
                    let m = self.first_match(parent, ctx, now, rng);
                    m.is_some() || parent.rules.is_empty()
                };
                let variant_ok = dep.variants.is_empty() || {
                    let rule = if parent.poisoned {
                        None
                    } else {
                        self.first_match(parent, ctx, now, rng).map(|(_, r)| r)
                    };
                    let serve = rule
                        .and_then(|r| r.serve.as_ref())
                        .or(parent.default.as_ref());
                    match serve.and_then(|s| choose(s, ctx, rng)) {
                        Some(s) => dep
                            .variants
                            .iter()
                            .any(|d| **d == *parent.variants[s.variant].name),
                        None => true,
                    }
                };
                variant_ok && enabled == dep.enabled
            }
        })
    }
}

#[inline]
fn rule_matches(
    rule: &CompiledRule,
    ctx: &Context,
    now: DateTime<Utc>,
    rng: &mut dyn RandomSource,
) -> bool {
    if rule.never || !rule.matchers.iter().all(|m| m.matches(ctx, now)) {
        return false;
    }
    let Some(rollout) = &rule.rollout else {
        return true;
    };
    let bucket = match stickiness_value(&rollout.stickiness, ctx) {
        Sticky::Value(v) => rollout.prefix.bucket(v, 100),
        Sticky::Random => rng.below(100) + 1,
        Sticky::Missing => return false,
    };
    rollout.percentage > 0 && bucket <= rollout.percentage
}

enum Sticky<'c> {
    Value(&'c str),
    Random,
    Missing,
}

#[inline]
fn stickiness_value<'c>(s: &Stickiness, ctx: &'c Context) -> Sticky<'c> {
    match s {
        Stickiness::Default => match ctx.user_id.as_deref().or(ctx.session_id.as_deref()) {
            Some(v) => Sticky::Value(v),
            None => Sticky::Random,
        },
        Stickiness::Random => Sticky::Random,
        Stickiness::Attr(a) => match a.get(ctx) {
            Some(v) => Sticky::Value(v),
            None => Sticky::Missing,
        },
    }
}

fn choose(serve: &CompiledServe, ctx: &Context, rng: &mut dyn RandomSource) -> Option<Served> {
    match serve {
        CompiledServe::Variant(i) => Some(Served {
            variant: *i,
            split: false,
        }),
        CompiledServe::Split(split) => Some(Served {
            variant: pick(split, ctx, rng),
            split: true,
        }),
    }
}

fn pick(split: &Split, ctx: &Context, rng: &mut dyn RandomSource) -> usize {
    for (attr, values, variant) in &split.overrides {
        if attr.get(ctx).is_some_and(|v| values.contains(v)) {
            return *variant;
        }
    }
    let target = match stickiness_value(&split.stickiness, ctx) {
        Sticky::Value(v) => split.prefix.bucket(v, split.total),
        // Unlike a rollout, a split with its attribute missing still picks, at random.
        Sticky::Random | Sticky::Missing => rng.below(split.total) + 1,
    };
    split
        .shares
        .iter()
        .find(|(_, cumulative)| *cumulative >= target)
        .map_or(split.shares[split.shares.len() - 1].0, |(v, _)| *v)
}
