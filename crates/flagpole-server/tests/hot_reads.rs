//! The seed GET answered before the router (`routes::hot`) answers exactly as the
//! router's handler does. Each request is sent twice: with the flag's name plain, which
//! the hot path takes, and percent-encoded, which only the router decodes; the two
//! replies must be the same, status, headers and bytes.

#![allow(clippy::unwrap_used)]

mod common;

use axum::http::Method;
use common::credentials::{ADMIN, CLIENT_DEVELOPMENT, CLIENT_PRODUCTION, FRONTEND_PRODUCTION};
use common::{bearer, Harness, Payload};

/// `name` with its first character percent-encoded: the same name to the router.
fn encoded(name: &str) -> String {
    let first = name.as_bytes()[0];
    format!("%{first:02X}{}", &name[1..])
}

#[tokio::test]
async fn the_hot_seed_get_answers_as_the_router_does() {
    let h = Harness::new().await;
    h.seed_rollout("new_ui", 25).await;
    h.post("/flags/off_ui?enabled=false").await.expect(200);

    // A token revoked after it was made: the hot path must refuse it as the router does.
    let made = h
        .create_token(
            serde_json::json!({"name": "gone", "kind": "client", "environment": "production",
                               "secret": "revoked-client-token"}),
        )
        .await;
    let id = made["id"].as_str().unwrap().to_owned();
    h.delete(&format!("/api/v1/tokens/{id}")).await.expect(200);

    let (client, development, frontend, admin) = (
        bearer(CLIENT_PRODUCTION),
        bearer(CLIENT_DEVELOPMENT),
        bearer(FRONTEND_PRODUCTION),
        bearer(ADMIN),
    );
    let callers: Vec<Vec<(&str, &str)>> = vec![
        vec![("authorization", &client)],
        vec![("authorization", "")],
        vec![("authorization", "Bearer not-a-token-of-this-server")],
        vec![("authorization", "Basic dXNlcjpwYXNz")],
        vec![("authorization", "Bearer revoked-client-token")],
        vec![("authorization", &development)],
        vec![("authorization", &frontend)],
        vec![("authorization", &admin)],
        vec![("authorization", &client), ("host", "elsewhere.example")],
        vec![
            ("authorization", &client),
            ("origin", "https://elsewhere.example"),
        ],
        vec![("cookie", "flagpole_session=not-a-session")],
    ];
    let queries = [
        "",
        "?user_id=123",
        "?user_id=10",
        "?user_id=",
        "?user_id=1&user_id=2",
        "?other=1&user_id=7",
        "?user_id=%E2%82%AC",
        "?user_id=%FF",
        "?preview=true&user_id=3",
    ];
    let mut compared = 0;
    for name in ["new_ui", "off_ui", "missing"] {
        for query in queries {
            for headers in &callers {
                let hot = format!("/flags/{name}{query}");
                let routed = format!("/flags/{}{query}", encoded(name));
                let a = h.get_with(&hot, headers).await;
                let b = h.get_with(&routed, headers).await;
                let case = format!("{hot} with {headers:?}: {} / {}", a.text(), b.text());
                assert_eq!(a.status, b.status, "{case}");
                assert_eq!(a.headers, b.headers, "{case}");
                assert_eq!(a.body, b.body, "{case}");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 3 * queries.len() * callers.len());

    // Both are counted under the route's template.
    let metrics = flagpole_server::telemetry::render();
    let line = r#"flagpole_http_requests_total{route="/flags/{name}",method="GET",status="200"}"#;
    assert!(metrics.contains(line), "{metrics}");
    for line in [
        r#"flagpole_http_request_duration_seconds_bucket{route="/flags/{name}",method="GET",status="200",le="+Inf"}"#,
        r#"flagpole_http_request_duration_seconds_count{route="/flags/{name}",method="GET",status="200"}"#,
        r#"flagpole_evaluations_total{environment="production",flag="new_ui",variant="off"}"#,
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

#[tokio::test]
async fn only_a_plain_get_of_one_segment_takes_the_hot_path() {
    let h = Harness::new().await;
    h.post("/flags/new_ui?enabled=true").await.expect(200);
    // What the router answers for these, the hot path must not answer otherwise.
    h.get("/flags/new_ui/").await.expect(404);
    h.get("/flags/").await.expect(404);
    h.get("/flags/new_ui/extra").await.expect(404);
    let head = h
        .send(Method::HEAD, "/flags/new_ui", &[], Payload::Empty)
        .await
        .expect(200);
    assert!(head.body.is_empty());
    h.send(Method::PUT, "/flags/new_ui", &[], Payload::Empty)
        .await
        .expect(405);
}
