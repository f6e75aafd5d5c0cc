//! The event streams' limits and access: who may open which stream, a bad
//! `Last-Event-ID`, the connection limit (503 with `Retry-After`), heartbeats, a slow
//! subscriber dropped with a last `refetch`, a revoked token ending its stream, and the
//! OFREP stream named by the bulk response's `eventStreams` ticket.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::credentials::{
    ADMIN, CLIENT_DEVELOPMENT, CLIENT_PRODUCTION, FRONTEND_ORIGIN, FRONTEND_PRODUCTION,
};
use common::sse::{self, Stream, WAIT};
use common::{bearer, Harness};
use flagpole_server::ServerConfig;
use flagpole_server::StreamConfig;
use serde_json::json;

const UNLEASH: &str = "/api/client/streaming";
const NATIVE: &str = "/api/v1/environments/production/stream";

async fn open(h: &Harness, uri: &str, headers: &[(&str, &str)]) -> Result<Stream, (u16, String)> {
    sse::open(h, uri, headers)
        .await
        .map_err(|(status, headers, body)| {
            if status.as_u16() == 503 {
                assert!(
                    headers.contains_key("retry-after"),
                    "503 without Retry-After"
                );
            }
            (status.as_u16(), body)
        })
}

async fn with_streams(streams: StreamConfig) -> Harness {
    Harness::with_config(ServerConfig {
        streams,
        ..ServerConfig::default()
    })
    .await
}

/// A stream, the token sent (`Some("")`: none, and no default either), other headers,
/// and the status it must get.
type Case<'a> = (&'a str, Option<&'a str>, Vec<(&'a str, String)>, u16);

