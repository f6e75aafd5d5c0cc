//! Change requests: the four-eyes rules (the author cannot approve, a viewer cannot, an
//! editor not granted a protected environment cannot), approval of a stale request is
//! refused until it is rebased, approval applies (or schedules) the change through the
//! write path of an environment that requires approval, and every step is audited.

#![allow(clippy::unwrap_used)]

mod common;

use axum::http::Method;
use common::{actions, assert_message, bearer, Harness, Payload, Reply};
use serde_json::{json, Value};

/// A token of `role` named `name`, as its `Authorization` header value.
async fn token(h: &Harness, name: &str, role: &str) -> String {
    let created = h
        .create_token(json!({"name": name, "kind": "admin", "role": role}))
        .await;
    bearer(created["secret"].as_str().unwrap())
}

async fn post_as(h: &Harness, auth: &str, uri: &str, body: Value) -> Reply {
    h.send(
        Method::POST,
        uri,
        &[("authorization", auth)],
        Payload::Json(body),
    )
    .await
}

/// `auth` proposes `change` (the fields besides the target) to flag `f` in production;
/// answers the change request.
async fn propose(h: &Harness, auth: &str, change: Value) -> Value {
    let mut body = json!({"key": "f", "environment": "production"});
    body.as_object_mut()
        .unwrap()
        .extend(change.as_object().unwrap().clone());
    post_as(h, auth, "/api/v1/change-requests", body)
        .await
        .expect(201)
        .json()
}

async fn setup() -> (Harness, String, String, String) {
    let h = Harness::new().await;
    h.create_flag(json!({"key": "f", "environments": {
        "production": {"enabled": false}, "development": {"enabled": false}}}))
        .await;
    h.put_json(
        "/api/v1/environments/production/approval",
        json!({"required": true}),
    )
    .await
    .expect(200);
    let alice = token(&h, "alice", "editor").await;
    let bob = token(&h, "bob", "editor").await;
    let viewer = token(&h, "vera", "viewer").await;
    (h, alice, bob, viewer)
}

