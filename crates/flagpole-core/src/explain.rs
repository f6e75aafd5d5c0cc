//! Explained evaluation: a second, opt-in walk over a compiled flag that records each
//! step (the kill switch, each dependency, each rule in order with each condition, the
//! context value it read and whether it matched, the rollout bucket and threshold, the
//! split's ranges) next to the result. It reaches the same result as
//! [`Snapshot::evaluate`], reading the same compiled structures and drawing from the
//! random source at the same points (a test compares them over many contexts); it
//! allocates, and the fast path is untouched by it.
//!
//! Conditions are named from the document the snapshot was compiled from: the compiled
//! matchers of a rule are its own conditions, then its segments' conditions, in order.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::catalog::Catalog;
use crate::context::Context;
use crate::document::FlagEnvironment;
use crate::evaluate::{Chosen, Evaluation, Reason};
use crate::matcher::Attr;
use crate::random::RandomSource;
use crate::rule::Rule;
use crate::snapshot::{CompiledFlag, CompiledRule, CompiledServe, Snapshot, Split, Stickiness};

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

struct Walk<'a> {
    doc: &'a dyn Catalog,
    environment: &'a str,
    ctx: &'a Context,
    now: DateTime<Utc>,
    rng: &'a mut dyn RandomSource,
    needs_user_id: bool,
}

impl Snapshot {
    /// Evaluates one flag as [`Snapshot::evaluate`] does and records why. `doc` is the
    /// flag set this snapshot was compiled from (a [`crate::Document`] or any other
    /// [`Catalog`]; it names the conditions). `None` for a
    /// key the snapshot does not have.
    pub fn explain<'s>(
        &'s self,
        doc: &dyn Catalog,
        key: &str,
        ctx: &Context,
        now: DateTime<Utc>,
        rng: &mut dyn RandomSource,
    ) -> Option<Explained<'s>> {
        let flag = self.compiled(key)?;
        let mut w = Walk {
            doc,
            environment: self.environment(),
            ctx,
            now,
            rng,
            needs_user_id: false,
        };
        let (mut evaluation, trace) = self.explain_flag(flag, &mut w);
        evaluation.needs_user_id = w.needs_user_id;
        Some(Explained { evaluation, trace })
    }

    fn explain_flag<'s>(
        &'s self,
        flag: &'s CompiledFlag,
        w: &mut Walk<'_>,
    ) -> (Evaluation<'s>, Trace) {
        let mut trace = Trace {
            flag: flag.key.to_string(),
            enabled: flag.enabled,
            unusable: flag.poisoned,
            ..Trace::default()
        };
        if !flag.enabled || flag.poisoned {
            return (Evaluation::new(flag, false, Reason::Disabled, None), trace);
        }
        let config = source(w, &flag.key);
        for (i, dep) in flag.dependencies.iter().enumerate() {
            let name = config
                .as_ref()
                .and_then(|c| c.depends_on.get(i))
                .map_or_else(String::new, |d| d.flag.clone());
            let step = self.explain_dependency(flag, dep, name, w);
            let holds = step.holds;
            trace.dependencies.push(step);
            if !holds {
                return (
                    Evaluation::new(flag, false, Reason::PrerequisiteFailed, None),
                    trace,
                );
            }
        }
        let rules = config
            .as_ref()
            .map(|c| c.rules.as_slice())
            .unwrap_or_default();
        if flag.rules.is_empty() {
            let served = flag.default.as_ref().map(|s| choose(flag, s, w));
            return finish(flag, served, "default", Reason::Default, trace);
        }
        for (index, rule) in flag.rules.iter().enumerate() {
            let step = rule_step(rule, rules.get(index), index, w);
            let matched = step.matched;
            trace.rules.push(step);
            if matched {
                let (serve, from) = match &rule.serve {
                    Some(s) => (Some(s), "rule"),
                    None => (flag.default.as_ref(), "default"),
                };
                let served = serve.map(|s| choose(flag, s, w));
                let (mut e, trace) = finish(flag, served, from, Reason::TargetingMatch, trace);
                e.rule_index = Some(index);
                e.rule_name = rule.name.as_deref();
                return (e, trace);
            }
        }
        (Evaluation::new(flag, false, Reason::Default, None), trace)
    }

    fn explain_dependency(
        &self,
        flag: &CompiledFlag,
        dep: &crate::snapshot::CompiledDependency,
        name: String,
        w: &mut Walk<'_>,
    ) -> DependencyStep {
        let mut step = DependencyStep {
            flag: name,
            required_enabled: dep.enabled,
            required_variants: dep.variants.iter().map(|v| v.to_string()).collect(),
            ..DependencyStep::default()
        };
        let Some(parent) = self.parent(dep) else {
            return step;
        };
        step.flag = parent.key.to_string();
        if flag.compat.is_native() {
            let (e, _) = self.explain_flag(parent, w);
            step.enabled = Some(e.enabled);
            step.variant = e.chosen.map(|c| c.name.to_string());
            step.holds = e.enabled == dep.enabled
                && (dep.variants.is_empty()
                    || e.chosen
                        .is_some_and(|c| dep.variants.iter().any(|d| &**d == c.name)));
            return step;
        }
        // Unleash: one level only; the parent's variant is the one it would pick whether
        // or not it is enabled.
        if !parent.dependencies.is_empty() {
            return step;
        }
        let enabled = parent.enabled
            && !parent.poisoned
            && (first_match(parent, w).is_some() || parent.rules.is_empty());
        step.enabled = Some(enabled);
        let variant_ok = dep.variants.is_empty() || {
            let rule = if parent.poisoned {
                None
            } else {
                first_match(parent, w)
            };
            let serve = rule
                .and_then(|r| parent.rules[r].serve.as_ref())
                .or(parent.default.as_ref());
            match serve.map(|s| choose(parent, s, w)) {
                Some((variant, _, _)) => {
                    let name = &parent.variants[variant].name;
                    step.variant = Some(name.to_string());
                    dep.variants.iter().any(|d| **d == **name)
                }
                None => true,
            }
        };
        step.holds = variant_ok && enabled == dep.enabled;
        step
    }
}

