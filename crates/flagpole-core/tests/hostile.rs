//! Hostile input, generated: deep nesting, many properties, many rules, conditions and
//! values, pathological regular expressions, and Unleash documents of the wrong shape,
//! through document parsing, the write checks (`check_change`), validation and
//! compilation, context parsing and Unleash import. Nothing may panic, and everything
//! beyond a documented limit (`flagpole_core::limits`) must be refused, naming it.
//!
//! `cargo test` runs a few hundred cases per target. `scripts/fuzz.sh SECONDS` runs each
//! target repeatedly for a share of the given time (`FLAGPOLE_FUZZ_SECONDS`, the time per
//! target) and prints how many cases ran; the duration only decides when to stop, no
//! assertion is about time.

use std::time::{Duration, Instant};

use flagpole_core::limits::{
    MAX_CONDITIONS, MAX_CONTEXT_PROPERTIES, MAX_DEPTH, MAX_REGEXES_PER_FLAG,
    MAX_RULES_PER_ENVIRONMENT, MAX_VALUES_PER_CONDITION,
};
use flagpole_core::{check_change, formats, validate, Context, Document, Error, Snapshot};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};

/// Runs `test` over `strategy`: one batch, or batches until `FLAGPOLE_FUZZ_SECONDS`
/// have passed; prints the number of cases.
fn fuzz<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let budget = std::env::var("FLAGPOLE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map(Duration::from_secs_f64);
    let cases = if budget.is_some() { 16 } else { 48 };
    let start = Instant::now();
    let mut total = 0u64;
    loop {
        let config = Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        if let Err(e) = runner.run(&strategy, &test) {
            panic!("{name}: {e}");
        }
        total += u64::from(cases);
        if budget.is_none_or(|b| start.elapsed() >= b) {
            break;
        }
    }
    println!("fuzz {name}: {total} cases");
}

fn refused_naming(result: Result<(), Error>, limit: &str) -> Result<(), TestCaseError> {
    match result {
        Err(e) => {
            let text = e.to_string();
            prop_assert!(
                text.contains(limit),
                "refused without naming {limit}: {text}"
            );
            Ok(())
        }
        Ok(()) => Err(TestCaseError::fail(format!("beyond {limit}, accepted"))),
    }
}

/// Nesting `depth` deep, in one of several shapes: arrays, objects, or (YAML only) block
/// sequences, as the value of a JSON flag's variant.
fn nested() -> impl Strategy<Value = (usize, u8)> {
    (1..MAX_DEPTH * 3, 0u8..3)
}

fn nested_text(depth: usize, shape: u8) -> (String, bool) {
    match shape {
        0 => (format!("{}{}", "[".repeat(depth), "]".repeat(depth)), true),
        1 => (
            format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)),
            true,
        ),
        _ => (format!("\n          {}x", "- ".repeat(depth)), false),
    }
}

#[test]
fn deep_documents_are_refused_beyond_max_depth() {
    fuzz("deep documents", nested(), |(depth, shape)| {
        let (value, is_json) = nested_text(depth, shape);
        // Five containers hold the value: the document, flags, x, variants, variants[0].
        let total = depth + 5;
        let yaml = format!("flags:\n  x:\n    type: json\n    variants:\n      - name: v\n        value: {value}\n");
        let parsed = Document::from_yaml(&yaml);
        if total > MAX_DEPTH {
            prop_assert!(
                matches!(parsed, Err(Error::TooDeep { .. })),
                "depth {total}: {parsed:?}"
            );
        }
        if is_json {
            let json = format!(
                r#"{{"flags": {{"x": {{"type": "json", "variants": [{{"name": "v", "value": {value}}}]}}}}}}"#
            );
            let parsed = Document::from_json(&json);
            if total > MAX_DEPTH {
                prop_assert!(
                    matches!(parsed, Err(Error::TooDeep { .. })),
                    "depth {total}"
                );
            } else {
                prop_assert!(parsed.is_ok(), "depth {total}: {parsed:?}");
            }
        }
        Ok(())
    });
}

/// Regular expressions that are slow or large to compile, or malformed.
fn pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(r"\w{20}".to_string()),
        Just(r"(a*)*b".to_string()),
        Just(r"(\w+\s?)*$".to_string()),
        Just(r"[\s\S]{1000}".to_string()),
        Just(r"\p{L}{50}".to_string()),
        Just(r"((((((((((a))))))))))".to_string()),
        Just(r"(?i)[a-z]{1,100}{1,100}".to_string()),
        "[a-z\\\\()\\[\\]{}*+?|.^$0-9,]{0,40}",
    ]
}

/// A condition: mostly plain lists, some regexes, some values lists up to twice the limit.
fn condition() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (0usize..4).prop_map(|n| json!({"attribute": "a", "operator": "IN", "values": (0..n).map(|i| i.to_string()).collect::<Vec<_>>()})),
        2 => pattern().prop_map(|p| json!({"attribute": "email", "operator": "REGEX", "value": p})),
        1 => (0usize..MAX_VALUES_PER_CONDITION * 2).prop_map(|n| json!({"attribute": "userId", "operator": "IN", "values": (0..n).map(|i| i.to_string()).collect::<Vec<_>>()})),
    ]
}

fn rules() -> impl Strategy<Value = Vec<Vec<Value>>> {
    prop_oneof![
        // Few rules with many conditions, or many rules with few.
        prop::collection::vec(
            prop::collection::vec(condition(), 0..MAX_CONDITIONS * 2),
            0..4
        ),
        prop::collection::vec(
            prop::collection::vec(condition(), 0..3),
            0..MAX_RULES_PER_ENVIRONMENT * 2
        ),
    ]
}

