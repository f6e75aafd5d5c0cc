//! Relay mode: a process with no database of its own that serves every SDK-facing
//! surface from an upstream Flagpole's state. The binary (`flagpole relay`) follows the
//! upstream's relay stream ([`routes`]: `GET /api/v1/relay/stream`, the store's records
//! as the upstream published them) and publishes each event here with the upstream's
//! configuration version ([`AppState::replace_state`], [`AppState::apply_relayed`]), so
//! the relay's own streams, ETags and event ids are the upstream's, and a relay can be
//! another relay's upstream. Tokens are the upstream's ([`tokens`]). Changes are refused
//! ([`refuse_writes`]); `/health/ready` and `/metrics` say whether the upstream is
//! connected ([`Relay::health`]).

pub mod routes;
pub mod tokens;
pub mod wire;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;
use crate::Update;
pub use tokens::Tokens;

/// How a relay asks its upstream about tokens (the binary's HTTP client).
pub trait Upstream: std::fmt::Debug + Send + Sync {
    /// The upstream's answers about these token texts, in order; `Err` when it cannot
    /// be reached or answers something else.
    fn introspect(
        &self,
        tokens: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<wire::Introspection>, ApiError>>;
}

/// What a relay holds besides the state every server has.
#[derive(Debug)]
pub struct Relay {
    /// The upstream's URL, for health and logs (no credential in it).
    upstream: String,
    connected: AtomicBool,
    tokens: Tokens,
    /// The environments served (empty: every one the upstream has).
    environments: Vec<String>,
}

impl Relay {
    pub fn new(upstream: String, client: Arc<dyn Upstream>, environments: Vec<String>) -> Relay {
        metrics::gauge!("flagpole_relay_upstream_connected").set(0.0);
        Relay {
            upstream,
            connected: AtomicBool::new(false),
            tokens: Tokens::new(client),
            environments,
        }
    }

    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// Whether the relay stream to the upstream is open and has delivered its first
    /// event.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    pub fn set_connected(&self, connected: bool) {
        self.connected.store(connected, Ordering::Relaxed);
        metrics::gauge!("flagpole_relay_upstream_connected").set(f64::from(u8::from(connected)));
    }

    /// `/health/ready` on a relay: 200 while it has a state to serve (`ready` with the
    /// upstream connected, `degraded` serving its last state without it), 503 before
    /// it has had any.
    pub fn health(&self, state: &AppState) -> (axum::http::StatusCode, Value) {
        let version = state.published().version;
        let has_state = version > 0 || self.connected();
        let status = match (has_state, self.connected()) {
            (false, _) => "starting",
            (true, true) => "ready",
            (true, false) => "degraded",
        };
        let code = if has_state {
            axum::http::StatusCode::OK
        } else {
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        };
        let upstream = if self.connected() {
            "connected"
        } else {
            "disconnected"
        };
        let body = json!({
            "status": status,
            "relay": true,
            "upstream": upstream,
            "upstream_url": self.upstream,
            "version": version,
            "tokens_cached": self.tokens.len(),
        });
        (code, body)
    }
}

/// Publishes a relay stream event: `snapshot` replaces the state; `change` applies
/// when the relay is at its `from` version. `Ok(false)`: the event does not follow
/// what the relay holds (reconnect for a snapshot).
pub async fn apply_event(state: &AppState, event: &str, data: &str) -> Result<bool, ApiError> {
    let read =
        |e: serde_json::Error| ApiError::bad_request("invalid_relay_event", e.to_string(), None);
    let version = match event {
        "snapshot" => {
            let s: wire::Snapshot = serde_json::from_str(data).map_err(read)?;
            let version = s.version;
            let mut environments = s.environments;
            if let Some(only) = state
                .relay()
                .map(|r| &r.environments)
                .filter(|e| !e.is_empty())
            {
                environments.retain(|e| only.contains(&e.name));
            }
            state
                .replace_state(flagpole_store::State {
                    version: s.version,
                    environments,
                    flags: s.flags,
                    segments: s.segments,
                })
                .await?;
            version
        }
        "change" => {
            let c: wire::Change = serde_json::from_str(data).map_err(read)?;
            let version = c.version;
            let update = Update {
                version: c.version,
                flags: c.flags,
                segments: c.segments,
            };
            if !state.apply_relayed(c.from, update).await {
                return Ok(state.published().version >= version);
            }
            version
        }
        "current" => {
            let c: wire::Current = serde_json::from_str(data).map_err(read)?;
            if c.version != state.published().version {
                return Ok(false);
            }
            c.version
        }
        _ => return Ok(true),
    };
    metrics::gauge!("flagpole_relay_upstream_version").set(version as f64);
    Ok(true)
}

/// On a relay, refuses every request that would change something (405
/// `relay_read_only`), except the SDK routes that only read or report: evaluations,
/// Unleash registration and metrics, token introspection for relays chained behind.
pub fn refuse_writes(state: &AppState, request: &Request) -> Option<Response> {
    if state.relay().is_none() || allowed(request.method(), request.uri().path()) {
        return None;
    }
    Some(ApiError::RelayReadOnly.into_response())
}

fn allowed(method: &Method, path: &str) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    if *method != Method::POST {
        return false;
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(
        segments.as_slice(),
        ["ofrep", "v1", "evaluate", "flags"]
            | ["ofrep", "v1", "evaluate", "flags", _]
            | ["api", "client", "register"]
            | ["api", "client", "metrics"]
            | ["api", "frontend"]
            | ["api", "v1", "environments", _, "evaluate"]
            | ["api", "v1", "environments", _, "evaluate", _]
            | ["api", "v1", "tokens", "introspect"]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sdk_posts_pass_a_relay() {
        assert!(allowed(&Method::POST, "/ofrep/v1/evaluate/flags"));
        assert!(allowed(
            &Method::POST,
            "/api/v1/environments/production/evaluate/x"
        ));
        assert!(allowed(&Method::GET, "/api/v1/flags"));
        assert!(!allowed(&Method::POST, "/flags/x"));
        assert!(!allowed(&Method::POST, "/api/v1/flags"));
        assert!(!allowed(
            &Method::PUT,
            "/api/v1/flags/x/environments/production/rules"
        ));
        assert!(!allowed(&Method::DELETE, "/api/v1/segments/s"));
        assert!(!allowed(&Method::POST, "/api/v1/import"));
    }
}
