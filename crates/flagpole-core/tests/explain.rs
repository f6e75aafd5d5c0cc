//! The explained evaluation (`Snapshot::explain`) must reach exactly what
//! `Snapshot::evaluate` reaches: same value, variant, reason, rule and `needs_user_id`,
//! for every flag of the Unleash client specification and of the benchmark flags, over
//! the specification's contexts and many generated ones, with the same random draws.

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use flagpole_core::formats::unleash;
use flagpole_core::{Compat, Context, Document, RandomSource, Reason, Snapshot, SplitMix64};
use serde_json::{json, Value};

const ENV: &str = "spec";

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/client-specification/specifications")
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Contexts: the given ones, and variations of them with other ids and properties.
fn contexts(given: &[Value], rng: &mut SplitMix64) -> Vec<Context> {
    let mut out: Vec<Context> = given
        .iter()
        .filter_map(|c| Context::from_json(c).ok())
        .collect();
    let words = [
        "a",
        "b",
        "beta",
        "2.3.0",
        "10.0.0.1",
        "42",
        "@ourco.com",
        "enterprise",
    ];
    for i in 0..200u64 {
        let mut c = given
            .get(i as usize % given.len().max(1))
            .cloned()
            .unwrap_or_else(|| json!({}));
        if let Some(o) = c.as_object_mut() {
            match rng.below(4) {
                0 => {
                    o.remove("userId");
                }
                1 => {
                    o.insert(
                        "userId".into(),
                        json!(format!("user-{}", rng.next_u64() % 1000)),
                    );
                }
                2 => {
                    o.insert("sessionId".into(), json!(format!("s-{i}")));
                }
                _ => {}
            }
            let props = o.entry("properties").or_insert_with(|| json!({}));
            if let Some(p) = props.as_object_mut() {
                let word = words[rng.below(words.len() as u32) as usize];
                let name = ["plan", "email", "appVersion", "country"][i as usize % 4];
                p.insert(name.into(), json!(word));
            }
        }
        if let Ok(ctx) = Context::from_json(&c) {
            out.push(ctx);
        }
    }
    out
}

/// Evaluates every flag for every context both ways and returns how many agreed.
fn compare(name: &str, doc: &Document, env: &str, contexts: &[Context]) -> usize {
    let snapshot = Snapshot::compile(doc, env).unwrap_or_else(|e| panic!("{name}: {e}"));
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut compared = 0;
    for (i, ctx) in contexts.iter().enumerate() {
        for key in snapshot.keys() {
            let mut a = SplitMix64(i as u64);
            let mut b = SplitMix64(i as u64);
            let fast = snapshot.evaluate(key, ctx, now, &mut a);
            let explained = snapshot
                .explain(doc, key, ctx, now, &mut b)
                .expect("a key of the snapshot");
            assert_eq!(
                fast, explained.evaluation,
                "{name}: {key} for {ctx:?}\ntrace: {:#?}",
                explained.trace
            );
            assert_eq!(
                a.next_u64(),
                b.next_u64(),
                "{name}: {key}: random draws differ"
            );
            compared += 1;
        }
    }
    compared
}

#[test]
fn explain_agrees_with_evaluate_on_the_client_specification() {
    let dir = spec_dir();
    let index: Vec<String> = serde_json::from_str(&read(dir.join("index.json"))).expect("index");
    let mut rng = SplitMix64(7);
    let mut compared = 0;
    let mut native_files = 0;
    for name in index {
        let spec: Value = serde_json::from_str(&read(dir.join(&name))).expect("spec json");
        let doc = unleash::import(&spec["state"].to_string(), ENV).expect("imports");
        let given: Vec<Value> = spec["tests"]
            .as_array()
            .into_iter()
            .chain(spec["variantTests"].as_array())
            .flatten()
            .map(|c| c["context"].clone())
            .collect();
        compared += compare(&name, &doc, ENV, &contexts(&given, &mut rng));
        // The same flags as native flags (transitive dependencies).
        let mut native = doc.clone();
        native.compat = Compat::Native;
        native
            .flags
            .values_mut()
            .for_each(|f| f.compat = Compat::Native);
        native
            .segments
            .values_mut()
            .for_each(|s| s.compat = Compat::Native);
        if flagpole_core::validate(&native).is_ok() {
            native_files += 1;
            compared += compare(&name, &native, ENV, &contexts(&given, &mut rng));
        }
    }
    assert!(compared > 10_000, "only {compared} evaluations compared");
    assert!(
        native_files > 10,
        "only {native_files} files were valid as native documents"
    );
}

#[test]
fn explain_agrees_with_evaluate_on_the_benchmark_flags() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let doc = unleash::import(&read(dir.join("bench-flags.json")), "production").expect("imports");
    let given: Vec<Value> =
        serde_json::from_str(&read(dir.join("bench-contexts.json"))).expect("contexts");
    let compared = compare(
        "bench",
        &doc,
        "production",
        &contexts(&given, &mut SplitMix64(3)),
    );
    assert!(compared > 1_000);
}

#[test]
fn the_trace_names_the_rule_and_conditions_that_decided() {
    let doc = Document::from_json(
        r#"{"flags": {"checkout": {"type": "boolean", "environments": {"production": {
            "enabled": true,
            "rules": [
              {"name": "staff", "conditions": [{"attribute": "email", "operator": "STR_ENDS_WITH", "values": ["@ourco.com"]}]},
              {"name": "beta", "conditions": [
                 {"attribute": "plan", "operator": "IN", "values": ["pro", "enterprise"]},
                 {"attribute": "appVersion", "operator": "SEMVER_GTE", "value": "2.0.0"}
               ], "rollout": 100}
            ]}}}}}"#,
    )
    .expect("document");
    let snapshot = Snapshot::compile(&doc, "production").expect("compiles");
    let ctx = Context::from_json(
        &json!({"userId": "u1", "properties": {"plan": "pro", "appVersion": "2.1.0", "email": "x@y.z"}}),
    )
    .expect("context");
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let e = snapshot
        .explain(&doc, "checkout", &ctx, now, &mut SplitMix64(1))
        .expect("known flag");
    assert_eq!(e.evaluation.reason, Reason::TargetingMatch);
    assert_eq!(e.evaluation.rule_index, Some(1));
    let t = &e.trace;
    assert_eq!(t.rules.len(), 2);
    assert!(!t.rules[0].matched);
    assert_eq!(
        t.rules[0].conditions[0].context_value.as_deref(),
        Some("x@y.z")
    );
    assert!(!t.rules[0].conditions[0].matched);
    let beta = &t.rules[1];
    assert!(beta.matched);
    assert_eq!(beta.conditions.len(), 2);
    assert_eq!(beta.conditions[1].operator, "SEMVER_GTE");
    assert_eq!(beta.conditions[1].values, vec!["2.0.0".to_string()]);
    assert!(beta.conditions.iter().all(|c| c.matched));
    let rollout = beta.rollout.as_ref().expect("a rollout step");
    assert_eq!(rollout.percentage, 100);
    assert!(rollout.bucket.is_some_and(|b| (1..=100).contains(&b)));
    assert_eq!(rollout.stickiness_value.as_deref(), Some("u1"));
}
