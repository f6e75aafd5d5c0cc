//! Projects on the SDK surfaces: every one serves a token only its projects' flags (and
//! the segments they may use), over the streams too when a flag moves; Unleash-format
//! secrets keep their project.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use axum::http::Method;
use common::projects::{keys, names, set, two_projects};
use common::{bearer, sse, Harness, Payload};
use serde_json::json;

async fn token(
    h: &Harness,
    kind: &str,
    projects: Option<Vec<&str>>,
    secret: Option<&str>,
) -> String {
    let mut body =
        json!({"name": format!("t{}", rand_name()), "kind": kind, "environment": "production"});
    if kind == "frontend" {
        body["origins"] = json!(["*"]);
    }
    if let Some(p) = projects {
        body["projects"] = json!(p);
    }
    if let Some(s) = secret {
        body["secret"] = json!(s);
        body.as_object_mut().unwrap().remove("environment");
    }
    h.create_token(body).await["secret"]
        .as_str()
        .unwrap()
        .to_string()
}

fn rand_name() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// What every SDK surface shows `token`: the flag keys of each, and the segment names.
async fn seen(h: &Harness, token: &str) -> Vec<(&'static str, BTreeSet<String>)> {
    let auth = bearer(token);
    let headers = [("authorization", auth.as_str())];
    let get = |uri: &'static str| async move {
        h.send(
            Method::GET,
            uri,
            &[("authorization", &bearer(token))],
            Payload::Empty,
        )
        .await
        .expect(200)
        .json()
    };
    let post = |uri: &'static str| async move {
        h.send(
            Method::POST,
            uri,
            &[("authorization", &bearer(token))],
            Payload::Json(json!({"context": {"targetingKey": "u1"}})),
        )
        .await
        .expect(200)
        .json()
    };
    let features = get("/api/client/features").await;
    let ofrep = post("/ofrep/v1/evaluate/flags").await;
    let native = post("/api/v1/environments/production/evaluate").await;
    let snapshot = get("/api/v1/environments/production/snapshot").await;
    let mut unleash_stream = sse::open(h, "/api/client/streaming", &headers)
        .await
        .unwrap();
    let hydration = unleash_stream.next().await.json();
    let mut native_stream = sse::open(h, "/api/v1/environments/production/stream", &headers)
        .await
        .unwrap();
    let native_first = native_stream.next().await.json();
    vec![
        ("client features", names(&features["features"], "name")),
        ("client segments", names(&features["segments"], "name")),
        ("ofrep bulk", names(&ofrep["flags"], "key")),
        ("native evaluate", names(&native["flags"], "flag")),
        ("snapshot", keys(&snapshot["flags"])),
        ("snapshot segments", keys(&snapshot["segments"])),
        (
            "unleash stream",
            names(&hydration["events"][0]["features"], "name"),
        ),
        ("native stream", keys(&native_first["flags"])),
    ]
}

fn expect_seen(seen: &[(&str, BTreeSet<String>)], flags: &[&str], segments: &[&str]) {
    let flags = set(flags.iter().map(|s| s.to_string()));
    let segments = set(segments.iter().map(|s| s.to_string()));
    for (surface, got) in seen {
        let want = if surface.contains("segments") {
            &segments
        } else {
            &flags
        };
        assert_eq!(got, want, "{surface}");
    }
}

