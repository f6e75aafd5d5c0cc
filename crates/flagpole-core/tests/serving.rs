//! What a flag serves when nothing names a variant (off variants), variants whose payload
//! differs per Unleash strategy, contexts with array and object attributes, and when an
//! evaluation needs the user id it lacks.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use flagpole_core::formats::unleash;
use flagpole_core::{Context, Document, Evaluation, Snapshot, SplitMix64};
use serde_json::{json, Value};

fn now() -> DateTime<Utc> {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn snapshot(yaml: &str, env: &str) -> Snapshot {
    Snapshot::compile(&Document::from_yaml(yaml).unwrap(), env).unwrap()
}

fn eval<'s>(s: &'s Snapshot, key: &str, ctx: Value) -> Evaluation<'s> {
    let ctx = Context::from_json(&ctx).unwrap();
    s.evaluate(key, &ctx, now(), &mut SplitMix64(7))
}

#[test]
fn typed_flags_serve_their_off_variant_and_unleash_sees_none() {
    let yaml = "flags:\n  copy:\n    type: string\n    variants: [{name: a, value: A}, {name: b, value: B}]\n    environments:\n      p: {enabled: false, off_variant: b}\n      q: {enabled: true, rules: [{conditions: [{attribute: plan, operator: IN, values: [pro]}]}]}\n";
    let p = snapshot(yaml, "p");
    let e = eval(&p, "copy", json!({}));
    assert_eq!(
        (e.enabled, e.variant, e.value),
        (false, Some("b"), Some(&json!("B")))
    );
    assert_eq!(e.chosen, None);
    let q = snapshot(yaml, "q");
    // On without a variant, and off because no rule matched: the first variant.
    for ctx in [json!({"plan": "pro"}), json!({"plan": "free"})] {
        let e = eval(&q, "copy", ctx);
        assert_eq!((e.variant, e.value), (Some("a"), Some(&json!("A"))));
        assert_eq!(e.chosen, None);
    }
    // Not configured here: off, first variant.
    let r = snapshot(yaml, "r");
    let e = eval(&r, "copy", json!({}));
    assert_eq!((e.enabled, e.variant), (false, Some("a")));
    // Refused where it cannot mean anything.
    for bad in [
        "flags:\n  f:\n    environments: {p: {enabled: true, off_variant: a}}\n",
        "flags:\n  f:\n    type: string\n    variants: [{name: a, value: A}]\n    environments: {p: {enabled: true, off_variant: z}}\n",
    ] {
        let err = Snapshot::compile(&Document::from_yaml(bad).unwrap(), "p").unwrap_err();
        assert!(err.to_string().contains("off_variant"), "{err}");
    }
}

#[test]
fn array_and_object_attributes_are_missing_for_every_operator() {
    let s = snapshot(
        "flags:\n  in: {environments: {p: {enabled: true, rules: [{conditions: [{attribute: groups, operator: IN, values: [beta]}]}]}}}\n  not_in: {environments: {p: {enabled: true, rules: [{conditions: [{attribute: groups, operator: NOT_IN, values: [beta]}]}]}}}\n  contains: {environments: {p: {enabled: true, rules: [{conditions: [{attribute: groups, operator: STR_CONTAINS, values: [beta]}]}]}}}\n",
        "p",
    );
    for groups in [json!(["beta"]), json!({"beta": true}), Value::Null] {
        let ctx = json!({"targetingKey": "u", "groups": groups});
        assert!(!eval(&s, "in", ctx.clone()).enabled, "{ctx}");
        assert!(eval(&s, "not_in", ctx.clone()).enabled, "{ctx}");
        assert!(!eval(&s, "contains", ctx.clone()).enabled, "{ctx}");
    }
    assert!(eval(&s, "in", json!({"groups": "beta"})).enabled);
}

