//! Runs Unleash's client specification (`tests/data/client-specification`, a pinned copy
//! of the npm package `@unleash/client-specification`) through import and
//! evaluation, and again after an export and re-import.

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use flagpole_core::formats::unleash;
use flagpole_core::{Context, Document, Snapshot, SplitMix64};
use serde_json::{json, Value};

const ENV: &str = "spec";

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/client-specification/specifications")
}

/// One spec file: its name, its state (as text) and its cases.
fn specs() -> Vec<(String, String, Value)> {
    let dir = spec_dir();
    let index: Vec<String> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("index.json"))
            .expect("the client specification is in tests/data/client-specification"),
    )
    .expect("index.json");
    index
        .into_iter()
        .map(|name| {
            let spec: Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join(&name)).expect("spec file"))
                    .expect("spec json");
            let state = spec["state"].to_string();
            (name, state, spec)
        })
        .collect()
}

/// Checks every case of one spec against a document; returns (passed, failures).
fn check(doc: &Document, spec: &Value) -> (usize, Vec<String>) {
    let snapshot = Snapshot::compile(doc, ENV).expect("imported document compiles");
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut rng = SplitMix64(42);
    let mut passed = 0;
    let mut failures = Vec::new();
    for case in spec["tests"].as_array().into_iter().flatten() {
        let ctx = Context::from_json(&case["context"]).expect("spec context");
        let key = case["toggleName"].as_str().expect("toggleName");
        let got = snapshot.evaluate(key, &ctx, now, &mut rng).enabled;
        if Value::Bool(got) == case["expectedResult"] {
            passed += 1;
        } else {
            failures.push(format!("{}: got {got}", case["description"]));
        }
    }
    for case in spec["variantTests"].as_array().into_iter().flatten() {
        let ctx = Context::from_json(&case["context"]).expect("spec context");
        let key = case["toggleName"].as_str().expect("toggleName");
        let e = snapshot.evaluate(key, &ctx, now, &mut rng);
        // Unleash's view: the variant a rule chose, with its payload there.
        let mut got = json!({
            "name": e.chosen.map_or("disabled", |c| c.name),
            "enabled": e.chosen.is_some(),
            "feature_enabled": e.enabled,
        });
        if let Some(chosen) = e.chosen {
            let flag = &doc.flags[key];
            if let Some(value) = chosen.value {
                let p = unleash::payload_of(flag.flag_type, value, chosen.payload_type);
                got["payload"] = json!({"type": p.payload_type, "value": p.value});
            }
        }
        let mut expected = case["expectedResult"].clone();
        // Older spec files leave feature_enabled out.
        if expected.get("feature_enabled").is_none() {
            got.as_object_mut().map(|o| o.remove("feature_enabled"));
        }
        if expected.get("payload").is_some_and(|p| p["type"] == "json") {
            normalise_json_payload(&mut expected);
            normalise_json_payload(&mut got);
        }
        if got == expected {
            passed += 1;
        } else {
            failures.push(format!(
                "{}: got {got}, expected {expected}",
                case["description"]
            ));
        }
    }
    (passed, failures)
}

fn normalise_json_payload(v: &mut Value) {
    if let Some(text) = v["payload"]["value"].as_str() {
        if let Ok(parsed) = serde_json::from_str::<Value>(text) {
            v["payload"]["value"] = parsed;
        }
    }
}

fn run(round_trip: bool) {
    let mut passed = 0;
    let mut total = 0;
    let mut failures = Vec::new();
    for (name, state, spec) in specs() {
        let mut doc = unleash::import(&state, ENV).unwrap_or_else(|e| panic!("{name}: {e}"));
        if round_trip {
            let exported = serde_json::to_string(&unleash::export(&doc, ENV)).expect("export");
            doc =
                unleash::import(&exported, ENV).unwrap_or_else(|e| panic!("{name} re-import: {e}"));
            // The native text form must carry everything too.
            doc = Document::from_json(&doc.to_json())
                .unwrap_or_else(|e| panic!("{name} native: {e}"));
        }
        let (ok, fails) = check(&doc, &spec);
        total += spec["tests"].as_array().map_or(0, Vec::len)
            + spec["variantTests"].as_array().map_or(0, Vec::len);
        passed += ok;
        failures.extend(fails.into_iter().map(|f| format!("{name}: {f}")));
    }
    let label = if round_trip {
        " (after export and re-import)"
    } else {
        ""
    };
    println!("client-specification{label}: {passed}/{total} passed");
    assert_eq!(total, 279, "the suite has 279 cases");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn client_specification_passes() {
    run(false);
}

#[test]
fn client_specification_passes_after_export_and_reimport() {
    run(true);
}
