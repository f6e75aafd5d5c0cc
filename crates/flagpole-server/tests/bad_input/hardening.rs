//! The bad-input table's cases for what requests and documents may contain and cost
//! (issue 12): document and context limits, body sizes on every surface, names,
//! duplicate keys and parameters, content types of imports, and readable messages.

use axum::http::Method;
use serde_json::{json, Value};

use super::{case, rule_with, Case, OFREP, SEED};

fn condition(i: usize) -> Value {
    json!({"attribute": format!("a{i}"), "operator": "IN", "values": ["x"]})
}

fn regex(i: usize) -> Value {
    json!({"attribute": format!("a{i}"), "operator": "REGEX", "value": "^[a-z]+$"})
}

/// A metrics report naming `flags` flags, each with `variants` variants.
fn report(flags: usize, variants: usize) -> Value {
    let variants: serde_json::Map<String, Value> =
        (0..variants).map(|i| (format!("v{i}"), json!(1))).collect();
    let toggles: serde_json::Map<String, Value> = (0..flags)
        .map(|i| {
            (
                format!("ghost{i}"),
                json!({"yes": 1, "no": 0, "variants": variants}),
            )
        })
        .collect();
    json!({"appName": "a", "instanceId": "i", "bucket": {"start": "2026-01-01T00:00:00Z", "stop": "2026-01-01T00:01:00Z", "toggles": toggles}})
}

/// A context with `n` distinct properties.
fn many_properties(n: usize) -> Value {
    let map: serde_json::Map<String, Value> = (0..n).map(|i| (format!("p{i}"), json!(i))).collect();
    Value::Object(map)
}

