//! A relay's tokens: it has none of its own. A token it has not seen is looked up at the
//! upstream (`POST /api/v1/tokens/introspect`) the first time an SDK presents it; the
//! answer is cached, bounded: a token the upstream vouched for goes into the relay's
//! [`Directory`] (so streams, stream tickets and CORS work as on the server) and is
//! asked about again every refresh, so a revoked one stops working within that time; a
//! refusal is kept for [`NEGATIVE_TTL`], so unknown tokens cannot make the relay ask the
//! upstream at every request. While the upstream cannot be reached, the cached answers
//! stand. Token texts are kept in memory only (to ask again) and never logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flagpole_store::{AuthState, TokenRecord};
use futures_util::future::BoxFuture;

use super::wire::{self, Introspection, MAX_INTROSPECT};
use crate::error::ApiError;
use crate::identity::{secret, Directories, Directory, Refusal, Token};

/// How a relay asks its upstream about tokens (the binary's HTTP client).
pub trait Upstream: std::fmt::Debug + Send + Sync {
    /// The upstream's answers about these token texts, in order; `Err` when it cannot
    /// be reached or answers something else.
    fn introspect(
        &self,
        tokens: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<wire::Introspection>, ApiError>>;
}

/// How long a refusal is kept before the upstream is asked again.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(5);
/// Most tokens cached (answers of both kinds).
pub const MAX_CACHED: usize = 10_000;
/// Longest wait for the upstream's answer about a token.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// The cache of the upstream's answers.
#[derive(Debug)]
pub struct Tokens {
    upstream: Arc<dyn Upstream>,
    /// Where the vouched-for tokens are published (the server's directory).
    directories: Arc<Directories>,
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    /// By token text.
    map: HashMap<String, Entry>,
    /// Raised at every change of the vouched-for tokens (the directory's version).
    version: i64,
}

#[derive(Debug)]
struct Entry {
    /// `None`: refused.
    record: Option<TokenRecord>,
    reason: &'static str,
    checked: Instant,
}

impl Tokens {
    pub fn new(upstream: Arc<dyn Upstream>, directories: Arc<Directories>) -> Tokens {
        Tokens {
            upstream,
            directories,
            entries: Mutex::default(),
        }
    }

    /// The token for `text`, which the relay's directory does not hold: a recent
    /// refusal, or the upstream's answer (then kept).
    pub async fn resolve(&self, text: &str) -> Result<Arc<Token>, ApiError> {
        if let Some(reason) = self.recent_refusal(text) {
            return Err(ApiError::Unauthorized(reason));
        }
        let asked = tokio::time::timeout(ASK_TIMEOUT, self.upstream.introspect(vec![text.into()]));
        let answer = match asked.await {
            Ok(Ok(mut answers)) if answers.len() == 1 => answers.remove(0),
            _ => return Err(ApiError::UpstreamUnavailable),
        };
        let entry = entry(text, answer);
        let reason = entry.reason;
        let vouched = entry.record.is_some();
        self.store(vec![(text.to_string(), Some(entry))]);
        if !vouched {
            return Err(ApiError::Unauthorized(reason));
        }
        Ok(self
            .directories
            .load_ref()
            .token(text, chrono::Utc::now())?)
    }

    /// Asks the upstream again about every token it vouched for; drops those it no
    /// longer does and refusals past [`NEGATIVE_TTL`]. Keeps everything when the
    /// upstream cannot be reached.
    pub async fn refresh(&self) -> Result<(), ApiError> {
        let texts: Vec<String> = {
            let entries = self.lock();
            entries
                .map
                .iter()
                .filter(|(_, e)| e.record.is_some())
                .map(|(t, _)| t.clone())
                .collect()
        };
        let mut changes = Vec::new();
        for batch in texts.chunks(MAX_INTROSPECT) {
            let answers =
                tokio::time::timeout(ASK_TIMEOUT, self.upstream.introspect(batch.to_vec()))
                    .await
                    .map_err(|_| ApiError::UpstreamUnavailable)??;
            if answers.len() != batch.len() {
                return Err(ApiError::UpstreamUnavailable);
            }
            for (text, answer) in batch.iter().zip(answers) {
                let entry = entry(text, answer);
                changes.push((text.clone(), entry.record.is_some().then_some(entry)));
            }
        }
        self.store(changes);
        Ok(())
    }

