//! The one harness of the integration tests: an [`AppState`] on an in-memory SQLite store
//! (or any store, for replicas) with the environments `development` and `production`, its
//! router built once, requests sent with `oneshot` (no socket), and replies read as bytes
//! or JSON. The SDK-surface tests (`cross_surface`, `ofrep`) use it as the API tests do.

#![allow(dead_code, clippy::unwrap_used)]

pub mod credentials;
pub mod postgres;
pub mod sse;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use flagpole_server::{app, AppState, ServerConfig};
use flagpole_store::{AuditFilter, Change, Store};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A server without a socket, and the store behind it.
pub struct Harness {
    pub state: AppState,
    pub store: Arc<dyn Store>,
    /// `app(state)`, built once: it holds nothing but the state.
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
    /// The body as JSON; panics (failing the test) with the body when it is not.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} reply is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
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

    /// A header's value as text; fails the test when it is missing.
    #[track_caller]
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .unwrap()
    }
}

/// What goes into a request body.
#[derive(Clone, Debug)]
pub enum Payload {
    Empty,
    /// Sent with `Content-Type: application/json`.
    Json(Value),
    /// Sent as is, with the content type given (if any).
    Raw(Option<&'static str>, Vec<u8>),
}

impl Payload {
    /// [`Payload::Raw`] from text or bytes.
    pub fn raw(content_type: Option<&'static str>, bytes: impl Into<Vec<u8>>) -> Payload {
        Payload::Raw(content_type, bytes.into())
    }
}

impl Harness {
    /// A fresh server on `sqlite::memory:` with `development` and `production`.
    pub async fn new() -> Harness {
        Harness::with_config(ServerConfig::default()).await
    }

    pub async fn with_config(config: ServerConfig) -> Harness {
        let store = flagpole_store::open("sqlite::memory:").await.unwrap();
        Harness::prepare(&*store).await;
        Harness::serve(store, config).await
    }

    /// A server on `store`, which [`Harness::prepare`] made ready (another replica).
    pub async fn on(store: Arc<dyn Store>) -> Harness {
        Harness::serve(store, ServerConfig::default()).await
    }

    async fn serve(store: Arc<dyn Store>, config: ServerConfig) -> Harness {
        let state = AppState::new(store.clone(), config).await.unwrap();
        let router = app(state.clone());
        Harness {
            state,
            store,
            router,
        }
    }

    /// The application, to call with `oneshot` (it serves this harness's state).
    pub fn app(&self) -> Router {
        self.router.clone()
    }

    /// Creates `development` and `production` and the test credentials in an empty store.
    pub async fn prepare(store: &dyn Store) {
        for name in ["development", "production"] {
            store
                .create_environment(
                    name,
                    Change {
                        address: None,
                        actor: "test",
                        action: "environment.created",
                        environment: Some(name),
                    },
                )
                .await
                .unwrap();
        }
        credentials::install(store).await;
    }

    /// Sends one request through the application. Unless `headers` name a credential, the
    /// request carries the token [`credentials::default_for`] picks; an event stream's reply
    /// holds its first event.
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        payload: Payload,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(uri);
        let body = match payload {
            Payload::Empty => Body::empty(),
            Payload::Json(v) => {
                builder = builder.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            Payload::Raw(content_type, bytes) => {
                if let Some(ct) = content_type {
                    builder = builder.header("content-type", ct);
                }
                Body::from(bytes)
            }
        };
        if !credentials::chosen(headers) {
            let token = credentials::default_for(builder.method_ref().unwrap().as_str(), uri);
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            if !value.is_empty() {
                builder = builder.header(*name, *value);
            }
        }
        let request = builder.body(body).unwrap();
        let response = self.app().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = if sse::is_stream(&parts.headers) {
            // An event stream never ends: keep its first event.
            sse::first_event(body).await
        } else {
            body.collect().await.unwrap().to_bytes()
        };
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, &[], Payload::Empty).await
    }

    pub async fn post(&self, uri: &str) -> Reply {
        self.send(Method::POST, uri, &[], Payload::Empty).await
    }

    pub async fn delete(&self, uri: &str) -> Reply {
        self.send(Method::DELETE, uri, &[], Payload::Empty).await
    }

    pub async fn post_json(&self, uri: &str, body: Value) -> Reply {
        self.send(Method::POST, uri, &[], Payload::Json(body)).await
    }

    pub async fn put_json(&self, uri: &str, body: Value) -> Reply {
        self.send(Method::PUT, uri, &[], Payload::Json(body)).await
    }

    /// Imports a native document (flags and segments) through `POST /api/v1/import`.
    pub async fn import(&self, document: &Value) -> Reply {
        self.post_json("/api/v1/import?format=native", document.clone())
            .await
            .expect(200)
    }

    /// Creates a flag through the API and returns it.
    pub async fn create_flag(&self, body: Value) -> Value {
        self.post_json("/api/v1/flags", body)
            .await
            .expect(201)
            .json()
    }

    /// The stored configuration version.
    pub async fn config_version(&self) -> i64 {
        self.store.version().await.unwrap()
    }

    /// Every audit entry (newest first).
    pub async fn audit(&self, filter: AuditFilter) -> Vec<flagpole_store::AuditEntry> {
        self.store.audit(&filter).await.unwrap()
    }

    /// Everything a write could change, as the store and the API see it: the stored
    /// configuration version, the audit log length, the published snapshot version and
    /// the exported native document.
    pub async fn fingerprint(&self) -> (i64, usize, i64, String) {
        let audit = self
            .audit(AuditFilter {
                limit: Some(1000),
                ..AuditFilter::default()
            })
            .await
            .len();
        let export = self.get("/api/v1/export?format=native").await.expect(200);
        (
            self.config_version().await,
            audit,
            self.state.published().version,
            export.text(),
        )
    }
}

/// A string of `n` characters.
pub fn long(n: usize) -> String {
    "k".repeat(n)
}

/// The methods OpenAPI path items can hold that axum routes.
pub const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// Every operation of an OpenAPI document: method, path template and the operation.
pub fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_string(), path.clone(), op.clone()));
            }
        }
    }
    out
}
