//! The compiled snapshot: one environment of a validated document, turned into the
//! structures evaluation reads. Immutable once built; the server swaps whole snapshots.
//! Compiled flags are shared: [`Snapshot::with_changes`] makes the snapshot after a
//! change by compiling only the changed flags, sharing every other one (and most of the
//! maps' structure) with the snapshot before.

use std::sync::Arc;

use imbl::shared_ptr::DefaultSharedPtr;
use serde_json::Value;

use crate::catalog::Catalog;
use crate::document::{Compat, Document, Flag, FlagType};
use crate::error::Error;
use crate::hash::{Murmur3, VARIANT_SEED};
use crate::matcher::{Attr, Matcher, ValueSet};
use crate::rule::{Rule, Serve};
use crate::validate::validate;

/// Compiled flags by key, for lookups: a persistent hash map, so a changed copy costs
/// what the change does.
type Index =
    imbl::GenericHashMap<Arc<str>, Arc<CompiledFlag>, ahash::RandomState, DefaultSharedPtr>;

/// An immutable, evaluation-ready view of one environment of a document.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub(crate) environment: Arc<str>,
    pub(crate) index: Index,
}

#[derive(Debug)]
pub(crate) struct CompiledFlag {
    pub key: Box<str>,
    pub compat: Compat,
    pub flag_type: FlagType,
    pub enabled: bool,
    /// Unleash refuses the whole flag for some malformed rules; such a flag is off.
    pub poisoned: bool,
    pub rules: Box<[CompiledRule]>,
    pub default: Option<CompiledServe>,
    pub dependencies: Box<[CompiledDependency]>,
    pub variants: Box<[CompiledVariant]>,
    /// String, number and JSON flags: the variant served when nothing names one.
    pub off: Option<usize>,
}

#[derive(Debug)]
pub(crate) struct CompiledVariant {
    pub name: Box<str>,
    /// Boxed: most variants of most flags have none or a small one, and a `Value` is
    /// large.
    pub value: Option<Box<Value>>,
    pub payload_type: Option<Box<str>>,
}

#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub name: Option<Box<str>>,
    pub never: bool,
    pub matchers: Box<[Matcher]>,
    pub rollout: Option<CompiledRollout>,
    pub serve: Option<CompiledServe>,
}

#[derive(Debug)]
pub(crate) struct CompiledRollout {
    pub percentage: u32,
    pub stickiness: Stickiness,
    pub prefix: Murmur3,
}

#[derive(Debug)]
pub(crate) enum Stickiness {
    /// User id, then session id, then random.
    Default,
    Random,
    Attr(Attr),
}

impl Stickiness {
    fn new(name: Option<&str>) -> Stickiness {
        match name {
            None | Some("default") => Stickiness::Default,
            Some("random") => Stickiness::Random,
            Some(other) => Stickiness::Attr(Attr::new(other)),
        }
    }
}

#[derive(Debug)]
pub(crate) enum CompiledServe {
    Variant(usize),
    Split(Split),
}

#[derive(Debug)]
pub(crate) struct Split {
    /// The shares, in order.
    pub shares: Box<[Share]>,
    pub total: u32,
    /// (attribute, values, share index): contexts pinned to a share.
    pub overrides: Box<[(Attr, ValueSet, usize)]>,
    pub stickiness: Stickiness,
    pub prefix: Murmur3,
    /// More than one share has a positive weight, so the stickiness value matters.
    pub varies: bool,
}

#[derive(Debug)]
pub(crate) struct Share {
    pub variant: usize,
    pub cumulative: u32,
    /// The share's own value and payload type, instead of the variant's (boxed: rare,
    /// and large).
    pub value: Option<Box<(Value, Option<Box<str>>)>>,
}

#[derive(Debug)]
pub(crate) struct CompiledDependency {
    /// The parent's key; looked up when evaluating, so a change to the parent does not
    /// change this flag's compiled form.
    pub flag: Box<str>,
    pub enabled: bool,
    pub variants: Box<[Box<str>]>,
}

impl Snapshot {
    /// Validates `doc` and compiles its `environment`. Flags without configuration for
    /// the environment are present and off.
    pub fn compile(doc: &Document, environment: &str) -> Result<Snapshot, Error> {
        validate(doc)?;
        Ok(Snapshot::compile_valid(doc, environment))
    }

