//! The OpenFeature provider over the Rust SDK, against a real `flagpole serve`: typed
//! values with variants and reasons, `TYPE_MISMATCH`, `FLAG_NOT_FOUND`,
//! `TARGETING_KEY_MISSING`, the context mapping, and use through the `open-feature`
//! client.

mod common;
mod sdk_support;

use std::time::Duration;

use flagpole_sdk::openfeature::{context_of, FlagpoleProvider};
use flagpole_sdk::Client;
use open_feature::provider::{FeatureProvider, ProviderStatus};
use open_feature::{EvaluationContext, EvaluationErrorCode, EvaluationReason, OpenFeature, Value};
use sdk_support::{Server, ENV};
use serde_json::json;

/// A server (its database in the temporary directory) with the test flags, and a provider
/// following it; keep all three until the test ends.
async fn provider() -> (tempfile::TempDir, Server, FlagpoleProvider) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Server::start(dir.path()).await;
    for flag in [
        json!({"key": "on", "environments": {ENV: {"enabled": true}}}),
        json!({"key": "off", "environments": {ENV: {"enabled": false}}}),
        json!({"key": "pro", "environments": {ENV: {"enabled": true, "rules": [
            {"name": "pro plan", "conditions": [{"attribute": "plan", "operator": "IN", "values": ["pro"]}]}]}}}),
        json!({"key": "color", "type": "string",
            "variants": [{"name": "red", "value": "#f00"}, {"name": "blue", "value": "#00f"}],
            "environments": {ENV: {"enabled": true, "default": {"split": [
                {"variant": "red", "weight": 1}, {"variant": "blue", "weight": 1}]}}}}),
        json!({"key": "limit", "type": "number",
            "variants": [{"name": "small", "value": 10}, {"name": "big", "value": 2.5}],
            "environments": {ENV: {"enabled": true, "default": {"variant": "small"}, "rules": [
                {"conditions": [{"attribute": "age", "operator": "NUM_GTE", "value": "18"}], "serve": {"variant": "big"}}]}}}),
        json!({"key": "theme", "type": "json",
            "variants": [{"name": "dark", "value": {"bg": "black", "contrast": 7}}],
            "environments": {ENV: {"enabled": true, "default": {"variant": "dark"}}}}),
        json!({"key": "half", "environments": {ENV: {"enabled": true, "rules": [{"rollout": 50}]}}}),
    ] {
        server.create_flag(flag).await;
    }
    let token = server.client_token().await;
    let client = Client::builder(&server.base, &token)
        .startup_timeout(Duration::from_secs(10))
        .metrics_interval(None)
        .build()
        .await
        .expect("the client starts");
    (dir, server, FlagpoleProvider::new(client))
}

