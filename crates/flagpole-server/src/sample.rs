//! The contexts an impact preview is run on. Per environment, opt-in, the server keeps a
//! bounded uniform random sample of the contexts it evaluated (reservoir sampling,
//! Algorithm R: the n-th context replaces a random slot with probability size/n), and
//! before a change is saved `crate::preview` evaluates the sample with the flag as it is
//! and as it would be.
//!
//! The hot path pays one map lookup on an `ArcSwap` when an environment is sampled and
//! nothing else when none is; a context is cloned only when it enters the sample, and a
//! replacement that finds the slot locked is skipped (`try_lock`) rather than waited for.
//!
//! `minimal` mode keeps only the attributes the environment's rules use (conditions and
//! stickiness), and replaces `userId` and `sessionId` with a keyed hash (HMAC-SHA-256 with
//! a key drawn at start, never stored). A hashed id falls in a different but still uniform
//! rollout bucket, the same one before and after the change, so the preview of a rollout
//! or split change is a faithful estimate (the same distribution of flips), not a replay
//! of which real users flip; conditions comparing ids with literal values cannot match
//! hashed ids. `full` mode keeps contexts as evaluated and reproduces exactly.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use flagpole_core::Context;
use flagpole_core::Problem;
use flagpole_store::{SamplingSetting, Store};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::published::Published;

/// Largest sample an environment may keep.
pub const MAX_SAMPLE_SIZE: i64 = 100_000;

/// The samplers of every sampled environment.
#[derive(Debug, Default)]
pub struct Samplers {
    by_env: ArcSwap<HashMap<String, Arc<Reservoir>>>,
}

/// One environment's sample.
#[derive(Debug)]
pub struct Reservoir {
    size: usize,
    minimal: Option<Minimal>,
    seen: AtomicU64,
    random: AtomicU64,
    slots: Mutex<Vec<Context>>,
}

/// What `minimal` mode keeps.
#[derive(Debug)]
struct Minimal {
    attributes: BTreeSet<String>,
    key: [u8; 32],
}

impl Samplers {
    /// Offers an evaluated context to the environment's sample, if it keeps one.
    #[inline]
    pub fn offer(&self, environment: &str, ctx: &Context) {
        let map = self.by_env.load();
        if map.is_empty() {
            return;
        }
        if let Some(r) = map.get(environment) {
            r.offer(ctx);
        }
    }

    /// A copy of the environment's sample (empty when it keeps none).
    pub fn sample(&self, environment: &str) -> Vec<Context> {
        self.by_env
            .load()
            .get(environment)
            .map(|r| r.slots.lock().map(|s| s.clone()).unwrap_or_default())
            .unwrap_or_default()
    }

    /// How many contexts the environment's sample holds (without copying them).
    pub fn sampled(&self, environment: &str) -> usize {
        self.by_env
            .load()
            .get(environment)
            .map_or(0, |r| r.slots.lock().map(|s| s.len()).unwrap_or(0))
    }

    /// How many contexts were offered to the environment's sample.
    pub fn seen(&self, environment: &str) -> u64 {
        self.by_env
            .load()
            .get(environment)
            .map_or(0, |r| r.seen.load(Ordering::Relaxed))
    }
}

impl Reservoir {
    fn new(size: usize, minimal: Option<Minimal>) -> Reservoir {
        let mut seed = [0u8; 8];
        let _ = getrandom::fill(&mut seed);
        Reservoir {
            size,
            minimal,
            seen: AtomicU64::new(0),
            random: AtomicU64::new(u64::from_le_bytes(seed)),
            slots: Mutex::new(Vec::with_capacity(size.min(1 << 16))),
        }
    }

    fn offer(&self, ctx: &Context) {
        let n = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        if n <= self.size as u64 {
            if let Ok(mut slots) = self.slots.lock() {
                if slots.len() < self.size {
                    slots.push(self.keep(ctx));
                }
            }
            return;
        }
        let j = self.next_random() % n;
        if j < self.size as u64 {
            if let Ok(mut slots) = self.slots.try_lock() {
                if let Some(slot) = slots.get_mut(j as usize) {
                    *slot = self.keep(ctx);
                }
            }
        }
    }

