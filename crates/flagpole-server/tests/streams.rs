//! The event streams, through `app(state).oneshot`: what each sends on connect, after
//! writes, and after a reconnect with `Last-Event-ID`; that a native stream keeps an
//! in-process copy of the environment exactly in sync; that Unleash events carry the
//! features exactly as `/api/client/features` shows them.

#![allow(clippy::unwrap_used)]

mod common;

use common::credentials::{ADMIN, CLIENT_PRODUCTION};
use common::sse::{self, Stream};
use common::Harness;
use flagpole_core::{Document, Flag, Segment};
use indexmap::IndexMap;
use serde_json::{json, Value};

const CLIENT: &str = "Bearer test-client-production";
const UNLEASH: &str = "/api/client/streaming";
const NATIVE: &str = "/api/v1/environments/production/stream";

async fn open(h: &Harness, uri: &str, token: &str, last: Option<i64>) -> Stream {
    let auth = format!("Bearer {token}");
    let last = last.map(|v| v.to_string());
    let mut headers = vec![("authorization", auth.as_str())];
    if let Some(last) = &last {
        headers.push(("last-event-id", last.as_str()));
    }
    match sse::open(h, uri, &headers).await {
        Ok(stream) => stream,
        Err((status, _, body)) => panic!("{uri}: {status} {body}"),
    }
}

async fn flag(h: &Harness, key: &str, enabled: bool) {
    h.create_flag(json!({"key": key, "environments": {"production": {"enabled": enabled}}}))
        .await;
}

/// `/api/client/features/{name}` as the client token sees it.
async fn client_feature(h: &Harness, name: &str) -> Value {
    h.get_with(
        &format!("/api/client/features/{name}"),
        &[("authorization", CLIENT)],
    )
    .await
    .expect(200)
    .json()
}

#[tokio::test]
async fn unleash_stream_hydrates_then_sends_delta_events() {
    let h = Harness::new().await;
    flag(&h, "a", true).await;
    let mut s = open(&h, UNLEASH, CLIENT_PRODUCTION, None).await;
    let connected = s.next().await;
    assert_eq!(connected.event, "unleash-connected");
    assert_eq!(connected.version(), h.state.published().version);
    let body = connected.json();
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "hydration");
    assert_eq!(events[0]["eventId"], connected.version());
    let features = h.get_ok("/api/client/features").await;
    assert_eq!(events[0]["features"], features["features"]);

    // A new flag: feature-updated, exactly the client API's feature.
    flag(&h, "b", false).await;
    let updated = s.next().await;
    assert_eq!(updated.event, "unleash-updated");
    assert_eq!(updated.version(), h.state.published().version);
    let events = updated.json()["events"].clone();
    assert_eq!(events[0]["type"], "feature-updated");
    assert_eq!(events[0]["feature"], client_feature(&h, "b").await);

    // A segment, then a flag using it: segment-updated, feature-updated.
    h.post_json(
        "/api/v1/segments",
        json!({"name": "beta", "conditions": [{"attribute": "userId", "operator": "IN", "values": ["1"]}]}),
    )
    .await
    .expect(201);
    let events = s.next().await.json()["events"].clone();
    assert_eq!(events[0]["type"], "segment-updated");
    assert_eq!(events[0]["segment"]["id"], 1);
    assert_eq!(
        events[0]["segment"]["constraints"][0]["values"],
        json!(["1"])
    );
    h.create_flag(json!({"key": "c", "environments": {"production": {"enabled": true, "rules": [{"segments": ["beta"]}]}}}))
        .await;
    let events = s.next().await.json()["events"].clone();
    assert_eq!(events[0]["feature"], client_feature(&h, "c").await);
    assert_eq!(
        events[0]["feature"]["strategies"][0]["segments"],
        json!([1])
    );

    // Deleting a flag: feature-removed.
    h.delete("/api/v1/flags/b").await.expect(204);
    let events = s.next().await.json()["events"].clone();
    assert_eq!(
        events,
        json!([{"type": "feature-removed", "eventId": h.state.published().version, "featureName": "b", "project": "default"}])
    );

    // A change only development sees sends nothing to production's stream.
    h.post("/api/v1/flags/a/environments/development/enable")
        .await
        .expect(200);
    assert!(s
        .quiet_for(std::time::Duration::from_millis(300))
        .await
        .is_none());
}

