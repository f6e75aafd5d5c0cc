//! The write gate: writes in one process go one at a time, and only while the database
//! answers. [`Core::begin_write`] is the only way to a [`WriteGuard`], and every write of
//! the write service takes one, so holding the gate from reading the current state to
//! publishing the new one is a rule of the types, not of comments. A write that cannot
//! enter within [`WRITE_WAIT`] (the writes before it are stuck on a database that does
//! not answer) fails with 503 rather than queueing, and once a write found the database
//! unreachable, writes are refused at once for [`STORE_DOWN_FOR`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, MutexGuard};

use super::Core;
use crate::error::ApiError;
use crate::published::Published;

/// How long writes are refused at once after one found the database unreachable.
pub const STORE_DOWN_FOR: Duration = Duration::from_secs(1);

/// How long a write waits for the writes before it.
pub const WRITE_WAIT: Duration = Duration::from_millis(1500);

/// The lock and the breaker.
pub(super) struct Gate {
    lock: Mutex<()>,
    /// Until when writes are refused at once (milliseconds since `started`).
    down_until: AtomicU64,
    started: Instant,
}

impl Default for Gate {
    fn default() -> Gate {
        Gate {
            lock: Mutex::new(()),
            down_until: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl Gate {
    fn millis(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn check_up(&self) -> Result<(), ApiError> {
        if self.millis() < self.down_until.load(Ordering::Relaxed) {
            return Err(ApiError::WriteBusy);
        }
        Ok(())
    }
}

/// Held by one write in this process, from reading the state it changes to publishing
/// the state after it.
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
    pub fn published(&self) -> std::sync::Arc<Published> {
        self.core.published()
    }
}

impl Core {
    /// Enters the write gate, waiting at most [`WRITE_WAIT`] for the writes before.
    pub async fn begin_write(&self) -> Result<WriteGuard<'_>, ApiError> {
        let gate = &self.inner.gate;
        gate.check_up()?;
        let lock = tokio::time::timeout(WRITE_WAIT, gate.lock.lock())
            .await
            .map_err(|_| ApiError::WriteBusy)?;
        gate.check_up()?;
        Ok(WriteGuard {
            core: self,
            _lock: lock,
        })
    }

    /// Passes a store result on; when the database could not be reached, writes are
    /// refused at once for [`STORE_DOWN_FOR`] (then one write tries again).
    pub fn note<T>(&self, result: Result<T, flagpole_store::Error>) -> Result<T, ApiError> {
        if let Err(e) = &result {
            if e.is_unavailable() {
                let gate = &self.inner.gate;
                let until = gate.millis() + STORE_DOWN_FOR.as_millis() as u64;
                gate.down_until.store(until, Ordering::Relaxed);
                tracing::warn!(error = %e, "the database cannot be reached; refusing writes for now");
            }
        }
        Ok(result?)
    }
}