    /// SplitMix64 on a shared counter: lock-free, good enough to pick slots.
    fn next_random(&self) -> u64 {
        let mut z = self
            .random
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn keep(&self, ctx: &Context) -> Context {
        let Some(m) = &self.minimal else {
            return ctx.clone();
        };
        let used = |a: &str| m.attributes.contains(a);
        Context {
            user_id: ctx.user_id.as_deref().map(|v| hashed(&m.key, v)),
            session_id: ctx.session_id.as_deref().map(|v| hashed(&m.key, v)),
            remote_address: ctx.remote_address.clone().filter(|_| used("remoteAddress")),
            app_name: ctx.app_name.clone().filter(|_| used("appName")),
            environment: ctx.environment.clone().filter(|_| used("environment")),
            current_time: ctx.current_time.clone().filter(|_| used("currentTime")),
            properties: ctx
                .properties
                .iter()
                .filter(|(k, _)| used(k))
                .cloned()
                .collect(),
        }
    }
}

fn hashed(key: &[u8; 32], value: &str) -> String {
    // HMAC-SHA-256 (RFC 2104) with a 32-byte key.
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(value)
        .finalize();
    let outer = Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize();
    format!("h:{}", hex::encode(&outer[..12]))
}

/// The attributes the environment's rules (and the segments they use) read.
fn used_attributes(published: &Published, environment: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut segments = BTreeSet::new();
    for key in published.live_keys() {
        let Some(flag) = published.live_flag(key) else {
            continue;
        };
        let Some(config) = flag.environments.get(environment) else {
            continue;
        };
        for rule in &config.rules {
            out.extend(rule.conditions.iter().map(|c| c.attribute.clone()));
            segments.extend(rule.segments.iter().cloned());
            if let Some(s) = rule
                .stickiness
                .as_deref()
                .filter(|s| *s != "default" && *s != "random")
            {
                out.insert(s.to_string());
            }
        }
    }
    for name in segments {
        if let Some(s) = published.segments.get(&name) {
            out.extend(s.segment.conditions.iter().map(|c| c.attribute.clone()));
        }
    }
    out
}

/// Reads the sampling settings and starts, keeps or stops each environment's sample (a
/// sample is kept while its setting is unchanged; `minimal` samples refresh the attributes
/// they keep from the flags of `published`).
pub async fn reload_settings(
    samplers: &Samplers,
    store: &dyn Store,
    published: &Published,
) -> Result<(), ApiError> {
    let settings = store.sampling_settings().await?;
    let current = samplers.by_env.load_full();
    let mut next = HashMap::new();
    for s in settings.into_iter().filter(|s| s.enabled) {
        let size = s.size.clamp(1, MAX_SAMPLE_SIZE) as usize;
        let minimal = s.mode == "minimal";
        let old = current
            .get(&s.environment)
            .filter(|r| r.size == size && r.minimal.is_some() == minimal);
        let r = match (old, minimal) {
            (Some(old), false) => old.clone(),
            (Some(old), true) => {
                let attributes = used_attributes(published, &s.environment);
                match &old.minimal {
                    Some(m) if m.attributes != attributes => Arc::new(Reservoir {
                        size,
                        minimal: Some(Minimal {
                            attributes,
                            key: m.key,
                        }),
                        seen: AtomicU64::new(old.seen.load(Ordering::Relaxed)),
                        random: AtomicU64::new(old.next_random()),
                        slots: Mutex::new(old.slots.lock().map(|s| s.clone()).unwrap_or_default()),
                    }),
                    _ => old.clone(),
                }
            }
            (None, _) => {
                let minimal = minimal.then(|| {
                    let mut key = [0u8; 32];
                    let _ = getrandom::fill(&mut key);
                    Minimal {
                        attributes: used_attributes(published, &s.environment),
                        key,
                    }
                });
                Arc::new(Reservoir::new(size, minimal))
            }
        };
        next.insert(s.environment, r);
    }
    let unchanged = next.len() == current.len()
        && next
            .iter()
            .all(|(k, v)| current.get(k).is_some_and(|c| Arc::ptr_eq(c, v)));
    if !unchanged {
        samplers.by_env.store(Arc::new(next));
    }
    Ok(())
}

/// An environment's sampling setting (off, `full`, 10,000 contexts, when never set).
pub async fn setting(store: &dyn Store, environment: &str) -> Result<SamplingSetting, ApiError> {
    let found = store
        .sampling_settings()
        .await?
        .into_iter()
        .find(|s| s.environment == environment);
    Ok(found.unwrap_or(SamplingSetting {
        environment: environment.to_string(),
        enabled: false,
        mode: "full".into(),
        size: 10_000,
    }))
}

/// 422 for a mode other than `full` or `minimal`, or a size out of 1 to
/// [`MAX_SAMPLE_SIZE`].
pub fn check_setting(setting: &SamplingSetting) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    if setting.mode != "full" && setting.mode != "minimal" {
        problems.push(Problem {
            path: "mode".into(),
            message: "must be full or minimal".into(),
        });
    }
    if !(1..=MAX_SAMPLE_SIZE).contains(&setting.size) {
        problems.push(Problem {
            path: "size".into(),
            message: format!("must be 1 to {MAX_SAMPLE_SIZE} (limit MAX_SAMPLE_SIZE)"),
        });
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservoir_keeps_a_uniform_sample_of_bounded_size() {
        let r = Reservoir::new(1000, None);
        for i in 0..20_000 {
            r.offer(&Context::with_user(i.to_string()));
        }
        let slots = r.slots.lock().expect("lock");
        assert_eq!(slots.len(), 1000);
        // Uniform: about half of the kept ids come from the second half of the stream.
        let late = slots
            .iter()
            .filter(|c| c.user_id.as_deref().and_then(|u| u.parse::<u32>().ok()) >= Some(10_000))
            .count();
        assert!(
            (400..600).contains(&late),
            "{late} of 1000 from the second half"
        );
    }

    #[test]
    fn minimal_mode_keeps_used_attributes_and_hashes_ids() {
        let r = Reservoir::new(
            10,
            Some(Minimal {
                attributes: BTreeSet::from(["plan".to_string()]),
                key: [7; 32],
            }),
        );
        let mut ctx = Context::with_user("alice");
        ctx.properties = vec![
            ("plan".into(), "pro".into()),
            ("email".into(), "a@x".into()),
        ];
        ctx.remote_address = Some("10.0.0.1".into());
        let kept = r.keep(&ctx);
        assert_eq!(
            kept.properties,
            vec![("plan".to_string(), "pro".to_string())]
        );
        assert_eq!(kept.remote_address, None);
        let id = kept.user_id.expect("a hashed id");
        assert!(id.starts_with("h:") && !id.contains("alice"));
        assert_eq!(
            r.keep(&ctx).user_id.as_deref(),
            Some(id.as_str()),
            "the same id hashes the same"
        );
    }
}
