//! Differential test: Flagpole against `unleash-yggdrasil`, the engine inside Unleash's
//! own SDKs, on random feature sets and contexts from a seeded generator.
//!
//! Each generated `ClientFeatures` document is loaded into both engines; every feature is
//! evaluated for every context of its set, comparing `is_enabled` and `get_variant` (name,
//! enabled, feature_enabled, payload type and value). The same cases run again on the
//! document after an Unleash export and re-import, and through the native text form; that
//! export, imported and exported again, must be the same document. Strategy variants now
//! and then reuse a variant name with another payload (Unleash keeps payloads per
//! strategy), and must keep it.
//!
//! The generator stays inside what both engines define. Yggdrasil quirks it steers clear
//! of, each on purpose and each marked where it is avoided:
//!
//! - random stickiness: yggdrasil draws from its own unseeded RNG. Every context has a user
//!   id or a session id (so `default` stickiness never falls back to random), `random`
//!   stickiness is never generated, and a variant split sticky on an attribute the context
//!   lacks is compared on `enabled` only (see [`Case::variant_is_deterministic`]).
//! - `IN`/`NOT_IN` lists whose values all look numeric were said to be compared as
//!   numbers; yggdrasil 0.21 quotes every list value, so they compare as strings in both
//!   engines and the generator makes them (`"1."`, `"42"`, `"inf"` for `age`) on purpose.
//! - a capital sigma at the end of a word in a value compared case-insensitively: Unleash
//!   lowercases `ΟΔΥΣΣΕΥΣ` to `οδυσσευς` (Unicode's final-sigma rule). Flagpole applies
//!   the rule too, approximating Unicode's case-ignorable set by common punctuation and
//!   combining marks; [`case_insensitive_comparisons_follow_final_sigma`] checks it. The
//!   random pools keep `Σ` only where it is not word-final, away from that approximation.
//! - strings containing quotes or backslashes: yggdrasil splices constraint values into
//!   the text of its rule grammar. No value or parameter contains a quote; only regular
//!   expressions contain backslashes, as escapes (`\d`, `\.`), never before a quote.
//! - a rollout without `groupId`: yggdrasil salts the parent's rollout with the *child's*
//!   name when checking a dependency. Every rollout strategy carries an explicit `groupId`.
//! - unknown operators and segments that do not exist: yggdrasil turns the whole feature
//!   off; unknown strategies it leaves to the host SDK. Only known operators and
//!   strategies and existing segment ids are generated (the client specification covers
//!   those cases).
//! - variant weights summing to 0: yggdrasil fails to pick and serves `disabled`. Every
//!   split has a positive weight.
//! - `.5`-style numbers: yggdrasil's grammar cannot read them and drops the feature.
//!   Numeric operands always have a digit before the point.
//! - empty lists for `STR_*` and `IN_CIDR`: yggdrasil's grammar cannot read `[]` there and
//!   drops the feature. Every list has at least one value.
//! - overrides on strategy variants: Unleash's schema has none, yggdrasil ignores them.
//!   Only feature variants get overrides.
//! - context properties named like the standard fields (`userId`, …): yggdrasil's context
//!   parser moves them to the standard fields. Property names never collide.
//! - whitespace around constraint values (yggdrasil does not trim CIDR ranges, Flagpole
//!   does): no generated value has surrounding whitespace.

mod comparison;
mod generator;
mod pools;

use chrono::Utc;
use flagpole_core::formats::unleash;
use flagpole_core::{Context, Document, Snapshot, SplitMix64};
use serde_json::{json, Value};
use unleash_types::client_features::{ClientFeatures, Context as YggContext};
use unleash_yggdrasil::{EngineState, UpdateMessage};

use comparison::{flagpole, yggdrasil, Case, Tally};
use generator::{context, feature_set, Gen};

const ENV: &str = "production";
const SEED: u64 = 0x5eed_f1a6_2026;
const FEATURE_SETS: usize = 700;
const CONTEXTS_PER_SET: usize = 40;
const MIN_CASES: usize = 100_000;

fn round_trip(doc: &Document) -> Document {
    let exported = serde_json::to_string(&unleash::export(doc, ENV)).expect("export serializes");
    let doc = unleash::import(&exported, ENV).expect("re-import");
    Document::from_json(&doc.to_json()).expect("native text form")
}