    /// Validates `doc` once and compiles each of `environments`.
    pub fn compile_each<'e>(
        doc: &Document,
        environments: impl IntoIterator<Item = &'e str>,
    ) -> Result<Vec<Snapshot>, Error> {
        validate(doc)?;
        Ok(environments
            .into_iter()
            .map(|env| Snapshot::compile_valid(doc, env))
            .collect())
    }

    /// Compiles without validating again; `doc` must have passed [`validate`].
    pub(crate) fn compile_valid(doc: &Document, environment: &str) -> Snapshot {
        let mut snapshot = Snapshot::empty(environment);
        for (key, flag) in &doc.flags {
            let compiled = Arc::new(compile_flag(doc, key, flag, environment));
            snapshot.index.insert(key.as_str().into(), compiled);
        }
        snapshot
    }

    /// A snapshot of no flags.
    pub fn empty(environment: &str) -> Snapshot {
        Snapshot {
            environment: environment.into(),
            index: Index::default(),
        }
    }

    /// This snapshot with the flags `keys` compiled again from `cat` (removed when `cat`
    /// has no such live flag), sharing every other compiled flag. `cat` must be valid as
    /// far as those flags go ([`validate_flag`](crate::validate::validate_flag)). Costs what the changed flags
    /// do, not what the snapshot holds.
    pub fn with_changes<'k>(
        &self,
        cat: &dyn Catalog,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Snapshot {
        let mut next = Snapshot::with_changes_each(&[self], cat, keys);
        next.pop().unwrap_or_else(|| self.clone())
    }

    /// [`Snapshot::with_changes`] for several environments at once (one snapshot each):
    /// each changed flag is read from `cat` once, and environments that configure it
    /// alike (or not at all) share one compiled form, which holds nothing of the
    /// environment it was compiled for.
    pub fn with_changes_each<'k>(
        snapshots: &[&Snapshot],
        cat: &dyn Catalog,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Vec<Snapshot> {
        let mut next: Vec<Snapshot> = snapshots.iter().map(|s| (*s).clone()).collect();
        let envs: Vec<Arc<str>> = snapshots.iter().map(|s| s.environment.clone()).collect();
        let mut compiled: Vec<Arc<CompiledFlag>> = Vec::with_capacity(next.len());
        for key in keys {
            let Some(flag) = cat.flag(key) else {
                for s in &mut next {
                    s.index.remove(key);
                }
                continue;
            };
            compiled.clear();
            for (i, env) in envs.iter().enumerate() {
                let config = flag.environments.get(&**env);
                let alike = (0..i).find(|&j| flag.environments.get(&*envs[j]) == config);
                compiled.push(match alike {
                    Some(j) => compiled[j].clone(),
                    None => Arc::new(compile_flag(cat, key, &flag, env)),
                });
            }
            for (s, c) in next.iter_mut().zip(&compiled) {
                s.index.insert(key.into(), c.clone());
            }
        }
        next
    }

    /// The compiled flag with this key.
    pub(crate) fn compiled(&self, key: &str) -> Option<&CompiledFlag> {
        self.index.get(key).map(|f| &**f)
    }

    /// The flag a dependency names, when it exists.
    pub(crate) fn parent(&self, dep: &CompiledDependency) -> Option<&CompiledFlag> {
        self.compiled(&dep.flag)
    }

    /// The environment this snapshot evaluates.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// Whether a flag with this key exists.
    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// The flag keys, in no particular order (sort them to show them).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(|k| &**k)
    }

    /// Number of flags switched on (their kill switch; rules may still serve them to
    /// nobody).
    pub fn count_enabled(&self) -> usize {
        self.index.values().filter(|f| f.enabled).count()
    }

    /// Number of flags.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are no flags.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// Compiles one flag for one environment; `cat` must be valid as far as it goes. A flag
