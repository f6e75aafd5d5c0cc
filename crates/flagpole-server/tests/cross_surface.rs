//! One engine, five surfaces: for 1,000 deterministic random contexts, the seed API, native
//! evaluation, OFREP, the Unleash frontend API and `flagpole-core` evaluating the
//! `/api/client/features` document give the same enabled state and variant for every flag.
//!
//! What each surface can express, and so what is compared:
//!
//! | surface | request | reports |
//! |---|---|---|
//! | native | `POST /api/v1/environments/production/evaluate/{key}`, Unleash-shaped context | `enabled`, `variant` (the reference) |
//! | OFREP | `POST /ofrep/v1/evaluate/flags/{key}`, OpenFeature-shaped context (`targetingKey`, attributes at the top level) | `value`, `variant`, `reason`: on ⇔ reason is `STATIC`, `TARGETING_MATCH` or `SPLIT`; a boolean flag's `value` is that state; the variant is `variant` unless it is the placeholder for "none" (`on`/`off` for booleans, `default` otherwise); `value` is the variant's value, absent when a non-boolean flag serves none |
//! | Unleash frontend | `POST /api/frontend` with `{"context": …}`, and `GET /api/frontend?userId=…&properties[plan]=…` as browser SDKs send it | the enabled toggles only: on ⇔ listed; the variant is `variant.name` when `variant.enabled` |
//! | seed | `GET /flags/{key}?user_id=…` | `enabled` only, for a user id only |
//! | core | `GET /api/client/features` → `formats::unleash::import` → `Snapshot::compile` → `evaluate` (Unleash semantics) | `enabled`, `variant` |
//!
//! Each random context is evaluated twice: in full on native, OFREP, frontend and core,
//! and reduced to its user id on all five (the seed API can say nothing else).

#![allow(clippy::unwrap_used)]

mod client;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::http::StatusCode;
use client::Client;
use flagpole_core::formats::unleash;
use flagpole_core::{Compat, Context, Document, FlagType, RandomSource, Snapshot, SplitMix64};
use serde_json::{json, Map, Value};

const CONTEXTS: usize = 1_000;
const SEED: u64 = 0x5eed_f1a9;
/// Flags that must take one state for every context; all others must take both.
const CONSTANT: [(&str, bool); 4] = [
    ("kill-switch", true),
    ("onboarding-copy", true),
    ("dark-launch", false),
    ("dev-only", false),
];

#[tokio::test]
async fn every_surface_gives_the_same_answer() {
    let c = Client::new().await;
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
        for (ctx, with_seed) in [(&full, false), (&lean, true)] {
            compare(&c, &doc, &sdk, &keys, ctx, with_seed, &mut report).await;
        }
    }

    report.assert_agreement();
    report.assert_coverage(&doc);
    println!(
        "cross-surface: {CONTEXTS} contexts × {} flags agree on 5 surfaces \
         ({} evaluations compared; seed API on each context's user id)",
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
    c: &Client,
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
        let expected = native(c, key, &unleash_ctx).await;
        let seen = report.seen.entry(key.to_string()).or_default();
        seen.0.insert(expected.enabled);
        seen.1.extend(expected.variant.clone());

        let got = ofrep(c, doc, key, &ofrep_ctx).await;
        report.check("ofrep", key, &unleash_ctx, &expected, &got);

        for (surface, toggles) in [("frontend POST", &posted), ("frontend GET", &queried)] {
            let got = toggles.get(key).cloned().unwrap_or(Outcome {
                enabled: false,
                variant: None,
            });
            report.check(surface, key, &unleash_ctx, &expected, &got);
        }

        let e = sdk.evaluate(key, &core_ctx, now, &mut SplitMix64(0));
        let got = Outcome {
            enabled: e.enabled,
            variant: e.variant.map(str::to_string),
        };
        report.check("core", key, &unleash_ctx, &expected, &got);

        if with_seed {
            let got = Outcome {
                enabled: seed(c, key, &ctx.user_id).await,
                variant: expected.variant.clone(),
            };
            report.check("seed", key, &unleash_ctx, &expected, &got);
        }
    }
}

