//! Bad documents are refused with the path to each problem and what is expected.

use flagpole_core::{validate, Document, Error};

/// Parses and validates a YAML document, returning the error text.
fn refuse(yaml: &str) -> String {
    match Document::from_yaml(yaml) {
        Err(e) => e.to_string(),
        Ok(doc) => validate(&doc)
            .expect_err("the document must be refused")
            .to_string(),
    }
}

fn flag_with_rule(rule: &str) -> String {
    format!(
        "flags:\n  new_ui:\n    variants:\n      - name: on\n    environments:\n      production:\n        enabled: true\n        rules:\n          - {{}}\n          - {{}}\n          - {rule}\n"
    )
}

#[test]
fn table_of_bad_documents() {
    let long_key = "k".repeat(201);
    let cases: Vec<(String, &str)> = vec![
        (
            flag_with_rule("{conditions: [{attribute: age, operator: GRATER_THAN, values: [1]}]}"),
            r#"flags.new_ui.environments.production.rules[2].conditions[0].operator: unknown operator "GRATER_THAN" (expected one of IN, NOT_IN,"#,
        ),
        (
            flag_with_rule("{rollout: 500}"),
            "flags.new_ui.environments.production.rules[2].rollout: rollout 500 is out of range (expected a percentage from 0 to 100)",
        ),
        (
            flag_with_rule("{rollout: -1}"),
            "rules[2].rollout: rollout -1 is out of range",
        ),
        (
            flag_with_rule("{serve: {split: [{variant: on, weight: 0}]}}"),
            "rules[2].serve.split: the weights add up to 0",
        ),
        (
            flag_with_rule("{serve: {variant: off}}"),
            r#"rules[2].serve.variant: unknown variant "off" (the flag's variants: on)"#,
        ),
        (
            flag_with_rule("{conditions: [{attribute: v, operator: REGEX, value: '(unclosed'}]}"),
            r#"rules[2].conditions[0].value: "(unclosed" is not a valid regular expression"#,
        ),
        (
            flag_with_rule("{conditions: [{attribute: v, operator: SEMVER_GT, value: '1.2'}]}"),
            r#"rules[2].conditions[0].value: "1.2" is not a semantic version"#,
        ),
        (
            flag_with_rule("{conditions: [{attribute: t, operator: DATE_AFTER, value: 'yesterday'}]}"),
            r#"rules[2].conditions[0].value: "yesterday" is not an RFC 3339 date"#,
        ),
        (
            flag_with_rule("{conditions: [{attribute: n, operator: NUM_GT, value: 'ten'}]}"),
            r#"rules[2].conditions[0].value: "ten" is not a number"#,
        ),
        (
            flag_with_rule("{conditions: [{attribute: ip, operator: IN_CIDR, values: ['10.0.0.0/33']}]}"),
            r#"rules[2].conditions[0].values: "10.0.0.0/33" is not an IP address or CIDR range"#,
        ),
        (
            flag_with_rule("{conditions: [{attribute: n, operator: NUM_GT}]}"),
            "rules[2].conditions[0].value: NUM_GT needs exactly one value in `value`",
        ),
        (
            flag_with_rule("{conditions: [{attribute: plan, operator: IN, values: []}]}"),
            "rules[2].conditions[0].values: IN needs at least one value in `values`",
        ),
        (
            flag_with_rule("{conditions: [{attribute: plan, operator: IN, values: [a], case_insensitive: true}]}"),
            "rules[2].conditions[0].case_insensitive: IN compares exactly",
        ),
        (
            flag_with_rule("{segments: [beta]}"),
            r#"rules[2].segments[0]: unknown segment "beta" (defined: none)"#,
        ),
        (
            flag_with_rule("{rollot: 5}"),
            "unknown field `rollot`",
        ),
        (
            flag_with_rule("{rollout: 12.5}"),
            "invalid type: floating point `12.5`, expected i64",
        ),
        (
            "flags:\n  limits:\n    type: number\n    variants:\n      - {name: a, value: 1}\n      - {name: b, value: ten}\n".into(),
            "flags.limits.variants[1].value: \"ten\" is not a number (the flag's type is number)",
        ),
        (
            "flags:\n  s:\n    type: string\n    variants:\n      - {name: a}\n".into(),
            "flags.s.variants[0].value: a string flag's variants need a value",
        ),
        (
            "flags:\n  n:\n    type: number\n    variants: [{name: a, value: 1}]\n    environments:\n      production:\n        enabled: true\n        default: {split: [{variant: a, weight: 1, value: ten}]}\n".into(),
            "flags.n.environments.production.default.split[0].value: \"ten\" is not a number (the flag's type is number)",
        ),
        (
            "flags:\n  s:\n    type: string\n    variants: [{name: a, value: A}]\n    environments:\n      production: {enabled: false, off_variant: b}\n".into(),
            r#"flags.s.environments.production.off_variant: unknown variant "b" (the flag's variants: a)"#,
        ),
        (
            "flags:\n  s:\n    variants:\n      - {name: a}\n      - {name: a}\n".into(),
            r#"flags.s.variants[1].name: variant "a" is defined twice"#,
        ),
        (
            "flags:\n  a:\n    environments:\n      production:\n        depends_on: [{flag: missing}]\n".into(),
            r#"flags.a.environments.production.depends_on[0].flag: depends on "missing", which is not a flag in this document"#,
        ),
        (
            "flags:\n  a:\n    environments:\n      production:\n        depends_on: [{flag: b}]\n  b:\n    environments:\n      production:\n        depends_on: [{flag: a}]\n".into(),
            "flags.a.environments: dependency cycle: a -> b -> a",
        ),
        (
            "flags:\n  a:\n    environments:\n      production:\n        depends_on: [{flag: a}]\n".into(),
            "a flag cannot depend on itself",
        ),
        (
            format!("flags:\n  {long_key}:\n    environments: {{}}\n"),
            "flag key is 201 characters long (at most 200 allowed)",
        ),
        (
            "flags:\n  a:\n    environments:\n      'prod env':\n        enabled: true\n".into(),
            "environment name \"prod env\" is invalid",
        ),
        (
            "flags:\n  a:\n    type: colour\n".into(),
            "flags.a.type: unknown variant `colour`, expected one of `boolean`, `string`, `number`, `json`",
        ),
        ("version: 2\nflags: {}\n".into(), "version: unsupported version 2 (expected 1)"),
        ("flags: [1, 2]\n".into(), "invalid type: sequence, expected a map"),
    ];
    let mut failures = Vec::new();
    for (doc, expected) in &cases {
        let got = refuse(doc);
        if !got.contains(expected) {
            failures.push(format!("expected {expected:?}\n     got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let yaml = "flags:\n  a:\n    variants: [{name: x}]\n    environments:\n      production:\n        rules:\n          - {rollout: 500}\n          - {serve: {variant: nope}}\n          - {conditions: [{attribute: a, operator: NOPE, values: [1]}]}\n";
    let doc = Document::from_yaml(yaml).unwrap();
    let Err(Error::Invalid(problems)) = validate(&doc) else {
        panic!("must be invalid");
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "flags.a.environments.production.rules[0].rollout",
            "flags.a.environments.production.rules[1].serve.variant",
            "flags.a.environments.production.rules[2].conditions[0].operator",
        ]
    );
}

#[test]
fn unleash_documents_keep_unknown_operators_and_strategies() {
    let unleash = r#"{"version": 2, "features": [{"name": "f", "enabled": true, "strategies": [
        {"name": "myCustom", "parameters": {"a": "1"}},
        {"name": "default", "constraints": [{"contextName": "x", "operator": "FUTURE_OP", "values": ["1"]}]}
    ]}]}"#;
    let doc = flagpole_core::formats::unleash::import(unleash, "production").unwrap();
    validate(&doc).unwrap();
    let back =
        serde_json::to_value(flagpole_core::formats::unleash::export(&doc, "production")).unwrap();
    assert_eq!(back["features"][0]["strategies"][0]["name"], "myCustom");
    assert_eq!(back["features"][0]["strategies"][0]["parameters"]["a"], "1");
    assert_eq!(
        back["features"][0]["strategies"][1]["constraints"][0]["operator"],
        "FUTURE_OP"
    );
    // Native documents refuse both.
    let native =
        Document::from_json(&doc.to_json().replace("\"compat\": \"unleash\",", "")).unwrap();
    let err = validate(&native).unwrap_err().to_string();
    assert!(err.contains("unknown operator \"FUTURE_OP\""), "{err}");
    assert!(err.contains("custom strategy \"myCustom\""), "{err}");
}

