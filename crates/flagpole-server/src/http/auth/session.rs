//! Logins: checking a password (Argon2id, off the async threads; failed attempts limited
//! per user and per address by the core's `Throttle`), starting and resuming sessions.

use std::sync::Arc;

use chrono::Utc;
use flagpole_store::SessionRecord;

use crate::core::Core;
use crate::error::ApiError;
use crate::identity::{issue, secret, User};

/// A session's last use is written at most this often.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Resumes the session whose cookie value is `id`: its user and its id hash.
pub async fn resume(core: &Core, id: &str) -> Result<(Arc<User>, String), ApiError> {
    let ended = || ApiError::Unauthorized("the session has ended; log in again");
    let hash = secret::verifier(id);
    let record = core.store().session(&hash).await?.ok_or_else(ended)?;
    let now = Utc::now();
    let idle = chrono::TimeDelta::from_std(core.config().session_idle).unwrap_or_default();
    if record.expires_at <= now || record.last_seen_at + idle <= now {
        core.store().delete_session(&hash).await?;
        return Err(ended());
    }
    let user = core.directory().user(&record.user).ok_or_else(ended)?;
    if now - record.last_seen_at >= TOUCH_EVERY {
        core.store().touch_session(&hash, now).await?;
    }
    Ok((user, hash))
}

/// Checks `password` for `name` (limited per user and per `address`) and starts a
/// session: answers the session id, to be set as the cookie, and the user.
pub async fn login(
    core: &Core,
    name: &str,
    password: &str,
    address: Option<&str>,
) -> Result<(String, Arc<User>), ApiError> {
    let keys = [
        format!("user:{name}"),
        format!("address:{}", address.unwrap_or("unknown")),
    ];
    core.throttle().check(&keys)?;
    let stored = core.store().load_auth().await?;
    let hash = stored
        .users
        .iter()
        .find(|u| u.name == name)
        .map(|u| u.password_hash.clone());
    let ok = verify_password(password, hash).await;
    // A user created a moment ago (offline, or on another replica) may not be loaded yet.
    if ok && core.directory().user(name).is_none() {
        core.reload_auth().await?;
    }
    let user = core.directory().user(name);
    let (true, Some(user)) = (ok, user) else {
        core.throttle().fail(&keys);
        tracing::warn!(user = %name, address = address.unwrap_or("unknown"), "login failed");
        return Err(ApiError::Unauthorized("wrong user name or password"));
    };
    let id = secret::random_hex(32);
    let now = issue::now();
    let absolute = chrono::TimeDelta::from_std(core.config().session_absolute).unwrap_or_default();
    core.store()
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
