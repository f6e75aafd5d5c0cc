//! The Rust SDK when the server is away or slow, and at shutdown: it starts from its
//! cache file (the last good state) or a bootstrap file and says so, catches up when
//! the server comes back, fails with the reason when it has nothing to start from,
//! never waits longer than its start-up timeout, and sends its usage counts at shutdown.

mod common;
mod sdk_support;

use std::time::{Duration, Instant};

use common::free_port;
use flagpole_sdk::{Client, ContextBuilder, Error, Reason, Source};
use sdk_support::{Server, ENV};
use serde_json::json;

async fn flag(server: &Server, key: &str, enabled: bool) {
    server
        .create_flag(json!({"key": key, "environments": {ENV: {"enabled": enabled}}}))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_from_the_cache_when_the_server_is_down_and_catches_up_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache.json");
    let port = free_port();
    let server = Server::start_on(dir.path(), port).await;
    flag(&server, "cached", true).await;
    let token = server.client_token().await;
    let client = Client::builder(&server.base, &token)
        .cache_file(&cache)
        .build()
        .await
        .expect("starts");
    assert!(client.bool_value("cached", &ContextBuilder::user("u").build(), false));
    client.shutdown().await;
    assert!(cache.exists(), "the cache file was written");
    server.stop();

    // The server is down: the cache answers, and the status says where it came from.
    let started = Instant::now();
    let client = Client::builder(format!("http://127.0.0.1:{port}"), &token)
        .cache_file(&cache)
        .startup_timeout(Duration::from_millis(500))
        .build()
        .await
        .expect("starts from the cache");
    assert!(started.elapsed() < Duration::from_secs(3));
    let status = client.status();
    assert_eq!(status.source, Source::Cache);
    assert!(!status.streaming);
    // Why: the start-up failure, or the latest failed reconnect.
    assert!(status.last_error.is_some(), "{status:?}");
    let details = client.bool_details("cached", &ContextBuilder::user("u").build(), false);
    assert!(details.value);
    assert_eq!(details.reason, Reason::Default);

    // The server comes back (same database, same port) with a change: the client
    // reconnects and applies it.
    let server = Server::start_on(dir.path(), port).await;
    flag(&server, "later", true).await;
    let mut watch = client.watch_version();
    tokio::time::timeout(
        Duration::from_secs(20),
        watch.wait_for(|_| client.contains("later")),
    )
    .await
    .expect("the client caught up")
    .expect("running");
    assert_eq!(client.status().source, Source::Server);
    client.shutdown().await;
}

#[tokio::test]
async fn starts_from_the_bootstrap_file_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flags.json");
    std::fs::write(
        &file,
        json!({"flags": {"boot": {"type": "string", "variants": [{"name": "v", "value": "from-file"}],
            "environments": {ENV: {"enabled": true, "default": {"variant": "v"}}}}}})
        .to_string(),
    )
    .unwrap();
    let client = Client::builder(format!("http://127.0.0.1:{}", free_port()), "token")
        .bootstrap_file(&file)
        .startup_timeout(Duration::from_millis(300))
        .metrics_interval(None)
        .build()
        .await
        .expect("starts from the bootstrap file");
    assert_eq!(client.status().source, Source::Bootstrap);
    let ctx = ContextBuilder::new().build();
    assert_eq!(client.string_value("boot", &ctx, "default"), "from-file");
    client.shutdown().await;
}

#[tokio::test]
async fn without_a_fallback_start_up_fails_and_says_why() {
    // Nobody listens: refused.
    let url = format!("http://127.0.0.1:{}", free_port());
    let err = Client::builder(&url, "token")
        .startup_timeout(Duration::from_secs(2))
        .build()
        .await
        .expect_err("nothing to start from");
    assert!(
        matches!(&err, Error::Startup(inner) if matches!(**inner, Error::Request(_))),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("no cache or bootstrap file"),
        "{err}"
    );

    // A server that accepts and never answers: the start-up timeout, and no longer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let started = Instant::now();
    let err = Client::builder(&url, "token")
        .startup_timeout(Duration::from_millis(400))
        .build()
        .await
        .expect_err("times out");
    let took = started.elapsed();
    assert!(
        matches!(&err, Error::Startup(inner) if matches!(**inner, Error::Timeout(_))),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("did not answer within 400ms"),
        "{err}"
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
    hold.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_fails_start_up_with_the_servers_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let err = Client::builder(&server.base, "not-a-token")
        .build()
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("401"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_the_usage_counted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    flag(&server, "counted", true).await;
    server
        .create_flag(json!({"key": "colored", "type": "string",
            "variants": [{"name": "red", "value": "#f00"}],
            "environments": {ENV: {"enabled": true, "default": {"variant": "red"}}}}))
        .await;
    let token = server.client_token().await;
    let client = Client::builder(&server.base, &token)
        .metrics_interval(Some(Duration::from_secs(3600)))
        .build()
        .await
        .expect("starts");
    let ctx = ContextBuilder::user("u").build();
    for _ in 0..7 {
        assert!(client.is_enabled("counted", &ctx));
    }
    for _ in 0..3 {
        assert_eq!(client.string_value("colored", &ctx, "?"), "#f00");
    }
    client.bool_value("no-such-flag", &ctx, false);
    client.shutdown().await;

    let usage = server.ok("GET", "/api/v1/usage", None).await;
    let rows = usage["usage"].as_array().expect("usage rows");
    let row = |flag: &str| {
        rows.iter()
            .find(|r| r["flag"] == flag && r["environment"] == ENV)
            .unwrap_or_else(|| panic!("no usage for {flag}: {usage}"))
            .clone()
    };
    assert_eq!(row("counted")["yes"], 7, "{usage}");
    assert_eq!(row("counted")["no"], 0, "{usage}");
    assert_eq!(row("colored")["yes"], 3, "{usage}");
    assert_eq!(row("colored")["variants"]["red"], 3, "{usage}");
}
