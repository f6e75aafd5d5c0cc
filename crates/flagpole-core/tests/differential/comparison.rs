//! The comparison: what a client sees of one feature in each engine (`is_enabled` and
//! `get_variant`), which (feature, context) cases are deterministic, and the tallies of
//! agreement for one document form.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use flagpole_core::formats::unleash;
use flagpole_core::{Context, Document, Snapshot, SplitMix64};
use serde_json::{json, Value};
use unleash_types::client_features::Context as YggContext;
use unleash_yggdrasil::EngineState;

use crate::generator::FeatureSet;

/// Mismatches shown per document form.
const SHOW_MISMATCHES: usize = 5;

/// What a client sees: `is_enabled` and `get_variant`.
#[derive(Debug, PartialEq)]
pub(crate) struct Outcome {
    pub(crate) enabled: bool,
    pub(crate) variant: String,
    pub(crate) variant_enabled: bool,
    pub(crate) feature_enabled: bool,
    pub(crate) payload: Option<(String, Value)>,
}

/// Payload values compared by meaning: JSON parsed, numbers as numbers.
pub(crate) fn payload_value(payload_type: &str, value: &str) -> Value {
    match payload_type {
        "json" => serde_json::from_str(value).map_or_else(|_| json!(value), numbers_as_f64),
        "number" => value
            .parse::<f64>()
            .map_or_else(|_| json!(value), |n| json!(n)),
        _ => json!(value),
    }
}

pub(crate) fn numbers_as_f64(v: Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.into_iter().map(numbers_as_f64).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, numbers_as_f64(v))).collect())
        }
        other => other,
    }
}

pub(crate) fn yggdrasil(engine: &EngineState, key: &str, ctx: &YggContext) -> Outcome {
    let enabled = engine.is_enabled(key, ctx, &None);
    let v = engine.get_variant(key, ctx, &None);
    Outcome {
        enabled,
        variant: v.name,
        variant_enabled: v.enabled,
        feature_enabled: v.feature_enabled,
        payload: v.payload.map(|p| {
            (
                p.payload_type.clone(),
                payload_value(&p.payload_type, &p.value),
            )
        }),
    }
}

pub(crate) fn flagpole(
    doc: &Document,
    snapshot: &Snapshot,
    key: &str,
    ctx: &Context,
    now: DateTime<Utc>,
) -> Outcome {
    let mut rng = SplitMix64(0);
    let e = snapshot.evaluate(key, ctx, now, &mut rng);
    let flag = &doc.flags[key];
    // Unleash's view: the variant a rule chose, with its payload there.
    let payload = e
        .chosen
        .and_then(|c| {
            Some(unleash::payload_of(
                flag.flag_type,
                c.value?,
                c.payload_type,
            ))
        })
        .map(|p| {
            let value = payload_value(&p.payload_type, &p.value);
            (p.payload_type, value)
        });
    Outcome {
        enabled: e.enabled,
        variant: e.chosen.map_or("disabled", |c| c.name).to_string(),
        variant_enabled: e.chosen.is_some(),
        feature_enabled: e.enabled,
        payload,
    }
}

/// One (feature, context) pair and how much of it is deterministic.
pub(crate) struct Case<'a> {
    pub(crate) set: &'a FeatureSet,
    pub(crate) feature: usize,
    pub(crate) ctx: &'a Value,
}

impl Case<'_> {
    pub(crate) fn has(&self, attribute: &str) -> bool {
        self.ctx.get(attribute).is_some() || self.ctx["properties"].get(attribute).is_some()
    }

    pub(crate) fn split_is_deterministic(&self, feature: usize) -> bool {
        self.set.features[feature]
            .split_attr
            .is_none_or(|a| self.has(a))
    }

    /// `enabled` is random only when a dependency looks at a parent's random variant.
    pub(crate) fn enabled_is_deterministic(&self) -> bool {
        self.set.features[self.feature]
            .variant_parents
            .iter()
            .all(|p| self.split_is_deterministic(*p))
    }

    /// A split sticky on an attribute the context lacks picks at random in both engines.
    pub(crate) fn variant_is_deterministic(&self) -> bool {
        self.enabled_is_deterministic() && self.split_is_deterministic(self.feature)
    }
}

/// Tallies for one document form.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) cases: usize,
    pub(crate) agree: usize,
    pub(crate) enabled: usize,
    pub(crate) with_variant: usize,
    pub(crate) variants_compared: usize,
    pub(crate) mismatches: Vec<String>,
}

impl Tally {
    pub(crate) fn check(&mut self, case: &Case, label: &str, ygg: &Outcome, ours: &Outcome) {
        let compare_variant = case.variant_is_deterministic();
        self.cases += 1;
        self.enabled += usize::from(ygg.enabled);
        self.with_variant += usize::from(ygg.variant_enabled);
        let same = if compare_variant {
            self.variants_compared += 1;
            ygg == ours
        } else {
            ygg.enabled == ours.enabled
        };
        if same {
            self.agree += 1;
            return;
        }
        if self.mismatches.len() >= SHOW_MISMATCHES {
            self.mismatches.push(String::new());
            return;
        }
        let set = &case.set.json;
        let feature = &set["features"][case.feature];
        let mut report = String::new();
        let _ = writeln!(report, "--- mismatch ({label})");
        let _ = writeln!(report, "feature: {feature}");
        for dep in feature["dependencies"].as_array().into_iter().flatten() {
            let parent = set["features"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|f| f["name"] == dep["feature"]);
            if let Some(parent) = parent {
                let _ = writeln!(report, "parent: {parent}");
            }
        }
        let _ = writeln!(report, "segments: {}", set["segments"]);
        let _ = writeln!(report, "context: {}", case.ctx);
        let _ = writeln!(report, "yggdrasil: {ygg:?}");
        let _ = writeln!(report, "flagpole:  {ours:?}");
        self.mismatches.push(report);
    }

    pub(crate) fn summary(&self, label: &str) -> String {
        format!(
            "differential{label}: {}/{} cases agree ({} enabled, {} with a variant; variants compared in {})",
            self.agree, self.cases, self.enabled, self.with_variant, self.variants_compared
        )
    }
}
