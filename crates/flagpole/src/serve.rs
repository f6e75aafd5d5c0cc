//! `flagpole serve`: the server on the embedded store (or PostgreSQL), with graceful
//! shutdown on SIGTERM/Ctrl-C and a poll that picks up changes written elsewhere.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;
use flagpole_server::identity::first_start::{self, Bootstrap};
use flagpole_server::Hosts;
use flagpole_server::{service, AppState, ServerConfig};

use crate::listen;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FLAGPOLE_LISTEN", default_value = "127.0.0.1:4242")]
    listen: SocketAddr,
    /// The database: a SQLite file path (created if missing) or a postgres:// URL.
    #[arg(long, env = "FLAGPOLE_DATABASE", default_value = "flagpole.db")]
    database: String,
    /// The environment the seed API (`/flags/{name}`) reads and writes.
    #[arg(long, env = "FLAGPOLE_SEED_ENVIRONMENT", default_value = "production")]
    seed_environment: String,
    /// The project the seed API reads and creates flags in.
    #[arg(long, env = "FLAGPOLE_SEED_PROJECT", default_value = "default")]
    seed_project: String,
    /// `tokens` (default): the seed API's GET needs a client token and its POST an editor.
    /// `open`: both work without a token, as in the seed service (for a drop-in
    /// migration; a warning is logged when listening beyond loopback).
    #[arg(long, env = "FLAGPOLE_SEED_API", default_value = "tokens", value_parser = ["tokens", "open"])]
    seed_api: String,
    /// Trust `X-Forwarded-For` and `X-Forwarded-Proto` (set this only behind a proxy that
    /// sets them): audit addresses, login limits and Secure cookies follow them.
    #[arg(long, env = "FLAGPOLE_TRUST_PROXY_HEADERS")]
    trust_proxy_headers: bool,
    /// `/metrics` needs a viewer credential (health checks stay open).
    #[arg(long, env = "FLAGPOLE_METRICS_AUTH")]
    metrics_auth: bool,
    /// A login session ends after this many minutes without a request.
    #[arg(long, env = "FLAGPOLE_SESSION_IDLE_MINUTES", default_value_t = 8 * 60)]
    session_idle_minutes: u64,
    /// A login session ends after this many hours in any case.
    #[arg(long, env = "FLAGPOLE_SESSION_MAX_HOURS", default_value_t = 7 * 24)]
    session_max_hours: u64,
    /// Largest request body, in bytes (imports may be ten times larger).
    #[arg(long, env = "FLAGPOLE_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    max_body_bytes: usize,
    /// How often to check the store for changes made by other processes (and for token
    /// and user changes), in milliseconds. On PostgreSQL, changes also arrive at once by
    /// notification; the poll covers SQLite and anything a notification missed.
    #[arg(long, env = "FLAGPOLE_RELOAD_INTERVAL_MS", default_value_t = 200)]
    reload_interval_ms: u64,
    /// How often release plans are checked (guards) and advanced, in milliseconds.
    #[arg(
        long,
        env = "FLAGPOLE_RELEASE_CHECK_INTERVAL_MS",
        default_value_t = 10_000
    )]
    release_check_interval_ms: u64,
    /// The length of one second of a release plan's milestone wait, in milliseconds
    /// (1000; tests and demos shorten it).
    #[arg(long, env = "FLAGPOLE_RELEASE_TIME_UNIT_MS", default_value_t = 1000)]
    release_time_unit_ms: u64,
    /// The Prometheus server release-plan guards query (e.g. http://localhost:9090).
    #[arg(long, env = "FLAGPOLE_PROMETHEUS_URL")]
    prometheus_url: Option<String>,
    /// How often to look for scheduled changes that are due, in milliseconds (and once at
    /// start, for those that fell due while the server was down).
    #[arg(long, env = "FLAGPOLE_SCHEDULE_INTERVAL_MS", default_value_t = 250)]
    schedule_interval_ms: u64,
    /// The URL clients reach this server at (e.g. https://flags.example.com): its host is
    /// added to the names the server answers to, its origin to those whose pages may send
    /// changes.
    #[arg(long, env = "FLAGPOLE_PUBLIC_URL")]
    public_url: Option<String>,
    /// More `Host` names to answer to, comma-separated (`*` for any). Loopback names are
    /// always answered; others are refused with 421, against DNS rebinding.
    #[arg(long, env = "FLAGPOLE_ALLOWED_HOSTS", value_delimiter = ',')]
    allowed_hosts: Vec<String>,
    /// Origins whose pages may send changes, comma-separated, besides the server's own
    /// (and, on the browser SDK routes, those frontend tokens allow).
    #[arg(long, env = "FLAGPOLE_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,
    /// Seconds a client has to send a request's headers (also the idle keep-alive limit).
    #[arg(long, env = "FLAGPOLE_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    header_timeout_secs: u64,
    /// Seconds a client has to send a request's body.
    #[arg(long, env = "FLAGPOLE_BODY_TIMEOUT_SECS", default_value_t = 30)]
    body_timeout_secs: u64,
    /// Seconds in-flight requests get to finish after SIGTERM before connections close.
    #[arg(long, env = "FLAGPOLE_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    shutdown_grace_secs: u64,
    /// Seconds to keep retrying a database that cannot be reached at start-up.
    #[arg(long, env = "FLAGPOLE_DATABASE_WAIT_SECS", default_value_t = 30)]
    database_wait_secs: u64,
    /// Most server-sent event streams open at once (SDK streaming); beyond it a stream
    /// is refused with 503 and Retry-After. Each takes a file descriptor: raise
    /// `ulimit -n` to match.
    #[arg(long, env = "FLAGPOLE_STREAM_LIMIT", default_value_t = 10_000)]
    stream_limit: usize,
    /// Seconds without an event after which a stream gets a heartbeat comment.
    #[arg(long, env = "FLAGPOLE_STREAM_HEARTBEAT_SECS", default_value_t = 15)]
    stream_heartbeat_secs: u64,
    /// Events a stream may fall behind before it is dropped (told to refetch).
    #[arg(long, env = "FLAGPOLE_STREAM_QUEUE", default_value_t = 64)]
    stream_queue: usize,
    /// Log format: `text` or `json`.
    #[arg(long, env = "FLAGPOLE_LOG_FORMAT", default_value = "text")]
    log_format: String,
}