#[tokio::test]
async fn unleash_segment_ids_moving_sends_hydration() {
    let h = Harness::new().await;
    for name in ["s1", "s2"] {
        h.post_json("/api/v1/segments", json!({"name": name, "conditions": []}))
            .await
            .expect(201);
    }
    let mut s = open(&h, UNLEASH, CLIENT_PRODUCTION, None).await;
    s.next().await;
    // Removing the first segment moves the second from id 2 to 1.
    h.delete("/api/v1/segments/s1").await.expect(204);
    let events = s.next().await.json()["events"].clone();
    assert_eq!(events[0]["type"], "hydration");
    assert_eq!(
        events[0]["segments"],
        json!([{"id": 1, "name": "s2", "constraints": []}])
    );
    // Removing the last one moves nothing: segment-removed.
    h.post_json("/api/v1/segments", json!({"name": "s3", "conditions": []}))
        .await
        .expect(201);
    s.next().await;
    h.delete("/api/v1/segments/s3").await.expect(204);
    let events = s.next().await.json()["events"].clone();
    assert_eq!(events[0]["type"], "segment-removed");
    assert_eq!(events[0]["segmentId"], 2);
}

#[tokio::test]
async fn unleash_stream_resumes_from_last_event_id() {
    let h = Harness::new().await;
    flag(&h, "a", true).await;
    let mut s = open(&h, UNLEASH, CLIENT_PRODUCTION, None).await;
    let seen = s.next().await.version();
    drop(s);
    flag(&h, "b", true).await;
    h.delete("/api/v1/flags/a").await.expect(204);
    // What changed since: b updated, a removed; nothing else.
    let mut s = open(&h, UNLEASH, CLIENT_PRODUCTION, Some(seen)).await;
    let connected = s.next().await;
    assert_eq!(connected.event, "unleash-connected");
    assert_eq!(connected.version(), h.state.published().version);
    let events = connected.json()["events"].clone();
    let kinds: Vec<(&str, &str)> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let name = e["feature"]["name"].as_str().or(e["featureName"].as_str());
            (e["type"].as_str().unwrap(), name.unwrap())
        })
        .collect();
    assert_eq!(kinds, [("feature-removed", "a"), ("feature-updated", "b")]);
    // At the current version: an empty list.
    let now = h.state.published().version;
    let mut s = open(&h, UNLEASH, CLIENT_PRODUCTION, Some(now)).await;
    assert_eq!(s.next().await.json(), json!({"events": []}));
    // An id this server cannot resume from (from the future): the whole state.
    let mut s = open(&h, UNLEASH, CLIENT_PRODUCTION, Some(now + 100)).await;
    assert_eq!(s.next().await.json()["events"][0]["type"], "hydration");
}

/// An SDK's copy of one environment, kept by the native stream's events.
#[derive(Default)]
struct Copy {
    version: i64,
    flags: IndexMap<String, Flag>,
    segments: IndexMap<String, Segment>,
}

impl Copy {
    fn apply(&mut self, event: &sse::Event) {
        let body = event.json();
        match event.event.as_str() {
            "snapshot" => {
                self.flags = serde_json::from_value(body["flags"].clone()).unwrap();
                self.segments = serde_json::from_value(body["segments"].clone()).unwrap();
            }
            "change" => {
                let flags: IndexMap<String, Flag> =
                    serde_json::from_value(body["flags"].clone()).unwrap();
                let segments: IndexMap<String, Segment> =
                    serde_json::from_value(body["segments"].clone()).unwrap();
                self.flags.extend(flags);
                self.segments.extend(segments);
                for key in body["deleted_flags"].as_array().unwrap() {
                    self.flags.shift_remove(key.as_str().unwrap());
                }
                for name in body["deleted_segments"].as_array().unwrap() {
                    self.segments.shift_remove(name.as_str().unwrap());
                }
            }
            other => panic!("unexpected event {other}"),
        }
        assert_eq!(body["version"], event.version());
        self.version = event.version();
    }

