//! The seed service's API, replayed call for call: same paths, same query parameters,
//! the same bytes back.

#![allow(clippy::unwrap_used)]

mod common;

use axum::http::Method;
use common::{actions, Harness, Payload};
use flagpole_store::AuditFilter;
use serde_json::json;

#[tokio::test]
async fn the_tutorial_calls_answer_byte_for_byte() {
    let h = Harness::new().await;

    let set = h.seed_rollout("new_ui", 25).await;
    assert_eq!(&set.body[..], br#"{"status":"updated"}"#);
    assert_eq!(set.headers["content-type"], "application/json");

    // User 123 is outside new_ui's 25% (docs/flag-format.md, "Gradual rollout").
    let get = h.get("/flags/new_ui?user_id=123").await.expect(200);
    assert_eq!(&get.body[..], br#"{"flag":"new_ui","enabled":false}"#);
    assert_eq!(get.headers["content-type"], "application/json");
    let inside = h.get("/flags/new_ui?user_id=10").await.expect(200);
    assert_eq!(&inside.body[..], br#"{"flag":"new_ui","enabled":true}"#);

    let missing = h.get("/flags/old_ui?user_id=123").await.expect(404);
    assert_eq!(&missing.body[..], br#"{"detail":"Flag not found"}"#);
    assert_eq!(missing.headers["content-type"], "application/json");

    // Without a user id (or with an empty one): the flag's on/off state.
    for uri in ["/flags/new_ui", "/flags/new_ui?user_id="] {
        let plain = h.get(uri).await.expect(200);
        assert_eq!(
            &plain.body[..],
            br#"{"flag":"new_ui","enabled":true}"#,
            "{uri}"
        );
    }
}

#[tokio::test]
async fn the_seed_answer_is_the_engine_answer() {
    let h = Harness::new().await;
    h.seed_rollout("new_ui", 25).await;
    let mut on = 0;
    for user in 0..200 {
        let seed = h.get(&format!("/flags/new_ui?user_id={user}")).await.json();
        let native = h
            .evaluate("new_ui", json!({"userId": user.to_string()}))
            .await;
        assert_eq!(seed["enabled"], native["enabled"], "user {user}");
        on += usize::from(seed["enabled"] == true);
    }
    // 25% of 200, give or take.
    assert!((30..=70).contains(&on), "{on} of 200 users have new_ui");
}

#[tokio::test]
async fn disabled_flags_are_off_for_everyone() {
    let h = Harness::new().await;
    h.post("/flags/kill?enabled=false").await.expect(200);
    for uri in [
        "/flags/kill",
        "/flags/kill?user_id=1",
        "/flags/kill?user_id=10",
    ] {
        assert_eq!(
            h.get_ok(uri).await,
            json!({"flag": "kill", "enabled": false}),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn rollout_defaults_to_everyone() {
    let h = Harness::new().await;
    h.post("/flags/all?enabled=true").await.expect(200);
    for user in ["1", "123", "someone"] {
        assert_eq!(
            h.get(&format!("/flags/all?user_id={user}")).await.json()["enabled"],
            true
        );
    }
    // Stored as a boolean flag without rules in the seed environment.
    let flag = h.get_ok("/api/v1/flags/all").await;
    assert_eq!(flag["environments"]["production"], json!({"enabled": true}));
}

#[tokio::test]
async fn raising_a_rollout_keeps_every_user_who_had_the_flag() {
    let h = Harness::new().await;
    let mut before = Vec::new();
    for pct in [5, 25, 50, 100] {
        h.post(&format!(
            "/flags/grow?enabled=true&rollout_percentage={pct}"
        ))
        .await
        .expect(200);
        let now: Vec<bool> = {
            let mut v = Vec::new();
            for user in 0..100 {
                let r = h.get(&format!("/flags/grow?user_id=u{user}")).await.json();
                v.push(r["enabled"] == true);
            }
            v
        };
        for (user, (was, is)) in before.iter().zip(&now).enumerate() {
            assert!(!was || *is, "user u{user} lost the flag at {pct}%");
        }
        before = now;
    }
    assert!(before.iter().all(|b| *b), "100% is everyone");
}

#[tokio::test]
async fn fastapi_booleans_are_accepted() {
    let h = Harness::new().await;
    for (raw, expected) in [
        ("true", true),
        ("True", true),
        ("1", true),
        ("yes", true),
        ("on", true),
        ("false", false),
        ("FALSE", false),
        ("0", false),
        ("no", false),
        ("off", false),
    ] {
        h.post(&format!("/flags/b?enabled={raw}")).await.expect(200);
        assert_eq!(h.get("/flags/b").await.json()["enabled"], expected, "{raw}");
    }
}

#[tokio::test]
async fn seed_writes_are_audited_and_versioned() {
    let h = Harness::new().await;
    h.seed_rollout("new_ui", 5).await;
    h.seed_rollout("new_ui", 25).await;
    let entries = h.flag_audit("new_ui").await;
    let actions = actions(&entries);
    assert_eq!(actions, ["flag.updated", "flag.created"]);
    assert!(entries
        .iter()
        .all(|e| e.actor == "token:test-admin-token (admin admin)"));
    assert!(entries
        .iter()
        .all(|e| e.environment.as_deref() == Some("production")));

    let flag = h.get_ok("/api/v1/flags/new_ui").await;
    assert_eq!(flag["version"], 2);
    assert_eq!(
        flag["environments"]["production"]["rules"],
        json!([{"rollout": 25, "stickiness": "userId"}])
    );
    let versions = h.get_ok("/api/v1/flags/new_ui/versions").await;
    assert_eq!(versions["versions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn flags_made_elsewhere_answer_through_the_seed_api() {
    let h = Harness::new().await;
    h.create_flag(json!({
        "key": "staff_only",
        "environments": {"production": {"enabled": true, "rules": [{
            "conditions": [{"attribute": "userId", "operator": "IN", "values": ["7"]}]
        }]}}
    }))
    .await;
    assert_eq!(
        h.get("/flags/staff_only?user_id=7").await.json()["enabled"],
        true
    );
    assert_eq!(
        h.get("/flags/staff_only?user_id=8").await.json()["enabled"],
        false
    );
    // Only production is the seed's; a flag configured only in development is off there.
    h.create_flag(json!({"key": "dev_only", "environments": {"development": {"enabled": true}}}))
        .await;
    assert_eq!(
        h.get("/flags/dev_only?user_id=1").await.json(),
        json!({"flag": "dev_only", "enabled": false})
    );
    assert_eq!(h.get("/flags/dev_only").await.json()["enabled"], false);
    // Targeting the seed cannot express is refused, not flattened.
    let refused = h
        .post("/flags/staff_only?enabled=true&rollout_percentage=50")
        .await
        .expect(409);
    assert!(refused.json()["detail"]
        .as_str()
        .unwrap()
        .contains("cannot express"));
}

#[tokio::test]
async fn archived_flags_are_not_found() {
    let h = Harness::new().await;
    h.post("/flags/old?enabled=true").await.expect(200);
    h.post("/api/v1/flags/old/archive").await.expect(200);
    let r = h.get("/flags/old?user_id=1").await.expect(404);
    assert_eq!(&r.body[..], br#"{"detail":"Flag not found"}"#);
}

#[tokio::test]
async fn seed_flags_json_imports_and_exports() {
    let h = Harness::new().await;
    let file = r#"{"some_feature": {"enabled": true, "rollout": 50}, "off": {"enabled": false}}"#;
    let r = h
        .post_raw("/api/v1/import?format=seed", Some("application/json"), file)
        .await
        .expect(200)
        .json();
    assert_eq!(r["imported"]["flags"], 2);
    assert_eq!(
        h.get("/flags/some_feature").await.json(),
        json!({"flag": "some_feature", "enabled": true})
    );
    let exported = h.get_ok("/api/v1/export?format=seed").await;
    assert_eq!(
        exported,
        json!({"some_feature": {"enabled": true, "rollout": 50}, "off": {"enabled": false, "rollout": 100}})
    );
}

#[tokio::test]
async fn a_missing_seed_environment_is_reported_in_the_seed_shape() {
    let h = Harness::with_config(flagpole_server::ServerConfig {
        seed_environment: "staging".into(),
        ..Default::default()
    })
    .await;
    let admin = [("authorization", "Bearer test-admin-token")];
    let r = h
        .get_with("/flags/new_ui?user_id=1", &admin)
        .await
        .expect(404)
        .json();
    assert_eq!(r, json!({"detail": "environment \"staging\" not found"}));
    let before = h.config_version().await;
    let r = h
        .post("/flags/new_ui?enabled=true")
        .await
        .expect(422)
        .json();
    assert!(r["detail"][0]["msg"].as_str().unwrap().contains("staging"));
    assert_eq!(h.config_version().await, before);
}

#[tokio::test]
async fn the_seed_api_needs_tokens_unless_opened() {
    let nobody = [("authorization", "")];
    let h = Harness::new().await;
    h.get_with("/flags/f?user_id=1", &nobody).await.expect(401);
    let before = h.config_version().await;
    h.send(
        Method::POST,
        "/flags/f?enabled=true",
        &nobody,
        Payload::Empty,
    )
    .await
    .expect(401);
    assert_eq!(h.config_version().await, before);
    // A client token reads, but does not write.
    let client = [("authorization", "Bearer test-client-production")];
    h.send(
        Method::POST,
        "/flags/f?enabled=true",
        &client,
        Payload::Empty,
    )
    .await
    .expect(403);

    // --seed-api open: the seed service's behaviour, without a token.
    let open = Harness::with_config(flagpole_server::ServerConfig {
        seed_api_open: true,
        ..Default::default()
    })
    .await;
    open.send(
        Method::POST,
        "/flags/f?enabled=true",
        &nobody,
        Payload::Empty,
    )
    .await
    .expect(200);
    let r = open
        .get_with("/flags/f?user_id=1", &nobody)
        .await
        .expect(200)
        .json();
    assert_eq!(r, json!({"flag": "f", "enabled": true}));
    let entries = open.audit(AuditFilter::default()).await;
    assert_eq!(entries[0].actor, "anonymous");
    // The rest of the API stays closed.
    open.get_with("/api/v1/flags", &nobody).await.expect(401);
}
