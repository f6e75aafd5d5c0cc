//! How a client is made: [`Client::builder`] and the [`ClientBuilder`]'s settings, and
//! start-up: the first fetch within the start-up timeout, else the cache file, else the
//! bootstrap file, else an error that says why. The top of the client: it builds the
//! shared `Inner`, starts the sync and usage tasks, and hands them to the [`Client`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use reqwest::header::HeaderValue;
use tokio::sync::watch;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::inner::{Config, Inner, StatusInfo};
use crate::state::{FlagSet, Source, State};
use crate::{cache, sync, usage};

/// Settings of a [`Client`]; [`ClientBuilder::build`] starts it.
///
/// ```no_run
/// # async fn run() -> Result<(), flagpole_sdk::Error> {
/// use std::time::Duration;
/// use flagpole_sdk::Client;
///
/// let client = Client::builder("https://flags.example.com", "client-token")
///     .environment("production")
///     .app_name("checkout")
///     .cache_file("/var/cache/checkout/flags.json")
///     .bootstrap_file("/etc/checkout/flags.yaml")
///     .startup_timeout(Duration::from_secs(2))
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    url: String,
    token: String,
    environment: String,
    app_name: String,
    instance_id: Option<String>,
    bootstrap_file: Option<PathBuf>,
    cache_file: Option<PathBuf>,
    startup_timeout: Duration,
    poll_interval: Duration,
    metrics_interval: Option<Duration>,
    read_timeout: Duration,
}

impl Client {
    /// Starts building a client for the server at `url` (such as
    /// `http://flagpole.internal:8080`) with a client token.
    pub fn builder(url: impl Into<String>, token: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url.into(), token.into())
    }
}

impl ClientBuilder {
    fn new(url: String, token: String) -> ClientBuilder {
        ClientBuilder {
            url,
            token,
            environment: "production".into(),
            app_name: "flagpole-sdk-rust".into(),
            instance_id: None,
            bootstrap_file: None,
            cache_file: None,
            startup_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_secs(15),
            metrics_interval: Some(Duration::from_secs(60)),
            read_timeout: Duration::from_secs(60),
        }
    }

    /// The environment to evaluate: the one the client token is bound to
    /// (default `production`).
    pub fn environment(mut self, environment: impl Into<String>) -> ClientBuilder {
        self.environment = environment.into();
        self
    }

    /// The application name sent with usage reports (default `flagpole-sdk-rust`).
    pub fn app_name(mut self, app_name: impl Into<String>) -> ClientBuilder {
        self.app_name = app_name.into();
        self
    }

    /// This instance's id in usage reports (default: random per client).
    pub fn instance_id(mut self, instance_id: impl Into<String>) -> ClientBuilder {
        self.instance_id = Some(instance_id.into());
        self
    }

    /// A native flag document (JSON or YAML, as `flagpole export` writes it) to start
    /// from when the server cannot be reached at start-up and there is no cache file.
    pub fn bootstrap_file(mut self, path: impl Into<PathBuf>) -> ClientBuilder {
        self.bootstrap_file = Some(path.into());
        self
    }

    /// Where to keep the last good state: written after every change from the server,
    /// read at start-up when the server cannot be reached.
    pub fn cache_file(mut self, path: impl Into<PathBuf>) -> ClientBuilder {
        self.cache_file = Some(path.into());
        self
    }

