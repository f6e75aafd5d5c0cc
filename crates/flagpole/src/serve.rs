//! `flagpole serve`: the server on the embedded store (or PostgreSQL), with graceful
//! shutdown on SIGTERM/Ctrl-C and a poll that picks up changes written elsewhere.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;
use flagpole_server::auth::issue::{self, Bootstrap};
use flagpole_server::{app, AppState, ServerConfig};

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
    /// How often to check the store for changes made by other processes, in milliseconds.
    #[arg(long, env = "FLAGPOLE_RELOAD_INTERVAL_MS", default_value_t = 1000)]
    reload_interval_ms: u64,
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

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLAGPOLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    flagpole_server::telemetry::install();
    let store = flagpole_store::open(&args.database)
        .await
        .with_context(|| format!("cannot open the database {}", args.database))?;
    flagpole_server::ensure_default_environments(&*store).await?;
    bootstrap(&*store).await?;
    let seed_api_open = args.seed_api == "open";
    if seed_api_open && !args.listen.ip().is_loopback() {
        tracing::warn!(
            address = %args.listen,
            "--seed-api open: anyone who can reach this address can read and change flags through /flags/{{name}} without a token"
        );
    }
    let config = ServerConfig {
        seed_environment: args.seed_environment,
        max_body_bytes: args.max_body_bytes,
        seed_api_open,
        trust_proxy_headers: args.trust_proxy_headers,
        metrics_auth: args.metrics_auth,
        session_idle: Duration::from_secs(args.session_idle_minutes.max(1) * 60),
        session_absolute: Duration::from_secs(args.session_max_hours.max(1) * 3600),
    };
    let state = AppState::new(store, config).await?;
    let poller = tokio::spawn(poll_store(
        state.clone(),
        Duration::from_millis(args.reload_interval_ms.max(10)),
    ));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, database = %args.database, "flagpole is serving");
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    poller.abort();
    tracing::info!("stopped");
    Ok(())
}

/// On a new database, creates the user `admin` and an admin token: from
/// `FLAGPOLE_BOOTSTRAP_ADMIN_PASSWORD` and `FLAGPOLE_BOOTSTRAP_TOKEN` when set, else
/// random, printed once here and stored only hashed.
async fn bootstrap(store: &dyn flagpole_store::Store) -> Result<()> {
    let given = Bootstrap {
        admin_password: std::env::var("FLAGPOLE_BOOTSTRAP_ADMIN_PASSWORD").ok(),
        token: std::env::var("FLAGPOLE_BOOTSTRAP_TOKEN").ok(),
    };
    let Some(generated) = issue::bootstrap(store, given)
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

/// Publishes changes written by other processes (an offline import, another replica).
async fn poll_store(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = state.reload_auth().await {
            tracing::warn!(error = ?e, "reloading tokens and users failed");
        }
        match state.store().version().await {
            Ok(v) if v > state.published().version => {
                if let Err(e) = state.reload().await {
                    tracing::warn!(error = ?e, "reloading the store failed");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "polling the store failed"),
        }
    }
}

async fn shutdown_signal() {
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
