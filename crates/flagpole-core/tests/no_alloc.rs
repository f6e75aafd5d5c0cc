//! Evaluation does not allocate: after one warm-up pass, evaluating every (flag, context)
//! pair of the benchmark set, and of every Unleash client-specification state, makes zero
//! heap allocations on the evaluating thread.
//!
//! `allocation-counter` installs a counting global allocator (its `unsafe impl` lives in
//! that crate; this workspace forbids `unsafe`) and counts per thread, so the test
//! harness's other threads cannot disturb the count.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use flagpole_core::formats::unleash;
use flagpole_core::{Context, Snapshot, SplitMix64};
use serde_json::Value;

const ENV: &str = "production";
const ROUNDS: usize = 500;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid date")
}

fn contexts(json: &Value) -> Vec<Context> {
    json.as_array()
        .expect("a JSON array of contexts")
        .iter()
        .map(|c| Context::from_json(c).expect("a valid context"))
        .collect()
}

/// Warms up, then evaluates every pair `rounds` times; returns (allocations, enabled count).
fn count_allocations(snapshot: &Snapshot, contexts: &[Context], rounds: usize) -> (u64, usize) {
    let keys: Vec<String> = snapshot.keys().map(str::to_string).collect();
    let mut rng = SplitMix64(7);
    let now = now();
    for ctx in contexts {
        for key in &keys {
            std::hint::black_box(snapshot.evaluate(key, ctx, now, &mut rng));
        }
        std::hint::black_box(snapshot.evaluate_all(ctx, now, &mut rng).count());
    }
    let mut enabled = 0;
    let info = allocation_counter::measure(|| {
        for _ in 0..rounds {
            for ctx in contexts {
                for key in &keys {
                    let e = snapshot.evaluate(key, ctx, now, &mut rng);
                    enabled += usize::from(e.enabled);
                    std::hint::black_box(e);
                }
                for (key, e) in snapshot.evaluate_all(ctx, now, &mut rng) {
                    std::hint::black_box((key, e));
                }
                std::hint::black_box(snapshot.evaluate("no-such-flag", ctx, now, &mut rng));
            }
        }
    });
    (info.count_total, enabled)
}

/// The counter sees allocations on this thread, so a zero below means something.
#[test]
fn the_counter_counts_allocations() {
    let info = allocation_counter::measure(|| {
        std::hint::black_box(Box::new(1u64));
        std::hint::black_box(Vec::<u8>::with_capacity(16));
    });
    assert_eq!(info.count_total, 2);
}

#[test]
fn benchmark_flags_evaluate_without_allocating() {
    let text = std::fs::read_to_string(data("bench-flags.json")).expect("bench-flags.json");
    let doc = unleash::import(&text, ENV).expect("bench flags import");
    let snapshot = Snapshot::compile(&doc, ENV).expect("bench flags compile");
    let mut keys: Vec<&str> = snapshot.keys().collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "no_strategy",
            "one_constraint",
            "ten_rules",
            "two_constraints",
            "variants",
        ]
    );
    let ctx_json: Value = serde_json::from_str(
        &std::fs::read_to_string(data("bench-contexts.json")).expect("bench-contexts.json"),
    )
    .expect("bench contexts JSON");
    let contexts = contexts(&ctx_json);

    // The set must give more than one outcome for every targeted flag (on and off, or
    // several variants), or the benchmark (and this test) would only measure one path.
    let mut rng = SplitMix64(1);
    for key in &keys[1..] {
        let mut outcomes: Vec<(bool, Option<&str>)> = contexts
            .iter()
            .map(|c| {
                let e = snapshot.evaluate(key, c, now(), &mut rng);
                (e.enabled, e.chosen.map(|c| c.name))
            })
            .collect();
        outcomes.sort();
        outcomes.dedup();
        assert!(
            outcomes.len() > 1,
            "{key} is always {outcomes:?} over the bench contexts"
        );
    }

    let (allocations, enabled) = count_allocations(&snapshot, &contexts, ROUNDS);
    let evaluations = ROUNDS * contexts.len() * (2 * keys.len() + 1);
    println!(
        "no_alloc: {evaluations} evaluations of the benchmark flags ({enabled} enabled), {allocations} allocations"
    );
    assert_eq!(allocations, 0, "evaluation allocated");
}

#[test]
fn client_specification_states_evaluate_without_allocating() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/client-specification/specifications");
    let index: Vec<String> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("index.json"))
            .expect("the client specification is in tests/data/client-specification"),
    )
    .expect("index.json");
    let mut evaluations = 0;
    let mut total_allocations = 0;
    for name in index {
        let spec: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(&name)).expect("spec file"))
                .expect("spec JSON");
        let doc = unleash::import(&spec["state"].to_string(), ENV).expect("spec state imports");
        let snapshot = Snapshot::compile(&doc, ENV).expect("spec state compiles");
        let cases = spec["tests"]
            .as_array()
            .into_iter()
            .chain(spec["variantTests"].as_array())
            .flatten();
        let ctx_json = Value::Array(cases.map(|c| c["context"].clone()).collect());
        let contexts = contexts(&ctx_json);
        let (allocations, _) = count_allocations(&snapshot, &contexts, 20);
        evaluations += 20 * contexts.len() * (2 * snapshot.len() + 1);
        if allocations != 0 {
            println!("{name}: {allocations} allocations");
        }
        total_allocations += allocations;
    }
    println!(
        "no_alloc: {evaluations} evaluations over the client-specification states, {total_allocations} allocations"
    );
    assert_eq!(total_allocations, 0, "evaluation allocated");
}
