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

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use flagpole_core::formats::unleash;
use flagpole_core::{Context, Document, RandomSource, Snapshot, SplitMix64};
use serde_json::{json, Map, Value};
use unleash_types::client_features::{ClientFeatures, Context as YggContext};
use unleash_yggdrasil::{EngineState, UpdateMessage};

const ENV: &str = "production";
const SEED: u64 = 0x5eed_f1a6_2026;
const FEATURE_SETS: usize = 700;
const CONTEXTS_PER_SET: usize = 40;
const MIN_CASES: usize = 100_000;
const SHOW_MISMATCHES: usize = 5;

// ---------------------------------------------------------------------------------------
// Pools. Small on purpose so that constraints, overrides and segments match often.

const USER_IDS: &[&str] = &[
    "1",
    "2",
    "7",
    "42",
    "alice",
    "bob",
    "Carol",
    "user-9",
    "ΣΟΦΙΑ-7",
    "émile",
];
const SESSION_IDS: &[&str] = &["s1", "s2", "s3", "abc", "1001"];
const ADDRESSES: &[&str] = &[
    "10.1.2.3",
    "192.168.1.77",
    "127.0.0.1",
    "2001:db8::1",
    "8.8.8.8",
    "::1",
    "garbage",
];
const APP_NAMES: &[&str] = &["web", "ios", "android", "Web"];
const ENVIRONMENTS: &[&str] = &["production", "development", "staging"];
const TIMES: &[&str] = &[
    "2019-12-31T23:59:59Z",
    "2020-01-01T00:00:00Z",
    "2024-02-29T12:30:00.250Z",
    "2024-02-29T14:30:00.250+02:00",
    "2025-06-15T08:00:00Z",
    "2031-01-01T00:00:00Z",
    "not-a-date",
];
const TENANTS: &[&str] = &["acme", "globex", "initech", "umbrella", "42"];
const PLANS: &[&str] = &["free", "pro", "enterprise", "Pro", "team"];
const EMAILS: &[&str] = &[
    "alice@ourco.com",
    "Bob@OurCo.COM",
    "carol@example.com",
    "qa+1@ourco.com",
    "ΣΟΦΙΑ@ourco.com",
];
const NAMES: &[&str] = &[
    "ΟΔΥΣΣΕΑ",
    "Straße",
    "STRASSE",
    "İstanbul",
    "alice",
    "ALICE",
    "émile",
];
const AGES: &[&str] = &[
    "0", "17", "18", "42", "65", "2.5", "-1", "1e2", "abc", "inf", "1.",
];
const VERSIONS: &[&str] = &[
    "1.0.0",
    "1.2.3",
    "1.2.4",
    "2.0.0-alpha",
    "2.0.0-beta.1",
    "2.0.0",
    "10.0.0",
    "1.2",
    "v1.2.3",
    "x",
];
const COUNTRIES: &[&str] = &["no", "se", "us", "NO"];

/// Every attribute a context can carry, with the values it is drawn from.
const ATTRIBUTES: &[(&str, &[&str])] = &[
    ("userId", USER_IDS),
    ("sessionId", SESSION_IDS),
    ("remoteAddress", ADDRESSES),
    ("appName", APP_NAMES),
    ("environment", ENVIRONMENTS),
    ("currentTime", TIMES),
    ("tenant", TENANTS),
    ("plan", PLANS),
    ("email", EMAILS),
    ("name", NAMES),
    ("age", AGES),
    ("version", VERSIONS),
    ("country", COUNTRIES),
    ("signup", TIMES),
];
const STANDARD_FIELDS: &[&str] = &[
    "userId",
    "sessionId",
    "remoteAddress",
    "appName",
    "environment",
    "currentTime",
];

