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

/// The limits tables of the page give every constant of `flagpole_core::limits` with its
/// value.
#[test]
fn the_limits_tables_match_the_constants() {
    use flagpole_core::limits::*;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/flag-format.md");
    let text = std::fs::read_to_string(path).expect("docs/flag-format.md");
    let documented: std::collections::HashMap<&str, usize> = text
        .lines()
        .filter_map(|line| {
            let mut cells = line.split('|').map(str::trim).skip(1);
            let name = cells.next()?.strip_prefix("`MAX_")?.strip_suffix('`')?;
            Some((name, cells.next()?.parse().ok()?))
        })
        .collect();
    let constants = [
        ("NAME_LEN", MAX_NAME_LEN),
        ("FLAGS", MAX_FLAGS),
        ("SEGMENTS", MAX_SEGMENTS),
        ("RULES_PER_ENVIRONMENT", MAX_RULES_PER_ENVIRONMENT),
        ("CONDITIONS", MAX_CONDITIONS),
        ("SEGMENTS_PER_RULE", MAX_SEGMENTS_PER_RULE),
        ("VALUES_PER_CONDITION", MAX_VALUES_PER_CONDITION),
        ("VALUE_LEN", MAX_VALUE_LEN),
        ("REGEXES_PER_FLAG", MAX_REGEXES_PER_FLAG),
        ("REGEXES", MAX_REGEXES),
        ("REGEX_SIZE", MAX_REGEX_SIZE),
        ("REGEX_DFA_SIZE", MAX_REGEX_DFA_SIZE),
        ("VARIANTS", MAX_VARIANTS),
        ("SPLIT_SHARES", MAX_SPLIT_SHARES),
        ("OVERRIDES", MAX_OVERRIDES),
        ("DEPENDENCIES", MAX_DEPENDENCIES),
        ("TAGS", MAX_TAGS),
        ("TEXT_LEN", MAX_TEXT_LEN),
        ("DEPTH", MAX_DEPTH),
        ("CONTEXT_PROPERTIES", MAX_CONTEXT_PROPERTIES),
        ("ATTRIBUTE_NAME_LEN", MAX_ATTRIBUTE_NAME_LEN),
        ("ATTRIBUTE_VALUE_LEN", MAX_ATTRIBUTE_VALUE_LEN),
        ("CONTEXT_BODY_BYTES", MAX_CONTEXT_BODY_BYTES),
        ("METRICS_BODY_BYTES", MAX_METRICS_BODY_BYTES),
        ("REPORT_FLAGS", MAX_REPORT_FLAGS),
        ("REPORT_VARIANTS", MAX_REPORT_VARIANTS),
    ];
    for (name, value) in constants {
        assert_eq!(documented.get(name), Some(&value), "MAX_{name}");
    }
    assert_eq!(
        documented.len(),
        constants.len(),
        "a documented limit without a constant"
    );
}
