//! The cross-surface test's data: the flag set and the random contexts.

use flagpole_core::{RandomSource, SplitMix64};
use serde_json::{json, Map, Value};

/// A context: a user id (none for anonymous ones), Unleash's standard fields and
/// free-form properties, some of them arrays or objects.
#[derive(Clone, Debug)]
pub struct RandomContext {
    pub user_id: Option<String>,
    fields: Map<String, Value>,
    properties: Map<String, Value>,
}

impl RandomContext {
    pub fn generate(rng: &mut SplitMix64) -> RandomContext {
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
        // Attributes that are arrays or objects (missing for every condition), or scalars.
        let groups = match rng.below(10) {
            0..=2 => json!(["beta", "staff"]),
            3 => json!({"beta": true}),
            4..=5 => json!("beta"),
            _ => Value::Null,
        };
        if !groups.is_null() {
            properties.insert("groups".into(), groups);
        }
        if rng.below(100) < 30 {
            properties.insert("prefs".into(), json!({"theme": "dark", "tags": [1, 2]}));
        }
        if rng.below(100) < 35 {
            properties.insert("beta".into(), json!(true));
        }
        RandomContext {
            user_id: Some(user_id),
            fields,
            properties,
        }
    }

    /// The same user with nothing else: all the seed API can express.
    pub fn user_only(&self) -> RandomContext {
        RandomContext {
            user_id: self.user_id.clone(),
            fields: Map::new(),
            properties: Map::new(),
        }
    }

    /// The same context without a user id (OpenFeature: without a targeting key).
    pub fn anonymous(&self) -> RandomContext {
        RandomContext {
            user_id: None,
            ..self.clone()
        }
    }

    pub fn property(&self, name: &str) -> Option<&Value> {
        self.properties.get(name)
    }

    /// `{"userId": …, "sessionId": …, "properties": {…}}`.
    pub fn unleash_shape(&self) -> Value {
        let mut ctx = self.fields.clone();
        if let Some(user_id) = &self.user_id {
            ctx.insert("userId".into(), json!(user_id));
        }
        if !self.properties.is_empty() {
            ctx.insert("properties".into(), Value::Object(self.properties.clone()));
        }
        Value::Object(ctx)
    }

    /// `{"targetingKey": …, "sessionId": …, "plan": …}`: properties at the top level.
    pub fn openfeature_shape(&self) -> Value {
        let mut ctx = self.fields.clone();
        if let Some(user_id) = &self.user_id {
            ctx.insert("targetingKey".into(), json!(user_id));
        }
        ctx.extend(self.properties.clone());
        Value::Object(ctx)
    }

    /// `userId=…&sessionId=…&properties[plan]=…`, as Unleash's browser SDKs send it
    /// (which cannot send arrays or objects; they are missing everywhere anyway).
    pub fn query(&self) -> String {
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let fields = self.fields.iter().map(|(k, v)| (k.clone(), text(v)));
        let properties = (self.properties.iter())
            .filter(|(_, v)| !v.is_array() && !v.is_object())
            .map(|(k, v)| (format!("properties[{k}]"), text(v)));
        let user = self
            .user_id
            .iter()
            .map(|u| ("userId".to_string(), u.clone()));
        user.chain(fields)
            .chain(properties)
            .map(|(k, v)| format!("{}={}", percent_encode(&k), percent_encode(&v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(text: &str) -> String {
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
/// number and JSON variants with splits, overrides and fixed variants, off variants,
/// conditions on attributes some contexts give as arrays, rules that decide before a
/// rollout by user, and one-level dependencies, in `production`.
pub fn flag_set() -> Value {
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
            "beta-group": {"environments": on(json!({"rules": [
                {"name": "beta group", "conditions": [when("groups", "IN", json!(["beta"]))]},
            ]}))},
            "not-banned": {"environments": on(json!({"rules": [
                {"conditions": [when("groups", "NOT_IN", json!(["banned"])),
                                when("prefs", "NOT_IN", json!(["x"])),
                                when("plan", "IN", json!(["pro"]))]},
            ]}))},
            "opted-in-first": {"environments": on(json!({"rules": [
                {"name": "opted in", "conditions": [when("beta", "IN", json!(["true"]))]},
                {"name": "some others", "rollout": 40},
            ]}))},
            "checkout-copy": {
                "type": "string",
                "variants": [
                    {"name": "trial", "value": "Start your trial"},
                    {"name": "buy", "value": "Buy now"},
                ],
                "environments": on(json!({"rules": [
                    {"name": "free users, half", "conditions": [when("plan", "IN", json!(["free"]))],
                     "rollout": 50, "serve": {"variant": "trial"}},
                    {"name": "everyone else", "serve": {"variant": "buy"}},
                ]})),
            },
            "retired-copy": {
                "type": "string",
                "variants": [{"name": "old", "value": "The old copy"}],
                "environments": {"production": {"enabled": false}},
            },
            "plan-limit": {
                "type": "number",
                "variants": [
                    {"name": "pro", "value": 100},
                    {"name": "none", "value": 0},
                ],
                "environments": on(json!({
                    "off_variant": "none",
                    "rules": [{"conditions": [when("plan", "IN", json!(["pro"]))], "serve": {"variant": "pro"}}],
                })),
            },
        }
    })
}