const NEEDLES: &[&str] = &[
    "a",
    "al",
    "@ourco.com",
    "OURCO",
    "ice",
    "Σ",
    "ς",
    "σ",
    "ΥΣ",
    "strasse",
    "ß",
    "İ",
    "i",
    "é",
    "x",
    "1",
    "",
];
// Numeric operands: never `.5`-style (yggdrasil's grammar cannot read them).
const NUMBERS: &[&str] = &[
    "0", "1", "-1", "17", "18", "2.5", "42", "65", "100", "1e2", "1.", "-0",
];
const DATES: &[&str] = &[
    "2020-01-01T00:00:00Z",
    "2024-02-29T12:30:00.250Z",
    "2025-06-15T10:00:00+02:00",
    "2030-01-01T00:00:00.000Z",
];
// Never `v`-prefixed: both engines make those never match, but that is covered by the
// client specification.
const SEMVERS: &[&str] = &[
    "1.0.0",
    "1.2.3",
    "2.0.0-beta.1",
    "2.0.0",
    "1.2.3-rc.1+build.5",
    "10.0.0",
];
// Backslashes only as regex escapes, never before a quote; `(` is invalid in both engines.
const REGEXES: &[&str] = &[
    "^a",
    r"ourco\.com$",
    r"^\d+$",
    "^pro$",
    "^[a-z]+$",
    "Σ",
    "(",
    "^.*$",
    "ice|bob",
    r"^1\.2\.\d",
];
const CIDRS: &[&str] = &[
    "10.0.0.0/8",
    "192.168.1.0/24",
    "127.0.0.1",
    "2001:db8::/32",
    "not-an-ip",
    "10.1.2.3/16",
    "0.0.0.0/0",
    "::1/128",
];
const VARIANT_NAMES: &[&str] = &["red", "green", "blue", "control", "treatment"];
const STRING_PAYLOADS: &[&str] = &["hello", "#00ff00", "", "Ünïcödé", "{not json", "a,b,c"];
const NUMBER_PAYLOADS: &[&str] = &["1", "42", "-3", "1.5", "1e3", "0.1"];
const JSON_PAYLOADS: &[&str] = &[
    r#"{"a":1}"#,
    "[1,2,3]",
    r#"{"nested":{"b":[true,null]},"n":1.0}"#,
    r#""str""#,
    "42",
    r#"{ "spaced" : 1 }"#,
];
// Repeated names and names of the form Flagpole gives unnamed segments (`segment-{id}`)
// exercise the import's renaming.
const SEGMENT_NAMES: &[Option<&str>] = &[
    None,
    Some("beta"),
    Some("beta"),
    Some("internal"),
    Some("segment-2"),
    Some("segment-3"),
];

/// Operators with the attributes they are tried on.
const LIST_ATTRS: &[&str] = &[
    "userId",
    "sessionId",
    "appName",
    "environment",
    "remoteAddress",
    "tenant",
    "plan",
    "country",
    "email",
    "name",
    "age",
    "version",
];
const STR_ATTRS: &[&str] = &[
    "email", "name", "plan", "userId", "appName", "country", "version",
];
const NUM_ATTRS: &[&str] = &["age", "userId", "sessionId", "tenant"];
const DATE_ATTRS: &[&str] = &["currentTime", "signup"];
const SEMVER_ATTRS: &[&str] = &["version", "appName"];
const REGEX_ATTRS: &[&str] = &["email", "name", "userId", "version", "plan"];

// ---------------------------------------------------------------------------------------
// The generator.

struct Gen(SplitMix64);

impl Gen {
    fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u32) as usize
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.0.below(100) < percent
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Between `min` and `max` distinct items, in random order.
    fn subset<T: Clone>(&mut self, items: &[T], min: usize, max: usize) -> Vec<T> {
        let n = self.range(min, max.min(items.len()));
        let mut pool: Vec<T> = items.to_vec();
        (0..n)
            .map(|_| {
                let i = self.below(pool.len());
                pool.swap_remove(i)
            })
            .collect()
    }
}

fn pool(attribute: &str) -> &'static [&'static str] {
    ATTRIBUTES
        .iter()
        .find(|(name, _)| *name == attribute)
        .map_or(&[], |(_, values)| values)
}

fn constraint(g: &mut Gen) -> Value {
    let (operator, attribute, mut c) = match g.below(7) {
        0 => {
            let attribute = g.pick(LIST_ATTRS);
            let mut values: Vec<&str> = g.subset(pool(attribute), 1, 4);
            if g.chance(20) {
                values.push("other");
            }
            let op = if g.chance(50) { "IN" } else { "NOT_IN" };
            (op, attribute, json!({ "values": values }))
        }
        1 => {
            let op = g.pick(&["STR_STARTS_WITH", "STR_ENDS_WITH", "STR_CONTAINS"]);
            // Quirk avoided: an empty list.
            let values = g.subset(NEEDLES, 1, 3);
            (op, g.pick(STR_ATTRS), json!({ "values": values }))
        }
        2 => {
            let op = g.pick(&["NUM_EQ", "NUM_GT", "NUM_GTE", "NUM_LT", "NUM_LTE"]);
            (op, g.pick(NUM_ATTRS), json!({ "value": g.pick(NUMBERS) }))
        }
        3 => {
            let op = g.pick(&["DATE_AFTER", "DATE_BEFORE"]);
            (op, g.pick(DATE_ATTRS), json!({ "value": g.pick(DATES) }))
        }
        4 => {
            let op = g.pick(&[
                "SEMVER_EQ",
                "SEMVER_GT",
                "SEMVER_LT",
                "SEMVER_GTE",
                "SEMVER_LTE",
            ]);
            (
                op,
                g.pick(SEMVER_ATTRS),
                json!({ "value": g.pick(SEMVERS) }),
            )
        }
        5 => (
            "REGEX",
            g.pick(REGEX_ATTRS),
            json!({ "value": g.pick(REGEXES) }),
        ),
        _ => {
            let attribute = if g.chance(90) {
                "remoteAddress"
            } else {
                "tenant"
            };
            (
                "IN_CIDR",
                attribute,
                json!({ "values": g.subset(CIDRS, 1, 3) }),
            )
        }
    };
    c["contextName"] = json!(attribute);
    c["operator"] = json!(operator);
    c["inverted"] = json!(g.chance(30));
    // Both engines ignore case_insensitive where it does not apply.
    c["caseInsensitive"] = json!(g.chance(40));
    c
}

