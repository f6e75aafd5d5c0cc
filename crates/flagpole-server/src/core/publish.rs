//! Publishing: the published state is swapped whole, made from the one before and what
//! the store committed. A process publishes its own write directly when it is the next
//! configuration version ([`Publisher::publish_update`]); otherwise, and when another
//! process committed something, it reads the store's change feed from the version it
//! holds ([`Publisher::reload`]), so nothing is missed or applied twice. A relay
//! publishes its upstream's state and changes instead ([`Publisher::replace_state`],
//! [`Publisher::apply_relayed`]). Every publish is announced, with what it changed
//! ([`Applied`]), to whoever subscribed (the stream fan-out, relays following this one).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use flagpole_store::Store;
use imbl::OrdMap;
use tokio::sync::{broadcast, Mutex};

use crate::error::ApiError;
use crate::published::{Published, Update};

/// How many published changes a subscriber may fall behind before it must start again.
/// The queue keeps its last changes even once every subscriber has read them, each with
/// the state it published (all but what it changed is shared with the current one), so
/// it is kept short: 256 changes retain about 3 MB at 10,000 flags.
pub const APPLIED_QUEUE: usize = 256;

/// The published state and its subscribers.
pub struct Publisher {
    published: ArcSwap<Published>,
    /// Held while a new state is made from the published one and swapped in.
    lock: Mutex<()>,
    /// The newest configuration version heard of.
    latest: AtomicI64,
    applied: broadcast::Sender<Arc<Applied>>,
}

impl Publisher {
    pub fn new(published: Published) -> Publisher {
        let version = published.version;
        Publisher {
            published: ArcSwap::from_pointee(published),
            lock: Mutex::new(()),
            latest: AtomicI64::new(version),
            applied: broadcast::channel(APPLIED_QUEUE).0,
        }
    }

    /// Swaps in `next` and tells subscribers what changed.
    fn publish(&self, next: Arc<Published>, applied: Applied) {
        self.published.store(next.clone());
        metrics::gauge!("flagpole_snapshot_version").set(next.version as f64);
        let lag = (self.latest.load(Ordering::Relaxed) - next.version).max(0);
        metrics::gauge!("flagpole_change_lag").set(lag as f64);
        tracing::debug!(
            version = next.version,
            flags = applied.flags.len(),
            segments = applied.segments.len(),
            full = applied.full,
            "published"
        );
        // No receiver is not an error: nobody is streaming.
        let _ = self.applied.send(Arc::new(applied));
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
}

impl Publisher {
    /// The current snapshot; never waits.
    pub fn published(&self) -> Arc<Published> {
        self.published.load_full()
    }

    /// The current snapshot without taking a reference count, for one request's read (do
    /// not hold it across an await): every worker taking and dropping a count on the same
    /// `Arc` moves its cache line between cores on every request.
    pub fn published_ref(&self) -> arc_swap::Guard<Arc<Published>> {
        self.published.load()
    }

    /// Publishes what the store holds beyond the published version: only the changed
    /// flags and segments (the change feed), or everything again when environments
    /// changed or too much did. Called after another replica's change is heard of, and
    /// by writers whose own change was not the next one.
    pub async fn reload(&self, store: &dyn Store) -> Result<Arc<Published>, ApiError> {
        let _publishing = self.lock.lock().await;
        let current = self.published();
        let changes = store.changes_since(current.version).await?;
        self.saw_version(changes.version);
        if changes.version <= current.version {
            return Ok(current);
        }
        if !changes.reload {
            return Ok(self.apply_locked(&current, changes.into()));
        }
        let next = Published::load(store).await?;
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
    pub async fn publish_update(
        &self,
        store: &dyn Store,
        update: Update,
    ) -> Result<Arc<Published>, ApiError> {
        {
            let _publishing = self.lock.lock().await;
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
        self.reload(store).await
    }

    /// Relay mode: replaces the published state with an upstream's whole state at its
    /// version (a relay's `snapshot` event).
    pub async fn replace_state(&self, state: flagpole_store::State) -> Result<(), ApiError> {
        let _publishing = self.lock.lock().await;
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
        let _publishing = self.lock.lock().await;
        let current = self.published();
        if current.version != from || update.version <= from {
            return false;
        }
        self.saw_version(update.version);
        self.apply_locked(&current, update);
        true
    }

    /// Notes a configuration version the store is known to have reached (a
    /// notification, a poll, a write), for the lag metric and readiness.
    pub fn saw_version(&self, version: i64) {
        let seen = self
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
        let latest = self.latest.load(Ordering::Relaxed);
        (latest - self.published().version).max(0)
    }

    /// Every published change, in order, with the state it produced. A receiver that falls
    /// more than [`APPLIED_QUEUE`] changes behind gets `Lagged` and must start again from
    /// [`Publisher::published`].
    pub fn subscribe_applied(&self) -> broadcast::Receiver<Arc<Applied>> {
        self.applied.subscribe()
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
        let flags = changed_keys(&before.flags, &after.flags, |r| r.version);
        let segments = changed_keys(&before.segments, &after.segments, |r| r.version);
        Applied {
            from: before.version,
            published: after.clone(),
            flags,
            segments,
            full,
        }
    }
}

/// The keys whose record's version differs between `before` and `after`, and those gone.
fn changed_keys<V>(
    before: &OrdMap<String, V>,
    after: &OrdMap<String, V>,
    version: impl Fn(&V) -> i64,
) -> Vec<String> {
    let mut keys: Vec<String> = after
        .iter()
        .filter(|(k, r)| before.get(*k).map(&version) != Some(version(r)))
        .map(|(k, _)| k.clone())
        .collect();
    keys.extend(before.keys().filter(|k| !after.contains_key(*k)).cloned());
    keys
}