pub fn run(args: ServeArgs) -> Result<()> {
    init_logging(&args.log_format);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(serve(args))
}

pub(crate) fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLAGPOLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a terminal: not in files, pipes or journald.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    flagpole_server::telemetry::install();
    // Bind first: with the port taken, nothing is created or migrated.
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let store = open_store(&args.database, Duration::from_secs(args.database_wait_secs)).await?;
    store
        .check_writable()
        .await
        .map_err(anyhow::Error::new)
        .with_context(|| {
            format!(
                "the database {} cannot be written; Flagpole needs to write to it: check the file's and its directory's permissions and attributes, or the PostgreSQL role",
                args.database
            )
        })?;
    flagpole_server::ensure_default_environments(&*store).await?;
    bootstrap(&*store).await?;
    let seed_api_open = args.seed_api == "open";
    if seed_api_open && !args.listen.ip().is_loopback() {
        tracing::warn!(
            address = %args.listen,
            "--seed-api open: anyone who can reach this address can read and change flags through /flags/{{name}} without a token"
        );
    }
    let (hosts, allowed_origins) = (hosts(&args)?, origins(&args));
    let config = ServerConfig {
        seed_environment: args.seed_environment,
        seed_project: args.seed_project,
        max_body_bytes: args.max_body_bytes,
        seed_api_open,
        trust_proxy_headers: args.trust_proxy_headers,
        metrics_auth: args.metrics_auth,
        session_idle: Duration::from_secs(args.session_idle_minutes.max(1) * 60),
        session_absolute: Duration::from_secs(args.session_max_hours.max(1) * 3600),
        hosts,
        allowed_origins,
        streams: flagpole_server::StreamConfig {
            max_connections: args.stream_limit,
            heartbeat: Duration::from_secs(args.stream_heartbeat_secs.max(1)),
            queue: args.stream_queue.clamp(1, 1 << 16),
        },
        release: flagpole_server::ReleaseConfig {
            check_interval: Duration::from_millis(args.release_check_interval_ms.max(10)),
            time_unit: Duration::from_millis(args.release_time_unit_ms),
            prometheus_url: args.prometheus_url.clone(),
            ..flagpole_server::ReleaseConfig::default()
        },
    };
    let state = AppState::new(store, config).await?;
    let poller = tokio::spawn(flagpole_server::follow::follow(
        state.core().clone(),
        Duration::from_millis(args.reload_interval_ms.max(10)),
    ));
    let releases = tokio::spawn(state.releases().clone().run());
    let scheduler = tokio::spawn(flagpole_server::review::scheduler::run(
        state.core().clone(),
        Duration::from_millis(args.schedule_interval_ms.max(10)),
    ));
    tracing::info!(address = %listener.local_addr()?, database = %args.database, "flagpole is serving");
    let limits = listen::Limits {
        header_read: Duration::from_secs(args.header_timeout_secs.max(1)),
        body_read: Duration::from_secs(args.body_timeout_secs.max(1)),
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
    };
    listen::serve(listener, service(state), limits, shutdown_signal()).await;
    poller.abort();
    releases.abort();
    scheduler.abort();
    tracing::info!("stopped");
    Ok(())
}

