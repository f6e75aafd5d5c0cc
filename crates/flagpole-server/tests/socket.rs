//! End to end over a real socket: `app(state)` served by `axum::serve` on 127.0.0.1:0,
//! spoken to with a minimal HTTP/1.1 client, replaying the seed tutorial's calls.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;

use common::Harness;
use flagpole_server::app;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One HTTP/1.1 exchange on a fresh connection: status, headers (names in lower case)
/// and body.
struct Exchange {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Exchange {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

async fn http(addr: SocketAddr, method: &str, target: &str, body: &[u8]) -> Exchange {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let token = common::credentials::default_for(method, target);
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();

    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status = status_line[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let rest = raw[split + 4..].to_vec();
    let mut exchange = Exchange {
        status,
        headers,
        body: Vec::new(),
    };
    exchange.body = if exchange.header("transfer-encoding") == Some("chunked") {
        dechunk(&rest)
    } else {
        let len: usize = exchange.header("content-length").unwrap().parse().unwrap();
        assert_eq!(rest.len(), len, "body length matches Content-Length");
        rest
    };
    exchange
}

/// Decodes a chunked body.
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&data[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[tokio::test]
async fn the_seed_tutorial_over_a_real_socket() {
    let h = Harness::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app(h.state.clone()))
            .with_graceful_shutdown(async {
                stopped.await.ok();
            })
            .await
    });

    // The tutorial's calls, as written there.
    let set = http(
        addr,
        "POST",
        "/flags/new_ui?enabled=true&rollout_percentage=25",
        b"",
    )
    .await;
    assert_eq!(set.status, 200);
    assert_eq!(set.header("content-type"), Some("application/json"));
    assert_eq!(set.body, br#"{"status":"updated"}"#);

    let get = http(addr, "GET", "/flags/new_ui?user_id=123", b"").await;
    assert_eq!(get.status, 200);
    assert_eq!(get.header("content-type"), Some("application/json"));
    assert_eq!(get.body, br#"{"flag":"new_ui","enabled":false}"#);

    let inside = http(addr, "GET", "/flags/new_ui?user_id=10", b"").await;
    assert_eq!(inside.body, br#"{"flag":"new_ui","enabled":true}"#);

    let plain = http(addr, "GET", "/flags/new_ui", b"").await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.body, br#"{"flag":"new_ui","enabled":true}"#);

    let missing = http(addr, "GET", "/flags/nope?user_id=123", b"").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("content-type"), Some("application/json"));
    assert_eq!(missing.body, br#"{"detail":"Flag not found"}"#);

    // Refused over the wire as in-process, and nothing written.
    let version = h.store.version().await.unwrap();
    let bad = http(
        addr,
        "POST",
        "/flags/new_ui?enabled=maybe&rollout_percentage=500",
        b"",
    )
    .await;
    assert_eq!(bad.status, 422);
    let detail: serde_json::Value = serde_json::from_slice(&bad.body).unwrap();
    assert_eq!(detail["detail"].as_array().unwrap().len(), 2, "{detail}");
    assert_eq!(h.store.version().await.unwrap(), version);

    // The native API on the same socket sees the seed's write.
    let flag = http(addr, "GET", "/api/v1/flags/new_ui", b"").await;
    assert_eq!(flag.status, 200);
    let flag: serde_json::Value = serde_json::from_slice(&flag.body).unwrap();
    assert_eq!(
        flag["environments"]["production"]["rules"][0]["rollout"],
        25
    );
    let wrong_method = http(addr, "DELETE", "/flags/new_ui", b"").await;
    assert_eq!(wrong_method.status, 405);
    assert!(wrong_method
        .header("allow")
        .is_some_and(|a| a.contains("GET")));
    assert_eq!(wrong_method.body, br#"{"detail":"Method Not Allowed"}"#);

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
