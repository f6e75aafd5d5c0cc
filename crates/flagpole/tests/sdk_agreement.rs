//! The Rust SDK agrees with the server: 10,000 random (flag, context) pairs evaluated in
//! the SDK and through `POST /api/v1/environments/{env}/evaluate/{key}` against a real
//! `flagpole serve` give the same enabled, variant, value, reason and rule; then 100
//! random writes, each waited for until the SDK holds the new version (the time from
//! sending the write to the SDK applying it is printed, p50 and p99, not asserted), with
//! agreement checked again after each.
//!
//! Only answers drawn at random are not compared: a rollout or split by user for a
//! context without a user or session id (the server says `needs_user_id`, and so must
//! the SDK). So every rollout here sticks on the user or on an attribute every context
//! has.

mod common;
mod sdk_support;

use std::time::{Duration, Instant};

use flagpole_core::Context;
use flagpole_sdk::{Client, ContextBuilder};
use sdk_support::{Rng, Server, ENV};
use serde_json::{json, Value};

const FLAGS: usize = 50;
const PAIRS: usize = 10_000;
const WRITES: usize = 100;

const PLANS: &[&str] = &["free", "pro", "enterprise", "Enterprise"];
const COUNTRIES: &[&str] = &["DE", "FR", "US", "JP"];

/// A flag of one of several shapes, in `production`.
fn flag(i: usize, rng: &mut Rng) -> Value {
    let key = format!("flag_{i:02}");
    let enabled = rng.chance(85);
    let conditions = [
        json!({"attribute": "plan", "operator": "IN", "values": ["pro", "enterprise"]}),
        json!({"attribute": "plan", "operator": "STR_STARTS_WITH", "values": ["enter"], "case_insensitive": true}),
        json!({"attribute": "email", "operator": "STR_ENDS_WITH", "values": ["@ourco.com"]}),
        json!({"attribute": "age", "operator": "NUM_GTE", "value": "30"}),
        json!({"attribute": "version", "operator": "SEMVER_GTE", "value": "2.1.0"}),
        json!({"attribute": "remoteAddress", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]}),
        json!({"attribute": "country", "operator": "IN", "values": ["DE", "FR"], "inverted": true}),
        json!({"attribute": "email", "operator": "REGEX", "value": "^[a-m]"}),
        json!({"attribute": "currentTime", "operator": "DATE_AFTER", "value": "2020-01-01T00:00:00Z"}),
    ];
    let condition = rng.pick(&conditions).clone();
    let env = match i % 10 {
        // On for everyone.
        0 => json!({"enabled": enabled}),
        // A percentage rollout by user.
        1 => {
            json!({"enabled": enabled, "rules": [{"rollout": rng.below(101), "stickiness": "default"}]})
        }
        // Targeting by a condition.
        2 => {
            json!({"enabled": enabled, "rules": [{"name": "targeted", "conditions": [condition]}]})
        }
        // A segment, then a rollout for everyone else.
        3 => json!({"enabled": enabled, "rules": [
            {"segments": ["beta"]},
            {"rollout": rng.below(101), "stickiness": "tenant", "group_id": "shared"}
        ]}),
        // A dependency on the flag before it.
        4 => json!({"enabled": enabled, "depends_on": [{"flag": format!("flag_{:02}", i - 1)}]}),
        _ => json!(null),
    };
    if !env.is_null() {
        return json!({"key": key, "type": "boolean", "environments": {ENV: env}});
    }
    match i % 10 {
        5 | 6 => json!({
            "key": key, "type": "string",
            "variants": [{"name": "control", "value": "grey"}, {"name": "blue", "value": "#0000ff"}, {"name": "green", "value": "#00ff00"}],
            "environments": {ENV: {"enabled": enabled, "rules": [
                {"conditions": [condition], "serve": {"variant": "green"}},
                {"rollout": 100 - rng.below(30), "serve": {"split": [
                    {"variant": "control", "weight": 50, "overrides": [{"attribute": "userId", "values": ["u1", "u2"]}]},
                    {"variant": "blue", "weight": 30},
                    {"variant": "green", "weight": 20}
                ]}}
            ], "off_variant": "control"}}
        }),
        7 => json!({
            "key": key, "type": "number",
            "variants": [{"name": "low", "value": 10}, {"name": "high", "value": 1000.5}],
            "environments": {ENV: {"enabled": enabled, "rules": [
                {"conditions": [condition], "serve": {"variant": "high"}}
            ], "default": {"variant": "low"}}}
        }),
        8 => json!({
            "key": key, "type": "json",
            "variants": [{"name": "a", "value": {"layout": "grid", "n": 3}}, {"name": "b", "value": {"layout": "list"}}],
            "environments": {ENV: {"enabled": enabled, "default": {"split": [
                {"variant": "a", "weight": 1}, {"variant": "b", "weight": 3}
            ], "stickiness": "default"}}}
        }),
        _ => json!({
            "key": key, "type": "string",
            "variants": [{"name": "only", "value": "x"}],
            "environments": {ENV: {"enabled": enabled, "rules": [{"conditions": [condition], "serve": {"variant": "only"}}]}}
        }),
    }
}

