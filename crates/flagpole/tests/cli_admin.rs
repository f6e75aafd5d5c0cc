//! `flagpole import`, `export` and `flag …` end to end: offline against a database file,
//! and through a running server's API.

mod common;

use std::path::Path;
use std::process::Output;

use common::{failed, flagpole_as, ok, Server};

/// The admin token the test servers start with (`FLAGPOLE_BOOTSTRAP_TOKEN`).
const ADMIN_TOKEN: &str = "cli-test-admin-token";

/// Runs the CLI with the admin token in `FLAGPOLE_TOKEN`.
fn flagpole(args: &[&str], dir: &Path) -> Output {
    flagpole_as(args, dir, Some(ADMIN_TOKEN))
}

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/flags.yaml");

#[test]
fn import_and_export_offline_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("seed.json"),
        r#"{"legacy": {"enabled": true, "rollout": 30}}"#,
    )
    .unwrap();
    let out = ok(&flagpole(
        &[
            "import",
            "seed.json",
            "--format",
            "seed",
            "--database",
            "f.db",
        ],
        dir.path(),
    ));
    assert!(out.contains("imported 1 flags and 0 segments"), "{out}");
    let seed = ok(&flagpole(
        &["export", "--format", "seed", "--database", "f.db"],
        dir.path(),
    ));
    let seed: serde_json::Value = serde_json::from_str(&seed).unwrap();
    assert_eq!(
        seed,
        serde_json::json!({"legacy": {"enabled": true, "rollout": 30}})
    );

    ok(&flagpole(
        &["import", EXAMPLES, "--database", "f.db"],
        dir.path(),
    ));
    let native = ok(&flagpole(
        &["export", "--database", "f.db", "--output", "all.json"],
        dir.path(),
    ));
    assert!(native.is_empty());
    let doc = flagpole_core::Document::from_json(
        &std::fs::read_to_string(dir.path().join("all.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(doc.flags.len(), 4);
    assert!(doc.segments.contains_key("beta_testers"));

    let unleash = ok(&flagpole(
        &["export", "--format", "unleash", "--database", "f.db"],
        dir.path(),
    ));
    let unleash: serde_json::Value = serde_json::from_str(&unleash).unwrap();
    assert_eq!(unleash["features"].as_array().map(Vec::len), Some(4));

    // The seed format cannot carry targeting: refused by name, nothing half-written.
    let err = failed(&flagpole(
        &["export", "--format", "seed", "--database", "f.db"],
        dir.path(),
    ));
    assert!(err.contains("checkout_button"), "{err}");
    // A broken file changes nothing.
    std::fs::write(
        dir.path().join("bad.yaml"),
        "flags:\n  x:\n    environments:\n      production:\n        rules: [{rollout: 500}]\n",
    )
    .unwrap();
    let err = failed(&flagpole(
        &["import", "bad.yaml", "--database", "f.db"],
        dir.path(),
    ));
    assert!(err.contains("rollout 500 is out of range"), "{err}");
    let again = ok(&flagpole(&["export", "--database", "f.db"], dir.path()));
    assert!(!again.contains("\"x\""));
}

#[test]
fn administer_flags_through_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("s.db"), ADMIN_TOKEN);
    let url = server.url.as_str();
    let out = ok(&flagpole(
        &["import", EXAMPLES, "--server", url],
        dir.path(),
    ));
    assert!(out.contains(r#""flags":3"#), "{out}");
    let list = ok(&flagpole(&["flag", "list", "--server", url], dir.path()));
    assert!(
        list.contains("new_ui\tboolean\tv1\tproduction=on"),
        "{list}"
    );
    let out = ok(&flagpole(
        &["flag", "disable", "new_ui", "--server", url],
        dir.path(),
    ));
    assert_eq!(out.trim(), "new_ui disabled in production (version 2)");
    let list = ok(&flagpole(
        &["flag", "list", "--search", "new", "--server", url],
        dir.path(),
    ));
    assert_eq!(list.trim(), "new_ui\tboolean\tv2\tproduction=off");
    ok(&flagpole(
        &["flag", "enable", "new_ui", "--server", url],
        dir.path(),
    ));
    let out = ok(&flagpole(
        &["flag", "disable", "new_ui", "--preview", "--server", url],
        dir.path(),
    ));
    assert!(
        out.starts_with("production: no sampled contexts (turn sampling on"),
        "{out}"
    );
    let got = ok(&flagpole(
        &["flag", "get", "new_ui", "--server", url],
        dir.path(),
    ));
    let got: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(got["version"], 3);
    assert_eq!(got["environments"]["production"]["enabled"], true);

    std::fs::write(
        dir.path().join("banner.yaml"),
        "type: string\nvariants: [{name: a, value: hello}]\nenvironments: {production: {enabled: true, default: {variant: a}}}\n",
    )
    .unwrap();
    // Setting the same file again writes a new version.
    for version in [1, 2] {
        let out = ok(&flagpole(
            &[
                "flag",
                "set",
                "banner",
                "--file",
                "banner.yaml",
                "--server",
                url,
            ],
            dir.path(),
        ));
        assert_eq!(out.trim(), format!("banner is at version {version}"));
    }
    let exported = ok(&flagpole(
        &["export", "--format", "unleash", "--server", url],
        dir.path(),
    ));
    assert!(exported.contains("\"banner\""), "{exported}");

    let err = failed(&flagpole(
        &["flag", "enable", "nope", "--server", url],
        dir.path(),
    ));
    assert!(err.contains("flag \"nope\" not found"), "{err}");
    std::fs::write(
        dir.path().join("bad.yaml"),
        "type: number\nvariants: [{name: a, value: ten}]\n",
    )
    .unwrap();
    let err = failed(&flagpole(
        &["flag", "set", "bad", "--file", "bad.yaml", "--server", url],
        dir.path(),
    ));
    assert!(err.contains("is not a number"), "{err}");
}

/// Status of a GET with an `Authorization` header, through ureq.
fn status_with(url: &str, authorization: &str) -> u16 {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    agent
        .get(url)
        .header("authorization", authorization)
        .call()
        .expect("request")
        .status()
        .as_u16()
}

#[test]
fn tokens_and_users_through_a_server_and_offline() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let server = Server::start(&db, ADMIN_TOKEN);
    let url = server.url.as_str();

    // Without a token the server refuses, and the CLI says why.
    let err = failed(&flagpole_as(
        &["flag", "list", "--server", url],
        dir.path(),
        None,
    ));
    assert!(err.contains("no credential"), "{err}");

    // A client token: shown once on stdout, then usable by SDKs.
    let secret = ok(&flagpole(
        &[
            "token",
            "create",
            "--name",
            "checkout",
            "--kind",
            "client",
            "--environment",
            "production",
            "--server",
            url,
        ],
        dir.path(),
    ));
    let secret = secret.trim();
    assert!(secret.starts_with("flagpole_client_"), "{secret}");
    let features = format!("{url}/api/client/features");
    assert_eq!(status_with(&features, secret), 200);
    let list = ok(&flagpole(&["token", "list", "--server", url], dir.path()));
    let line = list
        .lines()
        .find(|l| l.contains("checkout"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains("client\tproduction\tactive"), "{line}");
    assert!(
        !list.contains(secret),
        "token list must not show secrets: {list}"
    );
    let id = line.split('\t').next().unwrap();
    ok(&flagpole(
        &["token", "revoke", id, "--server", url],
        dir.path(),
    ));
    assert_eq!(status_with(&features, secret), 401);

    // An existing Unleash token, kept as it is.
    let moved = "default:production.4f0c2a9d8e7b6a5c";
    let out = ok(&flagpole(
        &[
            "token",
            "create",
            "--name",
            "moved",
            "--kind",
            "client",
            "--environment",
            "production",
            "--secret",
            moved,
            "--server",
            url,
        ],
        dir.path(),
    ));
    assert_eq!(out.trim(), moved);
    assert_eq!(status_with(&features, moved), 200);

    // A user created offline, against the same database, logs in through the server.
    let out = ok(&flagpole_as(
        &[
            "user",
            "create",
            "carol",
            "--role",
            "editor",
            "--database",
            db.to_str().unwrap(),
        ],
        dir.path(),
        None,
    ));
    let password = out.trim();
    let users = ok(&flagpole(&["user", "list", "--server", url], dir.path()));
    assert!(users.contains("carol\teditor"), "{users}");
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let login = agent
        .post(format!("{url}/api/v1/auth/login"))
        .send_json(serde_json::json!({"name": "carol", "password": password}))
        .expect("login");
    assert_eq!(login.status().as_u16(), 200);
    assert!(login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("HttpOnly") && c.contains("SameSite=Strict")));
    let wrong = agent
        .post(format!("{url}/api/v1/auth/login"))
        .send_json(serde_json::json!({"name": "carol", "password": "not her password"}))
        .expect("login");
    assert_eq!(wrong.status().as_u16(), 401);
}