#[tokio::test]
async fn streams_refuse_callers_their_policy_refuses() {
    let h = Harness::new().await;
    let cases: Vec<Case> = vec![
        (UNLEASH, None, vec![], 401),
        (UNLEASH, Some(FRONTEND_PRODUCTION), vec![], 403),
        (UNLEASH, Some(ADMIN), vec![], 403),
        (NATIVE, None, vec![], 401),
        (NATIVE, Some(FRONTEND_PRODUCTION), vec![], 403),
        (NATIVE, Some(CLIENT_DEVELOPMENT), vec![], 403),
        (
            "/api/v1/environments/nowhere/stream",
            Some(ADMIN),
            vec![],
            404,
        ),
        ("/ofrep/v1/stream", None, vec![], 401),
        ("/ofrep/v1/stream", Some(ADMIN), vec![], 403),
        ("/ofrep/v1/stream?ticket=abc.def", Some(""), vec![], 401),
        ("/ofrep/v1/stream?ticket=a&ticket=b", Some(""), vec![], 400),
        (
            UNLEASH,
            Some(CLIENT_PRODUCTION),
            vec![("last-event-id", "x1".into())],
            400,
        ),
        (
            NATIVE,
            Some(ADMIN),
            vec![("last-event-id", "-3".into())],
            400,
        ),
        (
            NATIVE,
            Some(ADMIN),
            vec![("last-event-id", "9".repeat(40))],
            400,
        ),
    ];
    for (uri, token, extra, status) in cases {
        let mut headers: Vec<(&str, String)> = extra;
        match token {
            Some("") => {}
            Some(t) => headers.push(("authorization", bearer(t))),
            None => {}
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        match open(&h, uri, &headers).await {
            Ok(_) => panic!("{uri} with {token:?}: opened, expected {status}"),
            Err((got, body)) => assert_eq!(got, status, "{uri} with {token:?}: {body}"),
        }
    }
    // Allowed: admin and client tokens of the environment.
    for (uri, token) in [
        (NATIVE, ADMIN),
        (NATIVE, CLIENT_PRODUCTION),
        (UNLEASH, CLIENT_PRODUCTION),
    ] {
        let auth = bearer(token);
        assert!(
            open(&h, uri, &[("authorization", &auth)]).await.is_ok(),
            "{uri} {token}"
        );
    }
}

#[tokio::test]
async fn beyond_the_limit_streams_get_503_until_one_closes() {
    let h = with_streams(StreamConfig {
        max_connections: 2,
        ..StreamConfig::default()
    })
    .await;
    let auth = bearer(ADMIN);
    let headers = [("authorization", auth.as_str())];
    let first = open(&h, NATIVE, &headers).await.unwrap();
    let _second = open(&h, NATIVE, &headers).await.unwrap();
    let (status, body) = open(&h, NATIVE, &headers).await.err().unwrap();
    assert_eq!(status, 503);
    assert!(body.contains("too_many_streams"), "{body}");
    assert_eq!(h.state.streams().connections(), 2);
    drop(first);
    assert!(open(&h, NATIVE, &headers).await.is_ok());
}

#[tokio::test]
async fn quiet_streams_get_heartbeats() {
    let h = with_streams(StreamConfig {
        heartbeat: Duration::from_millis(50),
        ..StreamConfig::default()
    })
    .await;
    let auth = bearer(CLIENT_PRODUCTION);
    let mut s = open(&h, UNLEASH, &[("authorization", &auth)])
        .await
        .unwrap();
    assert_eq!(s.next().await.event, "unleash-connected");
    let beat = s.next_within(WAIT).await.unwrap();
    assert_eq!(beat.event, ":", "{beat:?}");
}

#[tokio::test]
async fn a_slow_subscriber_is_told_to_refetch_and_dropped() {
    let h = with_streams(StreamConfig {
        queue: 2,
        ..StreamConfig::default()
    })
    .await;
    let auth = bearer(ADMIN);
    let mut slow = open(&h, NATIVE, &[("authorization", &auth)]).await.unwrap();
    let seen = slow.next().await.version();
    // Five changes while it reads nothing: more than its queue of two.
    for i in 0..5 {
        h.create_flag(
            json!({"key": format!("f{i}"), "environments": {"production": {"enabled": true}}}),
        )
        .await;
    }
    let last = slow.next().await;
    assert_eq!(last.event, "refetch");
    assert_eq!(
        last.version(),
        seen,
        "the refetch names the last version it had"
    );
    assert!(slow.ends_within(WAIT).await);
    assert_eq!(h.state.streams().connections(), 0);
    // Reconnecting from there brings it up to date.
    let mut again = open(
        &h,
        NATIVE,
        &[
            ("authorization", &auth),
            ("last-event-id", &seen.to_string()),
        ],
    )
    .await
    .unwrap();
    let change = again.next().await.json();
    assert_eq!(change["flags"].as_object().unwrap().len(), 5);
}

#[tokio::test]
async fn revoking_a_token_ends_its_streams() {
    let h = Harness::new().await;
    let created = h.client_token("streamer").await;
    let auth = bearer(created["secret"].as_str().unwrap());
    let mut unleash = open(&h, UNLEASH, &[("authorization", &auth)])
        .await
        .unwrap();
    let mut native = open(&h, NATIVE, &[("authorization", &auth)]).await.unwrap();
    unleash.next().await;
    native.next().await;
    let other = bearer(CLIENT_PRODUCTION);
    let mut unaffected = open(&h, UNLEASH, &[("authorization", &other)])
        .await
        .unwrap();
    unaffected.next().await;
    let id = created["id"].as_str().unwrap();
    h.delete(&format!("/api/v1/tokens/{id}")).await.expect(200);
    assert!(
        unleash.ends_within(WAIT).await,
        "the Unleash stream went on"
    );
    assert!(native.ends_within(WAIT).await, "the native stream went on");
    assert!(!unaffected.ends_within(Duration::from_millis(200)).await);
}

#[tokio::test]
async fn ofrep_bulk_names_a_stream_that_sends_refetch_evaluation() {
    let h = Harness::new().await;
    let bulk = h
        .post_json(
            "/ofrep/v1/evaluate/flags",
            json!({"context": {"targetingKey": "u"}}),
        )
        .await
        .expect(200)
        .json();
    let streams = bulk["eventStreams"].as_array().unwrap();
    assert_eq!(streams[0]["type"], "sse");
    assert_eq!(streams[0]["inactivityDelaySec"], 120);
    let uri = streams[0]["endpoint"]["requestUri"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(uri.starts_with("/ofrep/v1/stream?ticket="), "{uri}");
    // The ticket is the credential (a browser's EventSource sends no header).
    let mut s = open(&h, &uri, &[("authorization", "")]).await.unwrap();
    let first = s.next().await;
    assert_eq!(first.event, "message");
    assert_eq!(first.json()["type"], "refetchEvaluation");
    h.create_flag(json!({"key": "x", "environments": {"production": {"enabled": true}}}))
        .await;
    let event = s.next().await;
    let version = h.state.published().version;
    assert_eq!(event.version(), version);
    let data = event.json();
    assert_eq!(data["type"], "refetchEvaluation");
    assert_eq!(data["etag"], format!("\"{version}\""));
    assert!(data["lastModified"].as_i64().unwrap() > 1_700_000_000);
    // The refetch the event triggers (with flagConfigEtag) sees the change.
    let refetch = h
        .post_json(
            &format!(
                "/ofrep/v1/evaluate/flags?flagConfigEtag={}",
                data["etag"].as_str().unwrap().replace('"', "%22")
            ),
            json!({"context": {"targetingKey": "u"}}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(refetch["metadata"]["version"], version);
    // A development-only change is not this stream's.
    h.post("/api/v1/flags/x/environments/development/enable")
        .await
        .expect(200);
    assert!(s.quiet_for(Duration::from_millis(300)).await.is_none());
    // Reconnecting at the current version: nothing to refetch.
    let mut current = open(
        &h,
        &uri,
        &[
            ("authorization", ""),
            ("last-event-id", &h.state.published().version.to_string()),
        ],
    )
    .await
    .unwrap();
    assert!(current
        .quiet_for(Duration::from_millis(200))
        .await
        .is_none());
}

#[tokio::test]
async fn ofrep_tickets_of_frontend_tokens_keep_their_origins() {
    let h = Harness::new().await;
    let bulk = h
        .send(
            axum::http::Method::POST,
            "/ofrep/v1/evaluate/flags",
            &[
                ("authorization", &bearer(FRONTEND_PRODUCTION)),
                ("origin", FRONTEND_ORIGIN),
            ],
            common::Payload::Json(json!({"context": {"targetingKey": "u"}})),
        )
        .await
        .expect(200)
        .json();
    let uri = bulk["eventStreams"][0]["endpoint"]["requestUri"]
        .as_str()
        .unwrap()
        .to_string();
    let ok = open(
        &h,
        &uri,
        &[("authorization", ""), ("origin", FRONTEND_ORIGIN)],
    )
    .await;
    assert!(ok.is_ok());
    let refused = open(
        &h,
        &uri,
        &[("authorization", ""), ("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(refused.err().unwrap().0, 403);
    // A ticket altered in one digit is refused.
    let mut forged = uri.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    assert_eq!(
        open(&h, &forged, &[("authorization", "")])
            .await
            .err()
            .unwrap()
            .0,
        401
    );
}
