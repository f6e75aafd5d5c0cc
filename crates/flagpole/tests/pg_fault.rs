//! PostgreSQL going away under load: a private PostgreSQL (this machine's binaries,
//! `initdb` into a temporary directory, run as the `postgres` user), a real
//! `flagpole serve` on it taking evaluations and writes; PostgreSQL is stopped
//! (immediate shutdown) and later started again. While it is away, evaluations keep
//! answering from the last snapshot and writes are refused with 503 and `Retry-After`
//! within 2 s (no queueing); after it is back, writes succeed, and every write that was
//! acknowledged at any point is there.
//!
//! Skipped (with a message) where PostgreSQL's server binaries or the `postgres` user
//! are missing; under CI (`CI` set) a missing binary fails instead.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{free_port, serve, wait_for_port, Process};
use serde_json::{json, Value};

const TOKEN: &str = "pg-fault-admin-token";

fn postgres_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop()
}

/// Runs a PostgreSQL tool as the `postgres` user (they refuse to run as root).
fn as_postgres(bin: &Path, tool: &str, args: &[&str]) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(bin.join(tool))
        .args(args)
        .output()
        .unwrap()
}

/// Fails the test with the tool's error output unless `out` is a success.
fn succeeded(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl Postgres {
    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on",
            self.port,
            self.data.display()
        );
        let log = self.data.join("server.log");
        let out = self.pg_ctl(&["-l", log.to_str().unwrap(), "-o", &options, "-w", "start"]);
        succeeded(&out, "pg_ctl start");
    }

    fn stop(&self) {
        let out = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
        succeeded(&out, "pg_ctl stop");
    }

    /// `pg_ctl` on this cluster's data directory.
    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        let data = ["-D", self.data.to_str().unwrap()];
        as_postgres(&self.bin, "pg_ctl", &[&data[..], args].concat())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]);
    }
}

fn agent() -> ureq::Agent {
    common::agent(Some(Duration::from_secs(15)))
}

/// A seed write: its status and how long the answer took.
fn write(base: &str, key: &str) -> (u16, Duration, Option<String>) {
    let started = Instant::now();
    let response = agent()
        .post(format!(
            "{base}/flags/{key}?enabled=true&rollout_percentage=40"
        ))
        .header("authorization", format!("Bearer {TOKEN}"))
        .send_empty()
        .unwrap();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (response.status().as_u16(), started.elapsed(), retry)
}

fn evaluate(base: &str, key: &str) -> u16 {
    agent()
        .post(format!(
            "{base}/api/v1/environments/production/evaluate/{key}"
        ))
        .header("authorization", format!("Bearer {TOKEN}"))
        .send_json(json!({"userId": "1"}))
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn evaluations_survive_a_postgres_outage_and_writes_fail_fast_then_resume() {
    let Some(bin) = postgres_bin() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL's server binaries are missing"
        );
        println!("skipped: no PostgreSQL server binaries under /usr/lib/postgresql");
        return;
    };
    if Command::new("id")
        .arg("postgres")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        println!("skipped: no postgres user to run a private PostgreSQL as");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("pgdata");
    std::fs::create_dir(&data).unwrap();
    Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir.path())
        .status()
        .unwrap();
    let out = as_postgres(
        &bin,
        "initdb",
        &[
            "-D",
            data.to_str().unwrap(),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        ],
    );
    succeeded(&out, "initdb");
    let pg = Postgres {
        bin,
        data,
        port: free_port(),
    };
    pg.start();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.path().join("flagpole.log")).unwrap();
    let database = format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port);
    let server = Process(
        serve(port, database, TOKEN)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    wait_for_port(port, Duration::from_secs(30));

    let mut acknowledged: BTreeMap<String, u16> = BTreeMap::new();
    for i in 0..20 {
        let key = format!("before_{i}");
        let (status, _, _) = write(&base, &key);
        assert_eq!(status, 200, "write {key} before the outage");
        acknowledged.insert(key, status);
    }

    pg.stop();
    let mut slowest = Duration::ZERO;
    for i in 0..10 {
        assert_eq!(
            evaluate(&base, "before_3"),
            200,
            "evaluation during the outage"
        );
        let (status, took, retry) = write(&base, &format!("during_{i}"));
        if status == 200 {
            acknowledged.insert(format!("during_{i}"), status);
            continue;
        }
        assert_eq!(status, 503, "a write during the outage");
        assert!(retry.is_some(), "503 without Retry-After");
        slowest = slowest.max(took);
    }
    // Concurrent writes do not queue behind each other either.
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let base = base.clone();
            std::thread::spawn(move || write(&base, &format!("concurrent_{i}")))
        })
        .collect();
    for handle in handles {
        let (status, took, _) = handle.join().unwrap();
        assert_eq!(status, 503);
        slowest = slowest.max(took);
    }
    println!("pg fault: slowest refused write during the outage took {slowest:?}");
    // Not a benchmark: a bound far above the 1.5 s a refusal takes, and far below what
    // six writes queueing on the database (6 x 1.5 s and more) would take.
    assert!(
        slowest < Duration::from_secs(8),
        "writes must fail fast, not queue: {slowest:?}"
    );

    pg.start();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, _) = write(&base, "after");
        if status == 200 {
            acknowledged.insert("after".into(), status);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "writes did not resume after PostgreSQL came back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let flags: Value = agent()
        .get(format!("{base}/api/v1/flags"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let stored: Vec<&str> = flags["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    for key in acknowledged.keys() {
        assert!(
            stored.contains(&key.as_str()),
            "acknowledged write {key} is missing"
        );
    }
    println!(
        "pg fault: {} acknowledged writes, all present after the restart",
        acknowledged.len()
    );
    drop(server);
}
