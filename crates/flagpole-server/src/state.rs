//! Shared server state: the store, the published snapshot, and the write lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use flagpole_core::SplitMix64;
use flagpole_store::Store;
use tokio::sync::{watch, Mutex};

use crate::error::ApiError;
use crate::published::Published;

/// Server options, parsed once by the binary.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The environment the seed API (`/flags/{name}`) reads and writes.
    pub seed_environment: String,
    /// The environment SDK-facing APIs (OFREP, Unleash) evaluate when the request does
    /// not name one (an Unleash-style token `project:environment.secret` names one).
    pub default_environment: String,
    /// Largest request body accepted, in bytes (imports get ten times this).
    pub max_body_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            seed_environment: "production".into(),
            default_environment: "production".into(),
            max_body_bytes: 1 << 20,
        }
    }
}

/// Cheap to clone; every handler gets one.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    published: ArcSwap<Published>,
    write_lock: Mutex<()>,
    config: ServerConfig,
    changes: watch::Sender<i64>,
    seeds: AtomicU64,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("version", &self.published().version)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Loads the store's state and publishes the first snapshot.
    pub async fn new(store: Arc<dyn Store>, config: ServerConfig) -> Result<AppState, ApiError> {
        crate::telemetry::install();
        let state = store.load().await?;
        let published = Published::build(state)?;
        let (changes, _) = watch::channel(published.version);
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                published: ArcSwap::from_pointee(published),
                write_lock: Mutex::new(()),
                config,
                changes,
                seeds: AtomicU64::new(seed_from_clock()),
            }),
        })
    }

    pub fn store(&self) -> &dyn Store {
        &*self.inner.store
    }

    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The current snapshot; never waits.
    pub fn published(&self) -> Arc<Published> {
        self.inner.published.load_full()
    }

    /// Serialises writes in this process; hold it from reading the current state to
    /// publishing the new one.
    pub async fn write_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.write_lock.lock().await
    }

    /// Reads the store again and publishes a new snapshot if the store moved on.
    pub async fn reload(&self) -> Result<Arc<Published>, ApiError> {
        let state = self.inner.store.load().await?;
        let current = self.published();
        if state.version <= current.version {
            return Ok(current);
        }
        let next = Arc::new(Published::build(state)?);
        self.inner.published.store(next.clone());
        self.inner.changes.send_replace(next.version);
        metrics::gauge!("flagpole_snapshot_version").set(next.version as f64);
        tracing::info!(
            version = next.version,
            flags = next.flags.len(),
            "published snapshot"
        );
        Ok(next)
    }

    /// Notified with the configuration version after each publish.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.inner.changes.subscribe()
    }

    /// The environment an SDK request evaluates: the one named by an Unleash-style token
    /// (`Authorization: project:environment.secret`) if it exists, else the default.
    pub fn sdk_environment(&self, headers: &axum::http::HeaderMap) -> String {
        let named = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|t| t.trim_start_matches("Bearer ").trim())
            .and_then(|t| t.split_once(':'))
            .and_then(|(_, rest)| rest.split_once('.'))
            .map(|(env, _)| env);
        match named {
            Some(env) if self.published().has_environment(env) => env.to_string(),
            _ => self.inner.config.default_environment.clone(),
        }
    }

    /// Stores SDK-reported usage in its hourly bucket.
    pub async fn record_usage(
        &self,
        environment: &str,
        usage: crate::usage::Usage,
    ) -> Result<(), ApiError> {
        let counts: Vec<flagpole_store::UsageCount> = usage
            .flags
            .into_iter()
            .map(|(flag, f)| flagpole_store::UsageCount {
                flag,
                yes: f.yes.min(i64::MAX as u64) as i64,
                no: f.no.min(i64::MAX as u64) as i64,
                variants: f
                    .variants
                    .into_iter()
                    .map(|(v, n)| (v, n.min(i64::MAX as u64) as i64))
                    .collect(),
            })
            .collect();
        if counts.is_empty() {
            return Ok(());
        }
        self.inner
            .store
            .record_usage(environment, usage.start, &counts)
            .await?;
        Ok(())
    }

    /// A random source for one evaluation (random stickiness).
    pub fn rng(&self) -> SplitMix64 {
        SplitMix64(
            self.inner
                .seeds
                .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed),
        )
    }
}

/// The environments a new database starts with.
pub const DEFAULT_ENVIRONMENTS: [&str; 2] = ["development", "production"];

/// Creates [`DEFAULT_ENVIRONMENTS`] in a store that has no environment yet.
pub async fn ensure_default_environments(store: &dyn Store) -> Result<(), ApiError> {
    if !store.load().await?.environments.is_empty() {
        return Ok(());
    }
    for name in DEFAULT_ENVIRONMENTS {
        let change = flagpole_store::Change {
            address: None,
            actor: "flagpole",
            action: "environment.created",
            environment: Some(name),
        };
        store.create_environment(name, change).await?;
    }
    tracing::info!("created the environments development and production");
    Ok(())
}

fn seed_from_clock() -> u64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64
}
