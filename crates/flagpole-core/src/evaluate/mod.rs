//! Evaluation: (snapshot, flag key, context, now, random source) to a result. Reads only
//! what it is given and does not allocate. The pieces that place a context (a rule's
//! match and rollout bucket, a split's share, an Unleash parent's state) are shared with
//! the explained walk, so both reach the same result drawing at the same points.

mod evaluation;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use evaluation::{Chosen, ErrorCode, Evaluation, Reason};

use crate::context::Context;
use crate::matcher::Attr;
use crate::random::RandomSource;
use crate::snapshot::{
    CompiledDependency, CompiledFlag, CompiledRollout, CompiledRule, CompiledServe, Snapshot,
    Split, Stickiness,
};

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
        let mut w = Walk::new(ctx, now, rng);
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
                dep.met_by(&self.walk(parent, w))
            } else {
                unleash_parent(parent, dep, w).holds
            }
        })
    }
}

/// What one evaluation reads and what it learns on the way.
pub(crate) struct Walk<'a> {
    pub ctx: &'a Context,
    pub now: DateTime<Utc>,
    pub rng: &'a mut dyn RandomSource,
    /// A rollout or split needed the user id the context lacks.
    pub needs_user_id: bool,
}

impl<'a> Walk<'a> {
    pub(crate) fn new(ctx: &'a Context, now: DateTime<Utc>, rng: &'a mut dyn RandomSource) -> Self {
        Walk {
            ctx,
            now,
            rng,
            needs_user_id: false,
        }
    }
}

/// A variant choice: by a weighted split or fixed.
pub(crate) struct Served<'f> {
    pub variant: usize,
    /// The split share's own value and payload type.
    pub value: Option<&'f (Value, Option<Box<str>>)>,
    pub split: bool,
}

impl<'f> Served<'f> {
    /// A fixed variant.
    pub(crate) fn fixed(variant: usize) -> Served<'f> {
        Served {
            variant,
            value: None,
            split: false,
        }
    }

    /// The share at `index` of a split.
    pub(crate) fn share(split: &'f Split, index: usize) -> Served<'f> {
        let share = &split.shares[index];
        Served {
            variant: share.variant,
            value: share.value.as_deref(),
            split: true,
        }
    }
}

/// What an Unleash dependency found of its parent.
pub(crate) struct Parent<'f> {
    pub holds: bool,
    /// Whether the parent is on (`None`: it has dependencies of its own, so it is not
    /// looked at).
    pub enabled: Option<bool>,
    /// The variant it would pick, when the dependency names variants.
    pub variant: Option<&'f str>,
}

/// An Unleash dependency: one level only (a parent with dependencies of its own never
/// satisfies it), and the parent's variant is the one it would pick whether or not it is
/// enabled.
pub(crate) fn unleash_parent<'f>(
    parent: &'f CompiledFlag,
    dep: &CompiledDependency,
    w: &mut Walk<'_>,
) -> Parent<'f> {
    let mut found = Parent {
        holds: false,
        enabled: None,
        variant: None,
    };
    if !parent.dependencies.is_empty() {
        return found;
    }
    let enabled = parent.enabled
        && !parent.poisoned
        && (first_match(parent, w).is_some() || parent.rules.is_empty());
    found.enabled = Some(enabled);
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
            Some(s) => {
                let name = &*parent.variants[s.variant].name;
                found.variant = Some(name);
                dep.variants.iter().any(|d| **d == *name)
            }
            None => true,
        }
    };
    found.holds = variant_ok && enabled == dep.enabled;
    found
}

/// The evaluation of a flag that is on and served `served` (or no variant).
pub(crate) fn served_by<'s>(
    flag: &'s CompiledFlag,
    served: Option<Served<'s>>,
    reason: Reason,
) -> Evaluation<'s> {
    let chosen = served
        .as_ref()
        .map(|s| Chosen::of(&flag.variants[s.variant], s.value));
    let reason = match served {
        Some(Served { split: true, .. }) => Reason::Split,
        _ => reason,
    };
    Evaluation::new(flag, true, reason, chosen)
}

/// Where a context falls in a rollout: the stickiness value hashed (`None`: drawn at
/// random) and the bucket, 1 to 100; `None` when the stickiness attribute is missing.
#[inline]
pub(crate) fn rollout_bucket<'c>(
    rollout: &CompiledRollout,
    w: &mut Walk<'c>,
) -> Option<(Option<&'c str>, u32)> {
    let p = rollout.percentage;
    match stickiness_value(&rollout.stickiness, w.ctx) {
        Sticky::Value(v) => Some((Some(v), rollout.prefix.bucket(v, 100))),
        Sticky::Random => {
            // By default stickiness a user id would have fixed the bucket.
            if matches!(rollout.stickiness, Stickiness::Default) && p > 0 && p < 100 {
                w.needs_user_id = true;
            }
            Some((None, w.rng.below(100) + 1))
        }
        Sticky::Missing => {
            if matches!(rollout.stickiness, Stickiness::Attr(Attr::UserId)) && p > 0 {
                w.needs_user_id = true;
            }
            None
        }
    }
}

/// How a split placed a context.
pub(crate) enum Placement<'c> {
    /// An override pinned the context's attribute value to its share.
    Pinned(&'c str),
    /// The bucket, 1 to the split's total, from the stickiness value hashed (`None`:
    /// drawn at random).
    Bucket(Option<&'c str>, u32),
}

/// The index of the share a split gives the context, and how it was found.
#[inline]
pub(crate) fn place<'c>(split: &Split, w: &mut Walk<'c>) -> (usize, Placement<'c>) {
    for (attr, values, share) in &split.overrides {
        if let Some(v) = attr.get(w.ctx).filter(|v| values.contains(v)) {
            return (*share, Placement::Pinned(v));
        }
    }
    let (value, target) = match stickiness_value(&split.stickiness, w.ctx) {
        Sticky::Value(v) => (Some(v), split.prefix.bucket(v, split.total)),
        // Unlike a rollout, a split with its attribute missing still picks, at random.
        Sticky::Random | Sticky::Missing => {
            let by_user = matches!(
                split.stickiness,
                Stickiness::Default | Stickiness::Attr(Attr::UserId)
            );
            if by_user && split.varies {
                w.needs_user_id = true;
            }
            (None, w.rng.below(split.total) + 1)
        }
    };
    let index = split
        .shares
        .iter()
        .position(|s| s.cumulative >= target)
        .unwrap_or(split.shares.len() - 1);
    (index, Placement::Bucket(value, target))
}

impl CompiledDependency {
    /// Whether the parent's evaluation `e` meets this dependency.
    pub(crate) fn met_by(&self, e: &Evaluation<'_>) -> bool {
        e.enabled == self.enabled
            && (self.variants.is_empty()
                || e.chosen
                    .is_some_and(|c| self.variants.iter().any(|d| &**d == c.name)))
    }
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
    rollout_bucket(rollout, w).is_some_and(|(_, bucket)| p > 0 && bucket <= p)
}

fn choose<'f>(serve: &'f CompiledServe, w: &mut Walk<'_>) -> Served<'f> {
    match serve {
        CompiledServe::Variant(i) => Served::fixed(*i),
        CompiledServe::Split(split) => Served::share(split, place(split, w).0),
    }
}

/// Where a stickiness reads its value.
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
