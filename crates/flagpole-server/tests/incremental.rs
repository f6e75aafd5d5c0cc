//! Incremental publishing gives what a full rebuild gives: after random sequences of
//! flag writes, deletions, archiving, segment changes and rollbacks through the API, the
//! published state (made change by change from what each write committed) equals one
//! built from the store's whole state: the same records, the same evaluations for every
//! flag, environment and sample context, the same Unleash payloads, and the same
//! reverse indexes.

#![allow(clippy::unwrap_used)]

mod common;

use common::Harness;
use flagpole_core::{Catalog, Context, RandomSource, SplitMix64};
use flagpole_server::Published;
use serde_json::{json, Value};

const FLAGS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
const SEGMENTS: [&str; 3] = ["beta", "staff", "eu"];
const ENVS: [&str; 2] = ["development", "production"];
const STEPS: usize = 40;
const SEQUENCES: u64 = 12;

fn pick<'a>(rng: &mut SplitMix64, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len() as u32) as usize]
}

fn condition(rng: &mut SplitMix64) -> Value {
    match rng.below(4) {
        0 => json!({"attribute": "country", "operator": "IN", "values": ["de", "fr", "us"]}),
        1 => {
            json!({"attribute": "plan", "operator": "STR_ENDS_WITH", "values": ["prise"], "inverted": true})
        }
        2 => json!({"attribute": "age", "operator": "NUM_GT", "value": "30"}),
        _ => json!({"attribute": "email", "operator": "REGEX", "value": "@ourco\\.com$"}),
    }
}

/// A string flag with variants, rules using segments, rollouts, splits and (sometimes)
/// a dependency on another flag.
fn random_flag(rng: &mut SplitMix64, key: &str) -> Value {
    let mut envs = serde_json::Map::new();
    for env in ENVS {
        if rng.below(4) == 0 {
            continue;
        }
        let mut rules = Vec::new();
        for _ in 0..rng.below(3) {
            let mut rule = json!({
                "conditions": (0..rng.below(3)).map(|_| condition(rng)).collect::<Vec<_>>(),
                "rollout": rng.below(101),
            });
            if rng.below(2) == 0 {
                rule["segments"] = json!([pick(rng, &SEGMENTS)]);
            }
            rule["serve"] = if rng.below(2) == 0 {
                json!({"variant": "blue"})
            } else {
                json!({"split": [{"variant": "blue", "weight": rng.below(100)}, {"variant": "green", "weight": 1 + rng.below(100)}]})
            };
            rules.push(rule);
        }
        let mut config =
            json!({"enabled": rng.below(3) != 0, "rules": rules, "default": {"variant": "green"}});
        if rng.below(4) == 0 {
            let parent = pick(rng, &FLAGS);
            if parent != key {
                config["depends_on"] = json!([{"flag": parent}]);
            }
        }
        envs.insert(env.to_string(), config);
    }
    json!({
        "type": "string",
        "description": format!("flag {key} #{}", rng.below(1000)),
        "variants": [{"name": "blue", "value": "b"}, {"name": "green", "value": "g"}],
        "environments": envs,
    })
}

fn random_segment(rng: &mut SplitMix64) -> Value {
    json!({"conditions": (0..1 + rng.below(2)).map(|_| condition(rng)).collect::<Vec<_>>()})
}

/// One random change through the API; refusals (a missing segment, a cycle, a stale
/// version…) are part of the sequence too.
async fn step(h: &Harness, rng: &mut SplitMix64) {
    let published = h.state.published();
    let key = pick(rng, &FLAGS);
    let version = published.flags.get(key).map(|r| r.version);
    match rng.below(9) {
        0..=3 => {
            let mut body = random_flag(rng, key);
            match version {
                Some(v) => {
                    body["version"] = json!(v);
                    h.put_json(&format!("/api/v1/flags/{key}"), body).await;
                }
                None => {
                    body["key"] = json!(key);
                    h.post_json("/api/v1/flags", body).await;
                }
            }
        }
        4 => {
            h.delete(&format!("/api/v1/flags/{key}")).await;
        }
        5 => {
            let action = if rng.below(2) == 0 {
                "archive"
            } else {
                "unarchive"
            };
            h.post(&format!("/api/v1/flags/{key}/{action}")).await;
        }
        6 => {
            if let Some(v) = version {
                let to = 1 + rng.below(v as u32) as i64;
                let body = json!({"to_version": to, "version": v});
                h.post_json(&format!("/api/v1/flags/{key}/rollback"), body)
                    .await;
            }
        }
        7 => {
            let name = pick(rng, &SEGMENTS);
            let mut body = random_segment(rng);
            match published.segments.get(name) {
                Some(s) => {
                    body["version"] = json!(s.version);
                    h.put_json(&format!("/api/v1/segments/{name}"), body).await;
                }
                None => {
                    body["name"] = json!(name);
                    h.post_json("/api/v1/segments", body).await;
                }
            }
        }
        _ => {
            let name = pick(rng, &SEGMENTS);
            h.delete(&format!("/api/v1/segments/{name}")).await;
        }
    }
}

