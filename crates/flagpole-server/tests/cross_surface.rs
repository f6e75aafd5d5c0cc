//! One engine, five surfaces: for 1,000 deterministic random contexts, the seed API, native
//! evaluation, OFREP, the Unleash frontend API and `flagpole-core` evaluating the
//! `/api/client/features` document give the same enabled state and variant for every flag.
//!
//! What each surface can express, and so what is compared:
//!
//! | surface | request | reports |
//! |---|---|---|
//! | native | `POST /api/v1/environments/production/evaluate/{key}`, Unleash-shaped context | `enabled`, `variant` (the reference; string, number and JSON flags report their off variant when nothing chose one) |
//! | OFREP | `POST /ofrep/v1/evaluate/flags/{key}`, OpenFeature-shaped context (`targetingKey`, attributes at the top level) | `value`, `variant`, `reason`: on ⇔ reason is `STATIC`, `TARGETING_MATCH` or `SPLIT`; a boolean flag's `value` is that state; the variant is `variant` unless it is `on`/`off` for booleans; `value` is the variant's value, always present |
//! | Unleash frontend | `POST /api/frontend` with `{"context": …}`, and `GET /api/frontend?userId=…&properties[plan]=…` as browser SDKs send it | the enabled toggles only: on ⇔ listed; the variant is `variant.name` when `variant.enabled` (Unleash has no off variant) |
//! | seed | `GET /flags/{key}?user_id=…` | `enabled` only, for a user id only |
//! | core | `GET /api/client/features` → `formats::unleash::import` → `Snapshot::compile` → `evaluate` (Unleash semantics) | `enabled`, the chosen variant |
//!
//! Each random context is evaluated three times: in full on native, OFREP, frontend and
//! core; reduced to its user id on all five (the seed API can say nothing else); and
//! without its user id (anonymous). Some contexts carry attributes as arrays or objects,
//! which every surface reads as missing. For anonymous contexts OFREP answers
//! `TARGETING_KEY_MISSING` where evaluation reaches a rollout or split by user; there
//! the native answer is random, so nothing is compared, and everywhere else all surfaces
//! must agree (a missed random draw would make them disagree). Flags whose rules decide
//! for some anonymous contexts before such a rollout must answer them.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "cross_surface/data.rs"]
mod data;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::http::StatusCode;
use common::Harness;
use data::{flag_set, percent_encode, RandomContext};
use flagpole_core::formats::unleash;
use flagpole_core::{Compat, Context, Document, FlagType, Snapshot, SplitMix64};
use serde_json::{json, Value};

const CONTEXTS: usize = 1_000;
const SEED: u64 = 0x5eed_f1a9;
/// Flags that must take one state for every context; all others must take both.
const CONSTANT: [(&str, bool); 6] = [
    ("kill-switch", true),
    ("checkout-copy", true),
    ("onboarding-copy", true),
    ("dark-launch", false),
    ("dev-only", false),
    ("retired-copy", false),
];
/// Flags with a rollout by user after a rule that decides for some anonymous contexts:
/// OFREP must answer those without a targeting key.
const DECIDED_EARLY: [&str; 2] = ["opted-in-first", "checkout-copy"];

#[tokio::test]
async fn every_surface_gives_the_same_answer() {
    let c = Harness::new().await;
    let document = flag_set();
    c.import(&document).await;
    let doc = Document::from_json(&document.to_string()).unwrap();
    let keys: Vec<&str> = doc.flags.keys().map(String::as_str).collect();

    // The Unleash document an SDK would fetch, evaluated as an SDK would.
    let features = c.get("/api/client/features").await.expect(200);
    let imported = unleash::import(&features.text(), "production").unwrap();
    assert_eq!(imported.compat, Compat::Unleash);
    let sdk = Snapshot::compile(&imported, "production").unwrap();
    assert_eq!(sdk.len(), keys.len());

    let mut rng = SplitMix64(SEED);
    let mut report = Report::default();
    for _ in 0..CONTEXTS {
        let full = RandomContext::generate(&mut rng);
        let lean = full.user_only();
        let anonymous = full.anonymous();
        for (ctx, with_seed) in [(&full, false), (&lean, true), (&anonymous, false)] {
            compare(&c, &doc, &sdk, &keys, ctx, with_seed, &mut report).await;
        }
    }

    report.assert_agreement();
    report.assert_coverage(&doc);
    for key in DECIDED_EARLY {
        let (answered, missing) = report.anonymous.get(key).copied().unwrap_or_default();
        assert!(
            answered > 0 && missing > 0,
            "{key}: {answered} anonymous contexts answered, {missing} TARGETING_KEY_MISSING"
        );
    }
    let missing: usize = report.anonymous.values().map(|(_, m)| m).sum();
    println!(
        "cross-surface: {CONTEXTS} contexts × {} flags agree on 5 surfaces \
         ({} evaluations compared; seed API on each context's user id; {missing} anonymous \
         evaluations TARGETING_KEY_MISSING)",
        keys.len(),
        report.compared
    );
}

