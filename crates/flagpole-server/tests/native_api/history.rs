//! What the history tells: the audit log and its filters, a flag's versions, the diff
//! between two of them, and rollback (itself a new, audited version).

use axum::http::Method;
use serde_json::json;

use crate::common::{bearer, texts, Harness, Payload};

#[tokio::test]
async fn history_versions_diff_and_rollback() {
    let h = Harness::new().await;
    h.create_flag(json!({"key": "f", "environments": {"production": {"enabled": false}}}))
        .await;
    h.create_flag(json!({"key": "g"})).await;
    let ana = h
        .create_token(json!({"name": "ana", "kind": "admin", "role": "editor"}))
        .await;
    let ana = bearer(ana["secret"].as_str().unwrap());
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
    let all = h.get_ok("/api/v1/audit").await;
    let actions: Vec<&str> = texts(&all["entries"], "action");
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
    let f = h.get_ok("/api/v1/audit?flag=f").await;
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

    let prod = h.get_ok("/api/v1/audit?environment=production").await;
    let prod_entries = prod["entries"].as_array().unwrap();
    assert!(prod_entries
        .iter()
        .all(|e| e["environment"] == "production"));
    // flag.enabled, flag.rules.updated and the environment's creation.
    assert_eq!(prod_entries.len(), 3, "{prod}");

    let since = t1.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let recent = h.get_ok(&format!("/api/v1/audit?since={since}")).await;
    assert_eq!(recent["entries"].as_array().unwrap().len(), 3);
    let old = h.get_ok(&format!("/api/v1/audit?until={since}")).await;
    // Two environments, four tokens of the harness, two flags, the token "ana".
    assert_eq!(old["entries"].as_array().unwrap().len(), 9);
    let both = h
        .get_ok(&format!(
            "/api/v1/audit?flag=f&environment=production&since={since}&limit=1"
        ))
        .await;
    let both = both["entries"].as_array().unwrap();
    assert_eq!(both.len(), 1);
    assert_eq!(both[0]["action"], "flag.rules.updated");

    // Versions.
    let versions = h.get_ok("/api/v1/flags/f/versions").await;
    let numbers: Vec<i64> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert_eq!(versions["versions"][1]["actor"], "token:ana (admin editor)");
    let v1 = h.get_ok("/api/v1/flags/f/versions/1").await;
    assert_eq!(
        v1["flag"]["environments"]["production"],
        json!({"enabled": false})
    );
    h.get("/api/v1/flags/f/versions/9").await.expect(404);
    h.get("/api/v1/flags/nope/versions").await.expect(404);

    // Diff, to the current version by default.
    let diff = h.get_ok("/api/v1/flags/f/diff?from=1").await;
    assert_eq!(diff["to"], 3);
    assert_eq!(
        diff["changes"],
        json!([
            {"path": "environments.production.enabled", "before": false, "after": true},
            {"path": "environments.production.rules", "before": null, "after": [{"rollout": 25, "stickiness": "userId"}]}
        ])
    );
    let diff = h.get_ok("/api/v1/flags/f/diff?from=2&to=3").await;
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
    let diff = h.get_ok("/api/v1/flags/f/diff?from=1").await;
    assert_eq!(diff["changes"], json!([]));
}