fn contexts() -> Vec<Context> {
    let mut out = Vec::new();
    for (i, country) in ["de", "us", "jp"].iter().enumerate() {
        for user in 0..12 {
            let ctx = json!({
                "userId": format!("user-{user}"),
                "properties": {
                    "country": country,
                    "plan": if user % 2 == 0 { "enterprise" } else { "free" },
                    "age": (20 + user * 3 + i).to_string(),
                    "email": format!("u{user}@{}", if user % 3 == 0 { "ourco.com" } else { "x.org" }),
                }
            });
            out.push(Context::from_json(&ctx).unwrap());
        }
    }
    out
}

/// Everything observable of a published state, compared between the two builds.
fn assert_same(incremental: &Published, full: &Published, contexts: &[Context], seq: u64) {
    let what = format!("sequence {seq}, version {}", full.version);
    assert_eq!(incremental.version, full.version, "{what}: version");
    assert_eq!(incremental.environments, full.environments, "{what}");
    assert_eq!(incremental.flags, full.flags, "{what}: flag records");
    assert_eq!(
        incremental.segments, full.segments,
        "{what}: segment records"
    );
    assert_eq!(incremental.totals(), full.totals(), "{what}: totals");
    for key in FLAGS {
        let deps = |p: &Published| p.dependents(key).cloned().collect::<Vec<_>>();
        assert_eq!(deps(incremental), deps(full), "{what}: dependents of {key}");
    }
    for name in SEGMENTS {
        let users = |p: &Published| p.segment_users(name).cloned().collect::<Vec<_>>();
        assert_eq!(users(incremental), users(full), "{what}: users of {name}");
    }
    let now = chrono::Utc::now();
    for env in ENVS {
        let (a, b) = (&incremental.snapshots[env], &full.snapshots[env]);
        assert_eq!(a.len(), b.len(), "{what}: flags in {env}");
        for key in FLAGS {
            for ctx in contexts {
                let ea = a.evaluate(key, ctx, now, &mut SplitMix64(1));
                let eb = b.evaluate(key, ctx, now, &mut SplitMix64(1));
                assert_eq!(
                    format!("{ea:?}"),
                    format!("{eb:?}"),
                    "{what}: {key} in {env} for {ctx:?}"
                );
            }
        }
        let (pa, pb) = (
            incremental.client_features(env).unwrap(),
            full.client_features(env).unwrap(),
        );
        assert_eq!(pa.json, pb.json, "{what}: ClientFeatures of {env}");
    }
}

#[tokio::test]
async fn incremental_publishing_equals_a_full_rebuild() {
    let contexts = contexts();
    let mut changes = 0;
    for seq in 0..SEQUENCES {
        let h = Harness::new().await;
        let mut rng = SplitMix64(0x5eed ^ seq.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut payloads: Vec<(String, axum::body::Bytes)> = Vec::new();
        for i in 0..STEPS {
            let before = h.state.published().version;
            step(&h, &mut rng).await;
            let incremental = h.state.published();
            changes += usize::from(incremental.version > before);
            // A payload kept from an earlier state (same ETag) must still be right. Some
            // states are never asked for theirs (unless compared below), so a later
            // payload starts from one built several changes before.
            if !rng.next_u64().is_multiple_of(3) {
                let now: Vec<(String, axum::body::Bytes)> = ENVS
                    .iter()
                    .map(|env| {
                        let c = incremental.client_features(env).unwrap();
                        (c.etag.clone(), c.json.clone())
                    })
                    .collect();
                for ((etag, json), (old_etag, old_json)) in now.iter().zip(&payloads) {
                    if etag == old_etag {
                        assert_eq!(json, old_json, "sequence {seq}: same ETag, other payload");
                    }
                }
                payloads = now;
            }
            // Compare at a few points and at the end of every sequence.
            if i % 10 == 9 {
                let full = Published::build(h.store.load().await.unwrap()).unwrap();
                assert_same(&incremental, &full, &contexts, seq);
            }
        }
    }
    println!("incremental: {SEQUENCES} sequences of {STEPS} steps, {changes} committed changes, each state equal to a full rebuild");
    assert!(
        changes > (SEQUENCES as usize * STEPS) / 3,
        "most steps should commit something ({changes})"
    );
}
