//! A relay's link to its upstream: the [`Relay`] (the upstream's address, whether its
//! stream is connected, the cache of its answers about tokens, the environments served),
//! its `/health/ready` answer, the publishing of the upstream's events
//! ([`apply_event`]), and which requests a relay serves ([`allows`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::http::Method;
use serde::Serialize;

use super::tokens::{Tokens, Upstream};
use super::wire;
use crate::core::Core;
use crate::error::ApiError;
use crate::identity::Directories;
use crate::published::Update;

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

/// `/health/ready` on a relay.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RelayHealth {
    /// `starting` (nothing to serve yet), `ready`, or `degraded` (serving its last
    /// state without the upstream).
    pub status: &'static str,
    pub relay: bool,
    /// `connected` or `disconnected`.
    pub upstream: &'static str,
    pub upstream_url: String,
    /// The configuration version served.
    pub version: i64,
    pub tokens_cached: usize,
}

impl Relay {
    /// A relay of `upstream` (whose tokens it asks `client` about, publishing those the
    /// upstream vouched for in `directories`), serving `environments` (empty: all).
    pub fn new(
        upstream: String,
        client: Arc<dyn Upstream>,
        directories: Arc<Directories>,
        environments: Vec<String>,
    ) -> Relay {
        metrics::gauge!("flagpole_relay_upstream_connected").set(0.0);
        Relay {
            upstream,
            connected: AtomicBool::new(false),
            tokens: Tokens::new(client, directories),
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

    /// `/health/ready` on a relay serving `version`: `ready` with the upstream
    /// connected, `degraded` serving its last state without it, `starting` before it has
    /// had any (the only state that cannot serve).
    pub fn health(&self, version: i64) -> RelayHealth {
        let has_state = version > 0 || self.connected();
        let status = match (has_state, self.connected()) {
            (false, _) => "starting",
            (true, true) => "ready",
            (true, false) => "degraded",
        };
        let upstream = if self.connected() {
            "connected"
        } else {
            "disconnected"
        };
        RelayHealth {
            status,
            relay: true,
            upstream,
            upstream_url: self.upstream.clone(),
            version,
            tokens_cached: self.tokens.len(),
        }
    }
}

/// Publishes a relay stream event: `snapshot` replaces the state; `change` applies
/// when the relay is at its `from` version. `Ok(false)`: the event does not follow
/// what the relay holds (reconnect for a snapshot).
pub async fn apply_event(
    core: &Core,
    relay: &Relay,
    event: &str,
    data: &str,
) -> Result<bool, ApiError> {
    let read =
        |e: serde_json::Error| ApiError::bad_request("invalid_relay_event", e.to_string(), None);
    let version = match event {
        "snapshot" => {
            let s: wire::Snapshot = serde_json::from_str(data).map_err(read)?;
            let version = s.version;
            let mut environments = s.environments;
            if !relay.environments.is_empty() {
                environments.retain(|e| relay.environments.contains(&e.name));
            }
            core.replace_state(flagpole_store::State {
                version: s.version,
                environments,
                projects: Vec::new(),
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
            if !core.apply_relayed(c.from, update).await {
                return Ok(core.published().version >= version);
            }
            version
        }
        "current" => {
            let c: wire::Current = serde_json::from_str(data).map_err(read)?;
            if c.version != core.published().version {
                return Ok(false);
            }
            c.version
        }
        _ => return Ok(true),
    };
    metrics::gauge!("flagpole_relay_upstream_version").set(version as f64);
    Ok(true)
}

/// Whether a relay serves a request: every read, and of the requests that would change
/// something only the SDK routes that read or report (evaluations, Unleash registration
/// and metrics, token introspection for relays chained behind). The rest is refused
/// (405 `relay_read_only`).
pub fn allows(method: &Method, path: &str) -> bool {
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
        assert!(allows(&Method::POST, "/ofrep/v1/evaluate/flags"));
        assert!(allows(
            &Method::POST,
            "/api/v1/environments/production/evaluate/x"
        ));
        assert!(allows(&Method::GET, "/api/v1/flags"));
        assert!(!allows(&Method::POST, "/flags/x"));
        assert!(!allows(&Method::POST, "/api/v1/flags"));
        assert!(!allows(
            &Method::PUT,
            "/api/v1/flags/x/environments/production/rules"
        ));
        assert!(!allows(&Method::DELETE, "/api/v1/segments/s"));
        assert!(!allows(&Method::POST, "/api/v1/import"));
    }
}
