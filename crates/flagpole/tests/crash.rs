//! Crash safety end to end: a real `flagpole serve` on a SQLite file takes concurrent
//! writes and is killed with SIGKILL at random moments, then restarted on the same file.
//! After every kill the file must pass its integrity check and hold every write the
//! server acknowledged, and after every restart the server must serve them all.
//!
//! The kill moments come from a seeded generator: set `FLAGPOLE_CRASH_SEED` to replay a
//! run (the seed is printed with the summary).

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flagpole_core::{RandomSource, SplitMix64};
use flagpole_store::{SqliteStore, Store};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

/// Rounds of SIGKILL: `FLAGPOLE_CRASH_ROUNDS` when set (`scripts/crash.sh 50`), else 8.
const DEFAULT_ROUNDS: usize = 8;
const WRITERS: usize = 8;
/// A writer stops after this many writes in a round even if the server is still up.
const MAX_WRITES_PER_WRITER: usize = 2_000;
/// The kill comes this many milliseconds after the writers start, chosen at random.
const KILL_AFTER_MS: std::ops::Range<u32> = 50..500;
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_SEED: u64 = 0x00f1_a9b0_1e5e_ed00;

/// The state a write asked for, which must be there once the write was acknowledged.
#[derive(Clone, Debug, PartialEq)]
struct Expected {
    enabled: bool,
    /// `None` when the production environment has no rules (everyone gets `enabled`).
    rollout: Option<i64>,
}

/// Every acknowledged write, by flag key.
type Acknowledged = Arc<Mutex<BTreeMap<String, Expected>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let seed = std::env::var("FLAGPOLE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let mut rng = SplitMix64(seed);
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("crash.db");
    let acknowledged: Acknowledged = Arc::default();
    let unexpected: Arc<Mutex<Vec<String>>> = Arc::default();
    let started = Instant::now();
    // Flag reads checked over HTTP, summed over every restart.
    let mut checked = 0;

    let rounds = std::env::var("FLAGPOLE_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    for round in 0..rounds {
        let mut server = Server::start(&db, dir.path(), round).await;
        checked += verify_over_http(&server, &acknowledged).await;

        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                tokio::spawn(write_flags(
                    server.base.clone(),
                    format!("crash_r{round}_w{w}"),
                    SplitMix64(rng.next_u64()),
                    acknowledged.clone(),
                    unexpected.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        let kill_after = KILL_AFTER_MS.start + rng.below(KILL_AFTER_MS.end - KILL_AFTER_MS.start);
        tokio::time::sleep(Duration::from_millis(kill_after.into())).await;
        server.kill().await;
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.await.expect("writer task");
        }
        let problems = unexpected.lock().expect("lock").clone();
        assert!(
            problems.is_empty(),
            "round {round}: the server answered writes with errors:\n{}\n{}",
            problems.join("\n"),
            server.log()
        );
        verify_in_file(&db, &acknowledged, round).await;
    }

    let server = Server::start(&db, dir.path(), rounds).await;
    let verified = verify_over_http(&server, &acknowledged).await;
    checked += verified;
    let total = acknowledged.lock().expect("lock").len();
    assert!(total > 0, "no write was acknowledged: {}", server.log());
    println!(
        "crash: {rounds} rounds of SIGKILL, {total} acknowledged writes, {verified} verified after \
         the last restart ({checked} flag reads over all restarts), integrity ok after every kill \
         (seed {seed}, {:.1} s)",
        started.elapsed().as_secs_f64()
    );
}

/// One `flagpole serve` child process.
struct Server {
    child: Child,
    base: String,
    log_path: PathBuf,
}

impl Server {
    /// Starts the server on a free port and waits until it reports ready.
    async fn start(db: &Path, dir: &Path, round: usize) -> Server {
        let addr = free_port();
        let log_path = dir.join(format!("serve-{round}.log"));
        let log = std::fs::File::create(&log_path).expect("create the log file");
        let child = Command::new(env!("CARGO_BIN_EXE_flagpole"))
            .arg("serve")
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--database")
            .arg(db)
            .env("FLAGPOLE_LOG", "warn")
            .env("FLAGPOLE_BOOTSTRAP_TOKEN", ADMIN_TOKEN)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log file"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start flagpole serve");
        let mut server = Server {
            child,
            base: format!("http://{addr}"),
            log_path,
        };
        server.wait_ready().await;
        server
    }

    /// Polls `/health/ready` until it answers 200, the child exits, or time runs out.
    async fn wait_ready(&mut self) {
        let client = client();
        let url = format!("{}/health/ready", self.base);
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("check the child") {
                panic!("flagpole serve exited with {status}:\n{}", self.log());
            }
            if let Ok(r) = client.get(&url).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "flagpole serve was not ready within {READY_TIMEOUT:?}:\n{}",
            self.log()
        );
    }

    /// SIGKILL, then waits for the process to be gone.
    async fn kill(&mut self) {
        self.child.start_kill().expect("send SIGKILL");
        let status = self.child.wait().await.expect("wait for the child");
        assert!(!status.success(), "the child exited by itself: {status}");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address")
}

