//! The write gate: writes in one process go one at a time, and only while the database
//! answers. A write that cannot enter within [`WRITE_WAIT`] (the writes before it are
//! stuck on a database that does not answer) fails with 503 rather than queueing, and
//! once a write found the database unreachable, writes are refused at once for
//! [`STORE_DOWN_FOR`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, MutexGuard};

use crate::error::ApiError;

/// How long writes are refused at once after one found the database unreachable.
pub const STORE_DOWN_FOR: Duration = Duration::from_secs(1);

/// How long a write waits for the writes before it.
pub const WRITE_WAIT: Duration = Duration::from_millis(1500);

/// The lock and the breaker.
#[derive(Debug)]
pub struct Gate {
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

    /// Waits for the writes before, at most [`WRITE_WAIT`]; 503 while the database is
    /// known to be away.
    pub async fn enter(&self) -> Result<MutexGuard<'_, ()>, ApiError> {
        self.check_up()?;
        let lock = tokio::time::timeout(WRITE_WAIT, self.lock.lock())
            .await
            .map_err(|_| ApiError::WriteBusy)?;
        self.check_up()?;
        Ok(lock)
    }

    /// Passes a store result on; when the database could not be reached, writes are
    /// refused at once for [`STORE_DOWN_FOR`] (then one write tries again).
    pub fn note<T>(&self, result: Result<T, flagpole_store::Error>) -> Result<T, ApiError> {
        if let Err(e) = &result {
            if e.is_unavailable() {
                let until = self.millis() + STORE_DOWN_FOR.as_millis() as u64;
                self.down_until.store(until, Ordering::Relaxed);
                tracing::warn!(error = %e, "the database cannot be reached; refusing writes for now");
            }
        }
        Ok(result?)
    }
}
