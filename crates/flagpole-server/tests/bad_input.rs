//! Bad input, as a table: every case gets a 4xx (never a 5xx), a JSON error naming what
//! is wrong (`{code, message, field?}`, or `{"detail": …}` on the seed API), and writes
//! nothing: the stored configuration version, the audit log, the published snapshot and
//! the exported document are the same before and after.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "bad_input/hardening.rs"]
mod hardening;

use axum::http::Method;
use common::{long, Harness, Payload};
use serde_json::{json, Value};

/// One bad request and what it must get.
struct Case {
    name: &'static str,
    method: Method,
    uri: String,
    headers: Vec<(&'static str, &'static str)>,
    body: Payload,
    status: u16,
    /// The error's `code`; [`SEED`] for the seed API's `{"detail": …}`.
    code: &'static str,
    /// A piece of the message (of `detail`, for the seed API).
    message: &'static str,
}

/// The code of seed API errors, which have FastAPI's `{"detail": …}` shape instead.
const SEED: &str = "detail";
/// The code of OFREP errors (`{errorCode, errorDetails}`); their message is written
/// `ERROR_CODE:piece of the details`.
const OFREP: &str = "ofrep";

fn case(name: &'static str, method: Method, uri: impl Into<String>) -> Case {
    Case {
        name,
        method,
        uri: uri.into(),
        headers: Vec::new(),
        body: Payload::Empty,
        status: 0,
        code: "",
        message: "",
    }
}

impl Case {
    fn json(mut self, v: Value) -> Case {
        self.body = Payload::Json(v);
        self
    }
    fn raw(mut self, content_type: Option<&'static str>, bytes: impl Into<Vec<u8>>) -> Case {
        self.body = Payload::raw(content_type, bytes);
        self
    }
    fn header(mut self, name: &'static str, value: &'static str) -> Case {
        self.headers.push((name, value));
        self
    }
    fn expect(mut self, status: u16, code: &'static str, message: &'static str) -> Case {
        self.status = status;
        self.code = code;
        self.message = message;
        self
    }
}

/// Sends one case and returns what is wrong with the answer, if anything.
async fn check(h: &Harness, c: &Case) -> Option<String> {
    let before = h.fingerprint().await;
    let reply = h
        .send(c.method.clone(), &c.uri, &c.headers, c.body.clone())
        .await;
    let after = h.fingerprint().await;
    let mut wrong = Vec::new();
    if reply.status.as_u16() != c.status {
        wrong.push(format!("status {} (expected {})", reply.status, c.status));
    }
    if reply.status.is_server_error() {
        wrong.push("a server error on input is a bug".into());
    }
    match serde_json::from_slice::<Value>(&reply.body) {
        Err(_) => wrong.push("the body is not JSON".into()),
        Ok(body) if c.code == SEED => {
            let detail = body.get("detail").map(Value::to_string).unwrap_or_default();
            if body.get("code").is_some() || !detail.contains(c.message) {
                wrong.push(format!("expected {{\"detail\": …{:?}…}}", c.message));
            }
        }
        Ok(body) if c.code == OFREP => {
            let (code, details) = c.message.split_once(':').unwrap_or((c.message, ""));
            let got = body["errorDetails"].as_str().unwrap_or_default();
            if body["errorCode"] != code || !got.contains(details) {
                wrong.push(format!(
                    "expected errorCode {code} and details with {details:?}"
                ));
            }
        }
        Ok(body) => {
            if body["code"] != c.code {
                wrong.push(format!("code {} (expected {:?})", body["code"], c.code));
            }
            let message = body["message"].as_str().unwrap_or_default();
            if !message.contains(c.message) {
                wrong.push(format!("message lacks {:?}", c.message));
            }
            if let Some(field) = body.get("field") {
                if !field.is_string() {
                    wrong.push("field is not a string".into());
                }
            }
        }
    }
    if after != before {
        wrong.push("it wrote something".into());
    }
    (!wrong.is_empty()).then(|| {
        format!(
            "{}: {}\n    {} {} -> {} {}",
            c.name,
            wrong.join("; "),
            c.method,
            c.uri.chars().take(120).collect::<String>(),
            reply.status,
            reply.text().chars().take(300).collect::<String>()
        )
    })
}