#[test]
fn the_user_id_is_needed_only_where_evaluation_reaches_a_rollout_or_split_by_it() {
    let s = snapshot(
        "flags:\n  plain: {environments: {p: {enabled: true}}}\n  off: {environments: {p: {enabled: false, rules: [{rollout: 5}]}}}\n  half: {environments: {p: {enabled: true, rules: [{rollout: 50}]}}}\n  everyone: {environments: {p: {enabled: true, rules: [{rollout: 100}]}}}\n  by_user: {environments: {p: {enabled: true, rules: [{rollout: 100, stickiness: userId}]}}}\n  user_cond: {environments: {p: {enabled: true, rules: [{conditions: [{attribute: userId, operator: IN, values: [a]}]}]}}}\n  beta_first: {environments: {p: {enabled: true, rules: [{conditions: [{attribute: beta, operator: IN, values: ['true']}]}, {rollout: 30}]}}}\n  child: {environments: {p: {enabled: true, depends_on: [{flag: half}]}}}\n  ab:\n    type: string\n    variants: [{name: a, value: A}, {name: b, value: B}]\n    environments: {p: {enabled: true, default: {split: [{variant: a, weight: 1, overrides: [{attribute: plan, values: [pro]}]}, {variant: b, weight: 1}]}}}\n  one_share:\n    type: string\n    variants: [{name: a, value: A}, {name: b, value: B}]\n    environments: {p: {enabled: true, default: {split: [{variant: a, weight: 1}, {variant: b, weight: 0}]}}}\n",
        "p",
    );
    let needs = |key: &str, ctx: Value| eval(&s, key, ctx).needs_user_id;
    let anonymous = json!({});
    for key in ["half", "by_user", "beta_first", "child", "ab"] {
        assert!(needs(key, anonymous.clone()), "{key}");
        assert!(!needs(key, json!({"targetingKey": "u"})), "{key}");
    }
    for key in ["plain", "off", "everyone", "user_cond", "one_share"] {
        assert!(!needs(key, anonymous.clone()), "{key}");
    }
    // A session id places default stickiness; an earlier rule or an override decides.
    assert!(!needs("half", json!({"sessionId": "s"})));
    assert!(needs("by_user", json!({"sessionId": "s"})));
    assert!(!needs("beta_first", json!({"beta": true})));
    assert!(!needs("ab", json!({"plan": "pro"})));
}

#[test]
fn unleash_variants_keep_their_payload_per_strategy() {
    let features = json!({"version": 2, "features": [{
        "name": "endpoint", "enabled": true, "strategies": [
            {"name": "default", "parameters": {"groupId": "endpoint"},
             "constraints": [{"contextName": "region", "operator": "IN", "values": ["eu"]}],
             "variants": [{"name": "v0", "weight": 1000, "stickiness": "default",
                           "payload": {"type": "string", "value": "https://eu.example"}}]},
            {"name": "default", "parameters": {"groupId": "endpoint"},
             "variants": [{"name": "v0", "weight": 1000, "stickiness": "default",
                           "payload": {"type": "string", "value": "https://us.example"}}]}
        ],
        "variants": []
    }]});
    let doc = unleash::import(&features.to_string(), "p").unwrap();
    let s = Snapshot::compile(&doc, "p").unwrap();
    let eu = eval(&s, "endpoint", json!({"userId": "1", "region": "eu"}));
    let us = eval(&s, "endpoint", json!({"userId": "1", "region": "us"}));
    assert_eq!(
        (eu.variant, eu.value),
        (Some("v0"), Some(&json!("https://eu.example")))
    );
    assert_eq!(
        (us.variant, us.value),
        (Some("v0"), Some(&json!("https://us.example")))
    );
    assert_eq!(
        us.chosen.map(|c| c.value),
        Some(Some(&json!("https://us.example")))
    );
    // Exported as it came, and stable through another import.
    let exported = unleash::export(&doc, "p");
    let strategies = &serde_json::to_value(&exported).unwrap()["features"][0]["strategies"];
    assert_eq!(
        strategies[0]["variants"][0]["payload"]["value"],
        "https://eu.example"
    );
    assert_eq!(
        strategies[1]["variants"][0]["payload"]["value"],
        "https://us.example"
    );
    let again = unleash::import(&serde_json::to_string(&exported).unwrap(), "p").unwrap();
    assert_eq!(unleash::export(&again, "p"), exported);
}
