//! What the binary's end-to-end tests share: a free port, `flagpole serve` as a command,
//! a child process stopped when dropped, waiting for a server to listen, running the CLI
//! and its output, and an HTTP agent that hands back error statuses instead of failing.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A port nothing listens on at the moment.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `flagpole serve` on 127.0.0.1:`port` with the database `db` and the bootstrap admin
/// token `token`, its output discarded (callers may redirect it).
pub fn serve(port: u16, db: impl AsRef<OsStr>, token: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flagpole"));
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--database")
        .arg(db)
        .env("FLAGPOLE_BOOTSTRAP_TOKEN", token)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// A child process, killed and reaped when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `flagpole serve` child with the bootstrap admin password `cli-test-password`, stopped
/// when dropped, and its base URL.
pub struct Server {
    _process: Process,
    pub url: String,
}

impl Server {
    /// Starts on a port the server picks itself (`127.0.0.1:0`) and reads the address from
    /// its log, so concurrent tests cannot race for a port.
    pub fn start(db: &Path, token: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_flagpole"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--database",
            ])
            .arg(db)
            .env("FLAGPOLE_BOOTSTRAP_TOKEN", token)
            .env("FLAGPOLE_BOOTSTRAP_ADMIN_PASSWORD", "cli-test-password")
            .env("FLAGPOLE_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let fields =
                    serde_json::from_str::<Value>(&line).unwrap_or_default()["fields"].clone();
                if fields["message"] == "flagpole is serving" {
                    let _ = tx.send(fields["address"].as_str().unwrap_or("").to_string());
                }
            }
        });
        let address = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server did not start");
        Server {
            _process: Process(child),
            url: format!("http://{address}"),
        }
    }
}

/// Waits until something accepts connections on `port`, failing the test after `limit`.
pub fn wait_for_port(port: u16, limit: Duration) {
    let deadline = Instant::now() + limit;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the CLI in `dir` with `token` in `FLAGPOLE_TOKEN` (none: no token), and without
/// the `FLAGPOLE_…` settings of the environment the tests run in.
pub fn flagpole_as(args: &[&str], dir: &Path, token: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flagpole"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("FLAGPOLE_SERVER")
        .env_remove("FLAGPOLE_DATABASE")
        .env_remove("FLAGPOLE_TOKEN");
    if let Some(token) = token {
        command.env("FLAGPOLE_TOKEN", token);
    }
    command.output().expect("run flagpole")
}

/// The standard error of a CLI run that must have failed (1: refused; 2: a usage error).
pub fn failed(o: &Output) -> String {
    assert!(
        matches!(o.status.code(), Some(1 | 2)),
        "{:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The standard output of a CLI run that must have succeeded; fails the test with both
/// outputs when it did not.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// An HTTP agent that answers error statuses as responses, with an overall `timeout`.
pub fn agent(timeout: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(timeout)
        .build()
        .new_agent()
}
