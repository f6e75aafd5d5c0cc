//! A flag's configuration in one environment: the default for an unconfigured one,
//! enable and disable, the whole environment, its rules, default and rollout.

use axum::http::Method;
use serde_json::json;

use crate::common::{assert_message, Harness, Payload};

#[tokio::test]
async fn per_environment_configuration() {
    let h = Harness::new().await;
    h.create_flag(json!({
        "key": "f",
        "variants": [{"name": "on"}, {"name": "beta"}],
        "environments": {"production": {"enabled": false}}
    }))
    .await;

    // Reading an environment the flag does not configure yet gives the default.
    let dev = h.get_ok("/api/v1/flags/f/environments/development").await;
    assert_eq!(dev, json!({"enabled": false, "version": 1}));
    h.get("/api/v1/flags/f/environments/nowhere")
        .await
        .expect(404);

    // Enable / disable: the version is optional.
    let on = h
        .post("/api/v1/flags/f/environments/production/enable")
        .await
        .expect(200)
        .json();
    assert_eq!(on["environments"]["production"]["enabled"], true);
    assert_eq!(on["version"], 2);
    let off = h
        .send(
            Method::POST,
            "/api/v1/flags/f/environments/production/disable",
            &[],
            Payload::Json(json!({"version": 2})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(off["environments"]["production"]["enabled"], false);
    h.send(
        Method::POST,
        "/api/v1/flags/f/environments/production/enable",
        &[],
        Payload::Json(json!({"version": 2})),
    )
    .await
    .expect(409);

    // The whole environment.
    let put = h
        .put_json(
            "/api/v1/flags/f/environments/development",
            json!({"version": 3, "enabled": true, "default": {"variant": "beta"}}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        put["environments"]["development"],
        json!({"enabled": true, "default": {"variant": "beta"}})
    );
    h.put_json(
        "/api/v1/flags/f/environments/development",
        json!({"enabled": true}),
    )
    .await
    .expect(428);

    // Rules.
    let rules = json!([{"name": "staff", "conditions": [{"attribute": "email", "operator": "STR_ENDS_WITH", "values": ["@ourco.com"]}]}]);
    let r = h
        .put_json(
            "/api/v1/flags/f/environments/production/rules",
            json!({"version": 4, "rules": rules}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(r["environments"]["production"]["rules"], rules);

    // Default.
    let r = h
        .put_json(
            "/api/v1/flags/f/environments/production/default",
            json!({"version": 5, "default": {"variant": "on"}}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        r["environments"]["production"]["default"],
        json!({"variant": "on"})
    );

    // Rollout: refused where a rule targets more than a percentage, set on a plain
    // environment.
    let before = h.fingerprint().await;
    let r = h
        .put_rollout("f", "production", json!({"rollout": 10}))
        .await
        .expect(409)
        .json();
    assert_message(&r, "PUT .../rules");
    assert_eq!(h.fingerprint().await, before);
    let r = h
        .put_rollout(
            "f",
            "development",
            json!({"rollout": 30, "stickiness": "userId"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        r["environments"]["development"]["rules"],
        json!([{"rollout": 30, "stickiness": "userId"}])
    );
    let r = h
        .put_rollout("f", "development", json!({"rollout": 60}))
        .await
        .expect(200)
        .json();
    assert_eq!(
        r["environments"]["development"]["rules"],
        json!([{"rollout": 60, "stickiness": "userId"}])
    );
    let two = json!([{"rollout": 5}, {"rollout": 50}]);
    let v = r["version"].as_i64().unwrap();
    h.put_json(
        "/api/v1/flags/f/environments/development/rules",
        json!({"version": v, "rules": two}),
    )
    .await
    .expect(200);
    let r = h
        .put_rollout("f", "development", json!({"rollout": 70}))
        .await
        .expect(409)
        .json();
    assert_message(&r, "2 rules");
}