/// without configuration for the environment is off.
fn compile_flag(cat: &dyn Catalog, key: &str, flag: &Flag, environment: &str) -> CompiledFlag {
    let variants: Vec<CompiledVariant> = flag
        .variants
        .iter()
        .map(|v| CompiledVariant {
            name: v.name.as_str().into(),
            value: v.value.clone().map(Box::new),
            payload_type: v.payload_type.as_deref().map(Into::into),
        })
        .collect();
    let variant_index = |name: &str| flag.variants.iter().position(|v| v.name == name);
    let compat = Compat::of(cat.compat(), flag.compat);
    let mut compiled = CompiledFlag {
        key: key.into(),
        compat,
        flag_type: flag.flag_type,
        enabled: false,
        poisoned: false,
        rules: Box::default(),
        default: None,
        dependencies: Box::default(),
        variants: Box::default(),
        off: None,
    };
    let first_with_value = || flag.variants.iter().position(|v| v.value.is_some());
    if let Some(env) = flag.environments.get(environment) {
        compiled.enabled = env.enabled;
        let mut rules = Vec::with_capacity(env.rules.len());
        for rule in &env.rules {
            match compile_rule(cat, compat, key, rule, &variant_index) {
                Some(r) => rules.push(r),
                None => compiled.poisoned = true,
            }
        }
        compiled.rules = rules.into_boxed_slice();
        compiled.default = env
            .default
            .as_ref()
            .and_then(|s| compile_serve(s, key, None, &variant_index));
        compiled.dependencies = env
            .depends_on
            .iter()
            .map(|d| CompiledDependency {
                flag: d.flag.as_str().into(),
                enabled: d.enabled,
                variants: d.variants.iter().map(|v| v.as_str().into()).collect(),
            })
            .collect();
        compiled.off = env.off_variant.as_deref().and_then(variant_index);
    }
    if flag.flag_type != FlagType::Boolean {
        compiled.off = compiled.off.or_else(first_with_value);
    } else {
        compiled.off = None;
    }
    compiled.variants = variants.into_boxed_slice();
    compiled
}

/// Compiles a rule; `None` when Unleash would refuse the whole flag because of it.
fn compile_rule(
    cat: &dyn Catalog,
    compat: Compat,
    flag_key: &str,
    rule: &Rule,
    variant_index: &dyn Fn(&str) -> Option<usize>,
) -> Option<CompiledRule> {
    let mut matchers = Vec::with_capacity(rule.conditions.len());
    let segment_conditions = rule.segments.iter().map(|name| cat.segment(name));
    for segment in segment_conditions {
        // A missing segment only survives validation in Unleash documents, where it
        // makes the flag unusable.
        segment?;
    }
    let all_conditions = rule.conditions.iter().chain(
        rule.segments
            .iter()
            .filter_map(|name| cat.segment(name))
            .flat_map(|s| s.conditions.iter()),
    );
    let mut never = rule.strategy.is_some();
    for c in all_conditions {
        match Matcher::compile(c, compat) {
            Ok(m) => matchers.push(m),
            Err(e) if e.poisons => return None,
            Err(_) => never = true,
        }
    }
    let group = rule.group_id.as_deref().unwrap_or(flag_key);
    let rollout = match rule.rollout {
        None => None,
        Some(p) if (0..=100).contains(&p) => Some(CompiledRollout {
            percentage: p as u32,
            stickiness: Stickiness::new(rule.stickiness.as_deref()),
            prefix: Murmur3::with_prefix(group, 0),
        }),
        Some(_) => return None,
    };
    let serve = rule
        .serve
        .as_ref()
        .and_then(|s| compile_serve(s, group, rule.stickiness.as_deref(), variant_index));
    Some(CompiledRule {
        name: rule.name.as_deref().map(Into::into),
        never,
        matchers: matchers.into_boxed_slice(),
        rollout,
        serve,
    })
}

fn compile_serve(
    serve: &Serve,
    group: &str,
    rule_stickiness: Option<&str>,
    variant_index: &dyn Fn(&str) -> Option<usize>,
) -> Option<CompiledServe> {
    if let Some(name) = &serve.variant {
        return variant_index(name).map(CompiledServe::Variant);
    }
    let mut shares = Vec::with_capacity(serve.split.len());
    let mut overrides = Vec::new();
    let mut total: u32 = 0;
    let mut positive = 0;
    for w in &serve.split {
        let variant = variant_index(&w.variant)?;
        let weight = w.weight.clamp(0, u32::MAX as i64) as u32;
        positive += usize::from(weight > 0);
        total = total.saturating_add(weight);
        for o in &w.overrides {
            overrides.push((
                Attr::new(&o.attribute),
                ValueSet::new(&o.values),
                shares.len(),
            ));
        }
        shares.push(Share {
            variant,
            cumulative: total,
            value: w
                .value
                .clone()
                .map(|v| Box::new((v, w.payload_type.as_deref().map(Into::into)))),
        });
    }
    if shares.is_empty() || total == 0 {
        return None;
    }
    Some(CompiledServe::Split(Split {
        shares: shares.into_boxed_slice(),
        total,
        overrides: overrides.into_boxed_slice(),
        stickiness: Stickiness::new(serve.stickiness.as_deref().or(rule_stickiness)),
        prefix: Murmur3::with_prefix(group, VARIANT_SEED),
        varies: positive > 1,
    }))
}
