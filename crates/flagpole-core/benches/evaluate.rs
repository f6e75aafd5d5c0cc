//! Flagpole against Unleash's yggdrasil (the engine inside Unleash's SDKs), on identical
//! flags and contexts, in one run, so criterion's report shows both side by side.
//!
//! - `eval/<flag>`: every context of `tests/data/bench-contexts.json` evaluated against one
//!   flag of `tests/data/bench-flags.json` (Unleash `ClientFeatures`). yggdrasil's
//!   `is_enabled` against our `evaluate`; for the `variants` flag, yggdrasil's `get_variant`
//!   against our `evaluate` (which returns the variant too).
//! - `load_10k`: compiling 10,000 generated flags from parsed input: our `Snapshot::compile`
//!   of a `Document` against yggdrasil's `take_state` of a `ClientFeatures` (cloned in the
//!   untimed setup, since `take_state` consumes it).
//! - `load_10k_json`: the same from JSON text, parsing included for both.
//!
//! Both engines' compiled state and both kinds of context are built before timing, and
//! both engines are checked to agree on every (flag, context) before anything is timed.
//! `scripts/bench-core.sh` runs this and prints the comparison table.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};
use flagpole_core::formats::unleash;
use flagpole_core::{Context, Document, Snapshot, SplitMix64};
use serde_json::{json, Value};
use unleash_yggdrasil::{ClientFeatures, EngineState, UpdateMessage};

type YggContext = unleash_yggdrasil::Context;

const ENV: &str = "production";
const GENERATED_FLAGS: usize = 10_000;

/// What a case measures.
#[derive(Clone, Copy)]
enum Check {
    /// Whether the flag is on: yggdrasil's `is_enabled`.
    Enabled,
    /// Whether it is on and which variant: yggdrasil's `get_variant`.
    Variant,
}

const CASES: [(&str, Check); 5] = [
    ("no_strategy", Check::Enabled),
    ("one_constraint", Check::Enabled),
    ("two_constraints", Check::Enabled),
    ("variants", Check::Variant),
    ("ten_rules", Check::Enabled),
];

fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Both engines loaded with the same `ClientFeatures` text.
struct Engines {
    ours: Snapshot,
    theirs: EngineState,
}

impl Engines {
    fn load(text: &str) -> Engines {
        let doc = unleash::import(text, ENV).expect("flags import");
        let ours = Snapshot::compile(&doc, ENV).expect("flags compile");
        let theirs = EngineState::default();
        let features: ClientFeatures = serde_json::from_str(text).expect("flags parse");
        let warnings = theirs.take_state(UpdateMessage::FullResponse(features));
        assert!(warnings.is_none(), "yggdrasil warns: {warnings:?}");
        Engines { ours, theirs }
    }
}

/// The same contexts for both engines.
fn contexts() -> (Vec<Context>, Vec<YggContext>) {
    let list: Vec<Value> = serde_json::from_str(&data("bench-contexts.json")).expect("contexts");
    let ours = list
        .iter()
        .map(|v| Context::from_json(v).expect("our context"))
        .collect();
    let theirs = list
        .iter()
        .map(|v| serde_json::from_value(v.clone()).expect("yggdrasil context"))
        .collect();
    (ours, theirs)
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid date")
}