/// A flag's state as a surface reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Outcome {
    enabled: bool,
    variant: Option<String>,
}

#[derive(Default)]
struct Report {
    compared: usize,
    mismatches: usize,
    /// The first few mismatches, described.
    examples: Vec<String>,
    /// Per flag: the states and variants native evaluation served.
    seen: BTreeMap<String, (BTreeSet<bool>, BTreeSet<String>)>,
    /// Per flag: anonymous evaluations OFREP answered, and those it refused with
    /// `TARGETING_KEY_MISSING`.
    anonymous: HashMap<String, (usize, usize)>,
}

impl Report {
    fn check(&mut self, surface: &str, key: &str, ctx: &Value, expected: &Outcome, got: &Outcome) {
        self.compared += 1;
        if expected == got {
            return;
        }
        self.mismatches += 1;
        if self.examples.len() < 20 {
            self.examples.push(format!(
                "{surface} {key}: native {expected:?}, {surface} {got:?} for {ctx}"
            ));
        }
    }

    fn assert_agreement(&self) {
        assert_eq!(
            self.mismatches,
            0,
            "surfaces disagree on {} of {} evaluations; the first:\n{}",
            self.mismatches,
            self.compared,
            self.examples.join("\n")
        );
    }

    /// The flag set and contexts must exercise what they claim to: every flag on for some
    /// contexts and off for others (but the constant ones), and every variant served.
    fn assert_coverage(&self, doc: &Document) {
        for (key, flag) in &doc.flags {
            let (states, variants) = &self.seen[key];
            match CONSTANT.iter().find(|(k, _)| k == key) {
                Some((_, state)) => assert_eq!(states, &BTreeSet::from([*state]), "{key}"),
                None => assert_eq!(states.len(), 2, "{key} is always {states:?}"),
            }
            for v in &flag.variants {
                assert!(variants.contains(&v.name), "{key} never served {}", v.name);
            }
        }
    }
}

/// Evaluates every flag for one context on every surface and compares with native.
async fn compare(
    c: &Harness,
    doc: &Document,
    sdk: &Snapshot,
    keys: &[&str],
    ctx: &RandomContext,
    with_seed: bool,
    report: &mut Report,
) {
    let unleash_ctx = ctx.unleash_shape();
    let ofrep_ctx = json!({"context": ctx.openfeature_shape()});
    let posted = frontend(c, &json!({ "context": unleash_ctx })).await;
    let queried = frontend_query(c, &ctx.query()).await;
    let core_ctx = Context::from_json(&unleash_ctx).unwrap();
    let now = chrono::Utc::now();
    for &key in keys {
        let got = ofrep(c, doc, key, &ofrep_ctx).await;
        if ctx.user_id.is_none() {
            let counts = report.anonymous.entry(key.to_string()).or_default();
            match got {
                Some(_) => counts.0 += 1,
                None => counts.1 += 1,
            }
        }
        let Some(got) = got else {
            assert!(
                ctx.user_id.is_none(),
                "TARGETING_KEY_MISSING for {key} with a key"
            );
            // Evaluation reached a rollout or split by user id: random without one.
            continue;
        };
        let expected = native(c, key, &unleash_ctx).await;
        report.check("ofrep", key, &unleash_ctx, &expected, &got);
        let seen = report.seen.entry(key.to_string()).or_default();
        seen.0.insert(expected.enabled);
        seen.1.extend(expected.variant.clone());

        // Unleash has no off variant: a flag that is off serves `disabled`.
        let unleash = Outcome {
            enabled: expected.enabled,
            variant: expected.variant.clone().filter(|_| expected.enabled),
        };
        for (surface, toggles) in [("frontend POST", &posted), ("frontend GET", &queried)] {
            let got = toggles.get(key).cloned().unwrap_or(Outcome {
                enabled: false,
                variant: None,
            });
            report.check(surface, key, &unleash_ctx, &unleash, &got);
        }

        let e = sdk.evaluate(key, &core_ctx, now, &mut SplitMix64(0));
        let got = Outcome {
            enabled: e.enabled,
            variant: e.chosen.map(|c| c.name.to_string()),
        };
        report.check("core", key, &unleash_ctx, &unleash, &got);

        if let (true, Some(user_id)) = (with_seed, &ctx.user_id) {
            let got = Outcome {
                enabled: seed(c, key, user_id).await,
                variant: expected.variant.clone(),
            };
            report.check("seed", key, &unleash_ctx, &expected, &got);
        }
    }
    // Rules that decide before the rollout by user answer anonymous contexts.
    if ctx.user_id.is_none() {
        let beta = ctx.property("beta") == Some(&json!(true));
        let not_free = ctx.property("plan") != Some(&json!("free"));
        for (key, decided) in [("opted-in-first", beta), ("checkout-copy", not_free)] {
            if decided {
                let reply = ofrep(c, doc, key, &ofrep_ctx).await;
                assert!(reply.is_some(), "{key} refused {ofrep_ctx}");
            }
        }
    }
}

