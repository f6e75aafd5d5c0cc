//! Native evaluation of one flag and of all flags, with the details: variant, value,
//! reason, the rule that matched, the flag's type.

use serde_json::json;

use crate::common::{texts, Harness};

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
        .evaluate(
            "limits",
            json!({"userId": "7", "properties": {"plan": "enterprise"}}),
        )
        .await;
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
        .evaluate("limits", json!({"targetingKey": "7", "plan": "free"}))
        .await;
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
    let flags: Vec<&str> = texts(&all["flags"], "flag");
    assert_eq!(flags, ["limits", "off"]);

    h.post("/api/v1/environments/production/evaluate/nope")
        .await
        .expect(404);
    h.post("/api/v1/environments/nowhere/evaluate")
        .await
        .expect(404);
}
