//! `flagpole schedule …` and `flagpole change-request …` through a running server: a
//! schedule created, listed, shown and cancelled; a change request opened with an
//! editor's token, refused to its author, approved with the admin token; each step
//! checked through the API.

mod common;

use std::path::Path;
use std::process::Output;

use common::{agent, failed, flagpole_as, ok, Server};
use serde_json::{json, Value};

const ADMIN_TOKEN: &str = "cli-review-admin-token";
const EDITOR_TOKEN: &str = "cli-review-editor-token";

impl Server {
    /// Runs `flagpole ARGS --server URL` in `dir` with `token`.
    fn cli(&self, dir: &Path, token: &str, args: &[&str]) -> Output {
        let args = [args, &["--server", &self.url]].concat();
        flagpole_as(&args, dir, Some(token))
    }

    /// The editor proposes a change of `checkout` in production (`change`) with the CLI; the
    /// output.
    fn propose(&self, dir: &Path, change: &[&str]) -> String {
        let create = [
            "change-request",
            "create",
            "checkout",
            "--environment",
            "production",
        ];
        ok(&self.cli(dir, EDITOR_TOKEN, &[&create[..], change].concat()))
    }

    /// Calls the API with the admin token; the status and the JSON answer.
    fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let agent = agent(None);
        let url = format!("{}{path}", self.url);
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let mut response = match (method, body) {
            ("GET", _) => agent.get(&url).header("authorization", &auth).call(),
            ("POST", Some(b)) => agent.post(&url).header("authorization", &auth).send_json(b),
            ("PUT", Some(b)) => agent.put(&url).header("authorization", &auth).send_json(b),
            other => panic!("unsupported {other:?}"),
        }
        .expect("request");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn start_with_flag(dir: &Path) -> Server {
    let server = Server::start(&dir.join("r.db"), ADMIN_TOKEN);
    let flag = json!({"key": "checkout", "environments": {"production": {"enabled": false}}});
    assert_eq!(server.api("POST", "/api/v1/flags", Some(flag)).0, 201);
    server
}

#[test]
fn schedules_are_created_listed_shown_and_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_flag(dir.path());
    let d = dir.path();
    let at = (chrono::Utc::now() + chrono::TimeDelta::days(1)).to_rfc3339();

    // --rollout without --environment is a usage error, caught before any request.
    let err = failed(&server.cli(
        d,
        ADMIN_TOKEN,
        &[
            "schedule",
            "create",
            "checkout",
            "--at",
            &at,
            "--rollout",
            "30",
        ],
    ));
    assert!(err.contains("--environment"), "{err}");

    let args = [
        "schedule",
        "create",
        "checkout",
        "--at",
        &at,
        "--environment",
        "production",
    ];
    let out = ok(&server.cli(d, ADMIN_TOKEN, &[&args[..], &["--rollout", "30"]].concat()));
    assert!(out.starts_with("schedule 1 changes checkout at "), "{out}");
    let (_, s) = server.api("GET", "/api/v1/schedules/1", None);
    assert_eq!(
        (s["status"].as_str(), s["target"].as_str()),
        (Some("pending"), Some("checkout"))
    );

    let list = ok(&server.cli(d, ADMIN_TOKEN, &["schedule", "list", "--status", "pending"]));
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines[0].starts_with("ID  STATUS   DUE"), "{list}");
    assert!(
        lines[1].contains("pending") && lines[1].contains("flag checkout"),
        "{list}"
    );
    assert!(lines[1].contains("production"), "{list}");

    let show = ok(&server.cli(d, ADMIN_TOKEN, &["schedule", "show", "1"]));
    assert!(show.contains("status:       pending"), "{show}");
    assert!(show.contains("  environments.production.rules"), "{show}");
    assert!(show.contains("rollout") && show.contains("30"), "{show}");

    let out = ok(&server.cli(d, ADMIN_TOKEN, &["schedule", "cancel", "1"]));
    assert_eq!(out.trim(), "schedule 1 is cancelled");
    let (_, s) = server.api("GET", "/api/v1/schedules/1", None);
    assert_eq!(s["status"], "cancelled");
    let (_, pending) = server.api("GET", "/api/v1/schedules?status=pending", None);
    assert_eq!(pending["schedules"], json!([]));
    // Cancelling it twice is refused with the server's reason.
    let err = failed(&server.cli(d, ADMIN_TOKEN, &["schedule", "cancel", "1"]));
    assert!(err.contains("409"), "{err}");
}