#[test]
fn costly_documents_are_refused_naming_the_limit() {
    fuzz("costly documents", rules(), |rules| {
        let rule_values: Vec<Value> = rules.iter().map(|c| json!({"conditions": c})).collect();
        let text = json!({"flags": {"x": {"environments": {"production": {"enabled": true, "rules": rule_values}}}}}).to_string();
        let doc = Document::from_json(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let checked = check_change(&Document::default(), &doc);
        let conditions = rules.iter().map(Vec::len).max().unwrap_or(0);
        let regexes = rules
            .iter()
            .flatten()
            .filter(|c| c["operator"] == "REGEX")
            .count();
        let values = rules
            .iter()
            .flatten()
            .map(|c| c["values"].as_array().map_or(0, Vec::len))
            .max()
            .unwrap_or(0);
        if rules.len() > MAX_RULES_PER_ENVIRONMENT {
            return refused_naming(checked, "MAX_RULES_PER_ENVIRONMENT");
        }
        if conditions > MAX_CONDITIONS {
            return refused_naming(checked, "MAX_CONDITIONS");
        }
        if values > MAX_VALUES_PER_CONDITION {
            return refused_naming(checked, "MAX_VALUES_PER_CONDITION");
        }
        if regexes > MAX_REGEXES_PER_FLAG {
            return refused_naming(checked, "MAX_REGEXES_PER_FLAG");
        }
        // Within the counts: what the write checks accept is validated and compiled
        // (a regex may still be refused for its size, or as malformed).
        if checked.is_ok() && validate(&doc).is_ok() {
            prop_assert!(Snapshot::compile(&doc, "production").is_ok());
        }
        Ok(())
    });
}

/// A context of `n` properties drawn from `distinct` names, at the top level or in
/// `properties`, some repeated across the two.
fn contexts() -> impl Strategy<Value = (usize, usize, bool)> {
    (
        0..MAX_CONTEXT_PROPERTIES * 2,
        1..MAX_CONTEXT_PROPERTIES * 2,
        any::<bool>(),
    )
}

#[test]
fn contexts_are_bounded_and_read_in_one_pass() {
    fuzz("contexts", contexts(), |(n, distinct, nested)| {
        let props: serde_json::Map<String, Value> = (0..n)
            .map(|i| (format!("p{}", i % distinct), json!(i)))
            .collect();
        let names = props.len();
        let body = if nested {
            json!({"userId": "u", "properties": props})
        } else {
            Value::Object(props)
        };
        let parsed = Context::from_json_slice(body.to_string().as_bytes());
        if names > MAX_CONTEXT_PROPERTIES {
            prop_assert!(parsed.is_err(), "{names} properties accepted");
        } else {
            prop_assert_eq!(
                parsed
                    .map_err(|e| TestCaseError::fail(e.to_string()))?
                    .properties
                    .len(),
                names
            );
        }
        Ok(())
    });
}

/// Any JSON value, nested up to a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z0-9 ._-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("features".to_string()),
                    Just("events".to_string()),
                    Just("name".to_string()),
                    Just("strategies".to_string()),
                    Just("constraints".to_string()),
                    Just("variants".to_string()),
                    Just("segments".to_string()),
                    Just("context".to_string()),
                    Just("properties".to_string()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn arbitrary_json_never_panics_the_readers() {
    fuzz("arbitrary JSON", any_json(), |value| {
        let text = value.to_string();
        let _ = Context::from_json_slice(text.as_bytes());
        let _ = Context::from_request_slice(text.as_bytes());
        let _ = Context::from_json(&value);
        let _ = formats::import(&text, formats::Format::Unleash, "production");
        let _ = formats::import(&text, formats::Format::Seed, "production");
        if let Ok(doc) = Document::from_yaml(&text) {
            if check_change(&Document::default(), &doc).is_ok() && validate(&doc).is_ok() {
                prop_assert!(Snapshot::compile(&doc, "production").is_ok());
            }
        }
        Ok(())
    });
}

/// Unleash documents with feature fields of the right names and arbitrary values.
fn unleash_features() -> impl Strategy<Value = Value> {
    let strategy = (any_json(), any_json(), "[a-zA-Z]{1,20}").prop_map(|(params, constraints, name)| {
        json!({"name": name, "parameters": params, "constraints": constraints})
    });
    let feature = (
        "[a-zA-Z0-9._ -]{1,12}",
        any::<bool>(),
        prop::collection::vec(strategy, 0..4),
        any_json(),
    )
        .prop_map(|(name, enabled, strategies, variants)| {
            json!({"name": name, "enabled": enabled, "strategies": strategies, "variants": variants})
        });
    prop::collection::vec(feature, 0..6).prop_map(|f| json!({"version": 2, "features": f}))
}

#[test]
fn unleash_imports_of_any_shape_never_panic() {
    fuzz("Unleash import", unleash_features(), |doc| {
        let text = doc.to_string();
        if let Ok(imported) = formats::unleash::import(&text, "production") {
            let _ = check_change(&Document::default(), &imported);
            if validate(&imported).is_ok() {
                prop_assert!(Snapshot::compile(&imported, "production").is_ok());
            }
        }
        Ok(())
    });
}

/// Text of brackets, quotes, comments and dashes: YAML's structure characters.
#[test]
fn yaml_structure_soup_never_panics() {
    let soup = prop::collection::vec(
        prop_oneof![
            Just("["),
            Just("]"),
            Just("{"),
            Just("}"),
            Just("- "),
            Just("\n"),
            Just("  "),
            Just("'"),
            Just("\""),
            Just("#"),
            Just(": "),
            Just("a"),
            Just(","),
            Just("&a "),
            Just("*a"),
        ],
        0..400,
    )
    .prop_map(|parts| parts.concat());
    fuzz("YAML soup", soup, |text| {
        let _ = Document::from_yaml(&text);
        Ok(())
    });
}
