//! Keeps docs/flag-format.md true: every YAML block is a valid document, and every
//! `eval` block under it holds.

use chrono::{TimeZone, Utc};
use flagpole_core::{Context, Document, Snapshot, SplitMix64};
use serde_json::{json, Value};

/// Fenced blocks of the page: (language, body).
fn blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(lang)) => current = Some((lang.trim().to_string(), String::new())),
            (Some(_), Some(_)) => out.extend(current.take()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

/// The fields of `got` named in `expected` must be equal.
fn subset(expected: &Value, got: &Value) -> bool {
    expected
        .as_object()
        .expect("expect is an object")
        .iter()
        .all(|(k, v)| got.get(k) == Some(v))
}

#[test]
fn every_example_in_the_flag_format_doc_holds() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/flag-format.md");
    let text = std::fs::read_to_string(path).expect("docs/flag-format.md");
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let mut documents = 0;
    let mut checks = 0;
    let mut doc: Option<Document> = None;
    for (lang, body) in blocks(&text) {
        match lang.as_str() {
            "yaml" => {
                let parsed = Document::from_yaml(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
                flagpole_core::validate(&parsed).unwrap_or_else(|e| panic!("{e}\n{body}"));
                doc = Some(parsed);
                documents += 1;
            }
            "eval" => {
                let doc = doc.as_ref().expect("an eval block follows a yaml block");
                let (mut env, mut flag, mut ctx) =
                    (String::new(), String::new(), Context::default());
                for line in body.lines() {
                    let (key, rest) = line.split_once(": ").expect("key: value");
                    match key {
                        "environment" => env = rest.to_string(),
                        "flag" => flag = rest.to_string(),
                        "context" => {
                            ctx = Context::from_json(&serde_json::from_str(rest).unwrap()).unwrap()
                        }
                        "expect" => {
                            let snapshot = Snapshot::compile(doc, &env).unwrap();
                            let e = snapshot.evaluate(&flag, &ctx, now, &mut SplitMix64(1));
                            let got = json!({
                                "enabled": e.enabled,
                                "variant": e.variant,
                                "value": e.value,
                                "reason": e.reason.as_str(),
                                "rule": e.rule_index,
                            });
                            let expected: Value = serde_json::from_str(rest).unwrap();
                            assert!(
                                subset(&expected, &got),
                                "{flag} in {env} for {ctx:?}: got {got}, expected {expected}"
                            );
                            checks += 1;
                        }
                        other => panic!("unknown eval line {other:?}"),
                    }
                }
            }
            _ => {}
        }
    }
    assert!(documents >= 6, "found {documents} documents");
    assert!(checks >= 15, "found {checks} checks");
}