    /// How long [`ClientBuilder::build`] waits for the server (default 5 s).
    pub fn startup_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.startup_timeout = timeout;
        self
    }

    /// How often to poll for changes while the stream cannot be had (default 15 s).
    pub fn poll_interval(mut self, interval: Duration) -> ClientBuilder {
        self.poll_interval = interval.max(Duration::from_millis(100));
        self
    }

    /// How often usage counts are sent (default 60 s, as Unleash SDKs do); `None`
    /// sends none.
    pub fn metrics_interval(mut self, interval: Option<Duration>) -> ClientBuilder {
        self.metrics_interval = interval.map(|i| i.max(Duration::from_millis(100)));
        self
    }

    /// How long the stream may stay silent before it is taken for dead and opened
    /// again (default 60 s; the server sends a heartbeat every 15 s).
    pub fn read_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.read_timeout = timeout;
        self
    }

    /// Starts the client: fetches the environment's flags (waiting at most the
    /// start-up timeout), else starts from the cache file, else from the bootstrap file,
    /// else fails with [`Error::Startup`] saying why the fetch failed. Must be called
    /// inside a Tokio runtime, which runs the background tasks.
    pub async fn build(self) -> Result<Client> {
        let config = self.config()?;
        let env = config.environment.clone();
        let first = match tokio::time::timeout(self.startup_timeout, sync::first(&config)).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout(self.startup_timeout)),
        };
        let (state, set, stream, error) = match first {
            Ok((set, stream)) => {
                let state = State::compile(&set, &env, Source::Server)?;
                cache::write(config.cache_file.as_deref(), &set).await;
                (state, set, Some(stream), None)
            }
            Err(e) => {
                tracing::warn!(error = %e, "flagpole: cannot fetch flags at start-up");
                let why = e.to_string();
                let (set, source) = fallback(&self, &env, e)?;
                let state = State::compile(&set, &env, source)?;
                let error = state_error(&set, source, &why);
                (state, set, None, Some(error))
            }
        };
        let (version, _) = watch::channel(state.version);
        let inner = Arc::new(Inner {
            state: ArcSwap::from_pointee(state),
            status: Mutex::new(StatusInfo {
                streaming: stream.is_some(),
                last_error: error,
            }),
            version,
            retired: Mutex::new(Vec::new()),
            bucket_start: Mutex::new(chrono::Utc::now()),
            config,
        });
        let (shutdown, receiver) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(sync::run(
            inner.clone(),
            set,
            stream,
            receiver.clone(),
        ))];
        if inner.config.metrics_interval.is_some() {
            tasks.push(tokio::spawn(usage::run(inner.clone(), receiver)));
        }
        Ok(Client::start(inner, shutdown, tasks))
    }

    fn config(&self) -> Result<Config> {
        let url = reqwest::Url::parse(&self.url).map_err(|_| Error::InvalidUrl {
            url: self.url.clone(),
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(Error::InvalidUrl {
                url: self.url.clone(),
            });
        }
        flagpole_core::check_environment_name(&self.environment).map_err(|_| {
            Error::InvalidInput {
                what: "the environment name",
            }
        })?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", self.token))
            .map_err(|_| Error::InvalidInput { what: "the token" })?;
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            .connect_timeout(self.startup_timeout.min(Duration::from_secs(10)))
            .tcp_nodelay(true)
            .build()
            .map_err(Error::Http)?;
        let random = || format!("{:016x}", getrandom::u64().unwrap_or_default());
        Ok(Config {
            http,
            base: self.url.trim_end_matches('/').to_string(),
            authorization,
            environment: self.environment.clone(),
            app_name: self.app_name.clone(),
            instance_id: self.instance_id.clone().unwrap_or_else(random),
            connection_id: random(),
            cache_file: self.cache_file.clone(),
            poll_interval: self.poll_interval,
            metrics_interval: self.metrics_interval,
            read_timeout: self.read_timeout,
        })
    }
}

/// The cache file, else the bootstrap file, else the start-up error.
fn fallback(b: &ClientBuilder, env: &str, error: Error) -> Result<(FlagSet, Source)> {
    if let Some(path) = &b.cache_file {
        match cache::read(path, env) {
            Ok(Some(set)) => return Ok((set, Source::Cache)),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "flagpole: ignoring the cache file"),
        }
    }
    match &b.bootstrap_file {
        Some(path) => Ok((read_bootstrap(path, env)?, Source::Bootstrap)),
        None => Err(Error::Startup(Box::new(error))),
    }
}

fn read_bootstrap(path: &Path, env: &str) -> Result<FlagSet> {
    let doc = cache::read_document(path)?;
    Ok(FlagSet::from_document(doc, env))
}

fn state_error(set: &FlagSet, source: Source, why: &str) -> String {
    format!(
        "started from the {} (version {}): {why}",
        match source {
            Source::Cache => "cache file",
            _ => "bootstrap file",
        },
        set.version
    )
}
