//! OFREP as its `service/openapi.yaml` (github.com/open-feature/protocol) and its ADRs describe it: the success
//! shape for every flag type, numbers that keep their JSON type (ADR 3), a value in every
//! success (typed flags serve their off variant), `TARGETING_KEY_MISSING` only where the
//! key decides, the error responses, and bulk evaluation with ETag and 304 (ADR 5).

#![allow(clippy::unwrap_used)]

mod common;

use axum::http::Method;
use common::{texts, Harness, Payload, Reply};
use serde_json::{json, Value};

/// One flag of each type and each way of serving, in `production`.
async fn server() -> Harness {
    let c = Harness::new().await;
    c.import(&json!({"flags": {
        "plain": {"environments": {"production": {"enabled": true}}},
        "off": {"environments": {"production": {"enabled": false, "rules": [{"rollout": 50}]}}},
        "rollout": {"environments": {"production": {"enabled": true, "rules": [{"rollout": 50}]}}},
        "everyone": {"environments": {"production": {"enabled": true, "rules": [{"rollout": 100}]}}},
        "beta-first": {"environments": {"production": {"enabled": true, "rules": [
            {"conditions": [{"attribute": "beta", "operator": "IN", "values": ["true"]}]},
            {"rollout": 30}
        ]}}},
        "bare-string": {"type": "string", "environments": {"production": {"enabled": true}}},
        "by-plan": {"environments": {"production": {"enabled": true, "rules": [
            {"conditions": [{"attribute": "plan", "operator": "IN", "values": ["pro"]}]}
        ]}}},
        "by-user": {"environments": {"production": {"enabled": true, "rules": [
            {"conditions": [{"attribute": "userId", "operator": "IN", "values": ["u1"]}]}
        ]}}},
        "needs-rollout": {"environments": {"production": {"enabled": true, "depends_on": [{"flag": "rollout"}]}}},
        "greeting": {
            "type": "string",
            "variants": [{"name": "formal", "value": "Good day"}, {"name": "casual", "value": "Hi"}],
            "environments": {"production": {"enabled": true, "default": {"variant": "formal"}}}
        },
        "greeting-off": {
            "type": "string",
            "variants": [{"name": "formal", "value": "Good day"}],
            "environments": {"production": {"enabled": false, "default": {"variant": "formal"}}}
        },
        "greeting-unset": {
            "type": "string",
            "variants": [{"name": "formal", "value": "Good day"}],
            "environments": {"production": {"enabled": true}}
        },
        "ratio": {
            "type": "number",
            "variants": [{"name": "one", "value": 1.0}, {"name": "half", "value": 0.5}],
            "environments": {"production": {"enabled": true, "rules": [
                {"conditions": [{"attribute": "plan", "operator": "IN", "values": ["pro"]}],
                 "serve": {"variant": "one"}}
            ]}}
        },
        "limit": {
            "type": "number",
            "variants": [{"name": "ten", "value": 10}],
            "environments": {"production": {"enabled": true, "default": {"variant": "ten"}}}
        },
        "theme": {
            "type": "json",
            "variants": [
                {"name": "dark", "value": {"mode": "dark", "contrast": 1.5, "steps": [1, 2]}},
                {"name": "light", "value": {"mode": "light", "contrast": 1.0, "steps": []}}
            ],
            "environments": {"production": {"enabled": true, "default": {"split": [
                {"variant": "dark", "weight": 1}, {"variant": "light", "weight": 1}
            ]}}}
        }
    }}))
    .await;
    c
}

async fn evaluate(c: &Harness, key: &str, context: Value) -> Reply {
    c.post_json(
        &format!("/ofrep/v1/evaluate/flags/{key}"),
        json!({ "context": context }),
    )
    .await
}

async fn bulk(c: &Harness, context: Value, headers: &[(&str, &str)]) -> Reply {
    c.send(
        Method::POST,
        "/ofrep/v1/evaluate/flags",
        headers,
        Payload::Json(json!({ "context": context })),
    )
    .await
}

