//! `flagpole relay`: serves every SDK-facing surface from an upstream Flagpole's relay
//! stream, with no database of its own (an in-memory store that stays empty: the
//! published state is the upstream's, at its configuration version). Tokens are the
//! upstream's, looked up when first presented and refreshed; changes are refused. When
//! the upstream goes away the relay keeps serving its last state (`/health/ready` says
//! `degraded`), reconnects with backoff and `Last-Event-ID`, and catches up.

mod follow;
mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;
use flagpole_server::relay::Relay;
use flagpole_server::Hosts;
use flagpole_server::{service, AppState, ServerConfig};

use crate::listen;

#[derive(Debug, Args)]
pub struct RelayArgs {
    /// The upstream Flagpole (a server or another relay), e.g. https://flags.example.com.
    #[arg(long, env = "FLAGPOLE_UPSTREAM")]
    upstream: String,
    /// A token of the upstream with at least the viewer role (an admin token, or a
    /// relay's own): it reads the relay stream and looks up SDK tokens.
    #[arg(long, env = "FLAGPOLE_TOKEN", hide_env_values = true)]
    token: String,
    /// Address to listen on.
    #[arg(long, env = "FLAGPOLE_LISTEN", default_value = "127.0.0.1:4243")]
    listen: SocketAddr,
    /// Serve only these environments (comma-separated); default: every one.
    #[arg(long, env = "FLAGPOLE_ENVIRONMENTS", value_delimiter = ',')]
    environments: Vec<String>,
    /// The environment the seed API (`/flags/{name}`) reads.
    #[arg(long, env = "FLAGPOLE_SEED_ENVIRONMENT", default_value = "production")]
    seed_environment: String,
    /// Seconds between asking the upstream again about the tokens it vouched for: a
    /// revoked token stops working on the relay within this time.
    #[arg(long, env = "FLAGPOLE_TOKEN_REFRESH_SECS", default_value_t = 30)]
    token_refresh_secs: u64,
    /// Seconds without anything from the upstream (its heartbeats come every 15) after
    /// which the relay stream is given up and opened again.
    #[arg(long, env = "FLAGPOLE_UPSTREAM_IDLE_SECS", default_value_t = 45)]
    upstream_idle_secs: u64,
    /// More `Host` names to answer to, comma-separated (`*` for any).
    #[arg(long, env = "FLAGPOLE_ALLOWED_HOSTS", value_delimiter = ',')]
    allowed_hosts: Vec<String>,
    /// Trust `X-Forwarded-For` and `X-Forwarded-Proto` (only behind a proxy that sets them).
    #[arg(long, env = "FLAGPOLE_TRUST_PROXY_HEADERS")]
    trust_proxy_headers: bool,
    /// `/metrics` needs a viewer credential.
    #[arg(long, env = "FLAGPOLE_METRICS_AUTH")]
    metrics_auth: bool,
    /// Most server-sent event streams open at once.
    #[arg(long, env = "FLAGPOLE_STREAM_LIMIT", default_value_t = 10_000)]
    stream_limit: usize,
    /// Seconds without an event after which a stream gets a heartbeat comment.
    #[arg(long, env = "FLAGPOLE_STREAM_HEARTBEAT_SECS", default_value_t = 15)]
    stream_heartbeat_secs: u64,
    /// Seconds in-flight requests get to finish after SIGTERM.
    #[arg(long, env = "FLAGPOLE_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    shutdown_grace_secs: u64,
    /// Log format: `text` or `json`.
    #[arg(long, env = "FLAGPOLE_LOG_FORMAT", default_value = "text")]
    log_format: String,
}

pub fn run(args: RelayArgs) -> Result<()> {
    crate::serve::init_logging(&args.log_format);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(relay(args))
}

async fn relay(args: RelayArgs) -> Result<()> {
    flagpole_server::telemetry::install();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let base = args.upstream.trim_end_matches('/').to_string();
    anyhow::ensure!(
        base.starts_with("http://") || base.starts_with("https://"),
        "--upstream must be an http(s):// URL, not {base:?}"
    );
    // No database of its own: the in-memory store stays empty.
    let store = flagpole_store::open("sqlite::memory:").await?;
    let mut hosts = args.allowed_hosts.clone();
    if !args.listen.ip().is_unspecified() {
        hosts.push(args.listen.ip().to_string());
    }
    let config = ServerConfig {
        seed_environment: args.seed_environment.clone(),
        trust_proxy_headers: args.trust_proxy_headers,
        metrics_auth: args.metrics_auth,
        hosts: Hosts::loopback_and(hosts),
        streams: flagpole_server::StreamConfig {
            max_connections: args.stream_limit,
            heartbeat: Duration::from_secs(args.stream_heartbeat_secs.max(1)),
            ..Default::default()
        },
        ..ServerConfig::default()
    };
    let state = AppState::new(store, config).await?;
    let client = Arc::new(upstream::Client::new(&base, &args.token));
    let relay = Arc::new(Relay::new(
        base.clone(),
        client.clone(),
        state.directories().clone(),
        args.environments.clone(),
    ));
    state.set_relay(relay.clone());
    let follower = tokio::spawn(follow::follow(
        state.core().clone(),
        relay.clone(),
        client,
        Duration::from_secs(args.upstream_idle_secs.max(1)),
    ));
    let refresher = tokio::spawn(follow::refresh_tokens(
        relay.clone(),
        Duration::from_secs(args.token_refresh_secs.max(1)),
    ));
    tracing::info!(address = %listener.local_addr()?, upstream = %base, "flagpole relay is serving");
    let limits = listen::Limits {
        header_read: Duration::from_secs(10),
        body_read: Duration::from_secs(30),
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
    };
    listen::serve(
        listener,
        service(state),
        limits,
        crate::serve::shutdown_signal(),
    )
    .await;
    follower.abort();
    refresher.abort();
    tracing::info!("stopped");
    Ok(())
}