async fn native(c: &Client, key: &str, ctx: &Value) -> Outcome {
    let uri = format!("/api/v1/environments/production/evaluate/{key}");
    let body = c.post_json(&uri, ctx).await.expect(200).json();
    Outcome {
        enabled: body["enabled"].as_bool().unwrap(),
        variant: body["variant"].as_str().map(str::to_string),
    }
}

/// OFREP's answer read back into an [`Outcome`], checking on the way that `value` is what
/// the state and variant imply.
async fn ofrep(c: &Client, doc: &Document, key: &str, request: &Value) -> Outcome {
    let uri = format!("/ofrep/v1/evaluate/flags/{key}");
    let body = c.post_json(&uri, request).await.expect(200).json();
    assert_eq!(body["key"], key);
    let enabled = matches!(
        body["reason"].as_str().unwrap(),
        "STATIC" | "TARGETING_MATCH" | "SPLIT"
    );
    let flag = &doc.flags[key];
    let placeholder = match (flag.flag_type, enabled) {
        (FlagType::Boolean, true) => "on",
        (FlagType::Boolean, false) => "off",
        _ => "default",
    };
    let variant = body["variant"]
        .as_str()
        .filter(|v| *v != placeholder)
        .map(str::to_string);
    let served = variant
        .as_ref()
        .and_then(|name| flag.variants.iter().find(|v| v.name == *name))
        .and_then(|v| v.value.clone());
    let expected_value = match (flag.flag_type, served) {
        (_, Some(value)) => Some(value),
        (FlagType::Boolean, None) => Some(Value::Bool(enabled)),
        (_, None) => None,
    };
    assert_eq!(
        body.get("value"),
        expected_value.as_ref(),
        "OFREP value of {key} for {request}: {body}"
    );
    Outcome { enabled, variant }
}

/// The frontend API's toggles by name (only enabled flags are listed), for a context in
/// the body.
async fn frontend(c: &Client, request: &Value) -> HashMap<String, Outcome> {
    toggles(
        &c.post_json("/api/frontend", request)
            .await
            .expect(200)
            .json(),
    )
}

/// The same for a context in the query string.
async fn frontend_query(c: &Client, query: &str) -> HashMap<String, Outcome> {
    toggles(
        &c.get(&format!("/api/frontend?{query}"))
            .await
            .expect(200)
            .json(),
    )
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

async fn seed(c: &Client, key: &str, user_id: &str) -> bool {
    let reply = c
        .get(&format!("/flags/{key}?user_id={}", percent_encode(user_id)))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["flag"], key);
    body["enabled"].as_bool().unwrap()
}

/// A context: a user id, Unleash's standard fields and free-form properties.
#[derive(Clone, Debug)]
struct RandomContext {
    user_id: String,
    fields: Map<String, Value>,
    properties: Map<String, Value>,
}

