//! The seeded generator: random Unleash `ClientFeatures` sets (constraints, strategies
//! with their variants, features with dependencies, segments) and contexts, inside what
//! both engines define, with what the comparison must know about each feature.

use flagpole_core::{RandomSource, SplitMix64};
use serde_json::{json, Map, Value};

use crate::pools::*;

pub(crate) struct Gen(pub(crate) SplitMix64);

impl Gen {
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u32) as usize
    }

    pub(crate) fn chance(&mut self, percent: u32) -> bool {
        self.0.below(100) < percent
    }

    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Between `min` and `max` distinct items, in random order.
    pub(crate) fn subset<T: Clone>(&mut self, items: &[T], min: usize, max: usize) -> Vec<T> {
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

pub(crate) fn pool(attribute: &str) -> &'static [&'static str] {
    ATTRIBUTES
        .iter()
        .find(|(name, _)| *name == attribute)
        .map_or(&[], |(_, values)| values)
}

pub(crate) fn constraint(g: &mut Gen) -> Value {
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

pub(crate) fn constraints(g: &mut Gen, max: usize) -> Vec<Value> {
    (0..g.range(0, max)).map(|_| constraint(g)).collect()
}

/// A feature's variant catalogue: every variant name it uses, with its one payload.
pub(crate) fn catalogue(g: &mut Gen) -> Vec<(&'static str, Option<Value>)> {
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
pub(crate) fn weights(g: &mut Gen, n: usize) -> Vec<i64> {
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

pub(crate) fn variant_json(name: &str, payload: &Option<Value>, weight: i64) -> Value {
    let mut v = json!({"name": name, "weight": weight});
    if let Some(p) = payload {
        v["payload"] = p.clone();
    }
    v
}

/// A payload of any kind, or none.
pub(crate) fn any_payload(g: &mut Gen) -> Option<Value> {
    match g.below(4) {
        0 => None,
        1 => Some(json!({"type": "string", "value": g.pick(STRING_PAYLOADS)})),
        2 => Some(json!({"type": "number", "value": g.pick(NUMBER_PAYLOADS)})),
        _ => Some(json!({"type": "json", "value": g.pick(JSON_PAYLOADS)})),
    }
}

pub(crate) fn strategy(
    g: &mut Gen,
    segment_ids: &[i64],
    catalogue: &[(&str, Option<Value>)],
) -> Value {
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
pub(crate) struct FeatureSpec {
    pub(crate) json: Value,
    pub(crate) catalogue: Vec<&'static str>,
    /// The attribute the feature-level variant split sticks on, when it is not `default`.
    pub(crate) split_attr: Option<&'static str>,
    /// Parents whose variant this feature's dependencies look at.
    pub(crate) variant_parents: Vec<usize>,
}

pub(crate) fn feature(
    g: &mut Gen,
    name: &str,
    segment_ids: &[i64],
    feature_type: &str,
) -> FeatureSpec {
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

pub(crate) struct FeatureSet {
    pub(crate) json: Value,
    pub(crate) features: Vec<FeatureSpec>,
}

pub(crate) fn feature_set(g: &mut Gen) -> FeatureSet {
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

pub(crate) fn context(g: &mut Gen) -> Value {
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
