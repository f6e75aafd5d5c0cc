//! Projects in the admin API: members of one project, and tokens of one, neither read
//! nor change another's (and a refusal writes nothing); projects are created, listed and
//! deleted once empty; imports and exports keep flags in their projects.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use axum::http::Method;
use common::projects::{keys, member_session, names, own_page, set, two_projects};
use common::{bearer, Harness, Payload};
use serde_json::{json, Value};

#[tokio::test]
async fn members_reach_their_projects_only() {
    let h = two_projects().await;
    let cookie = member_session(&h, "ann", "alpha", "editor").await;
    let as_ann = |method: Method, uri: &'static str, body: Option<Value>| {
        let (h, cookie) = (&h, cookie.clone());
        async move {
            let payload = body.map_or(Payload::Empty, Payload::Json);
            h.send(method, uri, &own_page(&cookie), payload).await
        }
    };
    let flags = as_ann(Method::GET, "/api/v1/flags", None)
        .await
        .expect(200)
        .json();
    assert_eq!(
        names(&flags["flags"], "key"),
        set(["a1".into(), "a2".into()])
    );
    as_ann(Method::GET, "/api/v1/flags/b1", None)
        .await
        .expect(404);
    let evaluated = as_ann(
        Method::POST,
        "/api/v1/environments/production/evaluate",
        Some(json!({"userId": "u1"})),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(
        names(&evaluated["flags"], "flag"),
        set(["a1".into(), "a2".into()])
    );
    as_ann(Method::GET, "/api/v1/projects/beta", None)
        .await
        .expect(404);
    let projects = as_ann(Method::GET, "/api/v1/projects", None)
        .await
        .expect(200)
        .json();
    assert_eq!(names(&projects["projects"], "key"), set(["alpha".into()]));
    // A change in alpha is hers to make; one in beta, or a new flag there, is not.
    let before = h.config_version().await;
    as_ann(
        Method::POST,
        "/api/v1/flags",
        Some(json!({"key": "x", "project": "beta"})),
    )
    .await
    .expect(403);
    as_ann(
        Method::POST,
        "/api/v1/flags/b1/environments/production/disable",
        None,
    )
    .await
    .expect(403);
    assert_eq!(h.config_version().await, before, "a refusal writes nothing");
    as_ann(
        Method::POST,
        "/api/v1/flags/a1/environments/production/disable",
        None,
    )
    .await
    .expect(200);
    // Moving needs admin rights in both projects.
    let mut a2 = h.get_ok("/api/v1/flags/a2").await;
    a2["project"] = json!("beta");
    as_ann(Method::PUT, "/api/v1/flags/a2", Some(a2))
        .await
        .expect(403);
    // Environments, users and projects stay with server-wide admins.
    as_ann(
        Method::POST,
        "/api/v1/projects",
        Some(json!({"key": "gamma"})),
    )
    .await
    .expect(403);
}

#[tokio::test]
async fn projects_are_created_listed_and_deleted_when_empty() {
    let h = two_projects().await;
    let list = h.get_ok("/api/v1/projects").await;
    assert_eq!(
        names(&list["projects"], "key"),
        set(["alpha".into(), "beta".into(), "default".into()])
    );
    h.post_json("/api/v1/projects", json!({"key": "alpha"}))
        .await
        .expect(409);
    h.post_json("/api/v1/projects", json!({"key": "no/slash"}))
        .await
        .expect(422);
    let refused = h.delete("/api/v1/projects/beta").await.expect(409);
    assert!(refused.text().contains("beta"), "{}", refused.text());
    h.delete("/api/v1/projects/default").await.expect(409);
    // Tokens name projects that exist, at least one.
    for projects in [json!([]), json!(["nope"]), json!(["no/slash"])] {
        let body = json!({"name": "t", "kind": "client", "environment": "production", "projects": projects});
        h.post_json("/api/v1/tokens", body).await.expect(422);
    }
    h.post_json("/api/v1/projects", json!({"key": "empty"}))
        .await
        .expect(201);
    h.delete("/api/v1/projects/empty").await.expect(204);
    // A project's own protection: alpha's production needs approval, beta's does not.
    h.put_json(
        "/api/v1/projects/alpha/environments/production",
        json!({"requires_approval": true}),
    )
    .await
    .expect(200);
    h.post("/api/v1/flags/a1/environments/production/disable")
        .await
        .expect(409);
    h.post("/api/v1/flags/b1/environments/production/disable")
        .await
        .expect(200);
    let filtered = h.get_ok("/api/v1/flags?project=alpha").await;
    assert_eq!(
        names(&filtered["flags"], "key"),
        set(["a1".into(), "a2".into()])
    );
}