/// A random context; most have a user id, some only a session, a few neither.
fn context(rng: &mut Rng) -> Context {
    let mut b = ContextBuilder::new();
    match rng.below(20) {
        0 => {}
        1 | 2 => b = b.session_id(format!("s{}", rng.below(500))),
        _ => b = b.user_id(format!("u{}", rng.below(2_000))),
    }
    if rng.chance(70) {
        b = b.property("plan", *rng.pick(PLANS));
    }
    if rng.chance(60) {
        let domain = rng.pick(&["ourco.com", "example.com"]).to_string();
        let name = rng.pick(&["ada", "zoe", "bob", "nina"]).to_string();
        b = b.property("email", format!("{name}@{domain}"));
    }
    if rng.chance(50) {
        b = b.property("age", rng.below(80).to_string());
    }
    if rng.chance(50) {
        b = b.property(
            "version",
            format!("{}.{}.0", 1 + rng.below(3), rng.below(3)),
        );
    }
    if rng.chance(50) {
        b = b.remote_address(format!("{}.1.2.{}", rng.pick(&[10, 192]), rng.below(255)));
    }
    if rng.chance(50) {
        b = b.property("country", *rng.pick(COUNTRIES));
    }
    // Always there: a rollout sticky on a missing attribute is drawn at random.
    b = b.property("tenant", format!("t{}", rng.below(40)));
    b.build()
}

/// The SDK's evaluation in the server's terms.
fn sdk_answer(client: &Client, key: &str, ctx: &Context) -> Value {
    client.evaluate(key, ctx, |e| {
        json!({
            "enabled": e.enabled,
            "variant": e.variant,
            "value": e.value,
            "reason": e.reason,
            "rule": e.rule_index,
            "needs_user_id": e.needs_user_id,
        })
    })
}