#[test]
fn projects_keep_their_segments_and_dependencies_to_themselves() {
    let doc = |segment_project: &str, parent_project: &str| {
        format!(
            "segments:\n  beta:\n    project: {segment_project}\n    conditions: []\nflags:\n  parent:\n    project: {parent_project}\n  child:\n    project: alpha\n    environments:\n      production:\n        enabled: true\n        rules: [{{segments: [beta]}}]\n        depends_on: [{{flag: parent}}]\n"
        )
    };
    // Its own project's segment and parent, or a global segment: accepted.
    for (segment, parent) in [("alpha", "alpha"), ("'*'", "alpha")] {
        let d = Document::from_yaml(&doc(segment, parent)).unwrap();
        validate(&d).unwrap_or_else(|e| panic!("{segment}/{parent}: {e}"));
    }
    let text = refuse(&doc("bravo", "bravo"));
    assert!(
        text.contains(r#"flags.child.environments.production.rules[0].segments[0]: segment "beta" belongs to project "bravo""#),
        "{text}"
    );
    assert!(
        text.contains(r#"depends_on[0].flag: depends on "parent", which belongs to project "bravo", not to this flag's project "alpha""#),
        "{text}"
    );
    // A flag without a project is in `default`, and so is a segment without one.
    let d = Document::from_yaml(&doc("default", "default").replace("    project: alpha\n", ""))
        .unwrap();
    validate(&d).unwrap();
    let text = refuse("flags:\n  a:\n    project: 'no/slash'\n");
    assert!(text.contains("flags.a.project: project key"), "{text}");
}
