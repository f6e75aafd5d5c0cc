//! What is not configuration: health and metrics, the JSON 404 of an unknown route, and
//! SDK usage reports naming flags with control characters.

use serde_json::json;

use crate::common::{assert_error, assert_message, Harness};

#[tokio::test]
async fn health_and_metrics() {
    let h = Harness::new().await;
    assert_eq!(h.get_ok("/health/live").await, json!({"status": "ok"}));
    let ready = h.get_ok("/health/ready").await;
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
    assert_error(&r, "not_found", "/api/v1/nothing-here");
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
    assert_message(&refused, "control character");
    let usage = h.get_ok("/api/v1/usage").await;
    assert_eq!(usage["usage"].as_array().map_or(0, Vec::len), 0, "{usage}");
    h.post_json("/api/client/metrics", report("good"))
        .await
        .expect(202);
}
