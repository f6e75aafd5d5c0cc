//! Before any route: the `Host` must be one the server answers to, a change sent from
//! another site's page is refused in every mode (the seed API's open mode included), and
//! every answer says `nosniff`.

#![allow(clippy::unwrap_used)]

mod common;

use axum::http::Method;
use common::{Harness, Payload, Reply};
use flagpole_server::Hosts;
use flagpole_server::ServerConfig;

async fn harness(seed_api_open: bool) -> Harness {
    Harness::with_config(ServerConfig {
        hosts: Hosts::loopback_and(["flags.example.com".to_string()]),
        allowed_origins: vec!["https://admin.example.com".into()],
        seed_api_open,
        ..ServerConfig::default()
    })
    .await
}

/// The headers of a request from a page of `origin` to this server, after `nobody`'s.
fn from_page<'a>(nobody: &[(&'a str, &'a str)], origin: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut headers = nobody.to_vec();
    headers.push(("origin", origin));
    headers.push(("host", "127.0.0.1:4242"));
    headers
}

/// A seed API write with `headers`.
async fn seed_write(h: &Harness, headers: &[(&str, &str)]) -> Reply {
    h.send(
        Method::POST,
        "/flags/base?enabled=false",
        headers,
        Payload::Empty,
    )
    .await
}

#[tokio::test]
async fn only_configured_host_names_are_answered() {
    let h = harness(false).await;
    for (host, status) in [
        ("127.0.0.1:4242", 200),
        ("localhost:4242", 200),
        ("[::1]:4242", 200),
        ("flags.example.com", 200),
        ("rebound.attacker.example", 421),
        ("127.0.0.1.attacker.example", 421),
    ] {
        let reply = h.get_with("/api/v1/flags", &[("host", host)]).await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "Host: {host}: {}",
            reply.text()
        );
        assert_eq!(reply.headers["x-content-type-options"], "nosniff");
    }
}

#[tokio::test]
async fn changes_from_other_sites_are_refused_in_every_mode() {
    for open in [false, true] {
        let h = harness(open).await;
        let before = h.fingerprint().await;
        let nobody: &[(&str, &str)] = if open { &[("authorization", "")] } else { &[] };
        for origin in ["http://evil.example", "null"] {
            let headers = from_page(nobody, origin);
            let reply = seed_write(&h, &headers).await;
            assert_eq!(reply.status, 403, "open={open} {origin}: {}", reply.text());
            let reply = h
                .send(
                    Method::POST,
                    "/api/v1/import?format=native",
                    &headers,
                    Payload::Raw(
                        Some("application/json"),
                        br#"{"flags": {"x": {}}}"#.to_vec(),
                    ),
                )
                .await;
            assert_eq!(reply.status, 403, "open={open} {origin}: {}", reply.text());
        }
        assert_eq!(
            h.fingerprint().await,
            before,
            "open={open}: a refused change wrote"
        );
        // The server's own pages, and configured origins, may.
        for origin in ["http://127.0.0.1:4242", "https://admin.example.com"] {
            let reply = seed_write(&h, &from_page(nobody, origin)).await;
            assert_eq!(reply.status, 200, "open={open} {origin}: {}", reply.text());
        }
    }
}