#[tokio::test]
async fn four_eyes_author_and_viewer_cannot_approve_another_editor_can() {
    let (h, alice, bob, viewer) = setup().await;
    // Alice cannot change production directly…
    let reply = post_as(
        &h,
        &alice,
        "/api/v1/flags/f/environments/production/enable",
        json!({}),
    )
    .await;
    assert_eq!(reply.expect(409).json()["code"], "approval_required");
    // …so she proposes it.
    let cr = propose(
        &h,
        &alice,
        json!({"enabled": true, "description": "launch"}),
    )
    .await;
    let id = cr["id"].as_i64().unwrap();
    assert_eq!(cr["status"], "open");
    assert_eq!(cr["author"], "token:alice (admin editor)");
    let approve = format!("/api/v1/change-requests/{id}/approve");
    let reply = post_as(&h, &alice, &approve, json!({})).await.expect(403);
    assert_message(&reply.json(), "authors cannot approve");
    post_as(&h, &viewer, &approve, json!({})).await.expect(403);
    // Anyone may read it, with its diff; a viewer may comment.
    let detail = h
        .get_with(
            &format!("/api/v1/change-requests/{id}"),
            &[("authorization", &bob)],
        )
        .await
        .expect(200)
        .json();
    assert_eq!(detail["may_approve"], true);
    assert_eq!(
        detail["changes"],
        json!([{"path": "environments.production.enabled", "before": false, "after": true}])
    );
    post_as(
        &h,
        &viewer,
        &format!("/api/v1/change-requests/{id}/comments"),
        json!({"text": "looks good"}),
    )
    .await
    .expect(200);
    let approved = post_as(&h, &bob, &approve, json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(approved["status"], "applied");
    assert_eq!(approved["reviewer"], "token:bob (admin editor)");
    assert_eq!(approved["comments"][0]["text"], "looks good");
    let flag = h.get("/api/v1/flags/f").await.json();
    assert_eq!(flag["environments"]["production"]["enabled"], true);
    // Decided once.
    post_as(&h, &bob, &approve, json!({})).await.expect(409);
    let audit = h.flag_audit("f").await;
    let actions = actions(&audit);
    assert_eq!(
        &actions[..4],
        [
            "change_request.approved",
            "flag.updated",
            "change_request.commented",
            "change_request.created"
        ]
    );
    assert!(audit[1]
        .actor
        .starts_with("token:bob (admin editor) (approving change request"));
}

#[tokio::test]
async fn a_stale_request_is_refused_until_rebased_and_a_conflicting_one_cannot_be() {
    let (h, alice, bob, _) = setup().await;
    let cr = propose(&h, &alice, json!({"rollout": 30})).await;
    let id = cr["id"].as_i64().unwrap();
    // The flag moves on in development.
    h.post_json("/api/v1/flags/f/environments/development/enable", json!({}))
        .await
        .expect(200);
    let approve = format!("/api/v1/change-requests/{id}/approve");
    let reply = post_as(&h, &bob, &approve, json!({})).await.expect(409);
    assert_message(&reply.json(), "rebase it");
    let rebased = post_as(
        &h,
        &alice,
        &format!("/api/v1/change-requests/{id}/rebase"),
        json!({}),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(rebased["based_on"], 2);
    post_as(&h, &bob, &approve, json!({})).await.expect(200);
    let flag = h.get("/api/v1/flags/f").await.json();
    assert_eq!(flag["environments"]["development"]["enabled"], true);
    assert_eq!(
        flag["environments"]["production"]["rules"][0]["rollout"],
        30
    );

    // A request whose environment changed under it cannot be rebased.
    let cr = propose(&h, &alice, json!({"enabled": true})).await;
    let id = cr["id"].as_i64().unwrap();
    let other = propose(&h, &alice, json!({"rollout": 60})).await;
    post_as(
        &h,
        &bob,
        &format!("/api/v1/change-requests/{}/approve", other["id"]),
        json!({}),
    )
    .await
    .expect(200);
    let reply = post_as(
        &h,
        &alice,
        &format!("/api/v1/change-requests/{id}/rebase"),
        json!({}),
    )
    .await;
    assert_message(&reply.expect(409).json(), "production changed");
    // The author withdraws it.
    let rejected = post_as(
        &h,
        &alice,
        &format!("/api/v1/change-requests/{id}/reject"),
        json!({"reason": "superseded"}),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(rejected["status"], "rejected");
}

#[tokio::test]
async fn approval_with_apply_at_schedules_the_change_through_the_gate() {
    let (h, alice, bob, _) = setup().await;
    let cr = propose(&h, &alice, json!({"enabled": true})).await;
    let at = (chrono::Utc::now() + chrono::Duration::milliseconds(200)).to_rfc3339();
    let approved = post_as(
        &h,
        &bob,
        &format!("/api/v1/change-requests/{}/approve", cr["id"]),
        json!({"apply_at": at}),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(approved["status"], "scheduled");
    let schedule_id = approved["schedule_id"].as_i64().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let finished = flagpole_server::review::scheduler::tick(&h.state)
        .await
        .unwrap();
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0].id, schedule_id);
    assert_eq!(finished[0].status, "applied", "{:?}", finished[0].reason);
    assert_eq!(
        h.get("/api/v1/flags/f").await.json()["environments"]["production"]["enabled"],
        true
    );
}

/// A change request carries the impact preview of its change in each environment that
/// samples contexts: switching a flag on flips every sampled context.
#[tokio::test]
async fn a_change_request_carries_its_impact_preview() {
    let (h, alice, bob, _viewer) = setup().await;
    h.sample_users("production", 1000, 500).await;
    let cr = propose(&h, &alice, json!({"enabled": true})).await;
    let id = cr["id"].as_i64().unwrap();
    let detail = h
        .get_with(
            &format!("/api/v1/change-requests/{id}"),
            &[("authorization", bob.as_str())],
        )
        .await
        .expect(200)
        .json();
    let report = &detail["preview"][0];
    assert_eq!(report["environment"], "production", "{detail}");
    assert_eq!(report["sampled"], 500);
    assert_eq!(report["off_to_on"], 500, "switching on flips every context");
}

/// Four eyes are two people: an admin who proposes a change cannot approve it with an
/// admin token of their own, nor with a service account's token they created; another
/// person can.
#[tokio::test]
async fn four_eyes_compare_people_not_tokens() {
    let (h, _, _, _) = setup().await;
    h.create_user("ana", "admin", "correct horse battery").await;
    let login = h.login("ana", "correct horse battery").await;
    let cookie = login
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let as_ana = |method: Method, uri: &'static str, body: Value| {
        let (h, cookie) = (&h, cookie.clone());
        async move {
            let headers = [
                ("cookie", cookie.as_str()),
                ("host", "flagpole.test"),
                ("origin", "http://flagpole.test"),
            ];
            h.send(method, uri, &headers, Payload::Json(body)).await
        }
    };
    let body = json!({"key": "f", "environment": "production", "enabled": true});
    let cr = as_ana(Method::POST, "/api/v1/change-requests", body)
        .await
        .expect(201)
        .json();
    assert_eq!(cr["author"], "user:ana");
    let approve = format!("/api/v1/change-requests/{}/approve", cr["id"]);
    // Her own admin token acts as her, and says so in the audit log…
    let own = as_ana(
        Method::POST,
        "/api/v1/tokens",
        json!({"name": "ana-ci", "kind": "admin", "role": "admin"}),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(own["owner"], "ana");
    let own = bearer(own["secret"].as_str().unwrap());
    let reply = post_as(&h, &own, &approve, json!({})).await.expect(403);
    assert_message(&reply.json(), "authors cannot approve");
    // …and a service account's token she created is hers to approve with neither.
    let body = json!({"name": "robot", "kind": "admin", "role": "admin", "service_account": true});
    let robot = as_ana(Method::POST, "/api/v1/tokens", body)
        .await
        .expect(201)
        .json();
    assert_eq!(robot["owner"], Value::Null);
    let robot = bearer(robot["secret"].as_str().unwrap());
    post_as(&h, &robot, &approve, json!({})).await.expect(403);
    // Another person (the server's own admin token) may.
    let approved = h.post_json(&approve, json!({})).await.expect(200).json();
    assert_eq!(approved["status"], "applied");
}
