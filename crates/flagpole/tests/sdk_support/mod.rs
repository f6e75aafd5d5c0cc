//! What the SDK tests share: a real `flagpole serve` on a free port, an admin API
//! caller, client tokens, and a small seeded random source.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use flagpole_core::{RandomSource, SplitMix64};
use serde_json::{json, Value};

use crate::common::{free_port, serve, Process};

pub const ADMIN_TOKEN: &str = "sdk-test-admin-token";
pub const ENV: &str = "production";

/// A running `flagpole serve`, killed on drop.
pub struct Server {
    pub base: String,
    pub port: u16,
    process: Process,
    http: reqwest::Client,
}

impl Server {
    /// Starts a server on `port` with its database in `dir`, and waits until ready.
    pub async fn start_on(dir: &Path, port: u16) -> Server {
        let child = serve(port, dir.join("flagpole.db"), ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("start flagpole serve");
        let server = Server {
            base: format!("http://127.0.0.1:{port}"),
            port,
            process: Process(child),
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = server
                .http
                .get(format!("{}/health/ready", server.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "the server did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    pub async fn start(dir: &Path) -> Server {
        Server::start_on(dir, free_port()).await
    }

    /// Stops the server.
    pub fn stop(self) {
        drop(self.process);
    }

    /// Calls the API as the admin; returns the status and the JSON answer (`null` when
    /// there is none).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as(method, path, body, ADMIN_TOKEN).await
    }

    pub async fn call_as(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: &str,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Calls and expects a success.
    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method, path, body.clone()).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path} {body:?}: {status} {answer}"
        );
        answer
    }

    /// A new client token for `production`.
    pub async fn client_token(&self) -> String {
        let answer = self
            .ok(
                "POST",
                "/api/v1/tokens",
                Some(json!({"name": format!("sdk-{}", free_port()), "kind": "client", "environment": ENV})),
            )
            .await;
        answer["secret"].as_str().expect("a secret").to_string()
    }

    /// Creates a flag from its native JSON (with `key`).
    pub async fn create_flag(&self, flag: Value) -> Value {
        self.ok("POST", "/api/v1/flags", Some(flag)).await
    }
}

/// A seeded random source for tests.
pub struct Rng(pub SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(SplitMix64(seed))
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u32) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