impl RandomContext {
    fn generate(rng: &mut SplitMix64) -> RandomContext {
        let user_id = match rng.below(100) {
            0..=3 => pick(rng, &["user-1", "user-2", "vip-1", "user-42"]).to_string(),
            4..=13 => format!("{:016x}", rng.next_u64()),
            _ => format!("user-{}", rng.below(5_000)),
        };
        let mut fields = Map::new();
        let mut maybe = |rng: &mut SplitMix64, name: &str, percent: u32, value: Value| {
            if rng.below(100) < percent {
                fields.insert(name.to_string(), value);
            }
        };
        let session = json!(format!("s-{}", rng.below(10_000)));
        maybe(rng, "sessionId", 50, session);
        let ip = json!(pick(
            rng,
            &[
                "10.1.2.3",
                "10.200.0.9",
                "192.168.1.20",
                "192.168.2.20",
                "2001:db8::1",
                "2001:db9::1",
                "8.8.8.8",
                "not-an-ip",
            ]
        ));
        maybe(rng, "remoteAddress", 80, ip);
        let app = json!(pick(rng, &["ios", "android", "web"]));
        maybe(rng, "appName", 85, app);
        let time = json!(match rng.below(10) {
            0 => "yesterday".to_string(),
            _ => date(rng, "2025-01-01T00:00:00Z", 730),
        });
        maybe(rng, "currentTime", 45, time);

        let mut properties = Map::new();
        let mut maybe = |rng: &mut SplitMix64, name: &str, percent: u32, value: Value| {
            if rng.below(100) < percent {
                properties.insert(name.to_string(), value);
            }
        };
        let plan = json!(pick(rng, &["free", "pro", "enterprise"]));
        maybe(rng, "plan", 85, plan);
        let country = json!(pick(rng, &["US", "DE", "FR", "NL", "GB", "RU", "BR"]));
        maybe(rng, "country", 90, country);
        let email = json!(format!(
            "{}{}@{}",
            pick(
                rng,
                &[
                    "alice",
                    "bob",
                    "carol",
                    "dave",
                    "qa+smoke",
                    "test-user",
                    "Eve"
                ]
            ),
            rng.below(3),
            pick(
                rng,
                &[
                    "acme.com",
                    "ACME.IO",
                    "example.com",
                    "Example.org",
                    "gmail.com",
                    "acme.com.evil.net",
                ]
            )
        ));
        maybe(rng, "email", 90, email);
        let age = match rng.below(20) {
            0..=11 => json!(rng.below(90)),
            12..=15 => json!(f64::from(rng.below(900)) / 10.0),
            16..=18 => json!(rng.below(90).to_string()),
            _ => json!("old"),
        };
        maybe(rng, "age", 80, age);
        let score = json!(f64::from(99_000 + rng.below(1_000)) / 1_000.0);
        maybe(rng, "score", 60, score);
        let version = json!(pick(
            rng,
            &[
                "1.9.9",
                "1.9.9-beta.2",
                "2.0.0",
                "2.0.0-rc.1",
                "2.5.3",
                "2.10.0",
                "3.0.0",
                "3.0.0-alpha",
                "v2.1.0",
                "2.1",
            ]
        ));
        maybe(rng, "appVersion", 85, version);
        let signup = json!(date(rng, "2022-01-01T00:00:00Z", 1_200));
        maybe(rng, "signupDate", 50, signup);
        // Always present: splits sticky on it never fall back to random.
        properties.insert("companyId".into(), json!(format!("co-{}", rng.below(300))));
        RandomContext {
            user_id,
            fields,
            properties,
        }
    }

    /// The same user with nothing else: all the seed API can express.
    fn user_only(&self) -> RandomContext {
        RandomContext {
            user_id: self.user_id.clone(),
            fields: Map::new(),
            properties: Map::new(),
        }
    }

    /// `{"userId": …, "sessionId": …, "properties": {…}}`.
    fn unleash_shape(&self) -> Value {
        let mut ctx = self.fields.clone();
        ctx.insert("userId".into(), json!(self.user_id));
        if !self.properties.is_empty() {
            ctx.insert("properties".into(), Value::Object(self.properties.clone()));
        }
        Value::Object(ctx)
    }

    /// `{"targetingKey": …, "sessionId": …, "plan": …}`: properties at the top level.
    fn openfeature_shape(&self) -> Value {
        let mut ctx = self.fields.clone();
        ctx.insert("targetingKey".into(), json!(self.user_id));
        ctx.extend(self.properties.clone());
        Value::Object(ctx)
    }

