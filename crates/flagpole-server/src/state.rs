//! Shared server state: the store, the published snapshot, and the write lock.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use flagpole_core::{RandomSource, SplitMix64};
use flagpole_store::Store;
use tokio::sync::{broadcast, watch, Mutex};

use crate::auth::session::Throttle;
use crate::auth::Directory;
use crate::error::ApiError;
use crate::published::{Published, Update};

/// Server options, parsed once by the binary.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The environment the seed API (`/flags/{name}`) reads and writes.
    pub seed_environment: String,
    /// Largest request body accepted, in bytes (imports get ten times this).
    pub max_body_bytes: usize,
    /// `--seed-api open`: the seed API takes no token (the seed service's behaviour).
    pub seed_api_open: bool,
    /// Trust `X-Forwarded-For` and `X-Forwarded-Proto` from a proxy in front.
    pub trust_proxy_headers: bool,
    /// `/metrics` needs a viewer credential.
    pub metrics_auth: bool,
    /// A session ends after this long without a request…
    pub session_idle: std::time::Duration,
    /// …and after this long in any case.
    pub session_absolute: std::time::Duration,
    /// The `Host` names the server answers to.
    pub hosts: crate::guard::Hosts,
    /// Origins (besides the server's own) whose pages may send changes.
    pub allowed_origins: Vec<String>,
    /// Server-sent event streams: connection limit, heartbeat, queue.
    pub streams: crate::stream::StreamConfig,
    /// Guarded rollouts (release plans).
    pub release: crate::release::ReleaseConfig,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            seed_environment: "production".into(),
            max_body_bytes: 1 << 20,
            seed_api_open: false,
            trust_proxy_headers: false,
            metrics_auth: false,
            session_idle: std::time::Duration::from_secs(8 * 3600),
            session_absolute: std::time::Duration::from_secs(7 * 24 * 3600),
            hosts: crate::guard::Hosts::Any,
            allowed_origins: Vec::new(),
            streams: crate::stream::StreamConfig::default(),
            release: crate::release::ReleaseConfig::default(),
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
    /// Held while a new state is made from the published one and swapped in.
    publish_lock: Mutex<()>,
    /// The newest configuration version heard of.
    latest: AtomicI64,
    config: ServerConfig,
    changes: watch::Sender<i64>,
    applied: broadcast::Sender<Arc<Applied>>,
    seeds: AtomicU64,
    directory: ArcSwap<Directory>,
    throttle: Throttle,
    /// Until when writes are refused at once, because the last one found the database
    /// unreachable (milliseconds since `started`).
    down_until: AtomicU64,
    started: std::time::Instant,
    streams: crate::stream::Hub,
    release: crate::release::Runtime,
    /// Set when this process is a relay (`crate::relay`).
    relay: std::sync::OnceLock<Arc<crate::relay::Relay>>,
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
        let published = Published::load(&*store).await?;
        let version = published.version;
        let (changes, _) = watch::channel(published.version);
        let (applied, _) = broadcast::channel(APPLIED_QUEUE);
        let directory = Directory::build(&store.load_auth().await?);
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                published: ArcSwap::from_pointee(published),
                write_lock: Mutex::new(()),
                publish_lock: Mutex::new(()),
                latest: AtomicI64::new(version),
                config: config.clone(),
                changes,
                applied,
                seeds: AtomicU64::new(seed_from_clock()),
                directory: ArcSwap::from_pointee(directory),
                throttle: Throttle::default(),
                down_until: AtomicU64::new(0),
                started: std::time::Instant::now(),
                streams: crate::stream::Hub::default(),
                release: crate::release::Runtime::new(&config.release),
                relay: std::sync::OnceLock::new(),
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

    /// The current snapshot without taking a reference count, for one request's read (do
    /// not hold it across an await): every worker taking and dropping a count on the same
    /// `Arc` moves its cache line between cores on every request.
    pub fn published_ref(&self) -> arc_swap::Guard<Arc<Published>> {
        self.inner.published.load()
    }

    /// Serialises writes in this process; hold it from reading the current state to
    /// publishing the new one. A write that cannot have it within [`WRITE_WAIT`] (the
    /// writes before it are stuck on a database that does not answer) fails with 503
    /// rather than queueing.
    pub async fn write_lock(&self) -> Result<tokio::sync::MutexGuard<'_, ()>, ApiError> {
        self.check_store_up()?;
        let guard = tokio::time::timeout(WRITE_WAIT, self.inner.write_lock.lock())
            .await
            .map_err(|_| ApiError::WriteBusy)?;
        self.check_store_up()?;
        Ok(guard)
    }

    /// Passes a store result on; when the database could not be reached, writes are
    /// refused at once for [`STORE_DOWN_FOR`] (then one write tries again).
    pub fn note<T>(&self, result: Result<T, flagpole_store::Error>) -> Result<T, ApiError> {
        if let Err(e) = &result {
            if e.is_unavailable() {
                let until = self.millis() + STORE_DOWN_FOR.as_millis() as u64;
                self.inner.down_until.store(until, Ordering::Relaxed);
                tracing::warn!(error = %e, "the database cannot be reached; refusing writes for now");
            }
        }
        Ok(result?)
    }

    fn check_store_up(&self) -> Result<(), ApiError> {
        if self.millis() < self.inner.down_until.load(Ordering::Relaxed) {
            return Err(ApiError::WriteBusy);
        }
        Ok(())
    }

    fn millis(&self) -> u64 {
        self.inner.started.elapsed().as_millis() as u64
    }

    /// Publishes what the store holds beyond the published version: only the changed
    /// flags and segments (the change feed), or everything again when environments
    /// changed or too much did. Called after another replica's change is heard of, and
    /// by writers whose own change was not the next one.
    pub async fn reload(&self) -> Result<Arc<Published>, ApiError> {
        let _publishing = self.inner.publish_lock.lock().await;
        let current = self.published();
        let changes = self.inner.store.changes_since(current.version).await?;
        self.saw_version(changes.version);
        if changes.version <= current.version {
            return Ok(current);
        }
        if !changes.reload {
            return Ok(self.apply_locked(&current, changes.into()));
        }
        let next = Published::load(&*self.inner.store).await?;
        if next.version <= current.version {
            return Ok(current);
        }
        let next = Arc::new(next);
        let applied = Applied::between(&current, &next);
        self.publish(next.clone(), applied);
        Ok(next)
    }

    /// Publishes the change this process just committed, as the store committed it,
    /// without reading the store again. If another replica's change came first, the
    /// store is read for it (and this one) instead.
    pub async fn publish_update(&self, update: Update) -> Result<Arc<Published>, ApiError> {
        {
            let _publishing = self.inner.publish_lock.lock().await;
            let current = self.published();
            self.saw_version(update.version);
            if update.version <= current.version {
                // Heard of already (a replica's notification of this very write).
                return Ok(current);
            }
            if update.version == current.version + 1 {
                return Ok(self.apply_locked(&current, update));
            }
        }
        self.reload().await
    }

    /// Applies an update to `current` and publishes it; hold the publish lock.
    fn apply_locked(&self, current: &Published, update: Update) -> Arc<Published> {
        let flags = update.flags.iter().map(|(k, _)| k.clone()).collect();
        let segments = update.segments.iter().map(|(k, _)| k.clone()).collect();
        let next = Arc::new(current.apply(update));
        let applied = Applied {
            from: current.version,
            published: next.clone(),
            flags,
            segments,
            full: false,
        };
        self.publish(next.clone(), applied);
        next
    }

    /// Relay mode: replaces the published state with an upstream's whole state at its
    /// version (a relay's `snapshot` event).
    pub async fn replace_state(&self, state: flagpole_store::State) -> Result<(), ApiError> {
        let _publishing = self.inner.publish_lock.lock().await;
        let current = self.published();
        let next = Arc::new(Published::build(state)?);
        self.saw_version(next.version);
        let mut applied = Applied::between(&current, &next);
        // Whatever the relay missed may have touched anything: streams resend all.
        applied.full = true;
        self.publish(next, applied);
        Ok(())
    }

    /// Relay mode: applies an upstream's change made on top of version `from`; `false`
    /// (nothing applied) when this process is not at `from`.
    pub async fn apply_relayed(&self, from: i64, update: Update) -> bool {
        let _publishing = self.inner.publish_lock.lock().await;
        let current = self.published();
        if current.version != from || update.version <= from {
            return false;
        }
        self.saw_version(update.version);
        self.apply_locked(&current, update);
        true
    }

    /// Relay mode: what this process relays, when it is a relay.
    pub fn relay(&self) -> Option<&Arc<crate::relay::Relay>> {
        self.inner.relay.get()
    }

    /// Makes this process a relay (once, before serving).
    pub fn set_relay(&self, relay: Arc<crate::relay::Relay>) {
        let _ = self.inner.relay.set(relay);
    }

    /// Replaces the tokens credentials are checked against (relay mode: the tokens the
    /// upstream vouched for) and has streams check theirs again.
    pub fn set_directory(&self, directory: Directory) {
        self.inner.directory.store(Arc::new(directory));
        self.inner.streams.directory_changed();
    }

    /// Notes a configuration version the store is known to have reached (a
    /// notification, a poll, a write), for the lag metric and readiness.
    pub fn saw_version(&self, version: i64) {
        let seen = self
            .inner
            .latest
            .fetch_max(version, Ordering::Relaxed)
            .max(version);
        let lag = (seen - self.published().version).max(0);
        metrics::gauge!("flagpole_store_version").set(seen as f64);
        metrics::gauge!("flagpole_change_lag").set(lag as f64);
    }

    /// How many configuration versions this process is behind the newest it has heard
    /// of (0: caught up).
    pub fn lag(&self) -> i64 {
        (self.inner.latest.load(Ordering::Relaxed) - self.published().version).max(0)
    }

    /// Swaps in `next` and tells subscribers what changed.
    fn publish(&self, next: Arc<Published>, applied: Applied) {
        self.inner.published.store(next.clone());
        self.inner.changes.send_replace(next.version);
        metrics::gauge!("flagpole_snapshot_version").set(next.version as f64);
        let lag = (self.inner.latest.load(Ordering::Relaxed) - next.version).max(0);
        metrics::gauge!("flagpole_change_lag").set(lag as f64);
        tracing::debug!(
            version = next.version,
            flags = applied.flags.len(),
            segments = applied.segments.len(),
            full = applied.full,
            "published"
        );
        // No receiver is not an error: nobody is streaming.
        let _ = self.inner.applied.send(Arc::new(applied));
    }

    /// Every published change, in order, with the state it produced. A receiver that falls
    /// more than [`APPLIED_QUEUE`] changes behind gets `Lagged` and must start again from
    /// [`AppState::published`].
    pub fn subscribe_applied(&self) -> broadcast::Receiver<Arc<Applied>> {
        self.inner.applied.subscribe()
    }

    /// The tokens and users this process checks credentials against; never waits.
    pub fn directory(&self) -> Arc<Directory> {
        self.inner.directory.load_full()
    }

    /// The directory without taking a reference count (for one request's check; do not
    /// hold it across an await).
    pub fn directory_ref(&self) -> arc_swap::Guard<Arc<Directory>> {
        self.inner.directory.load()
    }

    /// The server-sent event streams (`crate::stream`).
    pub fn streams(&self) -> &crate::stream::Hub {
        &self.inner.streams
    }

    /// Failed-login limits.
    pub fn throttle(&self) -> &Throttle {
        &self.inner.throttle
    }

    /// Reads tokens and users again if the store's auth version moved on (after a change
    /// here, or when another replica made one).
    pub async fn reload_auth(&self) -> Result<(), ApiError> {
        let version = self.inner.store.auth_version().await?;
        if version == self.directory().version {
            return Ok(());
        }
        let directory = Directory::build(&self.inner.store.load_auth().await?);
        tracing::debug!(version = directory.version, "reloaded tokens and users");
        self.inner.directory.store(Arc::new(directory));
        self.inner.streams.directory_changed();
        Ok(())
    }

    /// Writes a token's last use in the background, at most once a minute per token in
    /// this process (`Token::claim_touch`).
    pub fn touch_token(
        &self,
        token: &crate::auth::identity::Token,
        at: chrono::DateTime<chrono::Utc>,
    ) {
        if !token.claim_touch(at.timestamp()) || self.relay().is_some() {
            // Not due yet; or on a relay, whose upstream keeps tokens (it holds none).
            return;
        }
        let store = self.inner.store.clone();
        let id = token.id.clone();
        tokio::spawn(async move {
            if let Err(e) = store.touch_token(&id, at).await {
                tracing::warn!(error = ?e, token = %id, "recording a token's last use failed");
            }
        });
    }

    /// Notified with the configuration version after each publish.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.inner.changes.subscribe()
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

    /// Release plans' and impact previews' per-process parts.
    pub fn release(&self) -> &crate::release::Runtime {
        &self.inner.release
    }

    /// Offers an evaluated context to the environment's impact-preview sample.
    #[inline]
    pub fn sample(&self, environment: &str, ctx: &flagpole_core::Context) {
        self.inner.release.samplers.offer(environment, ctx);
    }

    /// A random source for one evaluation (random stickiness). Each thread steps a
    /// stream of its own, started from the shared seed once, so evaluations on different
    /// workers do not contend for one counter.
    pub fn rng(&self) -> SplitMix64 {
        thread_local! {
            static NEXT: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
        }
        const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
        NEXT.with(|next| {
            let seed = next.get().unwrap_or_else(|| {
                // A start far from every other thread's: the shared seed, mixed.
                SplitMix64(self.inner.seeds.fetch_add(GAMMA, Ordering::Relaxed)).next_u64()
            });
            next.set(Some(seed.wrapping_add(GAMMA)));
            SplitMix64(seed)
        })
    }
}

