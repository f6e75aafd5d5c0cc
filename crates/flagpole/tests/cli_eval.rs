//! `flagpole eval` end to end: output for one context and many, and clear errors.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

fn flagpole(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flagpole"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("run flagpole")
}

/// `flagpole eval` of the file `flags`, read as `format`, for one context.
fn eval_file(flags: &Path, format: &str, context: &str) -> Output {
    flagpole(&[
        "eval",
        "--flags",
        flags.to_str().expect("a UTF-8 path"),
        "--format",
        format,
        "--context",
        context,
    ])
}

/// Runs the CLI, which must fail with exit status 1 and say `message` on standard error.
#[track_caller]
fn refused(args: &[&str], message: &str) -> Output {
    let o = flagpole(args);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(message), "{}", stderr(&o));
    o
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn evaluates_every_flag_for_one_context() {
    let o = flagpole(&[
        "eval",
        "--flags",
        "examples/flags.yaml",
        "--context",
        r#"{"userId": "123", "email": "ana@ourco.com"}"#,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    insta::assert_snapshot!(stdout(&o), @r###"
    {"flag":"new_ui","enabled":true,"variant":null,"value":true,"reason":"TARGETING_MATCH","rule":0}
    {"flag":"checkout_button","enabled":true,"variant":"blue","value":"#0000ff","reason":"SPLIT"}
    {"flag":"payments_v2","enabled":false,"variant":null,"value":false,"reason":"DISABLED"}
    "###);
}

#[test]
fn evaluates_many_contexts_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contexts.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, r#"{{"userId": "10"}}"#).unwrap();
    writeln!(f, r#"{{"userId": "123", "beta": true}}"#).unwrap();
    writeln!(f, r#"{{"userId": "123"}}"#).unwrap();
    drop(f);
    let o = flagpole(&[
        "eval",
        "--flags",
        "examples/flags.yaml",
        "--contexts",
        path.to_str().unwrap(),
        "--flag",
        "new_ui",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    insta::assert_snapshot!(stdout(&o), @r###"
    {"flag":"new_ui","enabled":true,"variant":null,"value":true,"reason":"TARGETING_MATCH","rule":2,"line":1}
    {"flag":"new_ui","enabled":true,"variant":null,"value":true,"reason":"TARGETING_MATCH","rule":1,"line":2}
    {"flag":"new_ui","enabled":false,"variant":null,"value":false,"reason":"DEFAULT","line":3}
    "###);
}

#[test]
fn reads_unleash_and_seed_files() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("flags.json");
    std::fs::write(
        &seed,
        r#"{"some_feature": {"enabled": true, "rollout": 50}}"#,
    )
    .unwrap();
    let o = eval_file(&seed, "seed", r#"{"userId": "1"}"#);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(r#""flag":"some_feature""#));
    let unleash = dir.path().join("features.json");
    std::fs::write(
        &unleash,
        r#"{"version": 2, "features": [{"name": "f", "enabled": true, "strategies": [{"name": "userWithId", "parameters": {"userIds": "1, 2"}}]}]}"#,
    )
    .unwrap();
    let o = eval_file(&unleash, "unleash", r#"{"userId": "2"}"#);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(r#""enabled":true"#), "{}", stdout(&o));
}

#[test]
fn broken_input_gets_the_message_and_a_failure_exit() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "flags:\n  f:\n    environments:\n      production:\n        rules:\n          - rollout: 500\n",
    )
    .unwrap();
    refused(
        &["eval", "--flags", bad.to_str().unwrap(), "--context", "{}"],
        "flags.f.environments.production.rules[0].rollout: rollout 500 is out of range",
    );
    refused(
        &[
            "eval",
            "--flags",
            "examples/flags.yaml",
            "--context",
            "{not json",
        ],
        "--context is not a valid context",
    );
    refused(
        &["eval", "--flags", "examples/flags.yaml", "--context", "[1]"],
        "must be a JSON object",
    );
    refused(
        &[
            "eval",
            "--flags",
            "examples/flags.yaml",
            "--context",
            "{}",
            "--flag",
            "nope",
        ],
        "no flag \"nope\"",
    );
    let o = refused(
        &["eval", "--flags", "/nonexistent.yaml", "--context", "{}"],
        "cannot read /nonexistent.yaml",
    );
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn a_reader_that_goes_away_ends_eval_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_flagpole"))
        .args(["eval", "--flags", "examples/flags.yaml", "--contexts", "-"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..20_000 {
            if writeln!(stdin, "{{\"userId\": \"{i}\"}}").is_err() {
                break;
            }
        }
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("\"flag\""), "{first}");
    // stdout is closed here, as `| head -1` does.
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