/// Features whose variant names carry different payloads in different places.
fn reused_names(set: &Value) -> usize {
    let mut count = 0;
    for f in set["features"].as_array().into_iter().flatten() {
        let mut payloads: std::collections::HashMap<&str, &Value> = Default::default();
        let strategies = f["strategies"].as_array().into_iter().flatten();
        let all = f["variants"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(strategies.flat_map(|s| s["variants"].as_array().into_iter().flatten()));
        let mut differs = false;
        for v in all {
            let name = v["name"].as_str().unwrap_or_default();
            let payload = &v["payload"];
            differs |= payloads.insert(name, payload).is_some_and(|p| p != payload);
        }
        count += usize::from(differs);
    }
    count
}

#[test]
fn flagpole_agrees_with_yggdrasil_on_random_cases() {
    let mut g = Gen(SplitMix64(SEED));
    let now = Utc::now();
    let mut direct = Tally::default();
    let mut after_round_trip = Tally::default();
    let mut skipped = 0;
    let mut reused = 0;
    for _ in 0..FEATURE_SETS {
        let set = feature_set(&mut g);
        let text = set.json.to_string();

        let features: ClientFeatures =
            serde_json::from_value(set.json.clone()).expect("yggdrasil reads the feature set");
        let engine = EngineState::default();
        let warnings = engine.take_state(UpdateMessage::FullResponse(features));
        assert!(
            warnings.is_none(),
            "yggdrasil refused part of a generated set (a generator bug): {warnings:?}\n{text}"
        );

        let doc = unleash::import(&text, ENV).unwrap_or_else(|e| panic!("import: {e}\n{text}"));
        let snapshot = Snapshot::compile(&doc, ENV).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let doc2 = round_trip(&doc);
        let snapshot2 = Snapshot::compile(&doc2, ENV).unwrap_or_else(|e| panic!("{e}\n{text}"));
        // Export, import, export: the same document (nothing lost, per-strategy payloads
        // included).
        assert_eq!(
            unleash::export(&doc, ENV),
            unleash::export(&doc2, ENV),
            "export -> import -> export changed\n{text}"
        );
        reused += reused_names(&set.json);

        let contexts: Vec<Value> = (0..CONTEXTS_PER_SET).map(|_| context(&mut g)).collect();
        for ctx_json in &contexts {
            let ygg_ctx: YggContext =
                serde_json::from_value(ctx_json.clone()).expect("yggdrasil context");
            let ctx = Context::from_json(ctx_json).expect("flagpole context");
            for (i, spec) in set.features.iter().enumerate() {
                let case = Case {
                    set: &set,
                    feature: i,
                    ctx: ctx_json,
                };
                if !case.enabled_is_deterministic() {
                    skipped += 1;
                    continue;
                }
                let key = spec.json["name"].as_str().expect("feature name");
                let ygg = yggdrasil(&engine, key, &ygg_ctx);
                direct.check(
                    &case,
                    "imported",
                    &ygg,
                    &flagpole(&doc, &snapshot, key, &ctx, now),
                );
                after_round_trip.check(
                    &case,
                    "after export and re-import",
                    &ygg,
                    &flagpole(&doc2, &snapshot2, key, &ctx, now),
                );
            }
        }
    }
    println!("{}", direct.summary(""));
    println!(
        "{}",
        after_round_trip.summary(" (after export and re-import)")
    );
    println!("differential: {skipped} cases skipped (a dependency on a random variant)");
    println!(
        "differential: {reused} features reuse a variant name with different payloads; every set exports, imports and exports again unchanged"
    );
    assert!(
        reused >= 100,
        "only {reused} features reuse a variant name with another payload"
    );
    for m in direct
        .mismatches
        .iter()
        .chain(&after_round_trip.mismatches)
        .filter(|m| !m.is_empty())
    {
        println!("{m}");
    }
    assert!(direct.cases >= MIN_CASES, "only {} cases", direct.cases);
    assert!(
        direct.variants_compared * 10 >= direct.cases * 8,
        "too few variant comparisons: {}",
        direct.variants_compared
    );
    assert_eq!(direct.agree, direct.cases, "{}", direct.summary(""));
    assert_eq!(
        after_round_trip.agree,
        after_round_trip.cases,
        "{}",
        after_round_trip.summary(" (after export and re-import)")
    );
}

/// Evaluates every feature of `features` (Unleash JSON) for every context in both
/// engines, imported and after a round trip; returns the disagreements and the case count.
fn compare_all(features: &str, contexts: &[Value]) -> (Vec<String>, usize) {
    let engine = EngineState::default();
    let warnings = engine.take_state(UpdateMessage::FullResponse(
        serde_json::from_str(features).expect("yggdrasil reads the features"),
    ));
    assert!(warnings.is_none(), "{warnings:?}");
    let doc = unleash::import(features, ENV).expect("import");
    let snapshot = Snapshot::compile(&doc, ENV).expect("compile");
    let doc2 = round_trip(&doc);
    let snapshot2 = Snapshot::compile(&doc2, ENV).expect("compile after round trip");
    let now = Utc::now();
    let mut disagreements = Vec::new();
    let mut cases = 0;
    for ctx_json in contexts {
        let ygg_ctx: YggContext = serde_json::from_value(ctx_json.clone()).expect("context");
        let ctx = Context::from_json(ctx_json).expect("context");
        for key in snapshot.keys() {
            let ygg = yggdrasil(&engine, key, &ygg_ctx);
            for (label, doc, snapshot) in [
                ("imported", &doc, &snapshot),
                ("after export and re-import", &doc2, &snapshot2),
            ] {
                let ours = flagpole(doc, snapshot, key, &ctx, now);
                if ours != ygg {
                    disagreements.push(format!(
                        "{key} ({label}) for {ctx_json}:\n  yggdrasil {ygg:?}\n  flagpole  {ours:?}"
                    ));
                }
            }
            cases += 1;
        }
    }
    (disagreements, cases)
}

/// The benchmark's flags and contexts (shared with `benches/`) give the same answers in
/// both engines, so the benchmark compares like with like.
#[test]
fn benchmark_flags_agree_with_yggdrasil() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let text = std::fs::read_to_string(dir.join("bench-flags.json")).expect("bench-flags.json");
    let contexts: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("bench-contexts.json")).expect("bench-contexts.json"),
    )
    .expect("bench contexts");
    let (disagreements, cases) = compare_all(&text, &contexts);
    println!(
        "differential: {}/{cases} benchmark cases agree",
        cases - disagreements.len().min(cases)
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// `gradualRolloutUserId`/`SessionId` roll out on one attribute but split their strategy
/// variants on `default` stickiness. The export used to write them as `flexibleRollout`,
/// whose variants split on the rollout's attribute, so the variant changed after a round
/// trip.
#[test]
fn legacy_rollout_variants_survive_export() {
    let strategy = |name: &str| {
        json!({
            "name": name,
            "parameters": {"percentage": "100", "groupId": "g"},
            "variants": [
                {"name": "a", "weight": 50, "stickiness": "default"},
                {"name": "b", "weight": 50, "stickiness": "default"},
            ],
        })
    };
    let features = json!({"version": 2, "features": [
        {"name": "by_user", "enabled": true, "strategies": [strategy("gradualRolloutUserId")]},
        {"name": "by_session", "enabled": true, "strategies": [strategy("gradualRolloutSessionId")]},
    ]});
    let contexts: Vec<Value> = (0..40)
        .map(|i| json!({"userId": format!("u{i}"), "sessionId": format!("s{}", i % 3)}))
        .collect();
    let (disagreements, cases) = compare_all(&features.to_string(), &contexts);
    assert_eq!(cases, 80);
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// A segment named like the name Flagpole gives an unnamed one (`segment-{id}`) used to be
/// replaced by that unnamed segment on import, so rules naming it got the wrong conditions.
#[test]
fn segment_names_never_collide_on_import() {
    let constraint =
        |value: &str| json!([{"contextName": "plan", "operator": "IN", "values": [value]}]);
    let features: Vec<Value> = [1, 2, 3, 4]
        .iter()
        .map(|id| {
            json!({
                "name": format!("uses_{id}"),
                "enabled": true,
                "strategies": [{"name": "default", "segments": [id]}],
            })
        })
        .collect();
    let features = json!({
        "version": 2,
        "segments": [
            {"id": 2, "name": "segment-3", "constraints": constraint("pro")},
            {"id": 1, "name": "segment-2", "constraints": constraint("free")},
            {"id": 3, "constraints": constraint("team")},
            {"id": 4, "name": "segment-3", "constraints": constraint("enterprise")},
        ],
        "features": features,
    });
    let contexts = ["pro", "free", "team", "enterprise"]
        .map(|plan| json!({"userId": "1", "properties": {"plan": plan}}));
    let (disagreements, cases) = compare_all(&features.to_string(), &contexts);
    assert_eq!(cases, 16);
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// Unleash SDKs lowercase with Unicode's final-sigma rule (`ΟΔΥΣΣΕΥΣ` becomes `οδυσσευς`:
/// yggdrasil uses `str::to_lowercase`, the JavaScript and Python SDKs their languages'
/// `toLowerCase`/`lower`); Flagpole's allocation-free comparison follows it.
#[test]
fn case_insensitive_comparisons_follow_final_sigma() {
    let feature = |name: &str, operator: &str, value: &str| {
        json!({"name": name, "enabled": true, "strategies": [{"name": "default", "constraints": [
            {"contextName": "name", "operator": operator, "values": [value], "caseInsensitive": true},
        ]}]})
    };
    let features = json!({"version": 2, "features": [
        feature("ends", "STR_ENDS_WITH", "ς"),
        feature("contains", "STR_CONTAINS", "ας@"),
        feature("starts", "STR_STARTS_WITH", "οδυσσευς"),
    ]});
    let contexts = [
        json!({"userId": "1", "properties": {"name": "ΟΔΥΣΣΕΥΣ"}}),
        json!({"userId": "1", "properties": {"name": "ΣΟΦΙΑΣ@ourco.com"}}),
    ];
    let (disagreements, _) = compare_all(&features.to_string(), &contexts);
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
