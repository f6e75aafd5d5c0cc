//! The walker: every operation of the OpenAPI document the router is built with, tried
//! as every caller, each answer checked against the matrix, and every refusal checked to
//! have written nothing.

use axum::http::Method;
use serde_json::json;

use crate::callers::{headers, CALLERS};
use crate::common::{operations, Harness};
use crate::fixture::{fingerprint, harness, request};
use crate::matrix::{expected, Expected, Policy::Public, POLICIES};

#[tokio::test]
async fn every_route_answers_every_caller_as_its_policy_says() {
    let doc = Harness::new().await.get_ok("/api/v1/openapi.json").await;
    let mut cases = 0;
    let mut unexpected = Vec::new();
    let mut n = 0;
    for (method, template, op) in operations(&doc) {
        let method = method.to_uppercase();
        let policy = POLICIES
            .iter()
            .find(|(m, p, _)| *m == method && *p == template)
            .map(|(_, _, policy)| *policy)
            .unwrap_or_else(|| panic!("{method} {template} has no row in the permission matrix"));
        // The document says which routes need no credential; it must agree.
        let documented_public = op["security"] == json!([{}]);
        assert_eq!(
            documented_public,
            policy == Public,
            "{method} {template}: the OpenAPI document and the matrix disagree on whether it is public"
        );
        let h = harness().await;
        for caller in CALLERS {
            n += 1;
            cases += 1;
            let (uri, body) = request(&h, &method, &template, n);
            let want = expected(policy, caller, &method);
            let before = fingerprint(&h).await;
            let sent = headers(caller);
            let sent: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let reply = h.send(m, &uri, &sent, body).await;
            let status = reply.status.as_u16();
            let ok = match want {
                Expected::Refused(code) => status == code,
                Expected::Allowed => status != 401 && status != 403,
            };
            if !ok {
                unexpected.push(format!(
                    "{method} {uri} as {caller:?}: expected {want:?}, got {status} {}",
                    reply.text()
                ));
                continue;
            }
            if let Expected::Refused(code) = want {
                let body = reply.json();
                assert!(
                    body["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{method} {uri} as {caller:?}: {body}"
                );
                if code == 401 {
                    assert!(
                        reply.headers.contains_key("www-authenticate"),
                        "{method} {uri}: 401 without WWW-Authenticate"
                    );
                }
                let after = fingerprint(&h).await;
                assert_eq!(
                    before, after,
                    "{method} {uri} as {caller:?} was refused but wrote"
                );
            }
        }
    }
    println!(
        "authz matrix: {cases} cases, {} unexpected",
        unexpected.len()
    );
    assert!(
        unexpected.is_empty(),
        "{} unexpected answers:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}