/// Evaluates the pair on both sides; `Ok(true)` when compared, `Ok(false)` when the
/// server drew at random (no user or session id for a rollout by user).
async fn check(server: &Server, client: &Client, key: &str, ctx: &Context) -> Result<bool, String> {
    let body = serde_json::to_value(ctx).expect("a context serializes");
    let path = format!("/api/v1/environments/{ENV}/evaluate/{key}");
    let (status, s) = server.call("POST", &path, Some(body.clone())).await;
    if status != 200 {
        return Err(format!("{key}: server answered {status} {s}"));
    }
    let server_answer = json!({
        "enabled": s["enabled"],
        "variant": s["variant"],
        "value": s["value"],
        "reason": s["reason"],
        "rule": s["rule"]["index"],
        "needs_user_id": s["needs_user_id"].as_bool().unwrap_or(false),
    });
    let sdk = sdk_answer(client, key, ctx);
    if sdk["needs_user_id"] != server_answer["needs_user_id"] {
        return Err(format!(
            "{key} for {body}: needs_user_id differs: sdk {sdk} server {server_answer}"
        ));
    }
    if server_answer["needs_user_id"] == json!(true) {
        return Ok(false);
    }
    if sdk != server_answer {
        return Err(format!(
            "{key} for {body}:\n  sdk    {sdk}\n  server {server_answer}"
        ));
    }
    Ok(true)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_agrees_with_the_server_through_random_writes() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Server::start(dir.path()).await;
    let mut rng = Rng::new(20_260_101);
    let mut segment_version = server
        .ok(
            "POST",
            "/api/v1/segments",
            Some(json!({"name": "beta", "conditions": [
                {"attribute": "email", "operator": "STR_ENDS_WITH", "values": ["@ourco.com"]}
            ]})),
        )
        .await["version"]
        .as_i64()
        .expect("a segment version");
    let (mut versions, mut configs) = (Vec::new(), Vec::new());
    for i in 0..FLAGS {
        let f = flag(i, &mut rng);
        configs.push(f["environments"][ENV].clone());
        let created = server.create_flag(f).await;
        versions.push(created["version"].as_i64().expect("a flag version"));
    }
    let token = server.client_token().await;
    let client = Client::builder(&server.base, &token)
        .environment(ENV)
        .startup_timeout(Duration::from_secs(10))
        .build()
        .await
        .expect("the client starts");
    assert_eq!(client.keys().len(), FLAGS);

    let keys: Vec<String> = (0..FLAGS).map(|i| format!("flag_{i:02}")).collect();
    let (mut compared, mut random) = (0, 0);
    let mut failures = Vec::new();
    for _ in 0..PAIRS {
        let key = rng.pick(&keys).clone();
        let ctx = context(&mut rng);
        match check(&server, &client, &key, &ctx).await {
            Ok(true) => compared += 1,
            Ok(false) => random += 1,
            Err(e) => failures.push(e),
        }
    }
    println!("agreement: {compared} pairs equal, {random} drawn at random by both (no user or session id), {} differ", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {PAIRS} differ:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    assert!(compared > PAIRS * 8 / 10);

    // 100 random writes, each awaited in the SDK, agreement checked after each.
    let mut latencies = Vec::new();
    let mut extra = 0;
    let mut after = 0;
    let mut watch = client.watch_version();
    for w in 0..WRITES {
        let i = rng.below(FLAGS);
        let key = keys[i].clone();
        let before = client.version();
        let started = Instant::now();
        match w % 5 {
            // Toggle the kill switch.
            0 | 1 => {
                let on = configs[i]["enabled"] != json!(true);
                let action = if on { "enable" } else { "disable" };
                let answer = server
                    .ok(
                        "POST",
                        &format!("/api/v1/flags/{key}/environments/{ENV}/{action}"),
                        Some(json!({})),
                    )
                    .await;
                versions[i] = answer["version"].as_i64().unwrap_or(versions[i]);
                configs[i]["enabled"] = json!(on);
            }
            // Replace the configuration with a fresh random one.
            2 | 3 => {
                let mut fresh = flag(i, &mut rng);
                let mut config = fresh["environments"][ENV].take();
                if config == configs[i] {
                    // The same again would change nothing, and send no event.
                    config["enabled"] = json!(config["enabled"] != json!(true));
                }
                let mut body = config.clone();
                body["version"] = json!(versions[i]);
                let answer = server
                    .ok(
                        "PUT",
                        &format!("/api/v1/flags/{key}/environments/{ENV}"),
                        Some(body),
                    )
                    .await;
                versions[i] = answer["version"].as_i64().expect("a version");
                configs[i] = config;
            }
            // Create a new flag, or change a segment.
            _ => {
                if w % 2 == 0 {
                    let mut fresh = flag(rng.below(FLAGS), &mut rng);
                    fresh["key"] = json!(format!("extra_{extra}"));
                    if fresh["environments"][ENV]["depends_on"].is_array() {
                        fresh["environments"][ENV]["depends_on"] = json!([{"flag": "flag_00"}]);
                    }
                    server.create_flag(fresh).await;
                    extra += 1;
                } else {
                    let domain = format!("@team{w}.com");
                    let answer = server.ok("PUT", "/api/v1/segments/beta", Some(json!({"version": segment_version, "conditions": [
                        {"attribute": "email", "operator": "STR_ENDS_WITH", "values": ["@ourco.com", domain]}
                    ]}))).await;
                    segment_version = answer["version"].as_i64().expect("a segment version");
                }
            }
        }
        tokio::time::timeout(Duration::from_secs(10), watch.wait_for(|v| *v > before))
            .await
            .unwrap_or_else(|_| panic!("write {w} did not reach the SDK within 10 s"))
            .expect("the client is running");
        latencies.push(started.elapsed());
        for _ in 0..20 {
            let key = if rng.chance(10) && extra > 0 {
                format!("extra_{}", rng.below(extra))
            } else {
                rng.pick(&keys).clone()
            };
            let ctx = context(&mut rng);
            match check(&server, &client, &key, &ctx).await {
                Ok(_) => after += 1,
                Err(e) => failures.push(format!("after write {w}: {e}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differ after writes:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    latencies.sort();
    println!(
        "writes: {WRITES} seen by the SDK; write sent -> SDK applied: p50 {:?}, p99 {:?}, max {:?}; {after} pairs checked after writes",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    assert_eq!(client.status().source, flagpole_sdk::Source::Server);
    client.shutdown().await;
}