/// Opens the database, retrying with backoff while it cannot be reached (a replica may
/// start before its PostgreSQL), for at most `wait`.
async fn open_store(
    url: &str,
    wait: Duration,
) -> Result<std::sync::Arc<dyn flagpole_store::Store>> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut delay = Duration::from_millis(250);
    loop {
        match flagpole_store::open(url).await {
            Ok(store) => return Ok(store),
            Err(e) if e.is_unavailable() && tokio::time::Instant::now() + delay < deadline => {
                tracing::warn!(error = %e, retry_in = ?delay, "the database cannot be reached; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                return Err(anyhow::Error::new(e))
                    .with_context(|| format!("cannot open the database {url}"))
            }
        }
    }
}

/// The `Host` names to answer to: loopback, the listen address when it is a specific one,
/// `--public-url`'s host and `--allowed-hosts`.
fn hosts(args: &ServeArgs) -> Result<Hosts> {
    let mut extra = args.allowed_hosts.clone();
    if !args.listen.ip().is_unspecified() {
        extra.push(match args.listen.ip() {
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        });
    }
    if let Some(url) = &args.public_url {
        let (_, origin) = public_origin(url)?;
        extra.push(origin.split_once("://").map_or("", |(_, h)| h).to_string());
    }
    Ok(Hosts::loopback_and(extra))
}

fn origins(args: &ServeArgs) -> Vec<String> {
    let mut origins = args.allowed_origins.clone();
    if let Some((_, origin)) = args
        .public_url
        .as_deref()
        .and_then(|u| public_origin(u).ok())
    {
        origins.push(origin);
    }
    origins
}

/// `https://flags.example.com/x` → `("https", "https://flags.example.com")`.
fn public_origin(url: &str) -> Result<(String, String)> {
    let (scheme, rest) = url
        .split_once("://")
        .filter(|(s, _)| *s == "http" || *s == "https")
        .with_context(|| format!("--public-url must be an http(s):// URL, not {url:?}"))?;
    let host = rest.split('/').next().unwrap_or("");
    anyhow::ensure!(!host.is_empty(), "--public-url {url:?} has no host");
    Ok((scheme.to_string(), format!("{scheme}://{host}")))
}

/// On a new database, creates the user `admin` and an admin token: from
/// `FLAGPOLE_BOOTSTRAP_ADMIN_PASSWORD` and `FLAGPOLE_BOOTSTRAP_TOKEN` when set, else
/// random, printed once here and stored only hashed.
async fn bootstrap(store: &dyn flagpole_store::Store) -> Result<()> {
    let given = Bootstrap {
        admin_password: std::env::var("FLAGPOLE_BOOTSTRAP_ADMIN_PASSWORD").ok(),
        token: std::env::var("FLAGPOLE_BOOTSTRAP_TOKEN").ok(),
    };
    let Some(generated) = first_start::bootstrap(store, given)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot create the first admin user and token")?
    else {
        return Ok(());
    };
    match generated.admin_password {
        Some(password) => tracing::warn!(
            "new database: created the user admin with the password {password} (shown once; change it with `flagpole user passwd admin`)"
        ),
        None => tracing::info!("new database: created the user admin with FLAGPOLE_BOOTSTRAP_ADMIN_PASSWORD"),
    }
    match generated.token {
        Some(token) => tracing::warn!(
            "new database: created the admin token bootstrap: {token} (shown once; stored only hashed)"
        ),
        None => tracing::info!("new database: created the admin token bootstrap from FLAGPOLE_BOOTSTRAP_TOKEN"),
    }
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