/// Asserts an OFREP error body: the key (single evaluations only), code and details.
#[track_caller]
fn assert_error(reply: Reply, status: u16, key: Option<&str>, code: &str) {
    let body = reply.expect(status).json();
    assert_eq!(body.get("key").and_then(Value::as_str), key, "{body}");
    assert_eq!(body["errorCode"], code, "{body}");
    assert!(
        body["errorDetails"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn success_has_key_value_variant_and_reason_for_each_type() {
    let c = server().await;
    let user = json!({"targetingKey": "u1", "plan": "pro"});
    let cases = [
        ("plain", json!(true), "on", "STATIC"),
        ("everyone", json!(true), "on", "TARGETING_MATCH"),
        ("by-plan", json!(true), "on", "TARGETING_MATCH"),
        ("greeting", json!("Good day"), "formal", "STATIC"),
        ("ratio", json!(1.0), "one", "TARGETING_MATCH"),
        ("limit", json!(10), "ten", "STATIC"),
    ];
    for (key, value, variant, reason) in cases {
        let body = evaluate(&c, key, user.clone()).await.expect(200).json();
        assert_eq!(
            body,
            json!({"key": key, "value": value, "variant": variant, "reason": reason}),
            "{key}"
        );
    }
    // A JSON flag serves an object; a split says SPLIT.
    let theme = evaluate(&c, "theme", user.clone()).await.expect(200).json();
    assert_eq!(theme["key"], "theme");
    assert_eq!(theme["reason"], "SPLIT");
    let expected = match theme["variant"].as_str().unwrap() {
        "dark" => json!({"mode": "dark", "contrast": 1.5, "steps": [1, 2]}),
        "light" => json!({"mode": "light", "contrast": 1.0, "steps": []}),
        other => panic!("unexpected variant {other}"),
    };
    assert_eq!(theme["value"], expected);

    // A boolean flag no rule matches is off; a non-boolean flag serving no variant serves
    // its off variant (the first variant unless the environment names one).
    let free = evaluate(&c, "by-plan", json!({"targetingKey": "u2", "plan": "free"}))
        .await
        .expect(200)
        .json();
    assert_eq!(
        free,
        json!({"key": "by-plan", "value": false, "variant": "off", "reason": "DEFAULT"})
    );
    let unset = evaluate(&c, "greeting-unset", user.clone())
        .await
        .expect(200)
        .json();
    assert_eq!(
        unset,
        json!({"key": "greeting-unset", "value": "Good day", "variant": "formal", "reason": "STATIC"})
    );
    let no_match = evaluate(&c, "ratio", json!({"targetingKey": "u2"}))
        .await
        .expect(200)
        .json();
    assert_eq!(
        no_match,
        json!({"key": "ratio", "value": 1.0, "variant": "one", "reason": "DEFAULT"})
    );
    // A typed flag without variants has no value at all: a GENERAL error that says so.
    let bare = evaluate(&c, "bare-string", user.clone()).await;
    assert_error(bare, 400, Some("bare-string"), "GENERAL");
}

#[tokio::test]
async fn numbers_keep_their_json_type() {
    let c = server().await;
    let ctx = json!({"targetingKey": "u1", "plan": "pro"});
    let float = evaluate(&c, "ratio", ctx.clone()).await.expect(200).text();
    assert!(
        float.contains(r#""value":1.0"#),
        "a float stays a float: {float}"
    );
    let integer = evaluate(&c, "limit", ctx.clone()).await.expect(200).text();
    assert!(
        integer.contains(r#""value":10,"#),
        "an integer stays an integer: {integer}"
    );
    let object = evaluate(&c, "theme", ctx.clone()).await.expect(200).text();
    assert!(
        object.contains(r#""contrast":1.5"#) || object.contains(r#""contrast":1.0"#),
        "floats inside objects keep their decimal point: {object}"
    );
    // The bulk answer serializes the same values the same way.
    let all = bulk(&c, ctx, &[]).await.expect(200).text();
    assert!(all.contains(r#""value":1.0"#), "{all}");
    assert!(all.contains(r#""value":10,"#), "{all}");
}

#[tokio::test]
async fn percent_encoded_keys_are_decoded() {
    let c = Harness::new().await;
    let on = json!({"production": {"enabled": true}});
    c.import(
        &json!({"flags": {"new.ui": {"environments": on}, "cafe-menu": {"environments": on}}}),
    )
    .await;
    for (path, key) in [("new%2Eui", "new.ui"), ("cafe%2Dmenu", "cafe-menu")] {
        let body = evaluate(&c, path, json!({"targetingKey": "u1"}))
            .await
            .expect(200)
            .json();
        assert_eq!(body["key"], key, "{path}");
        assert_eq!(body["value"], true, "{path}");
    }
    let missing = evaluate(&c, "new%20ux", json!({"targetingKey": "u1"})).await;
    assert_error(missing, 404, Some("new ux"), "FLAG_NOT_FOUND");
    let other = evaluate(&c, "caf%C3%A9%2Fmenu", json!({"targetingKey": "u1"})).await;
    assert_error(other, 404, Some("café/menu"), "FLAG_NOT_FOUND");
}

#[tokio::test]
async fn the_targeting_key_is_required_only_where_targeting_needs_it() {
    let c = server().await;
    // Evaluation reaches a rollout or split whose outcome the user id would decide: a
    // partial rollout, a flag depending on one, a split between variants.
    let needs = ["rollout", "needs-rollout", "theme", "beta-first"];
    for key in needs {
        let reply = evaluate(&c, key, json!({"plan": "pro"})).await;
        assert_error(reply, 400, Some(key), "TARGETING_KEY_MISSING");
    }
    // A rollout with default stickiness falls back on the session id.
    evaluate(&c, "rollout", json!({"sessionId": "s1"}))
        .await
        .expect(200);
    // An earlier rule decides without the key.
    let beta = evaluate(&c, "beta-first", json!({"beta": true}))
        .await
        .expect(200)
        .json();
    assert_eq!(
        beta,
        json!({"key": "beta-first", "value": true, "variant": "on", "reason": "TARGETING_MATCH"})
    );
    // Flags whose answer does not depend on the key: a 100% rollout, a condition on
    // userId (false without one), targeting on other attributes, or off.
    for key in [
        "plain", "everyone", "by-user", "by-plan", "greeting", "limit", "off",
    ] {
        evaluate(&c, key, json!({"plan": "pro"})).await.expect(200);
    }
    // In bulk, each flag that needs it fails alone.
    let all = bulk(&c, json!({}), &[]).await.expect(200).json();
    for flag in all["flags"].as_array().unwrap() {
        let key = flag["key"].as_str().unwrap();
        let code = if needs.contains(&key) {
            Some("TARGETING_KEY_MISSING")
        } else if key == "bare-string" {
            Some("GENERAL")
        } else {
            None
        };
        assert_eq!(
            flag.get("errorCode").and_then(Value::as_str),
            code,
            "{flag}"
        );
        assert_eq!(flag.get("value").is_none(), code.is_some(), "{flag}");
    }
}

#[tokio::test]
async fn unknown_flags_are_404_flag_not_found() {
    let c = server().await;
    let reply = evaluate(&c, "nope", json!({"targetingKey": "u1"})).await;
    assert_error(reply, 404, Some("nope"), "FLAG_NOT_FOUND");
}

#[tokio::test]
async fn bad_requests_are_400_with_an_error_code() {
    let c = server().await;
    let single = "/ofrep/v1/evaluate/flags/plain";
    let bulk_uri = "/ofrep/v1/evaluate/flags";
    let json_type = Some("application/json");
    let cases: [(&str, Option<&str>, &str); 8] = [
        (
            r#"{"context": {"targetingKey": "u1""#,
            json_type,
            "PARSE_ERROR",
        ),
        ("not json", json_type, "PARSE_ERROR"),
        ("", json_type, "PARSE_ERROR"),
        (
            r#"{"context": {"targetingKey": "u1"}}"#,
            Some("text/plain"),
            "PARSE_ERROR",
        ),
        (
            r#"{"context": {"targetingKey": "u1"}}"#,
            None,
            "PARSE_ERROR",
        ),
        ("{}", json_type, "INVALID_CONTEXT"),
        (r#"{"targetingKey": "u1"}"#, json_type, "INVALID_CONTEXT"),
        (r#"{"context": "u1"}"#, json_type, "INVALID_CONTEXT"),
    ];
    // Attributes that are arrays or objects are well-formed: missing for conditions.
    c.post_raw(
        single,
        json_type,
        r#"{"context": {"plan": {"nested": true}, "groups": ["a"], "properties": [1]}}"#,
    )
    .await
    .expect(200);
    for content_type in [
        "application/json; charset=utf-8",
        "application/vnd.api+json",
    ] {
        c.post_raw(single, Some(content_type), r#"{"context": {}}"#)
            .await
            .expect(200);
    }
    for (body, content_type, code) in cases {
        let reply = c.post_raw(single, content_type, body).await;
        assert_error(reply, 400, Some("plain"), code);
        // The bulk failure has no key (`bulkEvaluationFailure`).
        let reply = c.post_raw(bulk_uri, content_type, body).await;
        assert_error(reply, 400, None, code);
    }
}

#[tokio::test]
async fn disabled_flags_say_disabled() {
    let c = server().await;
    let ctx = json!({"targetingKey": "u1"});
    let off = evaluate(&c, "off", ctx.clone()).await.expect(200).json();
    assert_eq!(
        off,
        json!({"key": "off", "value": false, "variant": "off", "reason": "DISABLED"})
    );
    let string_off = evaluate(&c, "greeting-off", ctx).await.expect(200).json();
    assert_eq!(
        string_off,
        json!({"key": "greeting-off", "value": "Good day", "variant": "formal", "reason": "DISABLED"})
    );
}

#[tokio::test]
async fn bulk_returns_every_flag_with_an_etag_and_304_when_unchanged() {
    let c = server().await;
    let ctx = json!({"targetingKey": "u1", "plan": "pro"});
    let first = bulk(&c, ctx.clone(), &[]).await.expect(200);
    let etag = first.header("etag").to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert!(first.header("content-type").starts_with("application/json"));
    let body = first.json();
    let keys: Vec<&str> = texts(&body["flags"], "key");
    let published = c.state.published();
    let all: Vec<&str> = published.live_keys().collect();
    assert_eq!(keys, all);
    // Each entry is what the single evaluation says.
    for flag in body["flags"].as_array().unwrap() {
        let key = flag["key"].as_str().unwrap();
        let status = if flag.get("errorCode").is_some() {
            400
        } else {
            200
        };
        let single = evaluate(&c, key, ctx.clone()).await.expect(status).json();
        assert_eq!(flag, &single, "{key}");
    }

    let again = bulk(&c, ctx.clone(), &[("if-none-match", &etag)]).await;
    let again = again.expect(304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), etag);
    // If-None-Match compares weakly (RFC 9110 13.1.2), and takes a list.
    let weak = format!("W/{etag}");
    let listed = format!("\"stale\", {etag}");
    for tag in [weak.as_str(), listed.as_str(), "*"] {
        bulk(&c, ctx.clone(), &[("if-none-match", tag)])
            .await
            .expect(304);
    }
    // Another context's answers are another entity.
    let other = bulk(
        &c,
        json!({"targetingKey": "u2", "plan": "free"}),
        &[("if-none-match", &etag)],
    )
    .await
    .expect(200);
    assert_ne!(other.header("etag"), etag);

    // A flag changes: the old ETag no longer matches, and the answer shows the change.
    c.import(&json!({"flags": {"plain": {"environments": {"production": {"enabled": false}}}}}))
        .await;
    let changed = bulk(&c, ctx.clone(), &[("if-none-match", &etag)])
        .await
        .expect(200);
    let new_etag = changed.header("etag").to_string();
    assert_ne!(new_etag, etag);
    let plain = changed.json()["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "plain")
        .cloned()
        .unwrap();
    assert_eq!(plain["reason"], "DISABLED");
    bulk(&c, ctx, &[("if-none-match", &new_etag)])
        .await
        .expect(304);
}
