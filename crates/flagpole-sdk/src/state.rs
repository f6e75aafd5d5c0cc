//! The SDK's copy of its environment: the flag set as the native stream's events keep it
//! ([`FlagSet`]), and what evaluation reads ([`State`]): the compiled snapshot with one
//! usage counter per flag, swapped whole when a change arrives.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flagpole_core::{Document, Evaluation, Flag, Segment, Snapshot};
use imbl::shared_ptr::DefaultSharedPtr;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Where the flags the client evaluates came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The server (at start-up or since).
    Server,
    /// The cache file: the last good state of an earlier run.
    Cache,
    /// The bootstrap file.
    Bootstrap,
}

/// The environment's flags and segments, in the native format: what the stream's
/// `snapshot` event carries, and what the cache file holds.
#[derive(Clone, Debug, Default)]
pub(crate) struct FlagSet {
    /// The configuration version (the stream's event id); 0 for a bootstrap file.
    pub version: i64,
    pub environment: String,
    /// The flags and segments (only this environment's configuration of each flag).
    pub doc: Document,
}

/// A `snapshot` event, and the cache file.
#[derive(Serialize, Deserialize)]
struct Wire<E, F, S> {
    version: i64,
    #[serde(default)]
    environment: E,
    flags: F,
    segments: S,
}

type Owned = Wire<String, IndexMap<String, Flag>, IndexMap<String, Segment>>;

impl FlagSet {
    /// Reads a `snapshot` event's data or a cache file.
    pub fn from_json(bytes: &[u8]) -> Result<FlagSet, serde_json::Error> {
        let w: Owned = serde_json::from_slice(bytes)?;
        Ok(FlagSet {
            version: w.version,
            environment: w.environment,
            doc: Document {
                flags: w.flags,
                segments: w.segments,
                ..Document::default()
            },
        })
    }

    /// The set as a `snapshot` event's data (the cache file's contents).
    pub fn to_json(&self) -> Vec<u8> {
        let w = Wire {
            version: self.version,
            environment: &self.environment,
            flags: &self.doc.flags,
            segments: &self.doc.segments,
        };
        serde_json::to_vec(&w).unwrap_or_default()
    }
}

/// A `change` event: flags and segments to put (whole), keys and names to delete.
#[derive(Debug, Deserialize)]
pub(crate) struct Change {
    pub version: i64,
    #[serde(default)]
    pub flags: IndexMap<String, Flag>,
    #[serde(default)]
    pub deleted_flags: Vec<String>,
    #[serde(default)]
    pub segments: IndexMap<String, Segment>,
    #[serde(default)]
    pub deleted_segments: Vec<String>,
}

impl FlagSet {
    /// A bootstrap document (native JSON or YAML, as `flagpole export` writes it).
    pub fn from_document(doc: Document, environment: &str) -> FlagSet {
        FlagSet {
            version: 0,
            environment: environment.to_string(),
            doc,
        }
    }

    /// Applies a change; returns the flags to compile again, or `None` when a segment
    /// changed (everything is compiled again: flags name segments).
    pub fn apply(&mut self, change: Change) -> Option<Vec<String>> {
        let segments_changed = !change.segments.is_empty() || !change.deleted_segments.is_empty();
        let mut keys = Vec::with_capacity(change.flags.len() + change.deleted_flags.len());
        for (key, flag) in change.flags {
            keys.push(key.clone());
            self.doc.flags.insert(key, flag);
        }
        for key in change.deleted_flags {
            self.doc.flags.shift_remove(&key);
            keys.push(key);
        }
        self.doc.segments.extend(change.segments);
        for name in &change.deleted_segments {
            self.doc.segments.shift_remove(name);
        }
        self.version = change.version;
        (!segments_changed).then_some(keys)
    }
}

/// Counts of one flag's evaluations since the last report, by outcome and variant.
#[derive(Debug)]
pub(crate) struct FlagCounter {
    pub key: Arc<str>,
    pub yes: AtomicU64,
    pub no: AtomicU64,
    pub variants: Box<[(Box<str>, AtomicU64)]>,
}