    /// How many tokens the relay holds answers for.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn recent_refusal(&self, text: &str) -> Option<&'static str> {
        let entries = self.lock();
        let entry = entries.map.get(text)?;
        (entry.record.is_none() && entry.checked.elapsed() < NEGATIVE_TTL).then_some(entry.reason)
    }

    /// Records answers (`None`: forget) and publishes the vouched-for tokens as the
    /// directory when they changed.
    fn store(&self, changes: Vec<(String, Option<Entry>)>) {
        let mut entries = self.lock();
        let before: Vec<Option<TokenRecord>> = changes
            .iter()
            .map(|(t, _)| entries.map.get(t).and_then(|e| e.record.clone()))
            .collect();
        let mut changed = false;
        for ((text, entry), before) in changes.into_iter().zip(before) {
            changed |= before != entry.as_ref().and_then(|e| e.record.clone());
            match entry {
                Some(entry) => {
                    entries.map.insert(text, entry);
                }
                None => {
                    entries.map.remove(&text);
                }
            }
        }
        entries
            .map
            .retain(|_, e| e.record.is_some() || e.checked.elapsed() < NEGATIVE_TTL);
        changed |= evict(&mut entries.map);
        if !changed {
            return;
        }
        entries.version += 1;
        let auth = AuthState {
            version: entries.version,
            tokens: entries
                .map
                .values()
                .filter_map(|e| e.record.clone())
                .collect(),
            users: Vec::new(),
            members: Vec::new(),
        };
        self.directories.replace(Directory::build(&auth));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Keeps at most [`MAX_CACHED`] answers, dropping refusals first, then the tokens
/// checked longest ago; whether a vouched-for token went.
fn evict(map: &mut HashMap<String, Entry>) -> bool {
    if map.len() <= MAX_CACHED {
        return false;
    }
    let mut order: Vec<(bool, Instant, String)> = map
        .iter()
        .map(|(t, e)| (e.record.is_some(), e.checked, t.clone()))
        .collect();
    order.sort();
    let excess = map.len() - MAX_CACHED;
    let mut vouched = false;
    for (is_vouched, _, text) in order.into_iter().take(excess) {
        vouched |= is_vouched;
        map.remove(&text);
    }
    vouched
}

/// The cache entry of the upstream's answer about `text`.
fn entry(text: &str, answer: Introspection) -> Entry {
    let record = answer
        .token
        .filter(|_| answer.active)
        .map(|info| TokenRecord {
            id: info.id,
            name: info.name,
            kind: info.kind,
            environment: info.environment,
            role: info.role,
            origins: info.origins,
            grants: info.grants,
            projects: info.projects,
            owner: None,
            verifier: secret::verifier(text),
            created_by: "upstream".into(),
            created_at: chrono::Utc::now(),
            expires_at: info.expires_at,
            last_used_at: None,
            revoked_at: None,
        });
    let reason = match answer.reason.as_deref() {
        Some("revoked") => "the token has been revoked",
        Some("expired") => "the token has expired",
        _ => "the token is not known; check it, or create one",
    };
    Entry {
        record,
        reason,
        checked: Instant::now(),
    }
}

/// What the upstream says about a token its directory checks: the introspection
/// endpoint's answer.
pub fn describe(found: Result<Arc<Token>, Refusal>) -> Introspection {
    match found {
        Ok(t) => Introspection {
            active: true,
            reason: None,
            token: Some(super::wire::TokenInfo {
                id: t.id.clone(),
                name: t.name.clone(),
                kind: t.kind.as_str().into(),
                environment: t.environment.clone(),
                role: t.role.map(|r| r.as_str().into()),
                origins: t.origins.clone(),
                grants: t.grants.clone(),
                projects: t.scope.to_list(),
                expires_at: t.expires_at(),
            }),
        },
        Err(r) => Introspection {
            active: false,
            reason: Some(
                match r {
                    Refusal::Unknown => "unknown",
                    Refusal::Revoked => "revoked",
                    Refusal::Expired => "expired",
                }
                .into(),
            ),
            token: None,
        },
    }
}
