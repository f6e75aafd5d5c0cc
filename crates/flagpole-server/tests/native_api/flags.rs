//! Flags: create, read, list and search; updates that must name the version they are
//! based on (body `version` or `If-Match`); archive, unarchive and delete; and concurrent
//! writers of one version, of whom exactly one gets through.

use axum::http::Method;
use serde_json::{json, Value};

use crate::common::{assert_error, Harness, Payload, Reply};

fn keys(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect()
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

    let got = h.get_ok("/api/v1/flags/new_ui").await;
    assert_eq!(got, created);

    let all = h.get_ok("/api/v1/flags").await;
    assert_eq!(keys(&all["flags"]), ["checkout", "new_ui"]);
    assert_eq!(all["version"], h.config_version().await);
    let by_tag = h.get_ok("/api/v1/flags?tag=ui").await;
    assert_eq!(keys(&by_tag["flags"]), ["new_ui"]);
    let by_text = h.get_ok("/api/v1/flags?q=REDESIGNED").await;
    assert_eq!(keys(&by_text["flags"]), ["new_ui"]);
    let by_tag_text = h.get_ok("/api/v1/flags?q=pay").await;
    assert_eq!(keys(&by_tag_text["flags"]), ["checkout"]);

    let missing = h.get("/api/v1/flags/nope").await.expect(404).json();
    assert_error(&missing, "not_found", "nope");
}

/// Sends `method` to flag `f` with `If-Match: tag`.
async fn if_match(h: &Harness, method: Method, tag: &str, payload: Payload) -> Reply {
    h.send(method, "/api/v1/flags/f", &[("if-match", tag)], payload)
        .await
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
    assert_error(&stale, "conflict", "has version 2");
    assert_eq!(h.fingerprint().await, before);

    // If-Match, in each accepted spelling.
    for (n, tag) in [(2, "\"2\""), (3, "W/\"3\""), (4, "4")] {
        let r = if_match(
            &h,
            Method::PUT,
            tag,
            Payload::Json(json!({"description": format!("v{}", n + 1)})),
        )
        .await
        .expect(200)
        .json();
        assert_eq!(r["version"], n + 1, "If-Match {tag}");
    }
    // Both, agreeing.
    if_match(
        &h,
        Method::PUT,
        "\"5\"",
        Payload::Json(json!({"version": 5, "description": "v6"})),
    )
    .await
    .expect(200);
    // A stale If-Match: 409, nothing written.
    let before = h.fingerprint().await;
    if_match(
        &h,
        Method::PUT,
        "\"2\"",
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
    if_match(&h, Method::DELETE, "1", Payload::Empty)
        .await
        .expect(409);
    let r = if_match(&h, Method::DELETE, "3", Payload::Empty)
        .await
        .expect(204);
    assert!(r.body.is_empty());
    h.get("/api/v1/flags/f").await.expect(404);
    h.delete("/api/v1/flags/f").await.expect(404);
    // History survives the deletion.
    let versions = h.get_ok("/api/v1/flags/f/versions").await;
    let last = versions["versions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["deleted"], true);
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
