//! `flagpole serve` stops cleanly on SIGTERM: it answers a request that is in flight,
//! then exits with status 0.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{free_port, serve};

/// Sends a request and returns the status line and body.
fn http(port: u16, request: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

#[test]
fn sigterm_finishes_and_exits_zero() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let port = free_port();
    let mut child = serve(port, dir.path().join("f.db"), "shutdown-test-token")
        .spawn()
        .expect("start flagpole serve");
    let deadline = Instant::now() + Duration::from_secs(20);
    let ready = "GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    while !http(port, ready).is_ok_and(|a| a.starts_with("HTTP/1.1 200")) {
        assert!(Instant::now() < deadline, "the server did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A request whose body is still arriving when SIGTERM comes must still be answered.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let body = r#"{"userId": "1"}"#;
    write!(
        slow,
        "POST /api/v1/environments/production/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer shutdown-test-token\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("send headers");
    slow.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(200));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(200));
    slow.write_all(body.as_bytes())
        .expect("send the body after SIGTERM");
    let mut answer = String::new();
    slow.read_to_string(&mut answer).expect("read the answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""environment":"production""#), "{answer}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "exit status {exit}");
}
