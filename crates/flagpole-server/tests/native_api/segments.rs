//! Segments: create, read, list, versioned updates, use in a rule, and deletion refused
//! while a flag uses the segment.

use serde_json::json;

use crate::common::{assert_message, Harness};

#[tokio::test]
async fn segments_crud_and_in_use_protection() {
    let h = Harness::new().await;
    let created = h
        .create_segment(
            json!({"name": "beta", "description": "Beta testers", "conditions": [{"attribute": "beta", "operator": "IN", "values": ["true"]}]}),
        )
        .await;
    assert_eq!(created["name"], "beta");
    assert_eq!(created["version"], 1);
    let list = h.get_ok("/api/v1/segments").await;
    assert_eq!(list["segments"][0]["name"], "beta");
    assert_eq!(h.get_ok("/api/v1/segments/beta").await, created);
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
        .evaluate("search_v2", json!({"userId": "1", "beta": "yes"}))
        .await;
    assert_eq!(e["enabled"], true);

    let refused = h.delete("/api/v1/segments/beta").await.expect(409).json();
    assert_message(&refused, "search_v2");
    h.delete("/api/v1/flags/search_v2").await.expect(204);
    h.delete("/api/v1/segments/beta").await.expect(204);
    h.get("/api/v1/segments/beta").await.expect(404);
}
