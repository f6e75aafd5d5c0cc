//! Explained evaluation: a second, opt-in walk over a compiled flag that records each
//! step (the kill switch, each dependency, each rule in order with each condition, the
//! context value it read and whether it matched, the rollout bucket and threshold, the
//! split's ranges) next to the result, as the [`Trace`] of `trace.rs`. It reaches the
//! same result as [`Snapshot::evaluate`], reading the same compiled structures through
//! the same placing steps of the evaluation (rollout buckets, split shares, Unleash
//! parents), so it draws from the random source at the same points (a test compares
//! them over many contexts); it allocates, and the fast path is untouched by it.
//!
//! Conditions are named from the document the snapshot was compiled from: the compiled
//! matchers of a rule are its own conditions, then its segments' conditions, in order.

mod trace;

use std::borrow::Cow;

use chrono::{DateTime, Utc};

pub use trace::{
    ConditionStep, DependencyStep, Explained, RolloutStep, RuleStep, ServeStep, SplitRange,
    SplitStep, Trace,
};

use crate::catalog::Catalog;
use crate::context::Context;
use crate::document::FlagEnvironment;
use crate::evaluate::{
    place, rollout_bucket, served_by, unleash_parent, Evaluation, Placement, Reason, Served, Walk,
};
use crate::matcher::Attr;
use crate::random::RandomSource;
use crate::rule::Rule;
use crate::snapshot::{
    CompiledDependency, CompiledFlag, CompiledRule, CompiledServe, Snapshot, Split, Stickiness,
};

impl Snapshot {
    /// Evaluates one flag as [`Snapshot::evaluate`] does and records why. `doc` is the
    /// flag set this snapshot was compiled from (a [`Document`](crate::document::Document)
    /// or any other [`Catalog`]; it names the conditions). `None` for a key the snapshot
    /// does not have.
    pub fn explain<'s>(
        &'s self,
        doc: &dyn Catalog,
        key: &str,
        ctx: &Context,
        now: DateTime<Utc>,
        rng: &mut dyn RandomSource,
    ) -> Option<Explained<'s>> {
        let flag = self.compiled(key)?;
        let mut w = Explaining {
            doc,
            environment: self.environment(),
            walk: Walk::new(ctx, now, rng),
        };
        let (mut evaluation, trace) = self.explain_flag(flag, &mut w);
        evaluation.needs_user_id = w.walk.needs_user_id;
        Some(Explained { evaluation, trace })
    }

    fn explain_flag<'s>(
        &'s self,
        flag: &'s CompiledFlag,
        w: &mut Explaining<'_>,
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
        let config = w.source(&flag.key);
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
        dep: &CompiledDependency,
        name: String,
        w: &mut Explaining<'_>,
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
            step.holds = dep.met_by(&e);
        } else {
            let found = unleash_parent(parent, dep, &mut w.walk);
            step.enabled = found.enabled;
            step.variant = found.variant.map(str::to_string);
            step.holds = found.holds;
        }
        step
    }
}

/// An evaluation's walk, with the flag set that names what it reads.
struct Explaining<'a> {
    doc: &'a dyn Catalog,
    environment: &'a str,
    walk: Walk<'a>,
}

impl Explaining<'_> {
    /// The environment's configuration of `key` in the document, which names the
    /// conditions. Owned: the catalog may parse the flag on demand.
    fn source(&self, key: &str) -> Option<FlagEnvironment> {
        match self.doc.flag(key)? {
            Cow::Borrowed(f) => f.environments.get(self.environment).cloned(),
            Cow::Owned(mut f) => f.environments.swap_remove(self.environment),
        }
    }
}

/// Checks one rule, recording each condition and the rollout.
fn rule_step(
    rule: &CompiledRule,
    source: Option<&Rule>,
    index: usize,
    w: &mut Explaining<'_>,
) -> RuleStep {
    let labels = labels(w.doc, source);
    let (ctx, now) = (w.walk.ctx, w.walk.now);
    let conditions: Vec<ConditionStep> = rule
        .matchers
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut step = labels.get(i).cloned().unwrap_or_else(|| ConditionStep {
                attribute: format!("condition {}", i + 1),
                ..ConditionStep::default()
            });
            step.context_value = Attr::new(&step.attribute).get(ctx).map(str::to_string);
            step.matched = m.matches(ctx, now);
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
    let (value, bucket) = match rollout_bucket(rollout, &mut w.walk) {
        Some((value, bucket)) => (value.map(str::to_string), Some(bucket)),
        None => (None, None),
    };
    let included = bucket.is_some_and(|b| p > 0 && b <= p);
    step.rollout = Some(RolloutStep {
        percentage: p,
        stickiness: source
            .and_then(|r| r.stickiness.as_deref())
            .unwrap_or("default")
            .to_string(),
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

/// The variant served, with the split's record when a split chose it.
fn choose<'f>(
    flag: &CompiledFlag,
    serve: &'f CompiledServe,
    w: &mut Explaining<'_>,
) -> (Served<'f>, Option<SplitStep>) {
    match serve {
        CompiledServe::Variant(i) => (Served::fixed(*i), None),
        CompiledServe::Split(split) => {
            let (index, step) = pick(flag, split, w);
            (Served::share(split, index), Some(step))
        }
    }
}

fn pick(flag: &CompiledFlag, split: &Split, w: &mut Explaining<'_>) -> (usize, SplitStep) {
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
    let (index, placement) = place(split, &mut w.walk);
    match placement {
        Placement::Pinned(value) => step.pinned_by = Some(value.to_string()),
        Placement::Bucket(value, bucket) => {
            step.stickiness_value = value.map(str::to_string);
            step.bucket = Some(bucket);
        }
    }
    (index, step)
}

/// The evaluation of a flag that is on and served `served` (or no variant), with how it
/// was served recorded in the trace.
fn finish<'s>(
    flag: &'s CompiledFlag,
    served: Option<(Served<'s>, Option<SplitStep>)>,
    from: &str,
    reason: Reason,
    mut trace: Trace,
) -> (Evaluation<'s>, Trace) {
    let served = served.map(|(served, split)| {
        trace.serve = Some(ServeStep {
            from: from.to_string(),
            variant: flag.variants[served.variant].name.to_string(),
            split,
        });
        served
    });
    (served_by(flag, served, reason), trace)
}
