//! Every native endpoint under `/api/v1`, health and metrics: what each answers, that
//! updates carry the version they are based on (body `version` or `If-Match`), and that
//! history, versions, diff and rollback tell the truth.

#![allow(clippy::unwrap_used)]

mod common;

use axum::http::Method;
use common::{Harness, Payload};
use serde_json::{json, Value};

fn keys(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn environments_list_and_create() {
    let h = Harness::new().await;
    let list = h.get("/api/v1/environments").await.expect(200).json();
    let names: Vec<&str> = list["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["development", "production"]);

    let before = h.config_version().await;
    let created = h
        .post_json("/api/v1/environments", json!({"name": "staging"}))
        .await
        .expect(201)
        .json();
    assert_eq!(created["name"], "staging");
    assert_eq!(h.config_version().await, before + 1);
    // Usable at once: flags can be configured and evaluated there.
    h.create_flag(json!({"key": "f", "environments": {"staging": {"enabled": true}}}))
        .await;
    let e = h
        .post("/api/v1/environments/staging/evaluate/f")
        .await
        .expect(200)
        .json();
    assert_eq!(e["enabled"], true);

    let again = h
        .post_json("/api/v1/environments", json!({"name": "staging"}))
        .await
        .expect(409)
        .json();
    assert_eq!(again["code"], "conflict");
}

#[tokio::test]
async fn flags_create_read_list_and_search() {
    let h = Harness::new().await;
    let created = h
        .create_flag(json!({
            "key": "new_ui",
            "description": "The redesigned interface",
            "tags": ["ui"],
            "environments": {"production": {"enabled": true, "rules": [{"rollout": 25, "stickiness": "userId"}]}}
        }))
        .await;
    assert_eq!(created["key"], "new_ui");
    assert_eq!(created["version"], 1);
    assert_eq!(created["archived"], false);
    assert_eq!(created["type"], "boolean");
    assert!(created["created_at"].is_string());

    h.create_flag(json!({"key": "checkout", "type": "string", "variants": [{"name": "a", "value": "A"}], "tags": ["payments"]}))
        .await;

    let got = h.get("/api/v1/flags/new_ui").await.expect(200).json();
    assert_eq!(got, created);

    let all = h.get("/api/v1/flags").await.expect(200).json();
    assert_eq!(keys(&all["flags"]), ["checkout", "new_ui"]);
    assert_eq!(all["version"], h.config_version().await);
    let by_tag = h.get("/api/v1/flags?tag=ui").await.expect(200).json();
    assert_eq!(keys(&by_tag["flags"]), ["new_ui"]);
    let by_text = h.get("/api/v1/flags?q=REDESIGNED").await.expect(200).json();
    assert_eq!(keys(&by_text["flags"]), ["new_ui"]);
    let by_tag_text = h.get("/api/v1/flags?q=pay").await.expect(200).json();
    assert_eq!(keys(&by_tag_text["flags"]), ["checkout"]);

    let missing = h.get("/api/v1/flags/nope").await.expect(404).json();
    assert_eq!(missing["code"], "not_found");
    assert!(missing["message"].as_str().unwrap().contains("nope"));
}

#[tokio::test]
async fn put_flag_needs_the_current_version_in_the_body_or_if_match() {
    let h = Harness::new().await;
    h.create_flag(json!({"key": "f", "environments": {"production": {"enabled": false}}}))
        .await;

    // Without a version: 428, nothing written.
    let before = h.fingerprint().await;
    let r = h
        .put_json(
            "/api/v1/flags/f",
            json!({"environments": {"production": {"enabled": true}}}),
        )
        .await
        .expect(428)
        .json();
    assert_eq!(r["code"], "version_required");
    assert_eq!(h.fingerprint().await, before);

    // Body version.
    let v2 = h
        .put_json(
            "/api/v1/flags/f",
            json!({"version": 1, "environments": {"production": {"enabled": true}}}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["environments"]["production"]["enabled"], true);

    // A stale body version: 409, nothing written.
    let before = h.fingerprint().await;
    let stale = h
        .put_json(
            "/api/v1/flags/f",
            json!({"version": 1, "description": "lost update"}),
        )
        .await
        .expect(409)
        .json();
    assert_eq!(stale["code"], "conflict");
    assert!(stale["message"].as_str().unwrap().contains("has version 2"));
    assert_eq!(h.fingerprint().await, before);

    // If-Match, in each accepted spelling.
    for (n, tag) in [(2, "\"2\""), (3, "W/\"3\""), (4, "4")] {
        let r = h
            .send(
                Method::PUT,
                "/api/v1/flags/f",
                &[("if-match", tag)],
                Payload::Json(json!({"description": format!("v{}", n + 1)})),
            )
            .await
            .expect(200)
            .json();
        assert_eq!(r["version"], n + 1, "If-Match {tag}");
    }
    // Both, agreeing.
    h.send(
        Method::PUT,
        "/api/v1/flags/f",
        &[("if-match", "\"5\"")],
        Payload::Json(json!({"version": 5, "description": "v6"})),
    )
    .await
    .expect(200);
    // A stale If-Match: 409, nothing written.
    let before = h.fingerprint().await;
    h.send(
        Method::PUT,
        "/api/v1/flags/f",
        &[("if-match", "\"2\"")],
        Payload::Json(json!({"description": "lost"})),
    )
    .await
    .expect(409);
    assert_eq!(h.fingerprint().await, before);
    let now = h.get("/api/v1/flags/f").await.json();
    assert_eq!(now["version"], 6);
    assert_eq!(now["description"], "v6");

    // A GET's body can be sent back as is (read-only fields are ignored).
    let mut echoed = now.clone();
    echoed["description"] = json!("edited");
    let r = h
        .put_json("/api/v1/flags/f", echoed)
        .await
        .expect(200)
        .json();
    assert_eq!(r["description"], "edited");
    assert_eq!(r["version"], 7);
}

#[tokio::test]
async fn archive_unarchive_and_delete() {
    let h = Harness::new().await;
    h.create_flag(json!({"key": "f", "environments": {"production": {"enabled": true}}}))
        .await;
    let archived = h.post("/api/v1/flags/f/archive").await.expect(200).json();
    assert_eq!(archived["archived"], true);
    assert_eq!(archived["version"], 2);
    // Archived flags leave the default list and evaluation, but stay readable.
    assert!(keys(&h.get("/api/v1/flags").await.json()["flags"]).is_empty());
    assert_eq!(
        keys(&h.get("/api/v1/flags?archived=only").await.json()["flags"]),
        ["f"]
    );
    assert_eq!(
        keys(&h.get("/api/v1/flags?archived=true").await.json()["flags"]),
        ["f"]
    );
    h.get("/api/v1/flags/f").await.expect(200);
    h.post("/api/v1/environments/production/evaluate/f")
        .await
        .expect(404);
    // The key stays taken.
    h.post_json("/api/v1/flags", json!({"key": "f"}))
        .await
        .expect(409);

    let back = h.post("/api/v1/flags/f/unarchive").await.expect(200).json();
    assert_eq!(back["archived"], false);
    assert_eq!(
        h.post("/api/v1/environments/production/evaluate/f")
            .await
            .expect(200)
            .json()["enabled"],
        true
    );

    // Delete with a stale If-Match: refused.
    h.send(
        Method::DELETE,
        "/api/v1/flags/f",
        &[("if-match", "1")],
        Payload::Empty,
    )
    .await
    .expect(409);
    let r = h
        .send(
            Method::DELETE,
            "/api/v1/flags/f",
            &[("if-match", "3")],
            Payload::Empty,
        )
        .await
        .expect(204);
    assert!(r.body.is_empty());
    h.get("/api/v1/flags/f").await.expect(404);
    h.delete("/api/v1/flags/f").await.expect(404);
    // History survives the deletion.
    let versions = h.get("/api/v1/flags/f/versions").await.expect(200).json();
    let last = versions["versions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["deleted"], true);
}

#[tokio::test]
async fn per_environment_configuration() {
    let h = Harness::new().await;
    h.create_flag(json!({
        "key": "f",
        "variants": [{"name": "on"}, {"name": "beta"}],
        "environments": {"production": {"enabled": false}}
    }))
    .await;

    // Reading an environment the flag does not configure yet gives the default.
    let dev = h
        .get("/api/v1/flags/f/environments/development")
        .await
        .expect(200)
        .json();
    assert_eq!(dev, json!({"enabled": false, "version": 1}));
    h.get("/api/v1/flags/f/environments/nowhere")
        .await
        .expect(404);

    // Enable / disable: the version is optional.
    let on = h
        .post("/api/v1/flags/f/environments/production/enable")
        .await
        .expect(200)
        .json();
    assert_eq!(on["environments"]["production"]["enabled"], true);
    assert_eq!(on["version"], 2);
    let off = h
        .send(
            Method::POST,
            "/api/v1/flags/f/environments/production/disable",
            &[],
            Payload::Json(json!({"version": 2})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(off["environments"]["production"]["enabled"], false);
    h.send(
        Method::POST,
        "/api/v1/flags/f/environments/production/enable",
        &[],
        Payload::Json(json!({"version": 2})),
    )
    .await
    .expect(409);

    // The whole environment.
    let put = h
        .put_json(
            "/api/v1/flags/f/environments/development",
            json!({"version": 3, "enabled": true, "default": {"variant": "beta"}}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        put["environments"]["development"],
        json!({"enabled": true, "default": {"variant": "beta"}})
    );
    h.put_json(
        "/api/v1/flags/f/environments/development",
        json!({"enabled": true}),
    )
    .await
    .expect(428);

    // Rules.
    let rules = json!([{"name": "staff", "conditions": [{"attribute": "email", "operator": "STR_ENDS_WITH", "values": ["@ourco.com"]}]}]);
    let r = h
        .put_json(
            "/api/v1/flags/f/environments/production/rules",
            json!({"version": 4, "rules": rules}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(r["environments"]["production"]["rules"], rules);

    // Default.
    let r = h
        .put_json(
            "/api/v1/flags/f/environments/production/default",
            json!({"version": 5, "default": {"variant": "on"}}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        r["environments"]["production"]["default"],
        json!({"variant": "on"})
    );

    // Rollout: refused where a rule targets more than a percentage, set on a plain
    // environment.
    let before = h.fingerprint().await;
    let r = h
        .put_json(
            "/api/v1/flags/f/environments/production/rollout",
            json!({"rollout": 10}),
        )
        .await
        .expect(409)
        .json();
    assert!(r["message"].as_str().unwrap().contains("PUT .../rules"));
    assert_eq!(h.fingerprint().await, before);
    let r = h
        .put_json(
            "/api/v1/flags/f/environments/development/rollout",
            json!({"rollout": 30, "stickiness": "userId"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        r["environments"]["development"]["rules"],
        json!([{"rollout": 30, "stickiness": "userId"}])
    );
    let r = h
        .put_json(
            "/api/v1/flags/f/environments/development/rollout",
            json!({"rollout": 60}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        r["environments"]["development"]["rules"],
        json!([{"rollout": 60, "stickiness": "userId"}])
    );
    let two = json!([{"rollout": 5}, {"rollout": 50}]);
    let v = r["version"].as_i64().unwrap();
    h.put_json(
        "/api/v1/flags/f/environments/development/rules",
        json!({"version": v, "rules": two}),
    )
    .await
    .expect(200);
    let r = h
        .put_json(
            "/api/v1/flags/f/environments/development/rollout",
            json!({"rollout": 70}),
        )
        .await
        .expect(409)
        .json();
    assert!(r["message"].as_str().unwrap().contains("2 rules"));
}

#[tokio::test]
async fn segments_crud_and_in_use_protection() {
    let h = Harness::new().await;
    let created = h
        .post_json(
            "/api/v1/segments",
            json!({"name": "beta", "description": "Beta testers", "conditions": [{"attribute": "beta", "operator": "IN", "values": ["true"]}]}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(created["name"], "beta");
    assert_eq!(created["version"], 1);
    let list = h.get("/api/v1/segments").await.expect(200).json();
    assert_eq!(list["segments"][0]["name"], "beta");
    assert_eq!(
        h.get("/api/v1/segments/beta").await.expect(200).json(),
        created
    );
    h.get("/api/v1/segments/none").await.expect(404);
    h.post_json("/api/v1/segments", json!({"name": "beta"}))
        .await
        .expect(409);

    h.put_json("/api/v1/segments/beta", json!({"conditions": []}))
        .await
        .expect(428);
    let updated = h
        .put_json(
            "/api/v1/segments/beta",
            json!({"version": 1, "conditions": [{"attribute": "beta", "operator": "IN", "values": ["yes"]}]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(updated["version"], 2);
    h.put_json("/api/v1/segments/beta", json!({"version": 1}))
        .await
        .expect(409);

    h.create_flag(json!({"key": "search_v2", "environments": {"production": {"enabled": true, "rules": [{"segments": ["beta"]}]}}}))
        .await;
    let e = h
        .post_json(
            "/api/v1/environments/production/evaluate/search_v2",
            json!({"userId": "1", "beta": "yes"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(e["enabled"], true);

    let refused = h.delete("/api/v1/segments/beta").await.expect(409).json();
    assert!(refused["message"].as_str().unwrap().contains("search_v2"));
    h.delete("/api/v1/flags/search_v2").await.expect(204);
    h.delete("/api/v1/segments/beta").await.expect(204);
    h.get("/api/v1/segments/beta").await.expect(404);
}

#[tokio::test]
async fn evaluation_with_details() {
    let h = Harness::new().await;
    h.create_flag(json!({
        "key": "limits",
        "type": "json",
        "variants": [{"name": "enterprise", "value": {"seats": 1000}}, {"name": "standard", "value": {"seats": 10}}],
        "environments": {"production": {"enabled": true, "rules": [
            {"name": "enterprise customers", "conditions": [{"attribute": "plan", "operator": "IN", "values": ["enterprise"]}], "serve": {"variant": "enterprise"}},
            {"name": "everyone else", "serve": {"variant": "standard"}}
        ]}}
    }))
    .await;
    h.create_flag(json!({"key": "off", "environments": {"production": {"enabled": false}}}))
        .await;

    let e = h
        .post_json(
            "/api/v1/environments/production/evaluate/limits",
            json!({"userId": "7", "properties": {"plan": "enterprise"}}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(e["flag"], "limits");
    assert_eq!(e["enabled"], true);
    assert_eq!(e["variant"], "enterprise");
    assert_eq!(e["value"], json!({"seats": 1000}));
    assert_eq!(e["reason"], "TARGETING_MATCH");
    assert_eq!(
        e["rule"],
        json!({"index": 0, "name": "enterprise customers"})
    );
    assert_eq!(e["type"], "json");

    // OpenFeature's shape, and the empty context.
    let e = h
        .post_json(
            "/api/v1/environments/production/evaluate/limits",
            json!({"targetingKey": "7", "plan": "free"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(e["variant"], "standard");
    let e = h
        .post("/api/v1/environments/production/evaluate/off")
        .await
        .expect(200)
        .json();
    assert_eq!(e["enabled"], false);
    assert_eq!(e["reason"], "DISABLED");

    let all = h
        .post_json(
            "/api/v1/environments/production/evaluate",
            json!({"userId": "7"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(all["environment"], "production");
    assert_eq!(all["version"], h.config_version().await);
    let flags: Vec<&str> = all["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["flag"].as_str().unwrap())
        .collect();
    assert_eq!(flags, ["limits", "off"]);

    h.post("/api/v1/environments/production/evaluate/nope")
        .await
        .expect(404);
    h.post("/api/v1/environments/nowhere/evaluate")
        .await
        .expect(404);
}

#[tokio::test]
async fn history_versions_diff_and_rollback() {
    let h = Harness::new().await;
    h.create_flag(json!({"key": "f", "environments": {"production": {"enabled": false}}}))
        .await;
    h.create_flag(json!({"key": "g"})).await;
    let ana = h
        .post_json(
            "/api/v1/tokens",
            json!({"name": "ana", "kind": "admin", "role": "editor"}),
        )
        .await
        .expect(201)
        .json();
    let ana = format!("Bearer {}", ana["secret"].as_str().unwrap());
    let t1 = chrono::Utc::now();
    h.send(
        Method::POST,
        "/api/v1/flags/f/environments/production/enable",
        &[("authorization", &ana)],
        Payload::Empty,
    )
    .await
    .expect(200);
    h.put_json(
        "/api/v1/flags/f/environments/production/rules",
        json!({"version": 2, "rules": [{"rollout": 25, "stickiness": "userId"}]}),
    )
    .await
    .expect(200);
    h.post("/api/v1/flags/g/environments/development/enable")
        .await
        .expect(200);

    // The audit log, newest first, filtered.
    let all = h.get("/api/v1/audit").await.expect(200).json();
    let actions: Vec<&str> = all["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "flag.enabled",
            "flag.rules.updated",
            "flag.enabled",
            "token.created",
            "flag.created",
            "flag.created",
            "token.created",
            "token.created",
            "token.created",
            "token.created",
            "environment.created",
            "environment.created"
        ]
    );
    let f = h.get("/api/v1/audit?flag=f").await.expect(200).json();
    let f_entries = f["entries"].as_array().unwrap();
    assert_eq!(f_entries.len(), 3);
    assert!(f_entries.iter().all(|e| e["flag"] == "f"));
    assert_eq!(f_entries[1]["actor"], "token:ana (admin editor)");
    assert_eq!(
        f_entries[1]["before"]["environments"]["production"]["enabled"],
        false
    );
    assert_eq!(
        f_entries[1]["after"]["environments"]["production"]["enabled"],
        true
    );

    let prod = h
        .get("/api/v1/audit?environment=production")
        .await
        .expect(200)
        .json();
    let prod_entries = prod["entries"].as_array().unwrap();
    assert!(prod_entries
        .iter()
        .all(|e| e["environment"] == "production"));
    // flag.enabled, flag.rules.updated and the environment's creation.
    assert_eq!(prod_entries.len(), 3, "{prod}");

    let since = t1.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let recent = h
        .get(&format!("/api/v1/audit?since={since}"))
        .await
        .expect(200)
        .json();
    assert_eq!(recent["entries"].as_array().unwrap().len(), 3);
    let old = h
        .get(&format!("/api/v1/audit?until={since}"))
        .await
        .expect(200)
        .json();
    // Two environments, four tokens of the harness, two flags, the token "ana".
    assert_eq!(old["entries"].as_array().unwrap().len(), 9);
    let both = h
        .get(&format!(
            "/api/v1/audit?flag=f&environment=production&since={since}&limit=1"
        ))
        .await
        .expect(200)
        .json();
    let both = both["entries"].as_array().unwrap();
    assert_eq!(both.len(), 1);
    assert_eq!(both[0]["action"], "flag.rules.updated");

    // Versions.
    let versions = h.get("/api/v1/flags/f/versions").await.expect(200).json();
    let numbers: Vec<i64> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert_eq!(versions["versions"][1]["actor"], "token:ana (admin editor)");
    let v1 = h.get("/api/v1/flags/f/versions/1").await.expect(200).json();
    assert_eq!(
        v1["flag"]["environments"]["production"],
        json!({"enabled": false})
    );
    h.get("/api/v1/flags/f/versions/9").await.expect(404);
    h.get("/api/v1/flags/nope/versions").await.expect(404);

    // Diff, to the current version by default.
    let diff = h
        .get("/api/v1/flags/f/diff?from=1")
        .await
        .expect(200)
        .json();
    assert_eq!(diff["to"], 3);
    assert_eq!(
        diff["changes"],
        json!([
            {"path": "environments.production.enabled", "before": false, "after": true},
            {"path": "environments.production.rules", "before": null, "after": [{"rollout": 25, "stickiness": "userId"}]}
        ])
    );
    let diff = h
        .get("/api/v1/flags/f/diff?from=2&to=3")
        .await
        .expect(200)
        .json();
    assert_eq!(diff["changes"].as_array().unwrap().len(), 1);

    // Rollback: stale first (nothing changes), then for real (a new audited version).
    let before = h.fingerprint().await;
    h.post_json(
        "/api/v1/flags/f/rollback",
        json!({"to_version": 1, "version": 2}),
    )
    .await
    .expect(409);
    h.post_json("/api/v1/flags/f/rollback", json!({"to_version": 1}))
        .await
        .expect(428);
    assert_eq!(h.fingerprint().await, before);
    let rolled = h
        .post_json(
            "/api/v1/flags/f/rollback",
            json!({"to_version": 1, "version": 3}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(rolled["version"], 4);
    assert_eq!(
        rolled["environments"]["production"],
        json!({"enabled": false})
    );
    let latest = h.get("/api/v1/audit?flag=f&limit=1").await.json();
    assert_eq!(latest["entries"][0]["action"], "flag.rolled_back");
    assert_eq!(
        latest["entries"][0]["after"]["environments"]["production"]["enabled"],
        false
    );
    let e = h
        .post_json(
            "/api/v1/environments/production/evaluate/f",
            json!({"userId": "10"}),
        )
        .await
        .json();
    assert_eq!(e["reason"], "DISABLED");
    let diff = h
        .get("/api/v1/flags/f/diff?from=1")
        .await
        .expect(200)
        .json();
    assert_eq!(diff["changes"], json!([]));
}

#[tokio::test]
async fn import_and_export_native_documents() {
    let h = Harness::new().await;
    let doc = r#"
segments:
  beta:
    conditions:
      - attribute: beta
        operator: IN
        values: ["true"]
flags:
  search_v2:
    environments:
      production:
        enabled: true
        rules:
          - segments: [beta]
"#;
    let r = h
        .send(
            Method::POST,
            "/api/v1/import",
            &[],
            Payload::Raw(Some("application/yaml"), doc.as_bytes().to_vec()),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(r["imported"], json!({"flags": 1, "segments": 1}));
    assert_eq!(r["version"], h.config_version().await);
    let exported = h.get("/api/v1/export").await.expect(200);
    assert_eq!(exported.headers["content-type"], "application/json");
    let exported = exported.json();
    assert_eq!(
        exported["flags"]["search_v2"]["environments"]["production"]["rules"],
        json!([{"segments": ["beta"]}])
    );
    assert!(exported["segments"]["beta"].is_object());
    let unleash = h
        .get("/api/v1/export?format=unleash&environment=production")
        .await
        .expect(200)
        .json();
    assert!(unleash["features"].is_array(), "{unleash}");
}

#[tokio::test]
async fn health_and_metrics() {
    let h = Harness::new().await;
    assert_eq!(
        h.get("/health/live").await.expect(200).json(),
        json!({"status": "ok"})
    );
    let ready = h.get("/health/ready").await.expect(200).json();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["version"], ready["stored_version"]);
    flagpole_server::telemetry::install();
    h.post("/flags/new_ui?enabled=true").await.expect(200);
    h.get("/flags/new_ui?user_id=1").await.expect(200);
    let metrics = h.get("/metrics").await.expect(200);
    assert!(metrics.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = metrics.text();
    assert!(text.contains("flagpole_http_requests_total"), "{text}");
    assert!(text.contains("flagpole_evaluations_total"), "{text}");
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let h = Harness::new().await;
    let r = h.get("/api/v1/nothing-here").await.expect(404).json();
    assert_eq!(r["code"], "not_found");
    assert!(r["message"]
        .as_str()
        .unwrap()
        .contains("/api/v1/nothing-here"));
}

#[tokio::test]
async fn imports_may_refer_to_stored_flags_and_segments() {
    let h = Harness::new().await;
    h.post_json(
        "/api/v1/segments",
        json!({"name": "beta", "conditions": [{"attribute": "beta", "operator": "IN", "values": ["true"]}]}),
    )
    .await
    .expect(201);
    h.create_flag(json!({"key": "payments_v2", "environments": {"production": {"enabled": true}}}))
        .await;
    let doc = json!({"flags": {"new_checkout": {"environments": {"production": {
        "enabled": true,
        "rules": [{"segments": ["beta"]}],
        "depends_on": [{"flag": "payments_v2"}]
    }}}}});
    let r = h
        .send(Method::POST, "/api/v1/import", &[], Payload::Json(doc))
        .await
        .expect(200)
        .json();
    assert_eq!(r["imported"], json!({"flags": 1, "segments": 0}));
    let e = h
        .post_json(
            "/api/v1/environments/production/evaluate/new_checkout",
            json!({"userId": "1", "beta": "true"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(e["enabled"], true);
}

#[tokio::test]
async fn concurrent_updates_from_one_version_let_exactly_one_through() {
    let h = Harness::new().await;
    h.create_flag(json!({"key": "f"})).await;
    let before = h.config_version().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let state = h.state.clone();
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let body = json!({"version": 1, "description": format!("writer {i}")});
            let request = axum::http::Request::put("/api/v1/flags/f")
                .header("content-type", "application/json")
                .header("authorization", "Bearer test-admin-token")
                .body(axum::body::Body::from(body.to_string()))
                .unwrap();
            let response = flagpole_server::app(state).oneshot(request).await.unwrap();
            response.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(h.config_version().await, before + 1);
    let flag = h.get("/api/v1/flags/f").await.json();
    assert_eq!(flag["version"], 2);
    let updates = h.get("/api/v1/audit?flag=f").await.json();
    assert_eq!(updates["entries"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn environments_are_deleted_only_when_nothing_depends_on_them() {
    let h = Harness::new().await;
    h.post_json("/api/v1/environments", json!({"name": "staging"}))
        .await
        .expect(201);
    h.create_flag(json!({"key": "f", "environments": {
        "staging": {"enabled": true}, "production": {"enabled": true}}}))
        .await;
    let before = h.fingerprint().await;
    let refused = h
        .delete("/api/v1/environments/staging")
        .await
        .expect(409)
        .json();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("drop_configuration"),
        "{refused}"
    );
    let token = h
        .post_json(
            "/api/v1/tokens",
            json!({"name": "staging-sdk", "kind": "client", "environment": "staging"}),
        )
        .await
        .expect(201)
        .json();
    let refused = h
        .delete("/api/v1/environments/staging?drop_configuration=true")
        .await
        .expect(409)
        .json();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("tokens are bound"),
        "{refused}"
    );
    h.delete(&format!("/api/v1/tokens/{}", token["id"].as_str().unwrap()))
        .await
        .expect(200);
    // The seed API's environment stays.
    h.delete("/api/v1/environments/production?drop_configuration=true")
        .await
        .expect(409);
    let (version, ..) = before;
    assert_eq!(h.config_version().await, version, "refusals wrote nothing");

    h.delete("/api/v1/environments/staging?drop_configuration=true")
        .await
        .expect(204);
    let envs = h.get("/api/v1/environments").await.expect(200).json();
    assert!(!envs.to_string().contains("staging"), "{envs}");
    let flag = h.get("/api/v1/flags/f").await.expect(200).json();
    assert_eq!(flag["version"], 2);
    assert!(flag["environments"].get("staging").is_none(), "{flag}");
    assert!(flag["environments"].get("production").is_some(), "{flag}");
    let audit = h
        .get("/api/v1/audit?environment=staging")
        .await
        .expect(200)
        .json();
    assert_eq!(audit["entries"][0]["action"], "environment.deleted");
    h.delete("/api/v1/environments/staging").await.expect(404);
}

#[tokio::test]
async fn usage_names_with_control_characters_are_refused_on_every_backend() {
    let h = Harness::new().await;
    let report = |flag: &str| {
        json!({"appName": "a", "instanceId": "i", "bucket": {
            "start": "2026-01-01T00:00:00Z", "stop": "2026-01-01T00:01:00Z",
            "toggles": {flag: {"yes": 1, "no": 0, "variants": {}}}}})
    };
    let refused = h
        .post_json("/api/client/metrics", report("bad\u{0}name"))
        .await
        .expect(422)
        .json();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("control character"),
        "{refused}"
    );
    let usage = h.get("/api/v1/usage").await.expect(200).json();
    assert_eq!(usage["usage"].as_array().map_or(0, Vec::len), 0, "{usage}");
    h.post_json("/api/client/metrics", report("good"))
        .await
        .expect(202);
}
