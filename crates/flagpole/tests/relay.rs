//! `flagpole relay` end to end: a real server, a relay following it and a second relay
//! following the first. Writes on the server are served by both relays on every SDK
//! surface; writes on a relay are refused; tokens are the server's (unknown and revoked
//! ones refused); the relays keep answering while the server is stopped, say so in
//! `/health/ready` and `/metrics`, and converge after it restarts on the same database
//! and port.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, Process};
use serde_json::{json, Value};

const ADMIN: &str = "relay-test-admin-token";
const CLIENT: &str = "default:production.relay-test-client";

fn serve(db: &Path, port: u16) -> Process {
    let child = common::serve(port, db, ADMIN)
        .args(["--shutdown-grace-secs", "0"])
        .env("FLAGPOLE_LOG", "warn")
        .spawn()
        .unwrap();
    Process(child)
}

fn relay(upstream: u16, port: u16) -> Process {
    let child = Command::new(env!("CARGO_BIN_EXE_flagpole"))
        .args([
            "relay",
            "--upstream",
            &format!("http://127.0.0.1:{upstream}"),
        ])
        .args(["--token", ADMIN, "--listen", &format!("127.0.0.1:{port}")])
        .args(["--token-refresh-secs", "1", "--shutdown-grace-secs", "0"])
        .env("FLAGPOLE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Process(child)
}

fn agent() -> ureq::Agent {
    common::agent(Some(Duration::from_secs(10)))
}

/// Status and JSON body (`null` when not JSON) of a request.
fn call(method: &str, port: u16, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("http://127.0.0.1:{port}{path}");
    let auth = format!("Bearer {token}");
    let a = agent();
    let response = match (method, body) {
        ("GET", _) => a.get(&url).header("authorization", &auth).call(),
        ("DELETE", _) => a.delete(&url).header("authorization", &auth).call(),
        (_, Some(b)) => a.post(&url).header("authorization", &auth).send_json(b),
        (_, None) => a.post(&url).header("authorization", &auth).send_empty(),
    };
    match response {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let text = r.body_mut().read_to_string().unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ready(port: u16) -> Value {
    call("GET", port, "/health/ready", "", None).1
}

/// What every SDK surface of `port` says about `flag` for user 7 in production.
fn answers(port: u16, flag: &str) -> Vec<Value> {
    let seed = call(
        "GET",
        port,
        &format!("/flags/{flag}?user_id=7"),
        CLIENT,
        None,
    )
    .1;
    let ofrep = call(
        "POST",
        port,
        &format!("/ofrep/v1/evaluate/flags/{flag}"),
        CLIENT,
        Some(json!({"context": {"targetingKey": "7"}})),
    )
    .1;
    let native = call(
        "POST",
        port,
        &format!("/api/v1/environments/production/evaluate/{flag}"),
        CLIENT,
        Some(json!({"userId": "7"})),
    )
    .1;
    let features = call("GET", port, "/api/client/features", CLIENT, None).1;
    let feature = features["features"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == flag).cloned())
        .unwrap_or(Value::Null);
    vec![
        seed["enabled"].clone(),
        ofrep["value"].clone(),
        native["value"].clone(),
        feature["enabled"].clone(),
    ]
}

fn set_flag(port: u16, flag: &str, enabled: bool) {
    let action = if enabled { "enable" } else { "disable" };
    let path = format!("/api/v1/flags/{flag}/environments/production/{action}");
    let (status, body) = call("POST", port, &path, ADMIN, None);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn relays_follow_refuse_writes_check_tokens_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("upstream.db");
    let (up, r1, r2) = (free_port(), free_port(), free_port());
    let mut server = serve(&db, up);
    wait_for("the server", || ready(up)["status"] == "ready");
    let flag = json!({"key": "checkout", "type": "boolean",
                      "environments": {"production": {"enabled": true}}});
    assert_eq!(call("POST", up, "/api/v1/flags", ADMIN, Some(flag)).0, 201);
    let token = json!({"name": "sdk", "kind": "client", "environment": "production",
                       "secret": CLIENT});
    assert_eq!(
        call("POST", up, "/api/v1/tokens", ADMIN, Some(token)).0,
        201
    );

    let _relay1 = relay(up, r1);
    let _relay2 = relay(r1, r2);
    let on = vec![json!(true); 4];
    let off = vec![json!(false); 4];
    for port in [r1, r2] {
        wait_for("the relays serve the flag", || {
            answers(port, "checkout") == on
        });
    }
    assert_eq!(answers(up, "checkout"), on);

    // A write on the server reaches both relays on every surface, at its version.
    set_flag(up, "checkout", false);
    for port in [r1, r2] {
        wait_for("the relays follow a write", || {
            answers(port, "checkout") == off
        });
    }
    let version = ready(up)["version"].clone();
    for port in [r1, r2] {
        let health = ready(port);
        assert_eq!(health["status"], "ready", "{health}");
        assert_eq!(health["upstream"], "connected", "{health}");
        assert_eq!(health["version"], version, "{health}");
    }
    let etag = |port| {
        agent()
            .get(format!("http://127.0.0.1:{port}/api/client/features"))
            .header("authorization", CLIENT)
            .call()
            .unwrap()
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(etag(up), etag(r2), "ETags line up through the chain");

    // Writes on a relay are refused, and nothing changes.
    for (method, path) in [
        (
            "POST",
            "/api/v1/flags/checkout/environments/production/enable",
        ),
        ("POST", "/flags/checkout?enabled=true"),
        ("DELETE", "/api/v1/flags/checkout"),
    ] {
        let (status, body) = call(method, r1, path, ADMIN, None);
        assert_eq!(status, 405, "{method} {path}: {body}");
        assert_eq!(body["code"], "relay_read_only", "{body}");
    }
    assert_eq!(answers(up, "checkout"), off);

    // Tokens are the upstream's: unknown ones are refused, revoked ones stop working.
    for port in [r1, r2] {
        let (status, _) = call("GET", port, "/api/client/features", "no-such-token", None);
        assert_eq!(status, 401);
    }
    let spare = json!({"name": "spare", "kind": "client", "environment": "production",
                       "secret": "default:production.relay-test-spare"});
    let (_, created) = call("POST", up, "/api/v1/tokens", ADMIN, Some(spare));
    let spare_id = created["id"].as_str().unwrap().to_string();
    let spare_ok = |port| {
        call(
            "GET",
            port,
            "/api/client/features",
            "default:production.relay-test-spare",
            None,
        )
        .0
    };
    assert_eq!(spare_ok(r2), 200);
    assert_eq!(
        call(
            "DELETE",
            up,
            &format!("/api/v1/tokens/{spare_id}"),
            ADMIN,
            None
        )
        .0,
        200
    );
    for port in [r1, r2] {
        wait_for("a revoked token is refused", || spare_ok(port) == 401);
    }

    // The upstream goes away: the relays keep answering, and say they are degraded.
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    wait_for("the relay notices", || {
        ready(r1)["upstream"] == "disconnected"
    });
    let (status, health) = call("GET", r1, "/health/ready", "", None);
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "degraded", "{health}");
    let metrics = agent()
        .get(format!("http://127.0.0.1:{r1}/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(
        metrics.contains("flagpole_relay_upstream_connected 0"),
        "{metrics}"
    );
    for port in [r1, r2] {
        assert_eq!(answers(port, "checkout"), off, "served from the last state");
    }

    // It comes back on the same database and port; a write made then reaches the relays.
    let _server = serve(&db, up);
    wait_for("the server again", || ready(up)["status"] == "ready");
    set_flag(up, "checkout", true);
    for port in [r1, r2] {
        wait_for("the relays converge", || answers(port, "checkout") == on);
        wait_for("the relays reconnect", || ready(port)["status"] == "ready");
        assert_eq!(ready(port)["version"], ready(up)["version"]);
    }
}