/// The admin token every server of the test starts with, sent with every request.
const ADMIN_TOKEN: &str = "crash-test-admin-token";

fn client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_static("Bearer crash-test-admin-token"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("HTTP client")
}

/// Creates distinct flags until the server dies (or `stop`), alternating the seed API
/// and the native API, and records each write the server acknowledged.
async fn write_flags(
    base: String,
    prefix: String,
    mut rng: SplitMix64,
    acknowledged: Acknowledged,
    unexpected: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) {
    let client = client();
    for n in 0..MAX_WRITES_PER_WRITER {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let key = format!("{prefix}_{n}");
        let enabled = rng.below(2) == 1;
        let (request, expected, ok) = if n % 2 == 0 {
            let rollout = i64::from(rng.below(101));
            let request = client.post(format!(
                "{base}/flags/{key}?enabled={enabled}&rollout_percentage={rollout}"
            ));
            let expected = Expected {
                enabled,
                rollout: (rollout < 100).then_some(rollout),
            };
            (request, expected, reqwest::StatusCode::OK)
        } else {
            let body = json!({
                "key": key,
                "description": "written by the crash test",
                "environments": {"production": {"enabled": enabled}},
            });
            let request = client.post(format!("{base}/api/v1/flags")).json(&body);
            let expected = Expected {
                enabled,
                rollout: None,
            };
            (request, expected, reqwest::StatusCode::CREATED)
        };
        // A transport error is the kill: the write may or may not have landed.
        let Ok(response) = request.send().await else {
            return;
        };
        let status = response.status();
        let Ok(body) = response.text().await else {
            return;
        };
        if status == ok {
            acknowledged
                .lock()
                .expect("lock")
                .insert(key, expected.clone());
        } else {
            unexpected
                .lock()
                .expect("lock")
                .push(format!("{key}: {status} {body}"));
            return;
        }
    }
}

/// GETs every acknowledged flag from the running server; returns how many were checked.
async fn verify_over_http(server: &Server, acknowledged: &Acknowledged) -> usize {
    let expected = acknowledged.lock().expect("lock").clone();
    let client = client();
    for (key, want) in &expected {
        let url = format!("{}/api/v1/flags/{key}", server.base);
        let response = client.get(&url).send().await.expect("GET a flag");
        assert_eq!(
            response.status(),
            reqwest::StatusCode::OK,
            "acknowledged flag {key} is missing after a restart"
        );
        let flag: Value = response.json().await.expect("flag JSON");
        check(key, want, &flag, "over HTTP after a restart");
    }
    expected.len()
}

/// Opens the killed server's file directly: integrity check, then every acknowledged
/// write must be in it.
async fn verify_in_file(db: &Path, acknowledged: &Acknowledged, round: usize) {
    let store = SqliteStore::open(db)
        .await
        .expect("open the killed database");
    if let Err(e) = store.check_integrity().await {
        panic!("round {round}: the database fails its integrity check: {e}");
    }
    let state = store.load().await.expect("load the killed database");
    let stored: BTreeMap<&str, Value> = state
        .flags
        .iter()
        .map(|r| {
            (
                r.key.as_str(),
                serde_json::to_value(&r.flag).expect("flag JSON"),
            )
        })
        .collect();
    for (key, want) in acknowledged.lock().expect("lock").iter() {
        let Some(flag) = stored.get(key.as_str()) else {
            panic!("round {round}: acknowledged flag {key} is not in the database after SIGKILL");
        };
        check(key, want, flag, "in the file after SIGKILL");
    }
    store.close().await;
}

/// The flag (its native JSON) is in the state the acknowledged write asked for.
fn check(key: &str, want: &Expected, flag: &Value, when: &str) {
    let production = &flag["environments"]["production"];
    let got = Expected {
        enabled: production["enabled"].as_bool().unwrap_or(false),
        rollout: production["rules"]
            .as_array()
            .and_then(|rules| rules.first())
            .and_then(|rule| rule["rollout"].as_i64()),
    };
    assert_eq!(&got, want, "flag {key} {when}: {flag}");
}
