//! Evaluation: (snapshot, flag key, context, now, random source) to a result. Reads only
//! what it is given and does not allocate.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::context::Context;
use crate::document::FlagType;
use crate::matcher::Attr;
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

static TRUE: Value = Value::Bool(true);
static FALSE: Value = Value::Bool(false);

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

    fn not_found() -> Evaluation<'static> {
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

/// A variant choice: by a weighted split or fixed.
struct Served<'f> {
    variant: usize,
    /// The split share's own value and payload type.
    value: Option<&'f (Value, Option<Box<str>>)>,
    split: bool,
}

/// What one evaluation reads and what it learns on the way.
struct Walk<'a> {
    ctx: &'a Context,
    now: DateTime<Utc>,
    rng: &'a mut dyn RandomSource,
    /// A rollout or split needed the user id the context lacks.
    needs_user_id: bool,
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
        match self.compiled(key) {
            Some(flag) => self.evaluate_flag(flag, ctx, now, rng),
            None => Evaluation::not_found(),
        }
    }

    /// Evaluates every flag, in no particular order (the same as [`Snapshot::keys`]);
    /// allocation-free like [`Snapshot::evaluate`].
    pub fn evaluate_all<'s, 'a>(
        &'s self,
        ctx: &'a Context,
        now: DateTime<Utc>,
        rng: &'a mut dyn RandomSource,
    ) -> impl Iterator<Item = (&'s str, Evaluation<'s>)> + 'a
    where
        's: 'a,
    {
        self.index
            .values()
            .map(move |f| (&*f.key, self.evaluate_flag(f, ctx, now, rng)))
    }

    pub(crate) fn evaluate_flag<'s>(
        &'s self,
        flag: &'s CompiledFlag,
        ctx: &Context,
        now: DateTime<Utc>,
        rng: &mut dyn RandomSource,
    ) -> Evaluation<'s> {
        let mut w = Walk {
            ctx,
            now,
            rng,
            needs_user_id: false,
        };
        let mut e = self.walk(flag, &mut w);
        e.needs_user_id = w.needs_user_id;
        e
    }

    fn walk<'s>(&'s self, flag: &'s CompiledFlag, w: &mut Walk<'_>) -> Evaluation<'s> {
        if !flag.enabled || flag.poisoned {
            return Evaluation::new(flag, false, Reason::Disabled, None);
        }
        if !flag.dependencies.is_empty() && !self.dependencies_hold(flag, w) {
            return Evaluation::new(flag, false, Reason::PrerequisiteFailed, None);
        }
        if flag.rules.is_empty() {
            let served = flag.default.as_ref().map(|s| choose(s, w));
            return served_by(flag, served, Reason::Default);
        }
        match first_match(flag, w) {
            Some((index, rule)) => {
                let serve = rule.serve.as_ref().or(flag.default.as_ref());
                let served = serve.map(|s| choose(s, w));
                let mut e = served_by(flag, served, Reason::TargetingMatch);
                e.rule_index = Some(index);
                e.rule_name = rule.name.as_deref();
                e
            }
            None => Evaluation::new(flag, false, Reason::Default, None),
        }
    }

    fn dependencies_hold(&self, flag: &CompiledFlag, w: &mut Walk<'_>) -> bool {
        flag.dependencies.iter().all(|dep| {
            let Some(parent) = self.parent(dep) else {
                return false;
            };
            if flag.compat.is_native() {
                // Transitive: the parent is evaluated in full, its own dependencies too.
                let e = self.walk(parent, w);
                e.enabled == dep.enabled
                    && (dep.variants.is_empty()
                        || e.chosen
                            .is_some_and(|c| dep.variants.iter().any(|d| &**d == c.name)))
            } else {
                // Unleash: one level only, and the parent's variant is the one it would
                // pick whether or not it is enabled.
                if !parent.dependencies.is_empty() {
                    return false;
                }
                let enabled = parent.enabled && !parent.poisoned && {
                    let m = first_match(parent, w);
                    m.is_some() || parent.rules.is_empty()
                };
                let variant_ok = dep.variants.is_empty() || {
                    let rule = if parent.poisoned {
                        None
                    } else {
                        first_match(parent, w).map(|(_, r)| r)
                    };
                    let serve = rule
                        .and_then(|r| r.serve.as_ref())
                        .or(parent.default.as_ref());
                    match serve.map(|s| choose(s, w)) {
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

/// The evaluation of a flag that is on and served `served` (or no variant).
fn served_by<'s>(
    flag: &'s CompiledFlag,
    served: Option<Served<'s>>,
    reason: Reason,
) -> Evaluation<'s> {
    let chosen = served.as_ref().map(|s| {
        let v = &flag.variants[s.variant];
        match s.value {
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
    });
    let reason = match served {
        Some(Served { split: true, .. }) => Reason::Split,
        _ => reason,
    };
    Evaluation::new(flag, true, reason, chosen)
}

fn first_match<'f>(flag: &'f CompiledFlag, w: &mut Walk<'_>) -> Option<(usize, &'f CompiledRule)> {
    flag.rules
        .iter()
        .enumerate()
        .find(|(_, rule)| rule_matches(rule, w))
}

#[inline]
fn rule_matches(rule: &CompiledRule, w: &mut Walk<'_>) -> bool {
    if rule.never || !rule.matchers.iter().all(|m| m.matches(w.ctx, w.now)) {
        return false;
    }
    let Some(rollout) = &rule.rollout else {
        return true;
    };
    let p = rollout.percentage;
    let bucket = match stickiness_value(&rollout.stickiness, w.ctx) {
        Sticky::Value(v) => rollout.prefix.bucket(v, 100),
        Sticky::Random => {
            // By default stickiness a user id would have fixed the bucket.
            if matches!(rollout.stickiness, Stickiness::Default) && p > 0 && p < 100 {
                w.needs_user_id = true;
            }
            w.rng.below(100) + 1
        }
        Sticky::Missing => {
            if matches!(rollout.stickiness, Stickiness::Attr(Attr::UserId)) && p > 0 {
                w.needs_user_id = true;
            }
            return false;
        }
    };
    p > 0 && bucket <= p
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

fn choose<'f>(serve: &'f CompiledServe, w: &mut Walk<'_>) -> Served<'f> {
    match serve {
        CompiledServe::Variant(i) => Served {
            variant: *i,
            value: None,
            split: false,
        },
        CompiledServe::Split(split) => {
            let share = &split.shares[pick(split, w)];
            Served {
                variant: share.variant,
                value: share.value.as_deref(),
                split: true,
            }
        }
    }
}

/// The index of the share a split gives the context.
fn pick(split: &Split, w: &mut Walk<'_>) -> usize {
    for (attr, values, share) in &split.overrides {
        if attr.get(w.ctx).is_some_and(|v| values.contains(v)) {
            return *share;
        }
    }
    let target = match stickiness_value(&split.stickiness, w.ctx) {
        Sticky::Value(v) => split.prefix.bucket(v, split.total),
        // Unlike a rollout, a split with its attribute missing still picks, at random.
        Sticky::Random | Sticky::Missing => {
            let by_user = matches!(
                split.stickiness,
                Stickiness::Default | Stickiness::Attr(Attr::UserId)
            );
            if by_user && split.varies {
                w.needs_user_id = true;
            }
            w.rng.below(split.total) + 1
        }
    };
    split
        .shares
        .iter()
        .position(|s| s.cumulative >= target)
        .unwrap_or(split.shares.len() - 1)
}