/// The environment's configuration of `key` in the document, which names the conditions.
/// Owned: the catalog may parse the flag on demand.
fn source(w: &Walk<'_>, key: &str) -> Option<FlagEnvironment> {
    let flag = w.doc.flag(key)?;
    match flag {
        std::borrow::Cow::Borrowed(f) => f.environments.get(w.environment).cloned(),
        std::borrow::Cow::Owned(mut f) => f.environments.swap_remove(w.environment),
    }
}

/// The index of the first rule that matches, walking as the engine does.
fn first_match(flag: &CompiledFlag, w: &mut Walk<'_>) -> Option<usize> {
    (0..flag.rules.len()).find(|&i| rule_step(&flag.rules[i], None, i, w).matched)
}

/// Checks one rule, recording each condition and the rollout.
fn rule_step(
    rule: &CompiledRule,
    source: Option<&Rule>,
    index: usize,
    w: &mut Walk<'_>,
) -> RuleStep {
    let labels = labels(w.doc, source);
    let conditions: Vec<ConditionStep> = rule
        .matchers
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut step = labels.get(i).cloned().unwrap_or_else(|| ConditionStep {
                attribute: format!("condition {}", i + 1),
                ..ConditionStep::default()
            });
            step.context_value = Attr::new(&step.attribute).get(w.ctx).map(str::to_string);
            step.matched = m.matches(w.ctx, w.now);
            step
        })
        .collect();
    let mut step = RuleStep {
        index,
        name: rule.name.as_deref().map(str::to_string),
        never: rule.never,
        matched: false,
        rollout: None,
        conditions,
    };
    if rule.never || !step.conditions.iter().all(|c| c.matched) {
        return step;
    }
    let Some(rollout) = &rule.rollout else {
        step.matched = true;
        return step;
    };
    let p = rollout.percentage;
    let (value, bucket) = match sticky(&rollout.stickiness, w.ctx) {
        Some(Some(v)) => (Some(v.to_string()), Some(rollout.prefix.bucket(v, 100))),
        Some(None) => {
            if matches!(rollout.stickiness, Stickiness::Default) && p > 0 && p < 100 {
                w.needs_user_id = true;
            }
            (None, Some(w.rng.below(100) + 1))
        }
        None => {
            if matches!(rollout.stickiness, Stickiness::Attr(Attr::UserId)) && p > 0 {
                w.needs_user_id = true;
            }
            (None, None)
        }
    };
    let included = bucket.is_some_and(|b| p > 0 && b <= p);
    step.rollout = Some(RolloutStep {
        percentage: p,
        stickiness: stickiness_name(source.and_then(|r| r.stickiness.as_deref())),
        stickiness_value: value,
        bucket,
        included,
    });
    step.matched = included;
    step
}

