//! An in-process client for the SDK-surface tests (`cross_surface`, `ofrep`): a server on
//! an in-memory SQLite store with `development` and `production`, its router built once,
//! and requests sent with `oneshot` (no socket).

#![allow(dead_code, clippy::unwrap_used)]

#[path = "../common/credentials.rs"]
pub mod credentials;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use flagpole_server::{app, AppState, ServerConfig};
use flagpole_store::Change;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A server without a socket.
pub struct Client {
    pub state: AppState,
    router: Router,
}

/// A reply: status, headers and the whole body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON; fails the test, showing the body, when it is not.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} reply is not JSON ({e}): {}", self.status, self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }

    /// A header's value as text.
    #[track_caller]
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .unwrap()
    }
}

impl Client {
    /// A fresh server with the default configuration (SDK APIs and the seed API on
    /// `production`).
    pub async fn new() -> Client {
        let store = flagpole_store::open("sqlite::memory:").await.unwrap();
        for name in ["development", "production"] {
            let change = Change {
                address: None,
                actor: "test",
                action: "environment.created",
                environment: Some(name),
            };
            store.create_environment(name, change).await.unwrap();
        }
        credentials::install(&*store).await;
        let state = AppState::new(store, ServerConfig::default()).await.unwrap();
        let router = app(state.clone());
        Client { state, router }
    }

    /// Sends one request; `content_type` is set when given.
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        if !credentials::chosen(headers) {
            let token = credentials::default_for(builder.method_ref().unwrap().as_str(), uri);
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            if !value.is_empty() {
                builder = builder.header(*name, *value);
            }
        }
        let request = builder.body(body.into()).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, &[], None, Body::empty()).await
    }

    /// POSTs `body` as `application/json`.
    pub async fn post_json(&self, uri: &str, body: &Value) -> Reply {
        self.send(
            Method::POST,
            uri,
            &[],
            Some("application/json"),
            body.to_string(),
        )
        .await
    }

    /// Imports a native document (flags and segments) through `POST /api/v1/import`.
    pub async fn import(&self, document: &Value) -> Reply {
        self.post_json("/api/v1/import?format=native", document)
            .await
            .expect(200)
    }
}
