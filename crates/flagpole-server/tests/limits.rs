//! Limits and name rules beyond what the bad-input table shows: SDK reports naming flags
//! this server does not know are counted under one label and not stored; documents
//! stored before the name rules and limits keep loading, serving and accepting changes.

#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_message, Harness};
use flagpole_core::{Flag, FlagEnvironment};
use flagpole_store::{Change, Expect};
use serde_json::json;

#[tokio::test]
async fn metrics_for_unknown_flags_share_one_label_and_are_not_stored() {
    let h = Harness::new().await;
    flagpole_server::telemetry::install();
    h.create_flag(json!({"key": "known", "environments": {"production": {"enabled": true}}}))
        .await;
    let mut toggles = serde_json::Map::new();
    for i in 0..500 {
        toggles.insert(format!("ghost-{i}"), json!({"yes": 1, "no": 1}));
    }
    toggles.insert("known".into(), json!({"yes": 3, "no": 0}));
    let report = json!({"appName": "a", "instanceId": "i", "bucket": {"start": "2026-01-01T00:00:00Z", "stop": "2026-01-01T00:01:00Z", "toggles": toggles}});
    h.post_json("/api/client/metrics", report).await.expect(202);
    let text = h.get("/metrics").await.expect(200).text();
    assert!(!text.contains("ghost-"), "unknown flags became labels");
    assert!(text.contains(r#"flag="_unknown""#), "{text}");
    assert!(text.contains(r#"flag="known""#), "{text}");
    let usage = h.get_ok("/api/v1/usage").await;
    let stored = usage.to_string();
    assert!(
        stored.contains("known") && !stored.contains("ghost-"),
        "{stored}"
    );
}

/// A flag and a segment written before the name rules (a space, a non-ASCII letter) and
/// beyond a limit (60 conditions in a rule).
async fn legacy() -> Harness {
    let h = Harness::new().await;
    let change = || Change {
        actor: "test",
        action: "flag.created",
        environment: None,
        address: None,
    };
    let conditions: Vec<_> = (0..60)
        .map(|i| json!({"attribute": format!("a{i}"), "operator": "NOT_IN", "values": ["x"]}))
        .collect();
    let flag: Flag = serde_json::from_value(json!({
        "environments": {"production": {"enabled": true, "rules": [{"conditions": conditions}]}}
    }))
    .unwrap();
    for key in ["new ui", "café"] {
        h.store
            .put_flag(key, &flag, false, Expect::Absent, change())
            .await
            .unwrap();
    }
    h.state.reload().await.unwrap();
    h
}

#[tokio::test]
async fn stored_documents_beyond_the_new_rules_still_load_and_serve() {
    let h = legacy().await;
    let reply = h.evaluate("new%20ui", json!({"userId": "u"})).await;
    assert_eq!(reply["enabled"], true);
    // Writes that leave the legacy flags alone are checked on what they change only.
    h.create_flag(json!({"key": "fresh", "environments": {"production": {"enabled": true}}}))
        .await;
    // A legacy flag can be switched off and on again under its own name.
    h.post_json(
        "/api/v1/flags/caf%C3%A9/environments/production/disable",
        json!({}),
    )
    .await
    .expect(200);
    // Its over-limit rules are not re-checked when they are not what changes (a new
    // description, the kill switch); rewriting them to fit is accepted.
    let env = FlagEnvironment {
        enabled: true,
        ..FlagEnvironment::default()
    };
    let fixed: Flag = Flag {
        environments: [("production".to_string(), env)].into_iter().collect(),
        ..Flag::default()
    };
    let mut body = serde_json::to_value(&fixed).unwrap();
    body["version"] = json!(1);
    h.put_json("/api/v1/flags/new%20ui", body).await.expect(200);
}

#[tokio::test]
async fn changing_an_over_limit_flag_must_bring_it_within_the_limits() {
    let h = legacy().await;
    // Untouched targeting is not re-checked; rewritten targeting must fit.
    let reply = h
        .put_json(
            "/api/v1/flags/new%20ui",
            json!({"version": 1, "description": "59 conditions", "environments": {"production": {"enabled": true, "rules": [{"conditions": (0..59).map(|i| json!({"attribute": format!("a{i}"), "operator": "NOT_IN", "values": ["x"]})).collect::<Vec<_>>()}]}}}),
        )
        .await
        .expect(422)
        .json();
    assert_message(&reply, "limit MAX_CONDITIONS");
}

/// Every route that takes a body answers an oversized one with a JSON 413 (none uses
/// axum's own body extractors, whose 413 is plain text).
#[tokio::test]
async fn every_413_is_json() {
    let h = Harness::new().await;
    h.create_flag(json!({"key": "x", "environments": {"production": {"enabled": true}}}))
        .await;
    let doc = h.get_ok("/api/v1/openapi.json").await;
    let huge = vec![b' '; 11 << 20];
    let mut too_large = 0;
    for (method, path, _) in common::operations(&doc) {
        if !["post", "put", "patch"].contains(&method.as_str()) {
            continue;
        }
        let uri = path
            .replace("{name}", "x")
            .replace("{key}", "x")
            .replace("{environment}", "production")
            .replace("{id}", "x")
            .replace("{version}", "1");
        let m = axum::http::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let payload = common::Payload::Raw(Some("application/json"), huge.clone());
        let reply = h.send(m, &uri, &[], payload).await;
        if reply.status == 413 {
            too_large += 1;
            let body = reply.json();
            assert_eq!(body["code"], "payload_too_large", "{method} {uri}: {body}");
        }
    }
    assert!(too_large >= 10, "only {too_large} routes answered 413");
}