#[tokio::test]
async fn unleash_exports_keep_each_feature_in_its_project() {
    let h = Harness::new().await;
    let features = json!({"version": 2, "features": [
        {"name": "m1", "project": "mobile", "enabled": true, "strategies": [{"name": "default"}]},
        {"name": "w1", "project": "default", "enabled": true, "strategies": [{"name": "default"}]},
    ]});
    h.post_json(
        "/api/v1/import?format=unleash&environment=production",
        features,
    )
    .await
    .expect(200);
    let mobile = h.get_ok("/api/v1/projects/mobile").await;
    assert_eq!(mobile["flags"], 1, "{mobile}");
    assert_eq!(h.get_ok("/api/v1/flags/m1").await["project"], "mobile");
    let exported = h
        .get_ok("/api/v1/export?format=unleash&environment=production")
        .await;
    let projects: BTreeSet<String> = exported["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["name"].as_str().unwrap(),
                f["project"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(projects, set(["m1:mobile".into(), "w1:default".into()]));
}

#[tokio::test]
async fn a_project_token_and_a_member_reach_nothing_of_another_project() {
    let h = two_projects().await;
    // Something of beta's in every kind: a schedule, a change request.
    let due = (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339();
    let schedule = h
        .schedule(
            "b1",
            json!({"due_at": due, "environment": "development", "enabled": true}),
        )
        .await;
    let request = h
        .post_json(
            "/api/v1/change-requests",
            json!({"key": "b1", "environment": "development", "enabled": true}),
        )
        .await
        .expect(201)
        .json();
    // An editor token of alpha (a service account's), and a member of alpha.
    let token = h
        .create_token(
            json!({"name": "alpha-ci", "kind": "admin", "role": "editor", "projects": ["alpha"]}),
        )
        .await;
    let token = bearer(token["secret"].as_str().unwrap());
    let cookie = member_session(&h, "bo", "alpha", "admin").await;
    let as_token = [("authorization", token.as_str())];
    let as_member = own_page(&cookie);
    let (sid, rid) = (schedule["id"].clone(), request["id"].clone());
    for caller in [&as_token[..], &as_member[..]] {
        let send = |method: Method, uri: String, body: Option<Value>| {
            let h = &h;
            async move {
                let payload = body.map_or(Payload::Empty, Payload::Json);
                h.send(method, &uri, caller, payload).await
            }
        };
        let before = h.fingerprint().await;
        // Reads: lists hold alpha's only; beta's items are not there.
        let flags = send(Method::GET, "/api/v1/flags".into(), None)
            .await
            .expect(200)
            .json();
        assert_eq!(
            names(&flags["flags"], "key"),
            set(["a1".into(), "a2".into()])
        );
        let segments = send(Method::GET, "/api/v1/segments".into(), None)
            .await
            .expect(200)
            .json();
        assert_eq!(
            names(&segments["segments"], "name"),
            set(["seg-alpha".into(), "seg-all".into()])
        );
        for uri in [
            "/api/v1/flags/b1".to_string(),
            "/api/v1/segments/seg-beta".into(),
            format!("/api/v1/schedules/{sid}"),
            format!("/api/v1/change-requests/{rid}"),
            "/api/v1/flags/b1/versions".into(),
            "/api/v1/projects/beta".into(),
        ] {
            send(Method::GET, uri.clone(), None).await.expect(404);
        }
        let schedules = send(Method::GET, "/api/v1/schedules".into(), None)
            .await
            .expect(200)
            .json();
        assert_eq!(schedules["schedules"], json!([]), "{schedules}");
        let requests = send(Method::GET, "/api/v1/change-requests".into(), None)
            .await
            .expect(200)
            .json();
        assert_eq!(requests["change_requests"], json!([]), "{requests}");
        send(Method::GET, "/api/v1/audit?project=beta".into(), None)
            .await
            .expect(403);
        send(Method::GET, "/api/v1/audit".into(), None)
            .await
            .expect(403);
        let audit = send(Method::GET, "/api/v1/audit?project=alpha".into(), None)
            .await
            .expect(200)
            .json();
        assert!(
            audit["entries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["project"] == "alpha"),
            "{audit}"
        );
        // Changes: every one refused, nothing written.
        let b1 = h.get_ok("/api/v1/flags/b1").await;
        for (method, uri, body) in [
            (
                Method::PUT,
                "/api/v1/flags/b1".to_string(),
                Some(b1.clone()),
            ),
            (
                Method::POST,
                "/api/v1/flags/b1/environments/development/enable".into(),
                None,
            ),
            (Method::DELETE, "/api/v1/flags/b1".into(), None),
            (
                Method::POST,
                "/api/v1/flags".into(),
                Some(json!({"key": "new", "project": "beta"})),
            ),
            (
                Method::PUT,
                "/api/v1/segments/seg-beta".into(),
                Some(json!({"version": 1, "conditions": []})),
            ),
            (
                Method::POST,
                "/api/v1/flags/b1/schedules".into(),
                Some(json!({"due_at": due, "environment": "development", "enabled": false})),
            ),
            (Method::DELETE, format!("/api/v1/schedules/{sid}"), None),
            (
                Method::POST,
                "/api/v1/change-requests".into(),
                Some(json!({"key": "b1", "environment": "development", "enabled": false})),
            ),
            (
                Method::POST,
                format!("/api/v1/change-requests/{rid}/approve"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/change-requests/{rid}/reject"),
                None,
            ),
            (
                Method::PUT,
                "/api/v1/projects/beta/members/bo".into(),
                Some(json!({"role": "admin"})),
            ),
            (
                Method::PUT,
                "/api/v1/projects/beta/environments/production".into(),
                Some(json!({"protected": false})),
            ),
            (
                Method::POST,
                "/api/v1/tokens".into(),
                Some(
                    json!({"name": "x", "kind": "client", "environment": "production", "projects": ["beta"]}),
                ),
            ),
        ] {
            let reply = send(method.clone(), uri.clone(), body).await;
            assert!(
                reply.status == 403 || reply.status == 404,
                "{method} {uri}: {} {}",
                reply.status,
                reply.text()
            );
        }
        assert_eq!(h.fingerprint().await, before, "a refusal wrote");
    }
}

#[tokio::test]
async fn import_into_and_export_of_one_project() {
    let h = two_projects().await;
    let doc = json!({"segments": {"seg-new": {"conditions": []}},
        "flags": {"n1": {"environments": {"production": {"enabled": true, "rules": [{"segments": ["seg-new", "seg-all"]}]}}},
                  "n2": {"project": "alpha"}}});
    h.post_json("/api/v1/import?project=beta", doc.clone())
        .await
        .expect(200);
    assert_eq!(h.get_ok("/api/v1/flags/n1").await["project"], "beta");
    assert_eq!(h.get_ok("/api/v1/flags/n2").await["project"], "alpha");
    assert_eq!(
        h.get_ok("/api/v1/segments/seg-new").await["project"],
        "beta"
    );
    let beta = h.get_ok("/api/v1/export?project=beta").await;
    assert_eq!(keys(&beta["flags"]), set(["b1".into(), "n1".into()]));
    assert_eq!(
        keys(&beta["segments"]),
        set(["seg-beta".into(), "seg-new".into(), "seg-all".into()])
    );
    let unleash = h
        .get_ok("/api/v1/export?project=alpha&format=unleash")
        .await;
    assert_eq!(
        names(&unleash["features"], "name"),
        set(["a1".into(), "a2".into(), "n2".into()])
    );
    h.get("/api/v1/export?project=nope").await.expect(404);
    let before = h.config_version().await;
    // A project that uses only development takes no flag configured in production,
    // from an import either, and nothing of the import is written…
    h.post_json(
        "/api/v1/projects",
        json!({"key": "dev-only", "environments": ["development"]}),
    )
    .await
    .expect(201);
    let import = json!({"flags": {"n3": {"project": "dev-only",
        "environments": {"production": {"enabled": true}}}, "n4": {}}});
    let refused = h.post_json("/api/v1/import", import).await.expect(400);
    let text = refused.text();
    assert!(text.contains("does not use environment"), "{text}");
    assert_eq!(
        h.config_version().await,
        before + 1,
        "the project's creation only"
    );
    // …nor may alpha stop using production while its flags are configured there.
    let narrow = Payload::Json(json!({"environments": ["development"]}));
    h.send(Method::PATCH, "/api/v1/projects/alpha", &[], narrow)
        .await
        .expect(409);
    let before = h.config_version().await;
    h.post_json("/api/v1/import?project=no/slash", doc)
        .await
        .expect(400);
    h.get("/api/v1/export?project=no/slash").await.expect(400);
    assert_eq!(h.config_version().await, before);
}