/// The conditions a rule's matchers were compiled from: its own, then its segments'.
fn labels(doc: &dyn Catalog, rule: Option<&Rule>) -> Vec<ConditionStep> {
    let Some(rule) = rule else {
        return Vec::new();
    };
    let own = rule.conditions.iter().map(|c| (None, c));
    let segments = rule.segments.iter().flat_map(|name| {
        doc.segment(name)
            .into_iter()
            .flat_map(move |s| s.conditions.iter().map(move |c| (Some(name.clone()), c)))
    });
    own.chain(segments)
        .map(|(segment, c)| ConditionStep {
            segment,
            attribute: c.attribute.clone(),
            operator: c.operator.as_str().to_string(),
            values: match &c.value {
                Some(v) => vec![v.clone()],
                None => c.values.clone(),
            },
            inverted: c.inverted,
            context_value: None,
            matched: false,
        })
        .collect()
}

fn stickiness_name(name: Option<&str>) -> String {
    name.unwrap_or("default").to_string()
}

/// The stickiness value: `Some(Some(v))` hashed, `Some(None)` random, `None` missing.
fn sticky<'c>(s: &Stickiness, ctx: &'c Context) -> Option<Option<&'c str>> {
    match s {
        Stickiness::Default => Some(ctx.user_id.as_deref().or(ctx.session_id.as_deref())),
        Stickiness::Random => Some(None),
        Stickiness::Attr(a) => a.get(ctx).map(Some),
    }
}

/// The variant index, the split share's own value, and the split's record.
type Choice<'f> = (
    usize,
    Option<&'f (serde_json::Value, Option<Box<str>>)>,
    Option<SplitStep>,
);

fn choose<'f>(flag: &CompiledFlag, serve: &'f CompiledServe, w: &mut Walk<'_>) -> Choice<'f> {
    match serve {
        CompiledServe::Variant(i) => (*i, None, None),
        CompiledServe::Split(split) => {
            let (index, step) = pick(flag, split, w);
            let share = &split.shares[index];
            (share.variant, share.value.as_deref(), Some(step))
        }
    }
}

fn pick(flag: &CompiledFlag, split: &Split, w: &mut Walk<'_>) -> (usize, SplitStep) {
    let mut from = 1;
    let ranges = split
        .shares
        .iter()
        .map(|s| {
            let range = SplitRange {
                variant: flag.variants[s.variant].name.to_string(),
                from,
                to: s.cumulative,
            };
            from = s.cumulative + 1;
            range
        })
        .collect();
    let mut step = SplitStep {
        stickiness: match &split.stickiness {
            Stickiness::Default => "default".into(),
            Stickiness::Random => "random".into(),
            Stickiness::Attr(_) => "attribute".into(),
        },
        total: split.total,
        ranges,
        ..SplitStep::default()
    };
    for (attr, values, share) in &split.overrides {
        if let Some(v) = attr.get(w.ctx).filter(|v| values.contains(v)) {
            step.pinned_by = Some(v.to_string());
            return (*share, step);
        }
    }
    let target = match sticky(&split.stickiness, w.ctx) {
        Some(Some(v)) => {
            step.stickiness_value = Some(v.to_string());
            split.prefix.bucket(v, split.total)
        }
        _ => {
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
    step.bucket = Some(target);
    let index = split
        .shares
        .iter()
        .position(|s| s.cumulative >= target)
        .unwrap_or(split.shares.len() - 1);
    (index, step)
}

/// The evaluation of a flag that is on and served `served` (or no variant).
fn finish<'s>(
    flag: &'s CompiledFlag,
    served: Option<Choice<'s>>,
    from: &str,
    reason: Reason,
    mut trace: Trace,
) -> (Evaluation<'s>, Trace) {
    let Some((variant, own, split)) = served else {
        return (Evaluation::new(flag, true, reason, None), trace);
    };
    let v = &flag.variants[variant];
    let chosen = match own {
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
    };
    let reason = if split.is_some() {
        Reason::Split
    } else {
        reason
    };
    trace.serve = Some(ServeStep {
        from: from.to_string(),
        variant: v.name.to_string(),
        split,
    });
    (Evaluation::new(flag, true, reason, Some(chosen)), trace)
}
