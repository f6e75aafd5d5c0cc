//! Import and export of native documents (JSON or YAML, and the Unleash export), and
//! imports that refer to flags and segments already stored.

use serde_json::json;

use crate::common::Harness;

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
        .post_raw("/api/v1/import", Some("application/yaml"), doc)
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
        .get_ok("/api/v1/export?format=unleash&environment=production")
        .await;
    assert!(unleash["features"].is_array(), "{unleash}");
}

#[tokio::test]
async fn imports_may_refer_to_stored_flags_and_segments() {
    let h = Harness::new().await;
    h.create_segment(
        json!({"name": "beta", "conditions": [{"attribute": "beta", "operator": "IN", "values": ["true"]}]}),
    )
    .await;
    h.create_flag(json!({"key": "payments_v2", "environments": {"production": {"enabled": true}}}))
        .await;
    let doc = json!({"flags": {"new_checkout": {"environments": {"production": {
        "enabled": true,
        "rules": [{"segments": ["beta"]}],
        "depends_on": [{"flag": "payments_v2"}]
    }}}}});
    let r = h.post_json("/api/v1/import", doc).await.expect(200).json();
    assert_eq!(r["imported"], json!({"flags": 1, "segments": 0}));
    let e = h
        .evaluate("new_checkout", json!({"userId": "1", "beta": "true"}))
        .await;
    assert_eq!(e["enabled"], true);
}