fn constraints(g: &mut Gen, max: usize) -> Vec<Value> {
    (0..g.range(0, max)).map(|_| constraint(g)).collect()
}

/// A feature's variant catalogue: every variant name it uses, with its one payload.
fn catalogue(g: &mut Gen) -> Vec<(&'static str, Option<Value>)> {
    let mode = g.below(5);
    g.subset(VARIANT_NAMES, 1, 4)
        .into_iter()
        .map(|name| {
            let kind = if mode == 4 { g.below(4) } else { mode };
            let payload = match kind {
                _ if g.chance(10) => None,
                0 => None,
                1 if g.chance(15) => Some(json!({"type": "csv", "value": "a,b,c"})),
                1 => Some(json!({"type": "string", "value": g.pick(STRING_PAYLOADS)})),
                2 => Some(json!({"type": "number", "value": g.pick(NUMBER_PAYLOADS)})),
                _ => Some(json!({"type": "json", "value": g.pick(JSON_PAYLOADS)})),
            };
            (name, payload)
        })
        .collect()
}

/// Weights with at least one positive (quirk avoided: weights summing to 0).
fn weights(g: &mut Gen, n: usize) -> Vec<i64> {
    let mut w: Vec<i64> = (0..n)
        .map(|_| {
            if g.chance(20) {
                0
            } else {
                g.range(1, 1000) as i64
            }
        })
        .collect();
    if w.iter().all(|w| *w == 0) {
        w[0] = g.range(1, 1000) as i64;
    }
    w
}

fn variant_json(name: &str, payload: &Option<Value>, weight: i64) -> Value {
    let mut v = json!({"name": name, "weight": weight});
    if let Some(p) = payload {
        v["payload"] = p.clone();
    }
    v
}

/// A payload of any kind, or none.
fn any_payload(g: &mut Gen) -> Option<Value> {
    match g.below(4) {
        0 => None,
        1 => Some(json!({"type": "string", "value": g.pick(STRING_PAYLOADS)})),
        2 => Some(json!({"type": "number", "value": g.pick(NUMBER_PAYLOADS)})),
        _ => Some(json!({"type": "json", "value": g.pick(JSON_PAYLOADS)})),
    }
}

fn strategy(g: &mut Gen, segment_ids: &[i64], catalogue: &[(&str, Option<Value>)]) -> Value {
    let group = g.pick(&["g1", "g2", "shared", "f0"]);
    let rollout = |g: &mut Gen| -> String {
        match g.below(4) {
            0 => g.pick(&["0", "100"]).to_string(),
            _ => g.range(0, 100).to_string(),
        }
    };
    let (name, parameters) = match g.below(6) {
        0 => {
            let mut p = Map::new();
            if g.chance(50) {
                p.insert("groupId".into(), json!(group));
            }
            // `random` stickiness is never generated (quirk avoided).
            if g.chance(30) {
                p.insert("stickiness".into(), json!(g.pick(&["default", "tenant"])));
            }
            ("default", Value::Object(p))
        }
        1 => {
            let ids = g.subset(USER_IDS, 1, 4);
            let sep = g.pick(&[",", ", "]);
            ("userWithId", json!({ "userIds": ids.join(sep) }))
        }
        2 => (
            "gradualRolloutUserId",
            json!({ "percentage": rollout(g), "groupId": group }),
        ),
        3 => (
            "gradualRolloutSessionId",
            json!({ "percentage": rollout(g), "groupId": group }),
        ),
        4 => {
            // Quirk avoided: always an explicit groupId.
            let mut p = json!({ "rollout": rollout(g), "groupId": group });
            if g.chance(85) {
                p["stickiness"] = json!(g.pick(&["default", "userId", "sessionId", "tenant"]));
            }
            ("flexibleRollout", p)
        }
        _ => {
            let ips = g.subset(CIDRS, 1, 3);
            ("remoteAddress", json!({ "IPs": ips.join(", ") }))
        }
    };
    let mut s = json!({
        "name": name,
        "parameters": parameters,
        "constraints": constraints(g, 3),
    });
    if !segment_ids.is_empty() && g.chance(35) {
        s["segments"] = json!(g.subset(segment_ids, 1, 2));
    }
    if g.chance(30) {
        let chosen = g.subset(catalogue, 1, 3);
        let w = weights(g, chosen.len());
        // No overrides on strategy variants (quirk avoided).
        let variants: Vec<Value> = chosen
            .iter()
            .zip(w)
            .map(|((name, payload), weight)| {
                // Strategy variants belong to their strategy: the same name may carry
                // another payload here than elsewhere in the feature.
                let payload = if g.chance(30) {
                    any_payload(g)
                } else {
                    payload.clone()
                };
                let mut v = variant_json(name, &payload, weight);
                v["stickiness"] = json!("default");
                v
            })
            .collect();
        s["variants"] = json!(variants);
    } else if g.chance(10) {
        s["variants"] = json!([]);
    }
    s
}

