//! No secret leaks: a real `flagpole serve` (debug logging, JSON) is given tokens and
//! passwords through every path that takes one (first start, the token and user APIs,
//! logins, password changes, SDK requests with good and wrong tokens, the CLI), then its
//! log, its error answers, its exports, audit log, token and user lists, metrics and the
//! database files themselves are searched for every secret the test created.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{free_port, serve, wait_for_port, Process};
use serde_json::{json, Value};

const ADMIN_TOKEN: &str = "secrets-test-bootstrap-token-7f3a";
const ADMIN_PASSWORD: &str = "secrets-test-admin-password-91c2";

struct Server {
    _process: Process,
    base: String,
}

fn start(dir: &Path) -> Server {
    let port = free_port();
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let child = serve(port, "s.db", ADMIN_TOKEN)
        .args(["--log-format", "json"])
        .current_dir(dir)
        .env("FLAGPOLE_LOG", "debug")
        .env("FLAGPOLE_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_for_port(port, Duration::from_secs(20));
    Server {
        _process: Process(child),
        base: format!("http://127.0.0.1:{port}"),
    }
}

/// Everything the server answered, to search afterwards.
#[derive(Default)]
struct Transcript(String);

impl Transcript {
    fn call(
        &mut self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, String, Option<String>) {
        let agent = common::agent(None);
        let mut request = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = match body {
            Some(b) => agent.run(
                request
                    .header("content-type", "application/json")
                    .body(b.to_string())
                    .unwrap(),
            ),
            None => agent.run(request.body(()).unwrap()),
        };
        let mut response = response.unwrap();
        let status = response.status().as_u16();
        let cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.body_mut().read_to_string().unwrap_or_default();
        self.0.push_str(&text);
        self.0.push('\n');
        (status, text, cookie)
    }
}

#[test]
fn no_token_or_password_appears_in_logs_answers_exports_or_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let base = server.base.clone();
    let url = |p: &str| format!("{base}{p}");
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let admin = [("authorization", admin.as_str())];
    let mut t = Transcript::default();
    let mut secrets: Vec<String> = vec![ADMIN_TOKEN.into(), ADMIN_PASSWORD.into()];

    // Tokens of every kind, generated and given.
    for body in [
        json!({"name": "svc", "kind": "client", "environment": "production"}),
        json!({"name": "web", "kind": "frontend", "environment": "production", "origins": ["https://app.example.com"]}),
        json!({"name": "ops", "kind": "admin", "role": "viewer"}),
        json!({"name": "moved", "kind": "client", "environment": "development", "secret": "default:development.moved-unleash-secret-55"}),
    ] {
        let (status, text, _) = t.call("POST", &url("/api/v1/tokens"), &admin, Some(body));
        assert_eq!(status, 201, "{text}");
        secrets.push(
            serde_json::from_str::<Value>(&text).unwrap()["secret"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // The answers that showed them once are not searched; everything after is.
    t.0.clear();
    let (client, frontend) = (secrets[2].clone(), secrets[3].clone());

    // Users, logins (good and bad), password changes.
    let bob_password = "bob-first-password-3e1";
    secrets.push(bob_password.into());
    let (status, text, _) = t.call(
        "POST",
        &url("/api/v1/users"),
        &admin,
        Some(json!({"name": "bob", "password": bob_password, "role": "editor"})),
    );
    assert_eq!(status, 201, "{text}");
    let wrong = "bob-wrong-password-8d0";
    secrets.push(wrong.into());
    let (status, _, _) = t.call(
        "POST",
        &url("/api/v1/auth/login"),
        &[],
        Some(json!({"name": "bob", "password": wrong})),
    );
    assert_eq!(status, 401);
    let (status, text, cookie) = t.call(
        "POST",
        &url("/api/v1/auth/login"),
        &[],
        Some(json!({"name": "bob", "password": bob_password})),
    );
    assert_eq!(status, 200, "{text}");
    let cookie = cookie.unwrap();
    let session = cookie.split(';').next().unwrap().to_string();
    secrets.push(session.trim_start_matches("flagpole_session=").to_string());
    let second = "bob-second-password-c47";
    secrets.push(second.into());
    let host = base.trim_start_matches("http://").to_string();
    let (status, text, _) = t.call(
        "POST",
        &url("/api/v1/auth/password"),
        &[
            ("cookie", session.as_str()),
            ("origin", base.as_str()),
            ("host", host.as_str()),
        ],
        Some(json!({"current_password": bob_password, "new_password": second})),
    );
    assert_eq!(status, 204, "{text}");
    let third = "bob-third-password-a19";
    secrets.push(third.into());
    let (status, text, _) = t.call(
        "PATCH",
        &url("/api/v1/users/bob"),
        &admin,
        Some(json!({"password": third})),
    );
    assert_eq!(status, 200, "{text}");

    // SDK requests with good and wrong tokens.
    let bearer = format!("Bearer {client}");
    t.call(
        "GET",
        &url("/api/client/features"),
        &[("authorization", client.as_str())],
        None,
    );
    t.call(
        "POST",
        &url("/ofrep/v1/evaluate/flags"),
        &[("authorization", bearer.as_str())],
        Some(json!({"context": {"targetingKey": "u"}})),
    );
    t.call(
        "GET",
        &url("/api/frontend?userId=1"),
        &[
            ("authorization", frontend.as_str()),
            ("origin", "https://evil.example"),
        ],
        None,
    );
    let wrong_token = "flagpole_client_abcdefabcdef_0000000000000000000000000000000000000000";
    secrets.push(wrong_token.into());
    let (status, _, _) = t.call(
        "GET",
        &url("/api/client/features"),
        &[("authorization", wrong_token)],
        None,
    );
    assert_eq!(status, 401);

    // The CLI through the server: its error output is searched too.
    let cli = Command::new(env!("CARGO_BIN_EXE_flagpole"))
        .args(["flag", "list", "--server", &base])
        .env("FLAGPOLE_TOKEN", wrong_token)
        .output()
        .unwrap();
    assert!(!cli.status.success());
    t.0.push_str(&String::from_utf8_lossy(&cli.stderr));

    // What anyone may read back.
    for path in [
        "/api/v1/audit?limit=1000",
        "/api/v1/export?format=native",
        "/api/v1/export?format=unleash&environment=production",
        "/api/v1/tokens",
        "/api/v1/users",
        "/metrics",
    ] {
        let (status, text, _) = t.call("GET", &url(path), &admin, None);
        assert_eq!(status, 200, "{path}: {text}");
    }
    drop(server);

    let mut haystacks = vec![
        (
            "the server log".to_string(),
            std::fs::read_to_string(dir.path().join("server.log")).unwrap(),
        ),
        ("the answers".to_string(), t.0.clone()),
    ];
    for file in ["s.db", "s.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
            haystacks.push((
                file.to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
    let log = &haystacks[0].1;
    assert!(log.contains("login failed"), "the failed login is logged");
    assert!(log.contains("bob"), "with the user's name");
    let mut searched = 0;
    for secret in &secrets {
        for (what, text) in &haystacks {
            searched += 1;
            assert!(
                !text.contains(secret.as_str()),
                "{what} contains the secret {secret:?}"
            );
        }
    }
    println!(
        "searched {} secrets in {} places: none found",
        secrets.len(),
        haystacks.len()
    );
    assert!(searched >= 40);
}
