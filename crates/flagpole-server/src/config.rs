//! Every server option as plain data, parsed once by the binary and passed down: the
//! server's own ([`ServerConfig`]), the host names it answers to ([`Hosts`]), event
//! streams ([`StreamConfig`]) and guarded rollouts ([`ReleaseConfig`]). Nothing here
//! reads the environment or does anything; the layers above read these values.

use std::time::Duration;

/// Server options, parsed once by the binary.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The environment the seed API (`/flags/{name}`) reads and writes.
    pub seed_environment: String,
    /// The project the seed API reads and creates flags in.
    pub seed_project: String,
    /// Largest request body accepted, in bytes (imports get ten times this).
    pub max_body_bytes: usize,
    /// `--seed-api open`: the seed API takes no token (the seed service's behaviour).
    pub seed_api_open: bool,
    /// Trust `X-Forwarded-For` and `X-Forwarded-Proto` from a proxy in front.
    pub trust_proxy_headers: bool,
    /// `/metrics` needs a viewer credential.
    pub metrics_auth: bool,
    /// A session ends after this long without a request…
    pub session_idle: Duration,
    /// …and after this long in any case.
    pub session_absolute: Duration,
    /// The `Host` names the server answers to.
    pub hosts: Hosts,
    /// Origins (besides the server's own) whose pages may send changes.
    pub allowed_origins: Vec<String>,
    /// Server-sent event streams: connection limit, heartbeat, queue.
    pub streams: StreamConfig,
    /// Guarded rollouts (release plans).
    pub release: ReleaseConfig,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            seed_environment: "production".into(),
            seed_project: flagpole_core::DEFAULT_PROJECT.into(),
            max_body_bytes: 1 << 20,
            seed_api_open: false,
            trust_proxy_headers: false,
            metrics_auth: false,
            session_idle: Duration::from_secs(8 * 3600),
            session_absolute: Duration::from_secs(7 * 24 * 3600),
            hosts: Hosts::Any,
            allowed_origins: Vec::new(),
            streams: StreamConfig::default(),
            release: ReleaseConfig::default(),
        }
    }
}

/// Which `Host` names the server answers to.
#[derive(Clone, Debug, Default)]
pub enum Hosts {
    /// Any (for tests that build the app without a socket).
    #[default]
    Any,
    /// These names (lower case, without port), or any when the list holds `*`.
    Only(Vec<String>),
}

impl Hosts {
    /// Loopback names, plus the given ones (from `--public-url` and `--allowed-hosts`;
    /// a port given with a name is ignored, as in requests).
    pub fn loopback_and(extra: impl IntoIterator<Item = String>) -> Hosts {
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1", "[::1]"]
            .into_iter()
            .map(str::to_string)
            .collect();
        names.extend(
            extra
                .into_iter()
                .map(|n| strip_port(&n).to_ascii_lowercase()),
        );
        Hosts::Only(names)
    }

    /// Whether a request's `Host` header names this server.
    pub fn allows(&self, host: &str) -> bool {
        match self {
            Hosts::Any => true,
            Hosts::Only(names) => {
                let name = strip_port(host);
                names
                    .iter()
                    .any(|n| n == "*" || n.eq_ignore_ascii_case(name))
            }
        }
    }
}

/// `example.com:4242` → `example.com`; `[::1]:4242` → `[::1]`.
fn strip_port(host: &str) -> &str {
    if let Some(end) = host.find(']') {
        return &host[..=end];
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Stream options (`flagpole serve --stream-*`).
#[derive(Clone, Debug)]
pub struct StreamConfig {
    /// Most streams open at once, over all surfaces; beyond it a stream is refused
    /// with 503 and `Retry-After`.
    pub max_connections: usize,
    /// An SSE comment is sent after this long without an event.
    pub heartbeat: Duration,
    /// How many events a connection may fall behind before it is dropped.
    pub queue: usize,
}

impl Default for StreamConfig {
    fn default() -> StreamConfig {
        StreamConfig {
            max_connections: 10_000,
            heartbeat: Duration::from_secs(15),
            queue: 64,
        }
    }
}

/// Options of guarded rollouts, parsed once by the binary.
#[derive(Clone, Debug)]
pub struct ReleaseConfig {
    /// How often running plans are checked (guards) and advanced.
    pub check_interval: Duration,
    /// The length of one second of a milestone's wait (tests shorten it).
    pub time_unit: Duration,
    /// The Prometheus server guards with `source: prometheus` query (its base URL).
    pub prometheus_url: Option<String>,
    /// How long a Prometheus query may take.
    pub prometheus_timeout: Duration,
}

impl Default for ReleaseConfig {
    fn default() -> ReleaseConfig {
        ReleaseConfig {
            check_interval: Duration::from_secs(10),
            time_unit: Duration::from_secs(1),
            prometheus_url: None,
            prometheus_timeout: Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_matched_without_their_port() {
        let hosts = Hosts::loopback_and(["flags.example.com".to_string()]);
        assert!(hosts.allows("127.0.0.1:4242"));
        assert!(hosts.allows("localhost"));
        assert!(hosts.allows("[::1]:4242"));
        assert!(hosts.allows("FLAGS.example.com:443"));
        assert!(!hosts.allows("evil.example"));
        assert!(!hosts.allows("127.0.0.1.evil.example:4242"));
        assert!(Hosts::Only(vec!["*".into()]).allows("anything"));
        let with_port =
            Hosts::loopback_and(["flags.example.com:8443".to_string(), "[::2]:80".to_string()]);
        assert!(with_port.allows("flags.example.com"));
        assert!(with_port.allows("[::2]:4242"));
    }
}