async fn native(c: &Harness, key: &str, ctx: &Value) -> Outcome {
    let uri = format!("/api/v1/environments/production/evaluate/{key}");
    let body = c.post_json(&uri, ctx.clone()).await.expect(200).json();
    Outcome {
        enabled: body["enabled"].as_bool().unwrap(),
        variant: body["variant"].as_str().map(str::to_string),
    }
}

/// OFREP's answer read back into an [`Outcome`], checking on the way that `value` is what
/// the state and variant imply; `None` for `TARGETING_KEY_MISSING` (only then an error).
async fn ofrep(c: &Harness, doc: &Document, key: &str, request: &Value) -> Option<Outcome> {
    let uri = format!("/ofrep/v1/evaluate/flags/{key}");
    let reply = c.post_json(&uri, request.clone()).await;
    if reply.status == StatusCode::BAD_REQUEST {
        let body = reply.json();
        assert_eq!(body["errorCode"], "TARGETING_KEY_MISSING", "{key}: {body}");
        return None;
    }
    let body = reply.expect(200).json();
    assert_eq!(body["key"], key);
    let enabled = matches!(
        body["reason"].as_str().unwrap(),
        "STATIC" | "TARGETING_MATCH" | "SPLIT"
    );
    let flag = &doc.flags[key];
    let variant = body["variant"].as_str().map(str::to_string);
    let variant = match (flag.flag_type, enabled) {
        (FlagType::Boolean, true) => variant.filter(|v| v != "on"),
        (FlagType::Boolean, false) => variant.filter(|v| v != "off"),
        _ => variant,
    };
    let served = variant
        .as_ref()
        .and_then(|name| flag.variants.iter().find(|v| v.name == *name))
        .and_then(|v| v.value.clone());
    let expected_value = match (flag.flag_type, served) {
        (_, Some(value)) => value,
        (FlagType::Boolean, None) => Value::Bool(enabled),
        (_, None) => panic!(
            "{key}: a {:?} flag served no variant: {body}",
            flag.flag_type
        ),
    };
    assert_eq!(
        body.get("value"),
        Some(&expected_value),
        "OFREP value of {key} for {request}: {body}"
    );
    Some(Outcome { enabled, variant })
}

/// The frontend API's toggles by name (only enabled flags are listed), for a context in
/// the body.
async fn frontend(c: &Harness, request: &Value) -> HashMap<String, Outcome> {
    toggles(
        &c.post_json("/api/frontend", request.clone())
            .await
            .expect(200)
            .json(),
    )
}

/// The same for a context in the query string.
async fn frontend_query(c: &Harness, query: &str) -> HashMap<String, Outcome> {
    toggles(&c.get_ok(&format!("/api/frontend?{query}")).await)
}

fn toggles(body: &Value) -> HashMap<String, Outcome> {
    body["toggles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let variant = &t["variant"];
            let outcome = Outcome {
                enabled: t["enabled"].as_bool().unwrap(),
                variant: (variant["enabled"] == true)
                    .then(|| variant["name"].as_str().unwrap().to_string()),
            };
            (t["name"].as_str().unwrap().to_string(), outcome)
        })
        .collect()
}

async fn seed(c: &Harness, key: &str, user_id: &str) -> bool {
    let reply = c
        .get(&format!("/flags/{key}?user_id={}", percent_encode(user_id)))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["flag"], key);
    body["enabled"].as_bool().unwrap()
}