pub fn cases() -> Vec<Case> {
    use Method as M;
    let flags = "/api/v1/flags";
    let rules = "/api/v1/flags/checkout/environments/production/rules";
    let evaluate = "/api/v1/environments/production/evaluate/checkout";
    let ofrep = "/ofrep/v1/evaluate/flags/checkout";
    let metrics = "/api/client/metrics";
    let big_context = format!(r#"{{"userId": "u", "pad": "{}"}}"#, "x".repeat(70_000));
    let ofrep_big = format!(r#"{{"context": {big_context}}}"#);
    let deep_yaml = format!("{}{}", "[".repeat(40_000), "]".repeat(40_000));
    let deep_json = format!(
        r#"{{"key": "x", "variants": [{{"name": "v", "value": {}{}}}]}}"#,
        "[".repeat(40_000),
        "]".repeat(40_000)
    );
    let deep_context = format!(r#"{{"p": {}{}}}"#, "[".repeat(30_000), "]".repeat(30_000));
    let eleven_regex_flags: serde_json::Map<String, Value> = (0..11)
        .map(|f| {
            let conditions: Vec<Value> = (0..10).map(regex).collect();
            (
                format!("re{f}"),
                json!({"environments": {"production": {"enabled": true, "rules": [{"conditions": conditions}]}}}),
            )
        })
        .collect();
    let frontend_query: String = (0..300)
        .map(|i| format!("p{i}=1"))
        .collect::<Vec<_>>()
        .join("&");
    vec![
        // What a document may cost: each count refused with a 422 naming the limit.
        case("conditions per rule", M::PUT, rules)
            .json(json!({"version": 1, "rules": [{"conditions": (0..51).map(condition).collect::<Vec<_>>()}]}))
            .expect(422, "validation_failed", "51 conditions in a rule; at most 50 allowed (limit MAX_CONDITIONS)"),
        case("rules per environment", M::PUT, rules)
            .json(json!({"version": 1, "rules": vec![json!({"rollout": 5}); 101]}))
            .expect(422, "validation_failed", "limit MAX_RULES_PER_ENVIRONMENT"),
        case("values per condition", M::PUT, rules)
            .json(rule_with(json!({"attribute": "userId", "operator": "IN", "values": (0..1001).map(|i| i.to_string()).collect::<Vec<_>>()})))
            .expect(422, "validation_failed", "limit MAX_VALUES_PER_CONDITION"),
        case("condition value too long", M::PUT, rules)
            .json(rule_with(json!({"attribute": "email", "operator": "STR_ENDS_WITH", "values": ["x".repeat(1025)]})))
            .expect(422, "validation_failed", "limit MAX_VALUE_LEN"),
        case("regexes per flag", M::PUT, rules)
            .json(json!({"version": 1, "rules": [{"conditions": (0..11).map(regex).collect::<Vec<_>>()}]}))
            .expect(422, "validation_failed", "11 REGEX conditions in one flag; at most 10 allowed (limit MAX_REGEXES_PER_FLAG)"),
        case("regex that compiles large (\\w{20})", M::PUT, rules)
            .json(rule_with(json!({"attribute": "email", "operator": "REGEX", "value": "\\w{20}"})))
            .expect(422, "validation_failed", "limit MAX_REGEX_SIZE"),
        case("regexes per document", M::POST, "/api/v1/import")
            .json(json!({"flags": eleven_regex_flags}))
            .expect(422, "validation_failed", "110 REGEX conditions in a document; at most 100 allowed (limit MAX_REGEXES)"),
        case("segments per rule", M::PUT, rules)
            .json(json!({"version": 1, "rules": [{"segments": vec!["beta"; 21]}]}))
            .expect(422, "validation_failed", "limit MAX_SEGMENTS_PER_RULE"),
        case("variants per flag", M::POST, flags)
            .json(json!({"key": "many", "type": "string", "variants": (0..101).map(|i| json!({"name": format!("v{i}"), "value": "x"})).collect::<Vec<_>>()}))
            .expect(422, "validation_failed", "limit MAX_VARIANTS"),
        case("conditions per segment", M::POST, "/api/v1/segments")
            .json(json!({"name": "wide", "conditions": (0..51).map(condition).collect::<Vec<_>>()}))
            .expect(422, "validation_failed", "51 conditions in a segment"),
        // Names: URL-safe ASCII, refused with the reason.
        case("key with a slash", M::POST, flags)
            .json(json!({"key": "a/b"}))
            .expect(422, "validation_failed", "contains '/'"),
        case("key that is ..", M::POST, flags)
            .json(json!({"key": ".."}))
            .expect(422, "validation_failed", "must start with a letter or a digit"),
        case("key with a right-to-left override", M::POST, flags)
            .json(json!({"key": "new\u{202e}ui"}))
            .expect(422, "validation_failed", "U+202E"),
        case("key with a zero-width space", M::POST, flags)
            .json(json!({"key": "new\u{200b}ui"}))
            .expect(422, "validation_failed", "U+200B"),
        case("key with a decomposed accent (a normalisation twin)", M::POST, flags)
            .json(json!({"key": "cafe\u{301}"}))
            .expect(422, "validation_failed", "U+0301"),
        case("key differing from another only in case", M::POST, flags)
            .json(json!({"key": "Checkout"}))
            .expect(422, "validation_failed", "differs from \"checkout\" only in case"),
        case("segment name differing only in case", M::POST, "/api/v1/segments")
            .json(json!({"name": "BETA"}))
            .expect(422, "validation_failed", "only in case"),
        case("environment name differing only in case", M::POST, "/api/v1/environments")
            .json(json!({"name": "Production"}))
            .expect(422, "validation_failed", "only in case"),
        case("environment name with a slash", M::POST, "/api/v1/environments")
            .json(json!({"name": "eu/west"}))
            .expect(422, "validation_failed", "contains '/'"),
        case("imported flag key with a space", M::POST, "/api/v1/import")
            .json(json!({"flags": {"new ui": {}}}))
            .expect(422, "validation_failed", "flags.new ui: flag key \"new ui\" contains ' '"),
        case("imported segment name with a zero-width joiner", M::POST, "/api/v1/import")
            .json(json!({"segments": {"be\u{200d}ta": {}}, "flags": {}}))
            .expect(422, "validation_failed", "U+200D"),
        case("two new keys differing only in case", M::POST, "/api/v1/import")
            .json(json!({"flags": {"beta_ui": {}, "Beta_UI": {}}}))
            .expect(422, "validation_failed", "\"Beta_UI\" differs from \"beta_ui\" only in case"),
        case("seed flag name with %2F", M::POST, "/flags/a%2Fb?enabled=true")
            .expect(422, SEED, "contains '/'"),
        case("seed flag name ..", M::POST, "/flags/%2E%2E?enabled=true")
            .expect(422, SEED, "must start with a letter or a digit"),
        case("seed flag name with a right-to-left override", M::POST, "/flags/new%E2%80%AEui?enabled=true")
            .expect(422, SEED, "U+202E"),
        case("seed flag name differing only in case", M::POST, "/flags/NEW_UI?enabled=true")
            .expect(422, SEED, "only in case"),
        // Keys given twice, in bodies and queries: 400 duplicate_key everywhere.
        case("duplicate key in a JSON body", M::POST, flags)
            .raw(Some("application/json"), r#"{"key": "x", "key": "y"}"#)
            .expect(400, "duplicate_key", "the key \"key\" is given twice"),
        case("duplicate environment in a JSON body", M::POST, flags)
            .raw(Some("application/json"), r#"{"key": "x", "environments": {"production": {"enabled": true}, "production": {}}}"#)
            .expect(400, "duplicate_key", "JSON at environments: the key \"production\" is given twice"),
        case("duplicate flag in a YAML import", M::POST, "/api/v1/import")
            .raw(Some("application/yaml"), "flags:\n  x: {}\n  x: {}\n")
            .expect(400, "duplicate_key", "YAML at flags: the key \"x\" is given twice"),
        case("duplicate key in an Unleash import", M::POST, "/api/v1/import?format=unleash")
            .raw(Some("application/json"), r#"{"features": [], "features": []}"#)
            .expect(400, "duplicate_key", "Unleash JSON at .: the key \"features\" is given twice"),
        case("duplicate key in a context", M::POST, evaluate)
            .raw(Some("application/json"), r#"{"userId": "a", "userId": "b"}"#)
            .expect(400, "duplicate_key", "\"userId\" is given twice"),
        case("duplicate key in an OFREP context", M::POST, ofrep)
            .raw(Some("application/json"), r#"{"context": {"targetingKey": "a", "targetingKey": "b"}}"#)
            .expect(400, OFREP, "INVALID_CONTEXT:\"targetingKey\" is given twice"),
        case("repeated query parameter", M::GET, "/api/v1/audit?limit=1&limit=2")
            .expect(400, "duplicate_key", "query parameter \"limit\" is given twice"),
        case("repeated import format", M::POST, "/api/v1/import?format=seed&format=native")
            .raw(Some("application/json"), "{}")
            .expect(400, "duplicate_key", "\"format\" is given twice"),
        case("repeated frontend context parameter", M::GET, "/api/frontend?userId=a&userId=b")
            .expect(400, "duplicate_key", "\"userId\" is given twice"),
        case("seed repeated enabled", M::POST, "/flags/new_ui?enabled=true&enabled=false")
            .expect(400, SEED, "is given twice"),
        // Contexts: bounded, with a 4xx naming the limit.
        case("context with too many properties", M::POST, evaluate)
            .json(many_properties(257))
            .expect(400, "invalid_context", "limit MAX_CONTEXT_PROPERTIES"),
        case("context with too many Unleash properties", M::POST, evaluate)
            .json(json!({"userId": "u", "properties": many_properties(257)}))
            .expect(400, "invalid_context", "limit MAX_CONTEXT_PROPERTIES"),
        case("context attribute value too long", M::POST, evaluate)
            .json(json!({"userId": "x".repeat(4097)}))
            .expect(400, "invalid_context", "limit MAX_ATTRIBUTE_VALUE_LEN"),
        case("context attribute name too long", M::POST, evaluate)
            .json(json!({"k".repeat(257): 1}))
            .expect(400, "invalid_context", "limit MAX_ATTRIBUTE_NAME_LEN"),
        case("context nested 30,000 deep", M::POST, evaluate)
            .raw(Some("application/json"), deep_context)
            .expect(400, "too_deep", "limit MAX_DEPTH"),
        case("OFREP context with too many properties", M::POST, ofrep)
            .json(json!({"context": many_properties(257)}))
            .expect(400, OFREP, "INVALID_CONTEXT:limit MAX_CONTEXT_PROPERTIES"),
        case("frontend context with too many properties", M::POST, "/api/frontend")
            .json(json!({"context": many_properties(257)}))
            .expect(400, "invalid_context", "limit MAX_CONTEXT_PROPERTIES"),
        case("frontend query with too many properties", M::GET, format!("/api/frontend?{frontend_query}"))
            .expect(400, "invalid_context", "limit MAX_CONTEXT_PROPERTIES"),
        // Bodies sized for what they carry, refused with a JSON 413 on every surface.
        case("evaluation body beyond 64 KiB", M::POST, evaluate)
            .raw(Some("application/json"), big_context.clone())
            .expect(413, "payload_too_large", "larger than 65536 bytes"),
        case("OFREP body beyond 64 KiB", M::POST, ofrep)
            .raw(Some("application/json"), ofrep_big.clone())
            .expect(413, "payload_too_large", "larger than 65536 bytes"),
        case("OFREP bulk body beyond 64 KiB", M::POST, "/ofrep/v1/evaluate/flags")
            .raw(Some("application/json"), ofrep_big)
            .expect(413, "payload_too_large", "larger than 65536 bytes"),
        case("frontend body beyond 64 KiB", M::POST, "/api/frontend")
            .raw(Some("application/json"), big_context.clone())
            .expect(413, "payload_too_large", "larger than 65536 bytes"),
        case("registration beyond 64 KiB", M::POST, "/api/client/register")
            .raw(Some("application/json"), big_context)
            .expect(413, "payload_too_large", "larger than 65536 bytes"),
        case("metrics beyond 256 KiB", M::POST, metrics)
            .raw(Some("application/json"), format!(r#"{{"pad": "{}"}}"#, "x".repeat(300_000)))
            .expect(413, "payload_too_large", "larger than 262144 bytes"),
        // Metrics reports: bounded flags, variants and names.
        case("metrics naming too many flags", M::POST, metrics)
            .json(report(1001, 0))
            .expect(422, "validation_failed", "1001 flags in one report; at most 1000 allowed (limit MAX_REPORT_FLAGS)"),
        case("metrics naming too many variants", M::POST, metrics)
            .json(report(1, 101))
            .expect(422, "validation_failed", "limit MAX_REPORT_VARIANTS"),
        case("metrics with a NUL in a flag name", M::POST, metrics)
            .json(json!({"bucket": {"toggles": {"a\u{0}b": {"yes": 1}}}}))
            .expect(422, "validation_failed", "control characters"),
        // Write bodies only with a content type a cross-site form cannot send.
        case("metrics as text/plain", M::POST, metrics)
            .raw(Some("text/plain"), report(1, 0).to_string())
            .expect(415, "unsupported_media_type", "application/json"),
        case("registration as a form", M::POST, "/api/client/register")
            .raw(Some("application/x-www-form-urlencoded"), "appName=x")
            .expect(415, "unsupported_media_type", "application/json"),
        case("import as text/plain", M::POST, "/api/v1/import")
            .raw(Some("text/plain"), "flags: {x: {}}\n")
            .expect(415, "unsupported_media_type", "JSON or YAML"),
        case("import as a form", M::POST, "/api/v1/import")
            .raw(Some("application/x-www-form-urlencoded"), "flags=x")
            .expect(415, "unsupported_media_type", "JSON or YAML"),
        case("import without a content type", M::POST, "/api/v1/import")
            .raw(None, "{}")
            .expect(415, "unsupported_media_type", "JSON or YAML"),
        // Depth refused early, in linear time.
        case("YAML nested 40,000 deep", M::POST, "/api/v1/import")
            .raw(Some("application/yaml"), deep_yaml)
            .expect(400, "too_deep", "YAML nested more than 64 levels deep (limit MAX_DEPTH)"),
        case("JSON nested 40,000 deep", M::POST, flags)
            .raw(Some("application/json"), deep_json)
            .expect(400, "too_deep", "limit MAX_DEPTH"),
        // Messages that name the field and what was expected.
        case("Unleash import with features as a number", M::POST, "/api/v1/import?format=unleash")
            .json(json!({"features": 5}))
            .expect(400, "invalid_body", "Unleash JSON at features: invalid type: integer `5`, expected a sequence"),
        case("Unleash import of a feature without a name", M::POST, "/api/v1/import?format=unleash")
            .json(json!({"features": [{"enabled": true}]}))
            .expect(400, "invalid_body", "features[0]: missing field `name`"),
        case("Unleash import that is a list", M::POST, "/api/v1/import?format=unleash")
            .json(json!([]))
            .expect(400, "invalid_body", "expected an object: ClientFeatures"),
        case("Unleash delta events that are not a list", M::POST, "/api/v1/import?format=unleash")
            .json(json!({"events": {}}))
            .expect(400, "invalid_body", "Unleash JSON at events: invalid type: map, expected a sequence"),
    ]
}