#[tokio::test]
async fn every_sdk_surface_serves_only_the_tokens_projects() {
    let h = two_projects().await;
    let alpha = token(&h, "client", Some(vec!["alpha"]), None).await;
    let both = token(&h, "client", Some(vec!["alpha", "beta"]), None).await;
    let all = token(&h, "client", None, None).await;
    let unleash = token(
        &h,
        "client",
        None,
        Some("alpha:production.0123456789abcdef"),
    )
    .await;
    let unleash_all = token(&h, "client", None, Some("[]:production.fedcba9876543210")).await;

    expect_seen(
        &seen(&h, &alpha).await,
        &["a1", "a2"],
        &["seg-alpha", "seg-all"],
    );
    expect_seen(
        &seen(&h, &unleash).await,
        &["a1", "a2"],
        &["seg-alpha", "seg-all"],
    );
    expect_seen(
        &seen(&h, &both).await,
        &["a1", "a2", "b1"],
        &["seg-alpha", "seg-all", "seg-beta"],
    );
    for t in [&all, &unleash_all] {
        expect_seen(
            &seen(&h, t).await,
            &["a1", "a2", "b1", "d1"],
            &["seg-alpha", "seg-all", "seg-beta"],
        );
    }

    // One flag at a time: outside the scope is as if it did not exist.
    let as_alpha = |uri: &str, method: Method| {
        let auth = bearer(&alpha);
        let h = &h;
        let uri = uri.to_string();
        async move {
            let payload = match method {
                Method::POST => Payload::Json(json!({"context": {"targetingKey": "u1"}})),
                _ => Payload::Empty,
            };
            h.send(method, &uri, &[("authorization", &auth)], payload)
                .await
        }
    };
    as_alpha("/api/client/features/b1", Method::GET)
        .await
        .expect(404);
    as_alpha("/api/client/features/a1", Method::GET)
        .await
        .expect(200);
    as_alpha("/ofrep/v1/evaluate/flags/b1", Method::POST)
        .await
        .expect(404);
    as_alpha("/ofrep/v1/evaluate/flags/a1", Method::POST)
        .await
        .expect(200);
    as_alpha("/api/v1/environments/production/evaluate/b1", Method::POST)
        .await
        .expect(404);
    // The seed API serves `default`: a token of alpha only is refused it.
    as_alpha("/flags/d1", Method::GET).await.expect(403);
    let seed = h
        .get_with("/flags/a1", &[("authorization", &bearer(&all))])
        .await;
    assert_eq!(seed.status, 404, "the seed API only serves default's flags");

    // Unleash's query filters.
    let uri = "/api/client/features?project=alpha&namePrefix=a1";
    let auth = bearer(&all);
    let reply = h
        .get_with(uri, &[("authorization", &auth)])
        .await
        .expect(200);
    // Polled again with its ETag: unchanged, so 304; another query is another ETag.
    let etag = reply.header("etag").to_string();
    let again = [
        ("authorization", auth.as_str()),
        ("if-none-match", etag.as_str()),
    ];
    h.get_with(uri, &again).await.expect(304);
    let other = h
        .get_with("/api/client/features?namePrefix=a", &again)
        .await;
    assert_eq!(other.status, 200);
    let filtered = reply.json();
    assert_eq!(
        names(&filtered["features"], "name"),
        set(["a1".to_string()])
    );

    // The frontend API, and a frontend token of one project.
    let front = token(&h, "frontend", Some(vec!["beta"]), None).await;
    let toggles = h
        .get_with(
            "/api/frontend?userId=u1",
            &[
                ("authorization", &bearer(&front)),
                ("origin", "https://x.example"),
            ],
        )
        .await
        .expect(200)
        .json();
    assert_eq!(names(&toggles["toggles"], "name"), set(["b1".to_string()]));
}

#[tokio::test]
async fn a_flag_moving_between_projects_leaves_one_scope_and_enters_the_other() {
    let h = two_projects().await;
    let alpha = token(&h, "client", Some(vec!["alpha"]), None).await;
    let beta = token(&h, "client", Some(vec!["beta"]), None).await;
    let (a, b) = (bearer(&alpha), bearer(&beta));
    let mut alpha_stream = sse::open(
        &h,
        "/api/client/streaming",
        &[("authorization", a.as_str())],
    )
    .await
    .unwrap();
    let mut beta_stream = sse::open(
        &h,
        "/api/v1/environments/production/stream",
        &[("authorization", b.as_str())],
    )
    .await
    .unwrap();
    alpha_stream.next().await;
    beta_stream.next().await;

    // b1 uses beta's segment: it cannot move until it does not.
    let mut b1 = h.get_ok("/api/v1/flags/b1").await;
    b1["project"] = json!("alpha");
    let refused = h.put_json("/api/v1/flags/b1", b1.clone()).await.expect(422);
    assert!(refused.text().contains("seg-beta"), "{}", refused.text());
    b1["environments"]["production"]["rules"] = json!([]);
    h.put_json("/api/v1/flags/b1", b1).await.expect(200);

    let moved = alpha_stream.next().await.json();
    let event = &moved["events"][0];
    assert_eq!(
        (event["type"].as_str(), event["feature"]["name"].as_str()),
        (Some("feature-updated"), Some("b1")),
        "{moved}"
    );
    let gone = beta_stream.next().await.json();
    assert_eq!(gone["deleted_flags"], json!(["b1"]), "{gone}");
    let audit = h.get_ok("/api/v1/audit?flag=b1").await;
    assert!(audit.to_string().contains("flag.moved"), "{audit}");
}
