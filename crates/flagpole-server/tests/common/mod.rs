//! The one harness of the integration tests: an [`AppState`] on an in-memory SQLite store
//! (or any store, for replicas) with the environments `development` and `production`, its
//! router built once, requests sent with `oneshot` (no socket), and replies read as bytes
//! or JSON. The SDK-surface tests (`cross_surface`, `ofrep`) use it as the API tests do.

#![allow(dead_code, clippy::unwrap_used)]

pub mod credentials;
pub mod postgres;
pub mod projects;
pub mod sse;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use flagpole_server::identity::secret;
use flagpole_server::{app, AppState, ServerConfig};
use flagpole_store::{AuditEntry, AuditFilter, Change, Store, UserRecord};
use http_body_util::BodyExt;
use serde_json::{json, Value};
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

    /// A GET that must answer 200; its JSON body.
    pub async fn get_ok(&self, uri: &str) -> Value {
        self.get(uri).await.expect(200).json()
    }

    /// A GET with `headers` (and the default credential unless they name one).
    pub async fn get_with(&self, uri: &str, headers: &[(&str, &str)]) -> Reply {
        self.send(Method::GET, uri, headers, Payload::Empty).await
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

    /// POSTs `body` as it is, with `content_type` (if any).
    pub async fn post_raw(
        &self,
        uri: &str,
        content_type: Option<&'static str>,
        body: impl Into<Vec<u8>>,
    ) -> Reply {
        self.send(Method::POST, uri, &[], Payload::raw(content_type, body))
            .await
    }

    /// Turns flag `key` on for `percentage` per cent of users through the seed API, which
    /// must accept it; the reply.
    pub async fn seed_rollout(&self, key: &str, percentage: u8) -> Reply {
        let uri = format!("/flags/{key}?enabled=true&rollout_percentage={percentage}");
        self.post(&uri).await.expect(200)
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

    /// Creates a segment through the API and returns it.
    pub async fn create_segment(&self, body: Value) -> Value {
        self.post_json("/api/v1/segments", body)
            .await
            .expect(201)
            .json()
    }

    /// Creates a token through the API and returns it, its secret included.
    pub async fn create_token(&self, body: Value) -> Value {
        self.post_json("/api/v1/tokens", body)
            .await
            .expect(201)
            .json()
    }

    /// PUTs `body` as flag `key`'s rollout in `environment`.
    pub async fn put_rollout(&self, key: &str, environment: &str, body: Value) -> Reply {
        let uri = format!("/api/v1/flags/{key}/environments/{environment}/rollout");
        self.put_json(&uri, body).await
    }

    /// Creates a client token `name` for `production` through the API and returns it, its
    /// secret included.
    pub async fn client_token(&self, name: &str) -> Value {
        self.create_token(json!({"name": name, "kind": "client", "environment": "production"}))
            .await
    }

    /// Schedules a change of flag `key` through the API and returns the schedule.
    pub async fn schedule(&self, key: &str, body: Value) -> Value {
        self.post_json(&format!("/api/v1/flags/{key}/schedules"), body)
            .await
            .expect(201)
            .json()
    }

    /// Stores the user `name` with `role` and `password`, and reloads the credentials.
    pub async fn create_user(&self, name: &str, role: &str, password: &str) {
        let user = UserRecord {
            name: name.into(),
            password_hash: secret::hash_password(password),
            role: role.into(),
            grants: vec![],
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let change = Change {
            actor: "test",
            action: "user.created",
            environment: None,
            address: None,
        };
        self.store.create_user(&user, change).await.unwrap();
        self.state.reload_auth().await.unwrap();
    }

    /// `POST /api/v1/auth/login` as `name` with `password`, sending no other credential.
    pub async fn login(&self, name: &str, password: &str) -> Reply {
        self.send(
            Method::POST,
            "/api/v1/auth/login",
            &[("authorization", "")],
            Payload::Json(json!({"name": name, "password": password})),
        )
        .await
    }

    /// Logs `name` in with `password`; the session cookie (`flagpole_session=…`).
    pub async fn session(&self, name: &str, password: &str) -> String {
        let reply = self.login(name, password).await.expect(200);
        reply
            .header("set-cookie")
            .split(';')
            .next()
            .unwrap()
            .to_string()
    }

    /// Switches sampling on in `environment`, keeping up to `size` contexts, and samples
    /// the contexts of `users` users (`user-0`, `user-1`, …) there.
    pub async fn sample_users(&self, environment: &str, size: usize, users: usize) {
        self.put_json(
            &format!("/api/v1/environments/{environment}/sampling"),
            json!({"enabled": true, "size": size}),
        )
        .await
        .expect(200);
        for i in 0..users {
            let ctx = flagpole_core::Context::with_user(format!("user-{i}"));
            self.state.sample(environment, &ctx);
        }
    }

    /// Evaluates flag `key` in `production` for `context` through the API; the answer.
    pub async fn evaluate(&self, key: &str, context: Value) -> Value {
        let uri = format!("/api/v1/environments/production/evaluate/{key}");
        self.post_json(&uri, context).await.expect(200).json()
    }

    /// The stored configuration version.
    pub async fn config_version(&self) -> i64 {
        self.store.version().await.unwrap()
    }

    /// Every audit entry (newest first).
    pub async fn audit(&self, filter: AuditFilter) -> Vec<AuditEntry> {
        self.store.audit(&filter).await.unwrap()
    }

    /// The audit entries of flag `key` (newest first).
    pub async fn flag_audit(&self, key: &str) -> Vec<AuditEntry> {
        self.audit(AuditFilter {
            flag: Some(key.into()),
            ..AuditFilter::default()
        })
        .await
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

/// The actions in a flag's audit log (newest first) after it was created and a schedule
/// changed it.
pub const SCHEDULE_APPLIED: [&str; 4] = [
    "schedule.applied",
    "flag.updated",
    "schedule.created",
    "flag.created",
];

/// The actions of audit entries, in their order.
pub fn actions(entries: &[AuditEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.action.as_str()).collect()
}

/// The text field `field` of every item of the JSON array `list`, in order.
pub fn texts<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap())
        .collect()
}

/// Asserts that the error answer `body` has a `message` that contains `part`.
#[track_caller]
pub fn assert_message(body: &Value, part: &str) {
    let message = body["message"].as_str().unwrap();
    assert!(message.contains(part), "{body}");
}

/// Asserts that the error answer `body` has the `code` and a `message` that contains `part`.
#[track_caller]
pub fn assert_error(body: &Value, code: &str, part: &str) {
    assert_eq!(body["code"], code);
    assert_message(body, part);
}

/// The `Authorization` value that presents `token`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
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