/// Panics unless both engines give the same answer for every flag and context; a
/// comparison of engines that disagree would compare different work.
fn assert_agree(engines: &Engines, keys: &[&str], ours: &[Context], theirs: &[YggContext]) {
    let mut rng = SplitMix64(1);
    let mut disagreements = Vec::new();
    for key in keys {
        for (i, (o, t)) in ours.iter().zip(theirs).enumerate() {
            let e = engines.ours.evaluate(key, o, now(), &mut rng);
            let enabled = engines.theirs.is_enabled(key, t, &None);
            let variant = engines.theirs.get_variant(key, t, &None);
            let their_variant = variant.enabled.then_some(variant.name.as_str());
            if e.enabled != enabled || e.chosen.map(|c| c.name) != their_variant {
                disagreements.push(format!(
                    "{key} context {i}: flagpole ({}, {:?}), yggdrasil ({enabled}, {their_variant:?})",
                    e.enabled, e.chosen.map(|c| c.name)
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "the engines disagree:\n{}",
        disagreements.join("\n")
    );
}

fn eval(c: &mut Criterion) {
    let engines = Engines::load(&data("bench-flags.json"));
    let (ours, theirs) = contexts();
    let keys: Vec<&str> = CASES.iter().map(|(k, _)| *k).collect();
    assert_agree(&engines, &keys, &ours, &theirs);
    let now = now();
    let no_external_values: Option<HashMap<String, bool>> = None;

    for (key, check) in CASES {
        let mut group = c.benchmark_group(format!("eval/{key}"));
        group.throughput(Throughput::Elements(ours.len() as u64));
        // Each side keeps what its call answers: `is_enabled` a bool, `get_variant` whether
        // the flag is on and the variant. (Copying our whole `Evaluation` into `black_box`
        // would time a store-forwarding stall of the harness, not the engine.)
        group.bench_function("flagpole", |b| {
            let mut rng = SplitMix64(7);
            let snapshot = &engines.ours;
            match check {
                Check::Enabled => b.iter(|| {
                    for ctx in &ours {
                        let e = snapshot.evaluate(black_box(key), black_box(ctx), now, &mut rng);
                        black_box(e.enabled);
                    }
                }),
                Check::Variant => b.iter(|| {
                    for ctx in &ours {
                        let e = snapshot.evaluate(black_box(key), black_box(ctx), now, &mut rng);
                        black_box((e.enabled, e.variant, e.value));
                    }
                }),
            }
        });
        group.bench_function("yggdrasil", |b| match check {
            Check::Enabled => b.iter(|| {
                for ctx in &theirs {
                    black_box(engines.theirs.is_enabled(
                        black_box(key),
                        black_box(ctx),
                        &no_external_values,
                    ));
                }
            }),
            Check::Variant => b.iter(|| {
                for ctx in &theirs {
                    black_box(engines.theirs.get_variant(
                        black_box(key),
                        black_box(ctx),
                        &no_external_values,
                    ));
                }
            }),
        });
        group.finish();
    }
}

fn load(c: &mut Criterion) {
    let text = generated_features(GENERATED_FLAGS).to_string();
    let doc: Document = unleash::import(&text, ENV).expect("generated flags import");
    let features: ClientFeatures = serde_json::from_str(&text).expect("generated flags parse");
    {
        // Both engines load every generated flag without complaint and agree on them.
        let engines = Engines::load(&text);
        assert_eq!(engines.ours.len(), GENERATED_FLAGS);
        let (ours, theirs) = contexts();
        let keys: Vec<&str> = engines.ours.keys().collect();
        assert_agree(&engines, &keys, &ours, &theirs);
    }

    // Outputs are returned so that dropping them is not timed either.
    let mut group = load_group(c, "load_10k");
    group.bench_function("flagpole", |b| {
        b.iter_batched(
            || (),
            |()| Snapshot::compile(black_box(&doc), ENV).expect("compiles"),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("yggdrasil", |b| {
        b.iter_batched(
            || (EngineState::default(), features.clone()),
            |(engine, features)| {
                black_box(engine.take_state(UpdateMessage::FullResponse(black_box(features))));
                engine
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    let mut group = load_group(c, "load_10k_json");
    group.bench_function("flagpole", |b| {
        b.iter_batched(
            || (),
            |()| {
                let doc = unleash::import(black_box(&text), ENV).expect("imports");
                let snapshot = Snapshot::compile(&doc, ENV).expect("compiles");
                (doc, snapshot)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("yggdrasil", |b| {
        b.iter_batched(
            EngineState::default,
            |engine| {
                let features: ClientFeatures =
                    serde_json::from_str(black_box(&text)).expect("parses");
                black_box(engine.take_state(UpdateMessage::FullResponse(features)));
                engine
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// A group timing a load of every generated flag: few samples, each one load.
fn load_group<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(GENERATED_FLAGS as u64));
    group
}

/// `n` flags in Unleash's `ClientFeatures` shape, cycling through the common kinds:
/// no strategy, list and string constraints, rollouts, user lists, variants, segments,
/// semver, CIDR, date and regex conditions. One flag in thirteen is disabled.
fn generated_features(n: usize) -> Value {
    let segments: Vec<Value> = (0..50)
        .map(|s| {
            json!({
                "id": s,
                "name": format!("segment-{s}"),
                "constraints": [
                    {"contextName": "country", "operator": "IN", "values": ["no", "se", format!("c{s}")]}
                ]
            })
        })
        .collect();
    let features: Vec<Value> = (0..n).map(generated_feature).collect();
    json!({"version": 2, "features": features, "segments": segments})
}

fn generated_feature(i: usize) -> Value {
    let name = format!("flag-{i:05}");
    let (strategies, variants) = match i % 8 {
        0 => (json!([]), json!([])),
        1 => (
            json!([{"name": "default", "parameters": {}, "constraints": [
                {"contextName": "userId", "operator": "IN", "values": ["1", "7", "42", i.to_string()]}
            ]}]),
            json!([]),
        ),
        2 => (
            json!([{"name": "flexibleRollout",
                "parameters": {"rollout": (i % 101).to_string(), "stickiness": "default", "groupId": name},
                "constraints": [{"contextName": "appName", "operator": "IN", "values": ["web", "ios"]}]}]),
            json!([]),
        ),
        3 => (
            json!([{"name": "default", "parameters": {}, "constraints": [
                {"contextName": "age", "operator": "NUM_GT", "value": "18"},
                {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@ourco.com"], "caseInsensitive": true}
            ]}]),
            json!([]),
        ),
        4 => (
            json!([{"name": "userWithId", "parameters": {"userIds": format!("7, 42, admin-2, u{i}")}}]),
            json!([]),
        ),
        5 => (
            json!([{"name": "flexibleRollout",
            "parameters": {"rollout": "100", "stickiness": "default", "groupId": name},
            "constraints": [{"contextName": "plan", "operator": "IN", "values": ["pro", "enterprise"]}],
            "variants": [
                {"name": "a", "weight": 500, "weightType": "variable", "stickiness": "default"},
                {"name": "b", "weight": 500, "weightType": "variable", "stickiness": "default"}
            ]}]),
            json!([
                {"name": "control", "weight": 700, "weightType": "variable", "stickiness": "default",
                    "payload": {"type": "string", "value": "off"}},
                {"name": "treatment", "weight": 300, "weightType": "variable", "stickiness": "default",
                    "payload": {"type": "string", "value": "on"},
                    "overrides": [{"contextName": "userId", "values": ["7"]}]}
            ]),
        ),
        6 => (
            json!([{"name": "default", "parameters": {}, "segments": [i % 50], "constraints": [
                {"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.0.0"}
            ]}]),
            json!([]),
        ),
        _ => (
            json!([
                {"name": "remoteAddress", "parameters": {"IPs": "10.0.0.0/8, 192.168.1.1"}},
                {"name": "default", "parameters": {}, "constraints": [
                    {"contextName": "currentTime", "operator": "DATE_AFTER", "value": "2030-01-01T00:00:00Z"}
                ]},
                {"name": "default", "parameters": {}, "constraints": [
                    {"contextName": "email", "operator": "REGEX", "value": format!("^qa\\+{}[a-z]*@ourco\\.com$", i % 97)}
                ]}
            ]),
            json!([]),
        ),
    };
    json!({
        "name": name,
        "type": "release",
        "enabled": i % 13 != 7,
        "strategies": strategies,
        "variants": variants
    })
}

criterion_group!(benches, eval, load);
criterion_main!(benches);
