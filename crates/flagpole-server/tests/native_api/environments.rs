//! Environments: listing, creating (usable at once) and deleting, which is refused
//! while flags configure the environment or tokens are bound to it, and never allowed for
//! the seed API's environment.

use serde_json::json;

use crate::common::{assert_message, texts, Harness, Reply};

/// `POST /api/v1/environments` for `staging`.
async fn create_staging(h: &Harness) -> Reply {
    h.post_json("/api/v1/environments", json!({"name": "staging"}))
        .await
}

#[tokio::test]
async fn environments_list_and_create() {
    let h = Harness::new().await;
    let list = h.get_ok("/api/v1/environments").await;
    let names: Vec<&str> = texts(&list["environments"], "name");
    assert_eq!(names, ["development", "production"]);

    let before = h.config_version().await;
    let created = create_staging(&h).await.expect(201).json();
    assert_eq!(created["name"], "staging");
    assert_eq!(h.config_version().await, before + 1);
    // Usable at once: flags can be configured and evaluated there.
    h.create_flag(json!({"key": "f", "environments": {"staging": {"enabled": true}}}))
        .await;
    let e = h
        .post("/api/v1/environments/staging/evaluate/f")
        .await
        .expect(200)
        .json();
    assert_eq!(e["enabled"], true);

    let again = create_staging(&h).await.expect(409).json();
    assert_eq!(again["code"], "conflict");
}

#[tokio::test]
async fn environments_are_deleted_only_when_nothing_depends_on_them() {
    let h = Harness::new().await;
    create_staging(&h).await.expect(201);
    h.create_flag(json!({"key": "f", "environments": {
        "staging": {"enabled": true}, "production": {"enabled": true}}}))
        .await;
    let before = h.fingerprint().await;
    let refused = h
        .delete("/api/v1/environments/staging")
        .await
        .expect(409)
        .json();
    assert_message(&refused, "drop_configuration");
    let token = h
        .create_token(json!({"name": "staging-sdk", "kind": "client", "environment": "staging"}))
        .await;
    let refused = h
        .delete("/api/v1/environments/staging?drop_configuration=true")
        .await
        .expect(409)
        .json();
    assert_message(&refused, "tokens are bound");
    h.delete(&format!("/api/v1/tokens/{}", token["id"].as_str().unwrap()))
        .await
        .expect(200);
    // The seed API's environment stays.
    h.delete("/api/v1/environments/production?drop_configuration=true")
        .await
        .expect(409);
    let (version, ..) = before;
    assert_eq!(h.config_version().await, version, "refusals wrote nothing");

    h.delete("/api/v1/environments/staging?drop_configuration=true")
        .await
        .expect(204);
    let envs = h.get_ok("/api/v1/environments").await;
    assert!(!envs.to_string().contains("staging"), "{envs}");
    let flag = h.get_ok("/api/v1/flags/f").await;
    assert_eq!(flag["version"], 2);
    assert!(flag["environments"].get("staging").is_none(), "{flag}");
    assert!(flag["environments"].get("production").is_some(), "{flag}");
    let audit = h.get_ok("/api/v1/audit?environment=staging").await;
    assert_eq!(audit["entries"][0]["action"], "environment.deleted");
    h.delete("/api/v1/environments/staging").await.expect(404);
}