    /// `userId=…&sessionId=…&properties[plan]=…`, as Unleash's browser SDKs send it.
    fn query(&self) -> String {
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let fields = self.fields.iter().map(|(k, v)| (k.clone(), text(v)));
        let properties =
            (self.properties.iter()).map(|(k, v)| (format!("properties[{k}]"), text(v)));
        std::iter::once(("userId".to_string(), self.user_id.clone()))
            .chain(fields)
            .chain(properties)
            .map(|(k, v)| format!("{}={}", percent_encode(&k), percent_encode(&v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn pick<'a>(rng: &mut SplitMix64, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len() as u32) as usize]
}

/// A whole-hour RFC 3339 date within `days` days after `from`.
fn date(rng: &mut SplitMix64, from: &str, days: u32) -> String {
    let from = chrono::DateTime::parse_from_rfc3339(from).unwrap();
    let at = from + chrono::Duration::hours(i64::from(rng.below(days * 24)));
    at.to_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Booleans, rollouts by user id, conditions of every operator family, a segment, string,
/// number and JSON variants with splits, overrides and fixed variants, and one-level
/// dependencies, in `production`.
fn flag_set() -> Value {
    fn on(config: Value) -> Value {
        let mut env = json!({"enabled": true});
        env.as_object_mut()
            .unwrap()
            .extend(config.as_object().unwrap().clone());
        json!({"production": env})
    }
    fn when(attribute: &str, operator: &str, operand: Value) -> Value {
        let key = if operand.is_array() {
            "values"
        } else {
            "value"
        };
        json!({"attribute": attribute, "operator": operator, key: operand})
    }
    json!({
        "segments": {
            "beta-testers": {
                "description": "paying customers outside sanctioned countries",
                "conditions": [
                    when("plan", "IN", json!(["pro", "enterprise"])),
                    when("country", "NOT_IN", json!(["RU", "KP"])),
                ]
            }
        },
        "flags": {
            "kill-switch": {"environments": on(json!({}))},
            "dark-launch": {"environments": {"production": {"enabled": false, "rules": [{"rollout": 100}]}}},
            "dev-only": {"environments": {"development": {"enabled": true}}},
            "new-checkout": {"environments": on(json!({"rules": [
                {"rollout": 30, "stickiness": "userId", "group_id": "checkout"}
            ]}))},
            "checkout-banner": {"environments": on(json!({"rules": [
                {"rollout": 30, "group_id": "checkout"}
            ]}))},
            "gradual-55": {"environments": on(json!({"rules": [{"rollout": 55}]}))},
            "plan-gate": {"environments": on(json!({"rules": [
                {"name": "paying", "conditions": [when("plan", "IN", json!(["pro", "enterprise"]))]},
                {"name": "vips", "conditions": [when("userId", "IN", json!(["vip-1", "vip-2", "user-42"]))]},
            ]}))},
            "email-gate": {"environments": on(json!({"rules": [
                {"conditions": [{"attribute": "email", "operator": "STR_ENDS_WITH",
                                 "values": ["@acme.com", "@acme.io"], "case_insensitive": true}]},
                {"conditions": [
                    when("email", "STR_STARTS_WITH", json!(["qa+"])),
                    {"attribute": "email", "operator": "STR_CONTAINS", "values": ["test"], "inverted": true},
                ]},
            ]}))},
            "age-gate": {"environments": on(json!({"rules": [
                {"conditions": [when("age", "NUM_GTE", json!("18")), when("age", "NUM_LT", json!("65"))]},
                {"conditions": [when("score", "NUM_GT", json!("99.9"))]},
            ]}))},
            "version-gate": {"environments": on(json!({"rules": [
                {"conditions": [when("appVersion", "SEMVER_GTE", json!("2.0.0")),
                                when("appVersion", "SEMVER_LT", json!("3.0.0"))]},
                {"conditions": [when("appVersion", "SEMVER_EQ", json!("1.9.9-beta.2"))]},
            ]}))},
            "launch-window": {"environments": on(json!({"rules": [
                {"conditions": [when("currentTime", "DATE_AFTER", json!("2025-06-01T00:00:00Z")),
                                when("currentTime", "DATE_BEFORE", json!("2026-06-01T00:00:00Z"))]},
                {"conditions": [when("signupDate", "DATE_BEFORE", json!("2023-01-01T00:00:00Z"))]},
            ]}))},
            "regex-gate": {"environments": on(json!({"rules": [
                {"conditions": [when("userId", "REGEX", json!("^user-[0-9]*7$"))]},
                {"conditions": [{"attribute": "email", "operator": "REGEX",
                                 "value": "^[a-c][a-z]*[0-9]*@example\\.(com|org)$", "case_insensitive": true}]},
            ]}))},
            "office-network": {"environments": on(json!({"rules": [
                {"conditions": [when("remoteAddress", "IN_CIDR",
                                     json!(["10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32"]))]},
            ]}))},
            "outside-eu": {"environments": on(json!({"rules": [
                {"conditions": [{"attribute": "country", "operator": "IN",
                                 "values": ["DE", "FR", "NL"], "inverted": true}]},
            ]}))},
            "beta-program": {"environments": on(json!({"rules": [
                {"segments": ["beta-testers"], "rollout": 50},
            ]}))},
            "banner-text": {
                "type": "string",
                "variants": [
                    {"name": "control", "value": "Welcome"},
                    {"name": "bold", "value": "WELCOME!"},
                    {"name": "friendly", "value": "Hi there"},
                ],
                "environments": on(json!({
                    "rules": [
                        {"name": "enterprise", "conditions": [when("plan", "IN", json!(["enterprise"]))],
                         "serve": {"variant": "bold"}},
                        {"name": "not in russia", "conditions": [when("country", "NOT_IN", json!(["RU"]))]},
                    ],
                    "default": {"split": [
                        {"variant": "control", "weight": 50,
                         "overrides": [{"attribute": "userId", "values": ["user-1", "user-2"]}]},
                        {"variant": "friendly", "weight": 30},
                        {"variant": "bold", "weight": 20},
                    ]},
                })),
            },
            "price": {
                "type": "number",
                "variants": [
                    {"name": "standard", "value": 9.99},
                    {"name": "round", "value": 10},
                    {"name": "premium", "value": 12.5},
                    {"name": "unit", "value": 1.0},
                ],
                "environments": on(json!({"rules": [
                    {"name": "us companies", "conditions": [when("country", "IN", json!(["US"]))],
                     "rollout": 50, "stickiness": "companyId",
                     "serve": {"split": [
                         {"variant": "standard", "weight": 1},
                         {"variant": "round", "weight": 1},
                         {"variant": "unit", "weight": 1},
                     ]}},
                    {"name": "free plan", "conditions": [when("plan", "IN", json!(["free"]))],
                     "serve": {"variant": "premium"}},
                ]})),
            },
            "theme": {
                "type": "json",
                "variants": [
                    {"name": "light", "value": {"mode": "light", "accent": "#0af"}},
                    {"name": "dark", "value": {"mode": "dark", "accent": "#fa0"}},
                    {"name": "contrast", "value": {"mode": "contrast", "levels": [1, 2, 3]}},
                ],
                "environments": on(json!({
                    "rules": [
                        {"rollout": 70, "stickiness": "userId",
                         "serve": {"split": [{"variant": "light", "weight": 1}, {"variant": "dark", "weight": 1}],
                                   "stickiness": "default"}},
                        {"conditions": [when("appName", "IN", json!(["ios"]))]},
                    ],
                    "default": {"variant": "contrast"},
                })),
            },
            "onboarding-copy": {
                "type": "string",
                "variants": [
                    {"name": "short", "value": "Go!"},
                    {"name": "long", "value": "Welcome aboard, let us show you around."},
                ],
                "environments": on(json!({"default": {"split": [
                    {"variant": "short", "weight": 1,
                     "overrides": [{"attribute": "plan", "values": ["enterprise"]}]},
                    {"variant": "long", "weight": 2},
                ]}})),
            },
            "dark-mode-tips": {"environments": on(json!({
                "depends_on": [{"flag": "theme", "variants": ["dark"]}],
                "rules": [{"rollout": 80}],
            }))},
            "legacy-checkout": {"environments": on(json!({
                "depends_on": [{"flag": "new-checkout", "enabled": false}],
            }))},
        }
    })
}