    /// The copy as a document, in key order.
    fn document(&self) -> Document {
        let mut doc = Document {
            flags: self.flags.clone(),
            segments: self.segments.clone(),
            ..Document::default()
        };
        doc.flags.sort_keys();
        doc.segments.sort_keys();
        doc
    }
}

/// The server's document as production sees it.
fn expected(h: &Harness) -> Document {
    let mut doc = h.state.published().document();
    for flag in doc.flags.values_mut() {
        flag.environments.retain(|env, _| env == "production");
    }
    doc.flags.sort_keys();
    doc.segments.sort_keys();
    doc
}

#[tokio::test]
async fn native_stream_keeps_a_copy_exactly_in_sync() {
    let h = Harness::new().await;
    flag(&h, "a", true).await;
    let mut s = open(&h, NATIVE, ADMIN, None).await;
    let mut copy = Copy::default();
    let first = s.next().await;
    assert_eq!(first.event, "snapshot");
    copy.apply(&first);
    assert_eq!(copy.document(), expected(&h));
    let writes: Vec<(&str, &str, Value)> = vec![
        (
            "POST",
            "/api/v1/segments",
            json!({"name": "beta", "conditions": [{"attribute": "plan", "operator": "IN", "values": ["pro"]}]}),
        ),
        (
            "POST",
            "/api/v1/flags",
            json!({"key": "b", "type": "string", "variants": [{"name": "x", "value": "X"}], "environments": {"production": {"enabled": true, "rules": [{"segments": ["beta"], "serve": {"variant": "x"}}]}}}),
        ),
        (
            "PUT",
            "/api/v1/flags/a/environments/production/rollout",
            json!({"rollout": 25}),
        ),
        (
            "PUT",
            "/api/v1/segments/beta",
            json!({"version": 1, "conditions": []}),
        ),
        ("POST", "/api/v1/flags/a/archive", Value::Null),
        ("DELETE", "/api/v1/flags/b", Value::Null),
        ("DELETE", "/api/v1/segments/beta", Value::Null),
    ];
    for (method, uri, body) in writes {
        let reply = match method {
            "POST" if body.is_null() => h.post(uri).await,
            "POST" => h.post_json(uri, body).await,
            "PUT" => h.put_json(uri, body).await,
            _ => h.delete(uri).await,
        };
        assert!(
            reply.status.is_success(),
            "{method} {uri}: {}",
            reply.text()
        );
        let event = s.next().await;
        assert_eq!(event.event, "change", "{method} {uri}");
        copy.apply(&event);
        assert_eq!(copy.version, h.state.published().version);
        assert_eq!(copy.document(), expected(&h), "after {method} {uri}");
    }
}

#[tokio::test]
async fn native_stream_resumes_or_starts_again() {
    let h = Harness::new().await;
    flag(&h, "a", true).await;
    let v1 = h.state.published().version;
    // Before the fan-out starts, nothing is resumable: the whole state.
    let mut s = open(&h, NATIVE, ADMIN, Some(v1 - 1)).await;
    assert_eq!(s.next().await.event, "snapshot");
    flag(&h, "b", true).await;
    s.next().await;
    h.post("/api/v1/flags/a/environments/production/disable")
        .await
        .expect(200);
    let mut resumed = open(&h, NATIVE, ADMIN, Some(v1)).await;
    let event = resumed.next().await;
    assert_eq!(event.event, "change");
    let body = event.json();
    let keys: Vec<&String> = body["flags"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["a", "b"]);
    assert_eq!(
        body["flags"]["a"]["environments"]["production"]["enabled"],
        false
    );
    // Current: an empty change; then the next write arrives as usual.
    let now = h.state.published().version;
    let mut current = open(&h, NATIVE, ADMIN, Some(now)).await;
    let empty = current.next().await.json();
    assert_eq!(empty["flags"], json!({}));
    assert_eq!(empty["deleted_flags"], json!([]));
    h.delete("/api/v1/flags/a").await.expect(204);
    let event = current.next().await;
    assert_eq!(event.json()["deleted_flags"], json!(["a"]));
    assert_eq!(event.version(), now + 1);
}