#[test]
fn a_change_request_is_approved_by_another_user_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_flag(dir.path());
    let d = dir.path();
    let approval = json!({"required": true});
    let (status, _) = server.api(
        "PUT",
        "/api/v1/environments/production/approval",
        Some(approval),
    );
    assert_eq!(status, 200);
    ok(&server.cli(
        d,
        ADMIN_TOKEN,
        &[
            "token",
            "create",
            "--name",
            "ed",
            "--kind",
            "admin",
            "--role",
            "editor",
            "--grant",
            "production",
            "--secret",
            EDITOR_TOKEN,
        ],
    ));

    // A direct change is refused; the editor proposes it instead.
    let err = failed(&server.cli(
        d,
        EDITOR_TOKEN,
        &["flag", "enable", "checkout", "--environment", "production"],
    ));
    assert!(err.contains("approval"), "{err}");
    let out = server.propose(d, &["--enable", "--description", "launch it"]);
    assert!(
        out.starts_with("change request 1 proposes a change to checkout (production)"),
        "{out}"
    );

    let list = ok(&server.cli(
        d,
        ADMIN_TOKEN,
        &["change-request", "list", "--status", "open"],
    ));
    assert!(
        list.lines()
            .nth(1)
            .is_some_and(|l| l.contains("open") && l.contains("launch it")),
        "{list}"
    );

    // The author sees why not, and is refused.
    let show = ok(&server.cli(d, EDITOR_TOKEN, &["change-request", "show", "1"]));
    assert!(
        show.contains("you may not approve it: authors cannot approve"),
        "{show}"
    );
    assert!(
        show.contains("environments.production.enabled\n") && show.contains("    + true"),
        "{show}"
    );
    let err = failed(&server.cli(d, EDITOR_TOKEN, &["change-request", "approve", "1"]));
    assert!(err.contains("403"), "{err}");
    let (_, flag) = server.api("GET", "/api/v1/flags/checkout", None);
    assert_eq!(flag["environments"]["production"]["enabled"], false);

    // A comment, then the admin approves, which applies it.
    ok(&server.cli(
        d,
        ADMIN_TOKEN,
        &["change-request", "comment", "1", "looks right"],
    ));
    let show = ok(&server.cli(d, ADMIN_TOKEN, &["change-request", "show", "1"]));
    assert!(
        show.contains("you may approve it") && show.contains(": looks right"),
        "{show}"
    );
    let out = ok(&server.cli(d, ADMIN_TOKEN, &["change-request", "approve", "1"]));
    assert_eq!(out.trim(), "change request 1 is applied");
    let (_, flag) = server.api("GET", "/api/v1/flags/checkout", None);
    assert_eq!(flag["environments"]["production"]["enabled"], true);
    let (_, r) = server.api("GET", "/api/v1/change-requests/1", None);
    assert_eq!(r["status"], "applied");
    assert!(r["author"].as_str().unwrap().starts_with("token:ed"), "{r}");

    // Approving at a time schedules it.
    let out = server.propose(d, &["--disable"]);
    assert!(out.starts_with("change request 2 "), "{out}");
    let at = (chrono::Utc::now() + chrono::TimeDelta::hours(2)).to_rfc3339();
    let out = ok(&server.cli(
        d,
        ADMIN_TOKEN,
        &["change-request", "approve", "2", "--at", &at],
    ));
    assert!(out.contains("schedule 1 applies it"), "{out}");
    let (_, s) = server.api("GET", "/api/v1/schedules/1", None);
    assert_eq!(
        (s["status"].as_str(), s["change_request"].as_i64()),
        (Some("pending"), Some(2))
    );

    // The author may withdraw a third.
    server.propose(d, &["--rollout", "10"]);
    let out = ok(&server.cli(d, EDITOR_TOKEN, &["change-request", "reject", "3"]));
    assert_eq!(out.trim(), "change request 3 is rejected");
}
