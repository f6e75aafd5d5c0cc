//! Logins: checking a password (Argon2id, off the async threads), starting, resuming and
//! ending sessions, and limiting failed attempts per user and per address.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use flagpole_store::SessionRecord;

use super::identity::User;
use super::secret;
use crate::error::ApiError;
use crate::state::AppState;

/// Failed logins allowed per user, and per address, in one [`WINDOW`].
const FAILURES_PER_USER: u32 = 5;
const FAILURES_PER_ADDRESS: u32 = 20;
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Most keys the limiter tracks; beyond it, expired windows are dropped first, then all.
const MAX_TRACKED: usize = 10_000;
/// A session's last use is written at most this often.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Resumes the session whose cookie value is `id`: its user and its id hash.
pub async fn resume(state: &AppState, id: &str) -> Result<(Arc<User>, String), ApiError> {
    let ended = || ApiError::Unauthorized("the session has ended; log in again");
    let hash = secret::verifier(id);
    let record = state.store().session(&hash).await?.ok_or_else(ended)?;
    let now = Utc::now();
    let idle = chrono::TimeDelta::from_std(state.config().session_idle).unwrap_or_default();
    if record.expires_at <= now || record.last_seen_at + idle <= now {
        state.store().delete_session(&hash).await?;
        return Err(ended());
    }
    let user = state.directory().user(&record.user).ok_or_else(ended)?;
    if now - record.last_seen_at >= TOUCH_EVERY {
        state.store().touch_session(&hash, now).await?;
    }
    Ok((user, hash))
}

/// Checks `password` for `name` (limited per user and per `address`) and starts a
/// session: answers the session id, to be set as the cookie, and the user.
pub async fn login(
    state: &AppState,
    name: &str,
    password: &str,
    address: Option<&str>,
) -> Result<(String, Arc<User>), ApiError> {
    let keys = [
        format!("user:{name}"),
        format!("address:{}", address.unwrap_or("unknown")),
    ];
    state.throttle().check(&keys)?;
    let stored = state.store().load_auth().await?;
    let hash = stored
        .users
        .iter()
        .find(|u| u.name == name)
        .map(|u| u.password_hash.clone());
    let ok = verify_password(password, hash).await;
    // A user created a moment ago (offline, or on another replica) may not be loaded yet.
    if ok && state.directory().user(name).is_none() {
        state.reload_auth().await?;
    }
    let user = state.directory().user(name);
    let (true, Some(user)) = (ok, user) else {
        state.throttle().fail(&keys);
        tracing::warn!(user = %name, address = address.unwrap_or("unknown"), "login failed");
        return Err(ApiError::Unauthorized("wrong user name or password"));
    };
    let id = secret::random_hex(32);
    let now = super::issue::now();
    let absolute = chrono::TimeDelta::from_std(state.config().session_absolute).unwrap_or_default();
    state
        .store()
        .create_session(&SessionRecord {
            id_hash: secret::verifier(&id),
            user: user.name.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + absolute,
        })
        .await?;
    tracing::info!(user = %name, address = address.unwrap_or("unknown"), "logged in");
    Ok((id, user))
}

/// Argon2id verification on a blocking thread; an unknown user is checked against a
/// dummy hash, so the answer takes as long either way.
pub async fn verify_password(password: &str, hash: Option<String>) -> bool {
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| DUMMY_HASH.with(Clone::clone));
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || secret::check_password(&password, &hash))
        .await
        .unwrap_or(false);
    ok && known
}

/// Hashes a password on a blocking thread.
pub async fn hash_password(password: &str) -> String {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || secret::hash_password(&password))
        .await
        .unwrap_or_default()
}

thread_local! {
    static DUMMY_HASH: String = secret::hash_password("flagpole-dummy-password");
}

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