fn user(id: &str) -> EvaluationContext {
    EvaluationContext::default().with_targeting_key(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_values_with_variants_reasons_and_errors() {
    let (_dir, _server, p) = provider().await;
    assert_eq!(p.metadata().name, "flagpole");
    assert_eq!(p.status(), ProviderStatus::Ready);

    // Booleans.
    let d = p.resolve_bool_value("on", &user("u1")).await.unwrap();
    assert!(d.value);
    assert_eq!(d.reason, Some(EvaluationReason::Static));
    assert_eq!(d.variant.as_deref(), Some("on"));
    let d = p.resolve_bool_value("off", &user("u1")).await.unwrap();
    assert!(!d.value);
    assert_eq!(d.reason, Some(EvaluationReason::Disabled));
    let pro = user("u1").with_custom_field("plan", "pro");
    let d = p.resolve_bool_value("pro", &pro).await.unwrap();
    assert!(d.value);
    assert_eq!(d.reason, Some(EvaluationReason::TargetingMatch));
    let d = p.resolve_bool_value("pro", &user("u1")).await.unwrap();
    assert!(!d.value);
    assert_eq!(d.reason, Some(EvaluationReason::Default));

    // Strings from a split: both variants occur, each with its value.
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..50 {
        let d = p
            .resolve_string_value("color", &user(&format!("u{i}")))
            .await
            .unwrap();
        assert_eq!(d.reason, Some(EvaluationReason::Split));
        let variant = d.variant.unwrap();
        assert_eq!(d.value, if variant == "red" { "#f00" } else { "#00f" });
        seen.insert(variant);
    }
    assert_eq!(seen.len(), 2);

    // Numbers: integers and floats.
    assert_eq!(
        p.resolve_int_value("limit", &user("u1"))
            .await
            .unwrap()
            .value,
        10
    );
    assert_eq!(
        p.resolve_float_value("limit", &user("u1"))
            .await
            .unwrap()
            .value,
        10.0
    );
    let adult = user("u1").with_custom_field("age", 30);
    let d = p.resolve_float_value("limit", &adult).await.unwrap();
    assert_eq!((d.value, d.variant.as_deref()), (2.5, Some("big")));
    assert_eq!(d.reason, Some(EvaluationReason::TargetingMatch));
    // 2.5 is no integer.
    let e = p.resolve_int_value("limit", &adult).await.unwrap_err();
    assert_eq!(e.code, EvaluationErrorCode::TypeMismatch);

    // Structures.
    let d = p.resolve_struct_value("theme", &user("u1")).await.unwrap();
    assert_eq!(d.value.fields["bg"], Value::String("black".into()));
    assert_eq!(d.value.fields["contrast"], Value::Int(7));
    assert_eq!(d.variant.as_deref(), Some("dark"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_mismatch_flag_not_found_and_targeting_key_missing() {
    let (_dir, _server, p) = provider().await;
    let ctx = user("u1");

    for e in [
        p.resolve_bool_value("color", &ctx).await.unwrap_err(),
        p.resolve_string_value("on", &ctx).await.unwrap_err(),
        p.resolve_struct_value("color", &ctx).await.unwrap_err(),
        p.resolve_float_value("theme", &ctx).await.unwrap_err(),
    ] {
        assert_eq!(e.code, EvaluationErrorCode::TypeMismatch, "{e:?}");
        assert!(e.message.unwrap().contains("flag"));
    }
    let e = p.resolve_bool_value("nope", &ctx).await.unwrap_err();
    assert_eq!(e.code, EvaluationErrorCode::FlagNotFound);
    let e = p.resolve_string_value("nope", &ctx).await.unwrap_err();
    assert_eq!(e.code, EvaluationErrorCode::FlagNotFound);

    // A 50% rollout by user, and no targeting key: the answer would be a coin toss.
    let anonymous = EvaluationContext::default().with_custom_field("plan", "pro");
    let e = p.resolve_bool_value("half", &anonymous).await.unwrap_err();
    assert_eq!(e.code, EvaluationErrorCode::TargetingKeyMissing);
    // With one, it answers; and a flag that does not place by user needs none.
    assert!(p.resolve_bool_value("half", &user("u1")).await.is_ok());
    assert!(p.resolve_bool_value("pro", &anonymous).await.unwrap().value);
}

#[test]
fn evaluation_context_maps_to_the_flagpole_context() {
    let ec = EvaluationContext::default()
        .with_targeting_key("user-1")
        .with_custom_field("sessionId", "s-9")
        .with_custom_field("remoteAddress", "10.1.2.3")
        .with_custom_field("appName", "checkout")
        .with_custom_field("plan", "pro")
        .with_custom_field("age", 42)
        .with_custom_field("ratio", 1.5)
        .with_custom_field("beta", true);
    let ctx = context_of(&ec);
    assert_eq!(ctx.user_id.as_deref(), Some("user-1"));
    assert_eq!(ctx.session_id.as_deref(), Some("s-9"));
    assert_eq!(ctx.remote_address.as_deref(), Some("10.1.2.3"));
    assert_eq!(ctx.app_name.as_deref(), Some("checkout"));
    assert_eq!(ctx.property("plan"), Some("pro"));
    assert_eq!(ctx.property("age"), Some("42"));
    assert_eq!(ctx.property("ratio"), Some("1.5"));
    assert_eq!(ctx.property("beta"), Some("true"));
    // `userId` stands in for a missing targeting key.
    let ctx = context_of(&EvaluationContext::default().with_custom_field("userId", "u-7"));
    assert_eq!(ctx.user_id.as_deref(), Some("u-7"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_through_the_open_feature_client() {
    let (_dir, _server, p) = provider().await;
    let mut api = OpenFeature::singleton_mut().await;
    api.set_provider(p).await;
    let client = api.create_client();
    drop(api);
    let pro = user("u1").with_custom_field("plan", "pro");
    assert!(client
        .get_bool_value("pro", Some(&pro), None)
        .await
        .unwrap());
    assert_eq!(
        client
            .get_string_value("color", Some(&pro), None)
            .await
            .unwrap()
            .len(),
        4
    );
    let e = client
        .get_bool_value("nope", Some(&pro), None)
        .await
        .unwrap_err();
    assert_eq!(e.code, EvaluationErrorCode::FlagNotFound);
}