/// One generated feature, with what the comparison needs to know about it.
struct FeatureSpec {
    json: Value,
    catalogue: Vec<&'static str>,
    /// The attribute the feature-level variant split sticks on, when it is not `default`.
    split_attr: Option<&'static str>,
    /// Parents whose variant this feature's dependencies look at.
    variant_parents: Vec<usize>,
}

fn feature(g: &mut Gen, name: &str, segment_ids: &[i64], feature_type: &str) -> FeatureSpec {
    let catalogue = catalogue(g);
    let strategies: Vec<Value> = if g.chance(15) {
        Vec::new()
    } else {
        (0..g.range(1, 4))
            .map(|_| strategy(g, segment_ids, &catalogue))
            .collect()
    };
    let mut split_attr = None;
    let mut variants = Vec::new();
    if g.chance(45) {
        let chosen = g.subset(&catalogue, 1, 4);
        let w = weights(g, chosen.len());
        let stickiness = g.pick(&[
            None,
            Some("default"),
            Some("tenant"),
            Some("userId"),
            Some("sessionId"),
        ]);
        split_attr = stickiness.filter(|s| *s != "default");
        for ((vname, payload), weight) in chosen.iter().zip(w) {
            let mut v = variant_json(vname, payload, weight);
            v["weightType"] = json!(g.pick(&["variable", "fix"]));
            if let Some(s) = stickiness {
                v["stickiness"] = json!(s);
            }
            if g.chance(20) {
                let attribute = g.pick(&["userId", "tenant", "plan", "sessionId", "appName"]);
                v["overrides"] = json!([{
                    "contextName": attribute,
                    "values": g.subset(pool(attribute), 1, 3),
                }]);
            }
            variants.push(v);
        }
    }
    let json = json!({
        "name": name,
        "type": feature_type,
        "project": "default",
        "enabled": g.chance(85),
        "stale": false,
        "impressionData": false,
        "strategies": strategies,
        "variants": variants,
    });
    FeatureSpec {
        json,
        catalogue: catalogue.iter().map(|(n, _)| *n).collect(),
        split_attr,
        variant_parents: Vec::new(),
    }
}

struct FeatureSet {
    json: Value,
    features: Vec<FeatureSpec>,
}

