//! Starting and stopping under adverse conditions: a taken port creates no database, an
//! unwritable database refuses to start with a message that says so, and a client that
//! sends half a request header neither keeps its connection nor keeps the server from
//! exiting on SIGTERM.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, wait_for_port};

fn serve(dir: &Path, listen: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flagpole"));
    command
        .args(["serve", "--listen", listen, "--database", "f.db"])
        .args(extra)
        .current_dir(dir)
        .env("FLAGPOLE_BOOTSTRAP_TOKEN", "startup-test-token")
        .stdin(Stdio::null());
    command
}

fn run_to_end(mut command: Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_taken_port_creates_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let out = run_to_end(serve(dir.path(), &address, &[]));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
    assert!(
        !dir.path().join("f.db").exists(),
        "the database was created before the bind failed"
    );
}

#[test]
fn an_unwritable_database_refuses_to_start_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    // Make the database, then make it immutable (root ignores permission bits, not this).
    let port = free_port();
    let mut first = serve(dir.path(), &format!("127.0.0.1:{port}"), &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port, Duration::from_secs(20));
    // SIGTERM: a clean stop checkpoints the WAL into the file.
    Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .unwrap();
    let _ = first.wait();
    let db = dir.path().join("f.db");
    let locked = Command::new("chattr").arg("+i").arg(&db).status();
    if !locked.is_ok_and(|s| s.success()) {
        println!("skipped: chattr +i is not available here");
        return;
    }
    let out = run_to_end(serve(dir.path(), "127.0.0.1:0", &[]));
    let _ = Command::new("chattr").arg("-i").arg(&db).status();
    assert!(!out.status.success(), "a read-only database must not start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot be written") || stderr.contains("readonly database"),
        "{stderr}"
    );
}

#[test]
fn a_half_sent_header_neither_holds_its_connection_nor_the_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = serve(
        dir.path(),
        &format!("127.0.0.1:{port}"),
        &["--header-timeout-secs", "2", "--shutdown-grace-secs", "1"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    wait_for_port(port, Duration::from_secs(20));
    // The header timeout closes a connection whose header never ends.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.write_all(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut rest = Vec::new();
    let read = slow.read_to_end(&mut rest);
    assert!(
        read.is_ok(),
        "the server should close the connection: {read:?}"
    );

    // A second half-sent header, then SIGTERM: the server still exits, with status 0.
    let mut stuck = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stuck
        .write_all(b"POST /api/v1/flags HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("a half-sent request kept the server from exiting");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    drop(stuck);
}
