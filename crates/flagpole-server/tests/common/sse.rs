//! Reading server-sent event streams in tests: a [`Stream`] opened through the harness's
//! `app(state)` with `oneshot`, read event by event with a deadline.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use super::Harness;

/// How long a test waits for an event that should come.
pub const WAIT: Duration = Duration::from_secs(5);

pub fn is_stream(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// The stream's bytes up to the end of its first event (or what came within a second).
pub async fn first_event(body: Body) -> Bytes {
    let mut stream = Stream {
        body,
        buffer: String::new(),
    };
    match stream.next_raw(Duration::from_secs(1)).await {
        Some(text) => Bytes::from(text),
        None => Bytes::new(),
    }
}

/// One SSE event; comments (heartbeats) are kept as events named `:`.
#[derive(Debug, Clone)]
pub struct Event {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

impl Event {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("event {} is not JSON ({e}): {}", self.event, self.data))
    }

    pub fn version(&self) -> i64 {
        self.id.as_deref().unwrap().parse().unwrap()
    }
}

/// An open event stream.
pub struct Stream {
    body: Body,
    buffer: String,
}

/// Opens a stream; the reply when it is not one.
pub async fn open(
    h: &Harness,
    uri: &str,
    headers: &[(&str, &str)],
) -> Result<Stream, (StatusCode, HeaderMap, String)> {
    let mut builder = Request::builder().method(Method::GET).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = h
        .app()
        .oneshot(builder.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    if parts.status != StatusCode::OK || !is_stream(&parts.headers) {
        let bytes = body.collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        return Err((parts.status, parts.headers, text));
    }
    Ok(Stream {
        body,
        buffer: String::new(),
    })
}

impl Stream {
    /// The next event's raw text, or `None` at the end or after `wait`.
    async fn next_raw(&mut self, wait: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let text = self.buffer[..end + 2].to_string();
                self.buffer.drain(..end + 2);
                return Some(text);
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .ok()??;
            if let Ok(data) = frame.unwrap().into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }

    /// The next event (heartbeats included), or `None` at the end or after `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Event> {
        let text = self.next_raw(wait).await?;
        Some(parse(&text))
    }

    /// The next event that is not a heartbeat; panics after [`WAIT`] or at the end.
    #[track_caller]
    pub fn next(&mut self) -> impl std::future::Future<Output = Event> + '_ {
        let caller = std::panic::Location::caller();
        async move {
            loop {
                match self.next_within(WAIT).await {
                    Some(e) if e.event == ":" => continue,
                    Some(e) => return e,
                    None => panic!("{caller}: no event within {WAIT:?}"),
                }
            }
        }
    }

    /// Whether the stream ends (within `wait`), skipping what comes before.
    pub async fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            match tokio::time::timeout(left, self.body.frame()).await {
                Err(_) => return false,
                Ok(None) => return true,
                Ok(Some(_)) => continue,
            }
        }
    }

    /// Nothing but heartbeats for `wait`.
    pub async fn quiet_for(&mut self, wait: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Some(e) if e.event == ":" => continue,
                other => return other,
            }
        }
    }
}

fn parse(text: &str) -> Event {
    let mut event = Event {
        event: "message".into(),
        id: None,
        data: String::new(),
    };
    let mut comment = true;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("event: ") {
            event.event = rest.to_string();
            comment = false;
        } else if let Some(rest) = line.strip_prefix("id: ") {
            event.id = Some(rest.to_string());
            comment = false;
        } else if let Some(rest) = line.strip_prefix("data: ") {
            if !event.data.is_empty() {
                event.data.push('\n');
            }
            event.data.push_str(rest);
            comment = false;
        } else if !line.starts_with(':') && !line.is_empty() {
            comment = false;
        }
    }
    if comment {
        event.event = ":".into();
    }
    event
}