fn feature_set(g: &mut Gen) -> FeatureSet {
    let segment_ids: Vec<i64> = g.subset(&[1, 2, 3, 5, 8, 13], 0, 3);
    let segments: Vec<Value> = segment_ids
        .iter()
        .map(|id| {
            let mut s = json!({ "id": id, "constraints": constraints(g, 2) });
            if s["constraints"].as_array().is_some_and(Vec::is_empty) {
                s["constraints"] = json!([constraint(g)]);
            }
            if let Some(name) = g.pick(SEGMENT_NAMES) {
                s["name"] = json!(name);
            }
            s
        })
        .collect();
    let n = g.range(2, 6);
    let mut features: Vec<FeatureSpec> = (0..n)
        .map(|i| {
            let ty = g.pick(&["release", "experiment", "kill-switch"]);
            feature(g, &format!("f{i}"), &segment_ids, ty)
        })
        .collect();
    // One-level dependencies: children depend on features without dependencies.
    let children: Vec<bool> = (0..n).map(|i| i > 0 && g.chance(30)).collect();
    let parents: Vec<usize> = (0..n).filter(|i| !children[*i]).collect();
    for child in (0..n).filter(|i| children[*i]) {
        let mut deps = Vec::new();
        for parent in g.subset(&parents, 1, 2) {
            let mut d = json!({ "feature": format!("f{parent}") });
            match g.below(3) {
                0 => {}
                1 => d["enabled"] = json!(true),
                _ => d["enabled"] = json!(false),
            }
            if g.chance(40) {
                let mut names = g.subset(&features[parent].catalogue, 0, 2);
                if g.chance(20) {
                    names.push("nope");
                }
                if !names.is_empty() {
                    features[child].variant_parents.push(parent);
                }
                d["variants"] = json!(names);
            }
            deps.push(d);
        }
        features[child].json["dependencies"] = json!(deps);
    }
    let json = json!({
        "version": 2,
        "features": features.iter().map(|f| f.json.clone()).collect::<Vec<_>>(),
        "segments": segments,
    });
    FeatureSet { json, features }
}

fn context(g: &mut Gen) -> Value {
    let mut c = Map::new();
    let mut props = Map::new();
    for (attribute, values) in ATTRIBUTES {
        let present = match *attribute {
            // Everyone has a tenant, the custom stickiness attribute.
            "tenant" => true,
            "userId" => g.chance(75),
            "sessionId" => g.chance(70),
            _ => g.chance(55),
        };
        if !present {
            continue;
        }
        let value = json!(g.pick(values));
        if STANDARD_FIELDS.contains(attribute) {
            c.insert(attribute.to_string(), value);
        } else {
            props.insert(attribute.to_string(), value);
        }
    }
    // Quirk avoided: without a user id or session id, default stickiness is random.
    if !c.contains_key("userId") && !c.contains_key("sessionId") {
        c.insert("userId".into(), json!(g.pick(USER_IDS)));
    }
    c.insert("properties".into(), Value::Object(props));
    Value::Object(c)
}

// ---------------------------------------------------------------------------------------
// Comparison.

/// What a client sees: `is_enabled` and `get_variant`.
#[derive(Debug, PartialEq)]
struct Outcome {
    enabled: bool,
    variant: String,
    variant_enabled: bool,
    feature_enabled: bool,
    payload: Option<(String, Value)>,
}

/// Payload values compared by meaning: JSON parsed, numbers as numbers.
fn payload_value(payload_type: &str, value: &str) -> Value {
    match payload_type {
        "json" => serde_json::from_str(value).map_or_else(|_| json!(value), numbers_as_f64),
        "number" => value
            .parse::<f64>()
            .map_or_else(|_| json!(value), |n| json!(n)),
        _ => json!(value),
    }
}

fn numbers_as_f64(v: Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.into_iter().map(numbers_as_f64).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, numbers_as_f64(v))).collect())
        }
        other => other,
    }
}

fn yggdrasil(engine: &EngineState, key: &str, ctx: &YggContext) -> Outcome {
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

fn flagpole(
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
struct Case<'a> {
    set: &'a FeatureSet,
    feature: usize,
    ctx: &'a Value,
}

impl Case<'_> {
    fn has(&self, attribute: &str) -> bool {
        self.ctx.get(attribute).is_some() || self.ctx["properties"].get(attribute).is_some()
    }

    fn split_is_deterministic(&self, feature: usize) -> bool {
        self.set.features[feature]
            .split_attr
            .is_none_or(|a| self.has(a))
    }

    /// `enabled` is random only when a dependency looks at a parent's random variant.
    fn enabled_is_deterministic(&self) -> bool {
        self.set.features[self.feature]
            .variant_parents
            .iter()
            .all(|p| self.split_is_deterministic(*p))
    }

    /// A split sticky on an attribute the context lacks picks at random in both engines.
    fn variant_is_deterministic(&self) -> bool {
        self.enabled_is_deterministic() && self.split_is_deterministic(self.feature)
    }
}

/// Tallies for one document form.
#[derive(Default)]
struct Tally {
    cases: usize,
    agree: usize,
    enabled: usize,
    with_variant: usize,
    variants_compared: usize,
    mismatches: Vec<String>,
}

impl Tally {
    fn check(&mut self, case: &Case, label: &str, ygg: &Outcome, ours: &Outcome) {
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

    fn summary(&self, label: &str) -> String {
        format!(
            "differential{label}: {}/{} cases agree ({} enabled, {} with a variant; variants compared in {})",
            self.agree, self.cases, self.enabled, self.with_variant, self.variants_compared
        )
    }
}

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
