//! The server's core: what every layer above shares, without HTTP. A [`Core`] holds the
//! store, the configuration, the published state and how it is published
//! (`publish.rs`), the write gate (`gate.rs`), the tokens and users credentials are
//! checked against, the failed-login limits, the impact-preview samples and the seed of
//! random draws. It is cheap to clone; the HTTP state, the stream fan-out, the relay and
//! the background tasks each hold one.
//!
//! **Layer rule:** `core` knows nothing of HTTP, of the write service, of streams or
//! relays: it imports only the layers below it (configuration, errors, identity, the
//! published state, samples, usage).

mod gate;
mod publish;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flagpole_core::{Context, RandomSource, SplitMix64};
use flagpole_store::Store;
use tokio::sync::{broadcast, MutexGuard};

use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::identity::{Directories, Directory, Throttle, Token};
use crate::published::{Published, Update};
use crate::sample::Samplers;
use gate::Gate;
use publish::Publisher;

pub use gate::{STORE_DOWN_FOR, WRITE_WAIT};
pub use publish::{Applied, APPLIED_QUEUE};

/// Cheap to clone; every layer above gets one.
#[derive(Clone)]
pub struct Core {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    config: ServerConfig,
    publisher: Publisher,
    gate: Gate,
    directories: Arc<Directories>,
    throttle: Throttle,
    samplers: Samplers,
    /// Where each thread's stream of random draws starts (see [`Core::rng`]).
    seeds: AtomicU64,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("version", &self.published().version)
            .finish_non_exhaustive()
    }
}

impl Core {
    /// Loads the store's state and tokens and publishes the first snapshot.
    pub async fn new(store: Arc<dyn Store>, config: ServerConfig) -> Result<Core, ApiError> {
        crate::telemetry::install();
        let published = Published::load(&*store).await?;
        let directory = Directory::build(&store.load_auth().await?);
        Ok(Core {
            inner: Arc::new(Inner {
                store,
                config,
                publisher: Publisher::new(published),
                gate: Gate::default(),
                directories: Arc::new(Directories::new(directory)),
                throttle: Throttle::default(),
                samplers: Samplers::default(),
                seeds: AtomicU64::new(seed_from_clock()),
            }),
        })
    }

    /// Enters the write gate: one write at a time in this process, waiting at most
    /// `WRITE_WAIT` for the writes before. The write service takes a [`WriteGuard`] in
    /// every function, so holding the gate from reading the current state to publishing
    /// the new one is a rule of the types, not of comments.
    pub async fn begin_write(&self) -> Result<WriteGuard<'_>, ApiError> {
        let lock = self.inner.gate.enter().await?;
        Ok(WriteGuard {
            core: self,
            _lock: lock,
        })
    }

    /// Passes a store result on; when the database could not be reached, writes are
    /// refused at once for `STORE_DOWN_FOR` (then one write tries again).
    pub fn note<T>(&self, result: Result<T, flagpole_store::Error>) -> Result<T, ApiError> {
        self.inner.gate.note(result)
    }

    /// The current snapshot; never waits.
    pub fn published(&self) -> Arc<Published> {
        self.inner.publisher.published()
    }

    /// The current snapshot without taking a reference count, for one request's read (do
    /// not hold it across an await).
    pub fn published_ref(&self) -> arc_swap::Guard<Arc<Published>> {
        self.inner.publisher.published_ref()
    }

    /// Publishes what the store holds beyond the published version (another replica's
    /// change, or everything again when environments changed).
    pub async fn reload(&self) -> Result<Arc<Published>, ApiError> {
        self.inner.publisher.reload(self.store()).await
    }

    /// Publishes the change this process just committed, as the store committed it.
    pub async fn publish_update(&self, update: Update) -> Result<Arc<Published>, ApiError> {
        self.inner
            .publisher
            .publish_update(self.store(), update)
            .await
    }

    /// Relay mode: replaces the published state with an upstream's whole state.
    pub async fn replace_state(&self, state: flagpole_store::State) -> Result<(), ApiError> {
        self.inner.publisher.replace_state(state).await
    }

    /// Relay mode: applies an upstream's change made on top of version `from`; `false`
    /// when this process is not at `from`.
    pub async fn apply_relayed(&self, from: i64, update: Update) -> bool {
        self.inner.publisher.apply_relayed(from, update).await
    }

    /// Notes a configuration version the store is known to have reached.
    pub fn saw_version(&self, version: i64) {
        self.inner.publisher.saw_version(version);
    }

    /// How many configuration versions this process is behind the newest it heard of.
    pub fn lag(&self) -> i64 {
        self.inner.publisher.lag()
    }

    /// Every published change, in order, with the state it produced.
    pub fn subscribe_applied(&self) -> broadcast::Receiver<Arc<Applied>> {
        self.inner.publisher.subscribe_applied()
    }

    pub fn store(&self) -> &dyn Store {
        &*self.inner.store
    }

    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The tokens and users this process checks credentials against, and their change
    /// signal (a relay publishes its upstream's tokens there).
    pub fn directories(&self) -> &Arc<Directories> {
        &self.inner.directories
    }

    /// The current directory; never waits.
    pub fn directory(&self) -> Arc<Directory> {
        self.inner.directories.load()
    }

    /// The directory without taking a reference count (for one request's check; do not
    /// hold it across an await).
    pub fn directory_ref(&self) -> arc_swap::Guard<Arc<Directory>> {
        self.inner.directories.load_ref()
    }

    /// Reads tokens and users again if the store's auth version moved on (after a change
    /// here, or when another replica made one).
    pub async fn reload_auth(&self) -> Result<(), ApiError> {
        let version = self.store().auth_version().await?;
        if version == self.directory().version {
            return Ok(());
        }
        let directory = Directory::build(&self.store().load_auth().await?);
        tracing::debug!(version = directory.version, "reloaded tokens and users");
        self.inner.directories.replace(directory);
        Ok(())
    }

    /// Writes a token's last use in the background, at most once a minute per token in
    /// this process (`Token::claim_touch`).
    pub fn touch_token(&self, token: &Token, at: chrono::DateTime<chrono::Utc>) {
        if !token.claim_touch(at.timestamp()) {
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

    /// Failed-login limits.
    pub fn throttle(&self) -> &Throttle {
        &self.inner.throttle
    }

    /// The impact-preview samples of every sampled environment.
    pub fn samplers(&self) -> &Samplers {
        &self.inner.samplers
    }

    /// Offers an evaluated context to the environment's impact-preview sample.
    #[inline]
    pub fn sample(&self, environment: &str, ctx: &Context) {
        self.inner.samplers.offer(environment, ctx);
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

/// Held by one write in this process, from reading the state it changes to publishing
/// the state after it ([`Core::begin_write`]).
pub struct WriteGuard<'a> {
    core: &'a Core,
    _lock: MutexGuard<'a, ()>,
}

impl std::fmt::Debug for WriteGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteGuard").finish_non_exhaustive()
    }
}

impl<'a> WriteGuard<'a> {
    /// The core the write is for.
    pub fn core(&self) -> &'a Core {
        self.core
    }

    /// The published state; with the gate held, no write of this process changes it
    /// until this one publishes (another replica's change may still be applied).
    pub fn published(&self) -> Arc<Published> {
        self.core.published()
    }
}

fn seed_from_clock() -> u64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64
}