/// What one publish changed: the flags and segments written (created, updated, archived
/// or deleted) and the state after it. `full` when anything may have changed
/// (environments, or a rebuild after falling behind): subscribers then resend everything.
#[derive(Debug)]
pub struct Applied {
    /// The configuration version before this change.
    pub from: i64,
    pub published: Arc<Published>,
    pub flags: Vec<String>,
    pub segments: Vec<String>,
    pub full: bool,
}

impl Applied {
    /// What differs between two published states.
    pub fn between(before: &Published, after: &Arc<Published>) -> Applied {
        let full = before.environments.len() != after.environments.len()
            || before
                .environments
                .iter()
                .zip(&after.environments)
                .any(|(a, b)| a.name != b.name);
        let mut flags: Vec<String> = after
            .flags
            .iter()
            .filter(|(k, r)| before.flags.get(*k).map(|b| b.version) != Some(r.version))
            .map(|(k, _)| k.clone())
            .collect();
        flags.extend(
            before
                .flags
                .keys()
                .filter(|k| !after.flags.contains_key(*k))
                .cloned(),
        );
        let mut segments: Vec<String> = after
            .segments
            .iter()
            .filter(|(k, r)| before.segments.get(*k).map(|b| b.version) != Some(r.version))
            .map(|(k, _)| k.clone())
            .collect();
        segments.extend(
            before
                .segments
                .keys()
                .filter(|k| !after.segments.contains_key(*k))
                .cloned(),
        );
        Applied {
            from: before.version,
            published: after.clone(),
            flags,
            segments,
            full,
        }
    }
}

/// How many published changes a subscriber may fall behind before it must start again.
/// The queue keeps its last changes even once every subscriber has read them, each with
/// the state it published (all but what it changed is shared with the current one), so
/// it is kept short: 256 changes retain about 3 MB at 10,000 flags.
pub const APPLIED_QUEUE: usize = 256;

/// How long writes are refused at once after one found the database unreachable.
pub const STORE_DOWN_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a write waits for the writes before it.
pub const WRITE_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// The environments a new database starts with.
pub const DEFAULT_ENVIRONMENTS: [&str; 2] = ["development", "production"];

/// Creates [`DEFAULT_ENVIRONMENTS`] in a store that has no environment yet.
pub async fn ensure_default_environments(store: &dyn Store) -> Result<(), ApiError> {
    // Each flag is read and dropped: only the environments are wanted.
    if !store
        .load_each(&mut |_| Ok(()))
        .await?
        .environments
        .is_empty()
    {
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
    let change = flagpole_store::Change {
        address: None,
        actor: "flagpole",
        action: "environment.protected",
        environment: Some("production"),
    };
    store
        .set_environment_protected("production", true, change)
        .await?;
    tracing::info!("created the environments development and production (protected)");
    Ok(())
}

fn seed_from_clock() -> u64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64
}