impl FlagCounter {
    fn new(key: &str, flag: Option<&Flag>) -> FlagCounter {
        let variants = flag
            .map(|f| {
                f.variants
                    .iter()
                    .map(|v| (v.name.as_str().into(), AtomicU64::new(0)))
                    .collect()
            })
            .unwrap_or_default();
        FlagCounter {
            key: key.into(),
            yes: AtomicU64::new(0),
            no: AtomicU64::new(0),
            variants,
        }
    }

    fn same_variants(&self, flag: Option<&Flag>) -> bool {
        let names = flag.map(|f| f.variants.as_slice()).unwrap_or_default();
        names.len() == self.variants.len()
            && names
                .iter()
                .zip(self.variants.iter())
                .all(|(v, (n, _))| v.name == **n)
    }

    /// Counts one evaluation; atomic adds only, no allocation.
    #[inline]
    pub fn count(&self, e: &Evaluation<'_>) {
        let outcome = if e.enabled { &self.yes } else { &self.no };
        outcome.fetch_add(1, Ordering::Relaxed);
        if let Some(chosen) = e.chosen {
            if let Some((_, n)) = self.variants.iter().find(|(n, _)| **n == *chosen.name) {
                n.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

type Counters =
    imbl::GenericHashMap<Arc<str>, Arc<FlagCounter>, ahash::RandomState, DefaultSharedPtr>;

/// What evaluation reads: immutable, replaced whole (`ArcSwap`) by the sync task.
#[derive(Debug)]
pub(crate) struct State {
    pub version: i64,
    pub source: Source,
    pub snapshot: Snapshot,
    counters: Counters,
}

impl State {
    /// Compiles a whole flag set.
    pub fn compile(set: &FlagSet, environment: &str, source: Source) -> Result<State, Error> {
        let snapshot =
            Snapshot::compile(&set.doc, environment).map_err(|source| Error::Invalid {
                what: "the flag set".into(),
                source,
            })?;
        let counters = set
            .doc
            .flags
            .iter()
            .map(|(k, f)| {
                (
                    Arc::from(k.as_str()),
                    Arc::new(FlagCounter::new(k, Some(f))),
                )
            })
            .collect();
        Ok(State {
            version: set.version,
            source,
            snapshot,
            counters,
        })
    }

    /// The next state after a change to `keys` only, sharing every other compiled flag
    /// and counter; counters that can no longer be reached are handed to `retire`.
    pub fn with_changes(
        &self,
        set: &FlagSet,
        keys: &[String],
        retire: &mut Vec<Arc<FlagCounter>>,
    ) -> State {
        let snapshot = self
            .snapshot
            .with_changes(&set.doc, keys.iter().map(String::as_str));
        let mut counters = self.counters.clone();
        for key in keys {
            let flag = set.doc.flags.get(key);
            let old = counters.get(key.as_str()).cloned();
            match (old, flag) {
                (Some(old), Some(_)) if old.same_variants(flag) => {}
                (old, _) => {
                    retire.extend(old);
                    counters.remove(key.as_str());
                    if flag.is_some() {
                        counters.insert(key.as_str().into(), Arc::new(FlagCounter::new(key, flag)));
                    }
                }
            }
        }
        State {
            version: set.version,
            source: Source::Server,
            snapshot,
            counters,
        }
    }

    /// The next state after a whole recompile, keeping the counters of flags whose
    /// variants did not change.
    pub fn recompiled(
        &self,
        set: &FlagSet,
        environment: &str,
        retire: &mut Vec<Arc<FlagCounter>>,
    ) -> Result<State, Error> {
        let mut next = State::compile(set, environment, Source::Server)?;
        for (key, old) in &self.counters {
            match next.counters.get(key) {
                Some(_) if old.same_variants(set.doc.flags.get(&**key)) => {
                    next.counters.insert(key.clone(), old.clone());
                }
                _ => retire.push(old.clone()),
            }
        }
        Ok(next)
    }

    /// Counts one evaluation of `key` (nothing for unknown flags).
    #[inline]
    pub fn count(&self, key: &str, e: &Evaluation<'_>) {
        if let Some(c) = self.counters.get(key) {
            c.count(e);
        }
    }

    /// The counter of one flag.
    pub fn counter(&self, key: &str) -> Option<&Arc<FlagCounter>> {
        self.counters.get(key)
    }

    /// Every counter.
    pub fn counters(&self) -> impl Iterator<Item = &Arc<FlagCounter>> {
        self.counters.values()
    }
}
