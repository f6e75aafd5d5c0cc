//! Failed-login limits: failures counted per key (a user name, an address) in fixed
//! windows; a key that used up its failures is refused with 429 until its window ends.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ApiError;

/// Failed logins allowed per user, and per address, in one [`WINDOW`].
const FAILURES_PER_USER: u32 = 5;
const FAILURES_PER_ADDRESS: u32 = 20;
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Most keys the limiter tracks; beyond it, expired windows are dropped first, then all.
const MAX_TRACKED: usize = 10_000;

/// Counts failed logins per key in fixed windows.
#[derive(Debug, Default)]
pub struct Throttle {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Throttle {
    /// 429 with the seconds to wait when any key has used up its failures.
    pub fn check(&self, keys: &[String]) -> Result<(), ApiError> {
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            let limit = limit(key);
            if let Some((start, count)) = windows.get(key) {
                let elapsed = start.elapsed();
                if elapsed < WINDOW && *count >= limit {
                    let wait = (WINDOW - elapsed).as_secs().max(1);
                    tracing::warn!(key = %key, "login refused: too many failures");
                    return Err(ApiError::TooManyRequests(wait));
                }
            }
        }
        Ok(())
    }

    pub fn fail(&self, keys: &[String]) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= MAX_TRACKED {
            windows.retain(|_, (start, _)| start.elapsed() < WINDOW);
            if windows.len() >= MAX_TRACKED {
                windows.clear();
            }
        }
        for key in keys {
            let entry = windows.entry(key.clone()).or_insert((Instant::now(), 0));
            if entry.0.elapsed() >= WINDOW {
                *entry = (Instant::now(), 0);
            }
            entry.1 += 1;
        }
    }
}

fn limit(key: &str) -> u32 {
    if key.starts_with("user:") {
        FAILURES_PER_USER
    } else {
        FAILURES_PER_ADDRESS
    }
}