/// Flags and a segment for the cases to trip over, every one at version 1.
async fn fixture() -> Harness {
    let h = Harness::new().await;
    h.seed_rollout("new_ui", 25).await;
    h.create_flag(json!({
        "key": "checkout",
        "type": "string",
        "variants": [{"name": "control", "value": "#000"}, {"name": "blue", "value": "#00f"}],
        "environments": {"production": {"enabled": true}}
    }))
    .await;
    h.create_flag(json!({"key": "a", "environments": {"production": {"enabled": true}}}))
        .await;
    h.create_flag(json!({"key": "b", "environments": {"production": {"enabled": true, "depends_on": [{"flag": "a"}]}}}))
        .await;
    h.create_segment(
        json!({"name": "beta", "conditions": [{"attribute": "beta", "operator": "IN", "values": ["true"]}]}),
    )
    .await;
    h.create_flag(json!({
        "key": "targeted",
        "environments": {"production": {"enabled": true, "rules": [{"segments": ["beta"]}]}}
    }))
    .await;
    h
}

/// A rules update on `checkout` with one condition.
fn rule_with(condition: Value) -> Value {
    json!({"version": 1, "rules": [{"conditions": [condition]}]})
}

fn cases() -> Vec<Case> {
    use Method as M;
    let flags = "/api/v1/flags";
    let rules = "/api/v1/flags/checkout/environments/production/rules";
    let huge = format!(
        r#"{{"key": "big", "description": "{}"}}"#,
        "x".repeat(2 << 20)
    );
    let nested = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    let huge_import = format!(r#"{{"flags": {{}}, "x": "{}"}}"#, "x".repeat(11 << 20));
    let json_flag =
        "flags:\n  x:\n    type: json\n    variants:\n      - name: v\n        value:\n";
    let deep_yaml = format!(
        "{json_flag}          {}{}\n",
        "[".repeat(1000),
        "]".repeat(1000)
    );
    let mut laughs =
        format!("{json_flag}          a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .into_iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        let refs = vec![format!("*{prev}"); 9].join(", ");
        laughs.push_str(&format!("          {name}: &{name} [{refs}]\n"));
    }
    vec![
        // Bodies that are not what they claim.
        case("malformed JSON", M::POST, flags)
            .raw(Some("application/json"), r#"{"key": "x","#)
            .expect(400, "invalid_json", "not valid JSON"),
        case("JSON that is not UTF-8", M::POST, flags)
            .raw(Some("application/json"), b"{\"key\": \"\xff\"}".to_vec())
            .expect(400, "invalid_json", "not valid JSON"),
        case("trailing garbage after JSON", M::POST, flags)
            .raw(Some("application/json"), r#"{"key": "x"} {}"#)
            .expect(400, "invalid_json", "trailing characters"),
        case("JSON nested too deep", M::POST, flags)
            .raw(Some("application/json"), nested)
            .expect(400, "too_deep", "more than 64 levels deep (limit MAX_DEPTH)"),
        case("body is an array", M::POST, flags)
            .json(json!([1, 2]))
            .expect(400, "invalid_body", "must be a JSON object"),
        case("wrong type: tags as a string", M::POST, flags)
            .json(json!({"key": "x", "tags": "ui"}))
            .expect(400, "invalid_body", "tags"),
        case("wrong type: key as a number", M::POST, flags)
            .json(json!({"key": 5}))
            .expect(400, "invalid_body", "key: must be a string"),
        case("wrong type: unknown flag type", M::POST, flags)
            .json(json!({"key": "x", "type": "integer"}))
            .expect(400, "invalid_body", "integer"),
        case("wrong type: fractional rollout", M::PUT, rules)
            .json(json!({"version": 1, "rules": [{"rollout": 25.5}]}))
            .expect(400, "invalid_body", "rules[0].rollout"),
        case("wrong type: version as a string", M::PUT, "/api/v1/flags/checkout")
            .json(json!({"version": "1"}))
            .expect(400, "invalid_body", "version: must be an integer"),
        case("unknown field (typo)", M::POST, flags)
            .json(json!({"key": "x", "enviroments": {}}))
            .expect(400, "invalid_body", "unknown field `enviroments`"),
        case("unknown field in a rule", M::PUT, rules)
            .json(json!({"version": 1, "rules": [{"rolout": 5}]}))
            .expect(400, "invalid_body", "unknown field `rolout`"),
        case("unknown field in an enable body", M::POST, "/api/v1/flags/checkout/environments/production/enable")
            .json(json!({"versoin": 1}))
            .expect(400, "invalid_body", "unknown field `versoin`"),
        case("huge body", M::POST, flags)
            .raw(Some("application/json"), huge)
            .expect(413, "payload_too_large", "larger than"),
        case("wrong content type", M::POST, flags)
            .raw(Some("text/plain"), r#"{"key": "x"}"#)
            .expect(415, "unsupported_media_type", "application/json"),
        case("no content type", M::POST, flags)
            .raw(None, r#"{"key": "x"}"#)
            .expect(415, "unsupported_media_type", "application/json"),
        case("wrong content type on an optional body", M::POST, "/api/v1/flags/checkout/environments/production/enable")
            .raw(Some("text/plain"), "please")
            .expect(415, "unsupported_media_type", "application/json"),
        // Keys.
        case("missing key", M::POST, flags)
            .json(json!({"description": "no key"}))
            .expect(400, "invalid_body", "needs a key"),
        case("overlong key", M::POST, flags)
            .json(json!({"key": long(101)}))
            .expect(422, "validation_failed", "at most 100"),
        case("empty key", M::POST, flags)
            .json(json!({"key": ""}))
            .expect(422, "validation_failed", "must not be empty"),
        case("key with control characters", M::POST, flags)
            .json(json!({"key": "new\nui"}))
            .expect(422, "validation_failed", "control characters"),
        case("key with surrounding spaces", M::POST, flags)
            .json(json!({"key": " new_ui"}))
            .expect(422, "validation_failed", "contains ' '"),
        case("duplicate key", M::POST, flags)
            .json(json!({"key": "checkout"}))
            .expect(409, "conflict", "already exists"),
        case("renaming through PUT", M::PUT, "/api/v1/flags/checkout")
            .json(json!({"version": 1, "key": "checkout2"}))
            .expect(400, "invalid_body", "cannot be renamed"),
        case("overlong segment name", M::POST, "/api/v1/segments")
            .json(json!({"name": long(300)}))
            .expect(422, "validation_failed", "at most 100"),
        case("invalid environment name", M::POST, "/api/v1/environments")
            .json(json!({"name": "prod uction"}))
            .expect(422, "validation_failed", "contains ' '"),
        case("environment without a name", M::POST, "/api/v1/environments")
            .json(json!({}))
            .expect(400, "invalid_body", "missing field `name`"),
        case("duplicate environment", M::POST, "/api/v1/environments")
            .json(json!({"name": "production"}))
            .expect(409, "conflict", "production"),
        case("flag in an unknown environment", M::POST, flags)
            .json(json!({"key": "x", "environments": {"staging": {"enabled": true}}}))
            .expect(400, "unknown_environment", "staging"),
        case("enable in an unknown environment", M::POST, "/api/v1/flags/checkout/environments/staging/enable")
            .expect(404, "not_found", "staging"),
        case("enable an unknown flag", M::POST, "/api/v1/flags/nope/environments/production/enable")
            .expect(404, "not_found", "nope"),
        // What the engine refuses.
        case("unknown operator", M::PUT, rules)
            .json(rule_with(json!({"attribute": "age", "operator": "GRATER_THAN", "value": "3"})))
            .expect(422, "validation_failed", "unknown operator \"GRATER_THAN\""),
        case("invalid regex", M::PUT, rules)
            .json(rule_with(json!({"attribute": "email", "operator": "REGEX", "value": "(unclosed"})))
            .expect(422, "validation_failed", "not a valid regular expression"),
        case("regex too big to compile", M::PUT, rules)
            .json(rule_with(json!({"attribute": "email", "operator": "REGEX", "value": "\\w{1000}{1000}"})))
            .expect(422, "validation_failed", "limit MAX_REGEX_SIZE"),
        case("invalid semver", M::PUT, rules)
            .json(rule_with(json!({"attribute": "appVersion", "operator": "SEMVER_GTE", "value": "two"})))
            .expect(422, "validation_failed", "not a semantic version"),
        case("invalid CIDR", M::PUT, rules)
            .json(rule_with(json!({"attribute": "remoteAddress", "operator": "IN_CIDR", "values": ["10.0.0.0/33"]})))
            .expect(422, "validation_failed", "not an IP address or CIDR range"),
        case("invalid date", M::PUT, rules)
            .json(rule_with(json!({"attribute": "currentTime", "operator": "DATE_AFTER", "value": "tomorrow"})))
            .expect(422, "validation_failed", "not an RFC 3339 date"),
        case("number operator on a word", M::PUT, rules)
            .json(rule_with(json!({"attribute": "age", "operator": "NUM_GT", "value": "ten"})))
            .expect(422, "validation_failed", "not a number"),
        case("case_insensitive on an exact operator", M::PUT, rules)
            .json(rule_with(json!({"attribute": "age", "operator": "NUM_EQ", "value": "3", "case_insensitive": true})))
            .expect(422, "validation_failed", "compares exactly"),
        case("list operator without values", M::PUT, rules)
            .json(rule_with(json!({"attribute": "plan", "operator": "IN"})))
            .expect(422, "validation_failed", "at least one value"),
        case("rollout 500 in a rule", M::PUT, rules)
            .json(json!({"version": 1, "rules": [{"rollout": 500}]}))
            .expect(422, "validation_failed", "rollout 500 is out of range"),
        case("rollout -1", M::PUT, "/api/v1/flags/checkout/environments/production/rollout")
            .json(json!({"rollout": -1}))
            .expect(422, "validation_failed", "rollout -1 is out of range"),
        case("rollout beyond i64", M::PUT, "/api/v1/flags/checkout/environments/production/rollout")
            .raw(Some("application/json"), r#"{"rollout": 99999999999999999999}"#)
            .expect(400, "invalid_body", "rollout"),
        case("rollout on targeting that is more than a rollout", M::PUT, "/api/v1/flags/targeted/environments/production/rollout")
            .json(json!({"rollout": 10}))
            .expect(409, "conflict", "PUT .../rules"),
        case("dependency cycle", M::PUT, "/api/v1/flags/a/environments/production")
            .json(json!({"version": 1, "enabled": true, "depends_on": [{"flag": "b"}]}))
            .expect(422, "validation_failed", "dependency cycle"),
        case("dependency on itself", M::PUT, "/api/v1/flags/a/environments/production")
            .json(json!({"version": 1, "enabled": true, "depends_on": [{"flag": "a"}]}))
            .expect(422, "validation_failed", "cannot depend on itself"),
        case("dependency on a missing flag", M::PUT, "/api/v1/flags/a/environments/production")
            .json(json!({"version": 1, "enabled": true, "depends_on": [{"flag": "ghost"}]}))
            .expect(422, "validation_failed", "not a flag"),
        case("deleting a flag others depend on", M::DELETE, "/api/v1/flags/a")
            .expect(422, "validation_failed", "\"a\""),
        case("archiving a flag others depend on", M::POST, "/api/v1/flags/a/archive")
            .expect(422, "validation_failed", "\"a\""),
        case("unknown segment", M::PUT, rules)
            .json(json!({"version": 1, "rules": [{"segments": ["gamma"]}]}))
            .expect(422, "validation_failed", "unknown segment \"gamma\""),
        case("unknown variant", M::PUT, "/api/v1/flags/checkout/environments/production/default")
            .json(json!({"version": 1, "default": {"variant": "green"}}))
            .expect(422, "validation_failed", "unknown variant \"green\""),
        case("split weights add up to 0", M::PUT, "/api/v1/flags/checkout/environments/production/default")
            .json(json!({"version": 1, "default": {"split": [{"variant": "control", "weight": 0}]}}))
            .expect(422, "validation_failed", "add up to 0"),
        case("variant value of the wrong type", M::POST, flags)
            .json(json!({"key": "n", "type": "number", "variants": [{"name": "ten", "value": "ten"}]}))
            .expect(422, "validation_failed", "is not a number"),
        case("segment with an unknown operator", M::POST, "/api/v1/segments")
            .json(json!({"name": "gamma", "conditions": [{"attribute": "x", "operator": "LIKE", "values": ["y"]}]}))
            .expect(422, "validation_failed", "unknown operator \"LIKE\""),
        case("deleting a segment in use", M::DELETE, "/api/v1/segments/beta")
            .expect(409, "conflict", "targeted"),
        // Optimistic concurrency.
        case("stale body version", M::PUT, "/api/v1/flags/checkout")
            .json(json!({"version": 0, "description": "lost update"}))
            .expect(409, "conflict", "has version 1, not 0"),
        case("stale If-Match", M::PUT, "/api/v1/flags/checkout")
            .header("if-match", "\"7\"")
            .json(json!({"description": "lost update"}))
            .expect(409, "conflict", "has version 1, not 7"),
        case("no version", M::PUT, "/api/v1/flags/checkout")
            .json(json!({"description": "blind write"}))
            .expect(428, "version_required", "version"),
        case("If-Match that is not a version", M::PUT, "/api/v1/flags/checkout")
            .header("if-match", "*")
            .json(json!({"description": "x"}))
            .expect(400, "invalid_header", "If-Match"),
        case("If-Match and body version disagree", M::PUT, "/api/v1/flags/checkout")
            .header("if-match", "\"1\"")
            .json(json!({"version": 0, "description": "x"}))
            .expect(400, "invalid_header", "If-Match says version 1 but the body says 0"),
        case("stale version on rules", M::PUT, rules)
            .json(json!({"version": 3, "rules": []}))
            .expect(409, "conflict", "has version 1, not 3"),
        case("stale version on a segment", M::PUT, "/api/v1/segments/beta")
            .json(json!({"version": 2, "conditions": []}))
            .expect(409, "conflict", "has version 1, not 2"),
        case("stale If-Match on delete", M::DELETE, "/api/v1/flags/checkout")
            .header("if-match", "2")
            .expect(409, "conflict", "has version 1, not 2"),
        case("stale version on enable", M::POST, "/api/v1/flags/checkout/environments/production/enable")
            .json(json!({"version": 5}))
            .expect(409, "conflict", "has version 1, not 5"),
        case("stale rollback", M::POST, "/api/v1/flags/checkout/rollback")
            .json(json!({"to_version": 1, "version": 4}))
            .expect(409, "conflict", "has version 1, not 4"),
        case("rollback to a version that never was", M::POST, "/api/v1/flags/checkout/rollback")
            .json(json!({"to_version": 9, "version": 1}))
            .expect(404, "not_found", "checkout@9"),
        // Paths and queries.
        case("bad percent-encoding in a path", M::PUT, "/api/v1/flags/%FF%FE")
            .json(json!({"version": 1}))
            .expect(400, "invalid_path", "UTF-8"),
        case("version in a path that is not a number", M::GET, "/api/v1/flags/checkout/versions/latest")
            .expect(400, "invalid_path", "latest"),
        case("unknown query parameter", M::GET, "/api/v1/audit?flagg=checkout")
            .expect(400, "invalid_query", "unknown field `flagg`"),
        case("date that is not a date", M::GET, "/api/v1/audit?since=yesterday")
            .expect(400, "invalid_query", "since"),
        case("audit limit out of range", M::GET, "/api/v1/audit?limit=0")
            .expect(400, "invalid_query", "limit must be from 1 to 1000"),
        case("archived filter that is not one", M::GET, "/api/v1/flags?archived=maybe")
            .expect(400, "invalid_query", "archived must be true, false or only"),
        case("diff without from", M::GET, "/api/v1/flags/checkout/diff")
            .expect(400, "invalid_query", "missing field `from`"),
        case("diff from a word", M::GET, "/api/v1/flags/checkout/diff?from=first")
            .expect(400, "invalid_query", "from"),
        case("unknown route", M::GET, "/api/v2/flags")
            .expect(404, "not_found", "/api/v2/flags"),
        case("method not allowed", M::PATCH, "/api/v1/flags/checkout")
            .json(json!({"description": "x"}))
            .expect(405, "method_not_allowed", "PATCH"),
        // Imports.
        case("import in an unknown format", M::POST, "/api/v1/import?format=xml")
            .raw(Some("application/json"), "{}")
            .expect(400, "invalid_query", "xml"),
        case("import that is not UTF-8", M::POST, "/api/v1/import")
            .raw(Some("application/yaml"), b"flags: \xff".to_vec())
            .expect(400, "invalid_body", "UTF-8"),
        case("import of a malformed document", M::POST, "/api/v1/import")
            .raw(Some("application/json"), r#"{"flags": {"x": {"enabeld": true}}}"#)
            .expect(400, "invalid_body", "enabeld"),
        case("import of a seed file with rollout 500", M::POST, "/api/v1/import?format=seed")
            .raw(Some("application/json"), r#"{"new_ui": {"enabled": true, "rollout": 500}}"#)
            .expect(422, "validation_failed", "rollout 500 is out of range"),
        case("import into an unknown environment", M::POST, "/api/v1/import?format=seed&environment=staging")
            .raw(Some("application/json"), r#"{"new_ui": {"enabled": true}}"#)
            .expect(400, "unknown_environment", "staging"),
        case("import with a dependency cycle", M::POST, "/api/v1/import")
            .raw(Some("application/json"), r#"{"flags": {"a": {"environments": {"production": {"depends_on": [{"flag": "b"}]}}}}}"#)
            .expect(422, "validation_failed", "dependency cycle"),
        case("import of an unsupported format version", M::POST, "/api/v1/import")
            .raw(Some("application/yaml"), "version: 2\nflags: {}\n")
            .expect(422, "validation_failed", "unsupported version 2"),
        case("import of a flag using an unknown segment", M::POST, "/api/v1/import")
            .raw(Some("application/json"), r#"{"flags": {"x": {"environments": {"production": {"rules": [{"segments": ["gamma"]}]}}}}}"#)
            .expect(422, "validation_failed", "unknown segment \"gamma\""),
        case("import larger than ten times the body limit", M::POST, "/api/v1/import")
            .raw(Some("application/json"), huge_import)
            .expect(413, "payload_too_large", "larger than"),
        case("import nested too deep", M::POST, "/api/v1/import")
            .raw(Some("application/yaml"), deep_yaml)
            .expect(400, "too_deep", "more than 64 levels deep"),
        case("import that expands aliases exponentially", M::POST, "/api/v1/import")
            .raw(Some("application/yaml"), laughs)
            .expect(400, "invalid_body", "repetition limit"),
        // Evaluation contexts.
        case("context that is not an object", M::POST, "/api/v1/environments/production/evaluate/checkout")
            .json(json!([1]))
            .expect(400, "invalid_context", "must be a JSON object"),
        case("context that is a string", M::POST, "/api/v1/environments/production/evaluate")
            .json(json!("plan"))
            .expect(400, "invalid_context", "must be a JSON object"),
        // The seed API: refused with FastAPI's shape, nothing written (the seed wrote).
        case("seed rollout_percentage=500", M::POST, "/flags/new_ui?enabled=true&rollout_percentage=500")
            .expect(422, SEED, "between 0 and 100, not 500"),
        case("seed rollout_percentage=-1", M::POST, "/flags/new_ui?enabled=true&rollout_percentage=-1")
            .expect(422, SEED, "between 0 and 100, not -1"),
        case("seed rollout_percentage=abc", M::POST, "/flags/new_ui?enabled=true&rollout_percentage=abc")
            .expect(422, SEED, "valid integer"),
        case("seed rollout_percentage=25.5", M::POST, "/flags/new_ui?enabled=true&rollout_percentage=25.5")
            .expect(422, SEED, "valid integer"),
        case("seed rollout_percentage beyond i64", M::POST, "/flags/new_ui?enabled=true&rollout_percentage=99999999999999999999")
            .expect(422, SEED, "valid integer"),
        case("seed rollout_percentage empty", M::POST, "/flags/new_ui?enabled=true&rollout_percentage=")
            .expect(422, SEED, "valid integer"),
        case("seed enabled=maybe", M::POST, "/flags/new_ui?enabled=maybe")
            .expect(422, SEED, "valid boolean"),
        case("seed without enabled", M::POST, "/flags/new_ui?rollout_percentage=50")
            .expect(422, SEED, "Field required"),
        case("seed overlong flag name", M::POST, format!("/flags/{}?enabled=true", long(101)))
            .expect(422, SEED, "at most 100"),
        case("seed flag name with control characters", M::POST, "/flags/new%0Aui?enabled=true")
            .expect(422, SEED, "control characters"),
        case("seed write over targeting it cannot express", M::POST, "/flags/targeted?enabled=true")
            .expect(409, SEED, "cannot express"),
        case("seed write over a string flag", M::POST, "/flags/checkout?enabled=true")
            .expect(409, SEED, "cannot express"),
        case("seed method not allowed", M::PUT, "/flags/new_ui?enabled=false")
            .expect(405, SEED, "Method Not Allowed"),
        case("seed bad percent-encoding in a write", M::POST, "/flags/%FF?enabled=true")
            .expect(400, SEED, "UTF-8"),
        case("seed bad percent-encoding in a read", M::GET, "/flags/%C3%28?user_id=1")
            .expect(400, SEED, "UTF-8"),
    ]
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_writes_nothing() {
    let h = fixture().await;
    let mut cases = cases();
    cases.extend(hardening::cases());
    assert!(cases.len() >= 30, "the table has {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        if let Some(f) = check(&h, c).await {
            failures.push(f);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // The fixture is as it was: every flag still at version 1.
    let flags = h.get("/api/v1/flags").await.json();
    for f in flags["flags"].as_array().unwrap() {
        assert_eq!(f["version"], 1, "{}", f["key"]);
    }
}

/// The format readers refuse anything after the JSON value.
#[tokio::test]
async fn imports_refuse_trailing_garbage() {
    let h = fixture().await;
    let c = case(
        "seed import with trailing garbage",
        Method::POST,
        "/api/v1/import?format=seed",
    )
    .raw(
        Some("application/json"),
        r#"{"x": {"enabled": true}} trailing"#,
    )
    .expect(400, "invalid_body", "trailing characters");
    if let Some(f) = check(&h, &c).await {
        panic!("{f}");
    }
}
