//! The published state: the store's flags and segments, their native document, and one
//! compiled snapshot per environment. Immutable; replaced whole.

mod refs;

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::body::Bytes;
use flagpole_core::formats::unleash::{self, ClientFeatures};
use flagpole_core::{Catalog, Compat, Document, Flag, Segment, Snapshot, Totals};
use flagpole_store::{Environment, FlagRecord, SegmentRecord, State};
use imbl::OrdMap;

use crate::error::ApiError;
use refs::Refs;

#[derive(Debug)]
pub struct Published {
    /// The configuration version this was built from.
    pub version: i64,
    pub built_at: Instant,
    pub environments: Vec<Environment>,
    /// Every flag, archived ones included, by key. A persistent map: the state after a
    /// write shares every unchanged record with the state before.
    pub flags: OrdMap<String, Arc<FlagRecord>>,
    pub segments: OrdMap<String, Arc<SegmentRecord>>,
    pub snapshots: HashMap<String, Arc<Snapshot>>,
    refs: Refs,
    /// `/api/client/features` per environment, serialized on first use.
    client_features: HashMap<String, OnceLock<ClientFeaturesCache>>,
}

/// What a committed change wrote, as the store committed it: the state at `version` is
/// the state before it with these flags and segments replaced (`None`: deleted).
#[derive(Clone, Debug, Default)]
pub struct Update {
    pub version: i64,
    pub flags: Vec<(String, Option<FlagRecord>)>,
    pub segments: Vec<(String, Option<SegmentRecord>)>,
}

impl From<flagpole_store::Changes> for Update {
    fn from(c: flagpole_store::Changes) -> Update {
        Update {
            version: c.version,
            flags: c.flags,
            segments: c.segments,
        }
    }
}

/// One environment's Unleash `ClientFeatures`, serialized once per published version.
#[derive(Debug)]
pub struct ClientFeaturesCache {
    pub features: ClientFeatures,
    pub json: Bytes,
    pub gzip: Bytes,
    pub etag: String,
}

impl ClientFeaturesCache {
    fn new(document: &Document, environment: &str, version: i64) -> ClientFeaturesCache {
        let features = unleash::export(document, environment);
        let json = Bytes::from(serde_json::to_vec(&features).unwrap_or_default());
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let gzip = encoder
            .write_all(&json)
            .and_then(|()| encoder.finish())
            .map(Bytes::from)
            .unwrap_or_default();
        let etag = format!("\"{environment}-{version}\"");
        ClientFeaturesCache {
            features,
            json,
            gzip,
            etag,
        }
    }
}

impl Published {
    /// Builds everything from the store's whole state (start-up, and recovery after
    /// environments changed or this process fell too far behind).
    pub fn build(state: State) -> Result<Published, ApiError> {
        let mut document = Document::default();
        for s in &state.segments {
            document.segments.insert(s.name.clone(), s.segment.clone());
        }
        for f in state.flags.iter().filter(|f| !f.archived) {
            document.flags.insert(f.key.clone(), f.flag.clone());
        }
        let compiled = Snapshot::compile_each(
            &document,
            state.environments.iter().map(|e| e.name.as_str()),
        )
        .map_err(ApiError::Stored)?;
        let snapshots: HashMap<String, Arc<Snapshot>> = state
            .environments
            .iter()
            .zip(compiled)
            .map(|(env, snapshot)| (env.name.clone(), Arc::new(snapshot)))
            .collect();
        let mut refs = Refs::default();
        for (key, flag) in &document.flags {
            refs.add_flag(key, flag);
        }
        for (name, segment) in &document.segments {
            refs.add_segment(name, segment);
        }
        Ok(Published {
            version: state.version,
            built_at: Instant::now(),
            client_features: lazy_payloads(&state.environments),
            environments: state.environments,
            flags: state
                .flags
                .into_iter()
                .map(|f| (f.key.clone(), Arc::new(f)))
                .collect(),
            segments: state
                .segments
                .into_iter()
                .map(|s| (s.name.clone(), Arc::new(s)))
                .collect(),
            refs,
            snapshots,
        })
    }

    /// The state after `update`: the changed records replaced, the changed flags and
    /// the users of changed segments compiled again in each environment, everything
    /// else shared with `self`. Costs what the change does, not what the state holds.
    /// The records must be what the store committed (they were validated then).
    pub fn apply(&self, update: Update) -> Published {
        let mut flags = self.flags.clone();
        let mut segments = self.segments.clone();
        let mut refs = self.refs.clone();
        let mut affected: BTreeSet<String> = BTreeSet::new();
        for (key, record) in update.flags {
            if let Some(old) = flags.get(&key).filter(|r| !r.archived) {
                refs.remove_flag(&key, &old.flag);
            }
            match record {
                Some(r) => {
                    if !r.archived {
                        refs.add_flag(&key, &r.flag);
                    }
                    flags.insert(key.clone(), Arc::new(r));
                }
                None => {
                    flags.remove(&key);
                }
            }
            affected.insert(key);
        }
        for (name, record) in update.segments {
            if let Some(old) = segments.get(&name) {
                refs.remove_segment(&name, &old.segment);
            }
            match record {
                Some(r) => {
                    refs.add_segment(&name, &r.segment);
                    segments.insert(name.clone(), Arc::new(r));
                }
                None => {
                    segments.remove(&name);
                }
            }
            affected.extend(refs.segment_users(&name).cloned());
        }
        let mut next = Published {
            version: update.version,
            built_at: Instant::now(),
            environments: self.environments.clone(),
            flags,
            segments,
            refs,
            snapshots: HashMap::new(),
            client_features: lazy_payloads(&self.environments),
        };
        let snapshots = self
            .snapshots
            .iter()
            .map(|(env, s)| {
                let keys = affected.iter().map(String::as_str);
                (env.clone(), Arc::new(s.with_changes(&next, keys)))
            })
            .collect();
        next.snapshots = snapshots;
        next
    }

    /// The live flags and the segments as one native document (exports, imports and
    /// other whole-document work; costs what the state holds).
    pub fn document(&self) -> Document {
        let mut document = Document::default();
        for (name, s) in &self.segments {
            document.segments.insert(name.clone(), s.segment.clone());
        }
        for (key, f) in self.flags.iter().filter(|(_, f)| !f.archived) {
            document.flags.insert(key.clone(), f.flag.clone());
        }
        document
    }

    /// A live (not archived) flag.
    pub fn live_flag(&self, key: &str) -> Option<&Flag> {
        Catalog::flag(self, key)
    }

    /// The live flags' keys, in key order (what bulk evaluations list).
    pub fn live_keys(&self) -> impl Iterator<Item = &str> {
        self.flags
            .iter()
            .filter(|(_, r)| !r.archived)
            .map(|(k, _)| k.as_str())
    }

    /// How many flags are live.
    pub fn live_flags(&self) -> usize {
        self.refs.live
    }

    /// The live flags whose rules name the segment.
    pub fn segment_users(&self, name: &str) -> impl Iterator<Item = &String> {
        self.refs.segment_users(name)
    }

    /// The live flags that depend on the flag.
    pub fn dependents(&self, key: &str) -> impl Iterator<Item = &String> {
        self.refs.dependents(key)
    }

    /// The snapshot of an environment, or 404.
    pub fn snapshot(&self, environment: &str) -> Result<&Arc<Snapshot>, ApiError> {
        self.snapshots
            .get(environment)
            .ok_or_else(|| ApiError::NotFound {
                kind: "environment",
                name: environment.to_string(),
            })
    }

    /// A live or archived flag, or 404.
    pub fn flag(&self, key: &str) -> Result<&FlagRecord, ApiError> {
        self.flags
            .get(key)
            .map(|r| &**r)
            .ok_or_else(|| ApiError::NotFound {
                kind: "flag",
                name: key.to_string(),
            })
    }

    /// The Unleash `ClientFeatures` of an environment, serialized once per version.
    pub fn client_features(&self, environment: &str) -> Result<&ClientFeaturesCache, ApiError> {
        let cell = self
            .client_features
            .get(environment)
            .ok_or_else(|| ApiError::NotFound {
                kind: "environment",
                name: environment.to_string(),
            })?;
        Ok(cell
            .get_or_init(|| ClientFeaturesCache::new(&self.document(), environment, self.version)))
    }

    /// Every environment `flag` configures must exist; `path` prefixes the field named in
    /// the error (e.g. `flags.new_ui.`).
    pub fn check_environments(&self, flag: &Flag, path: &str) -> Result<(), ApiError> {
        match flag
            .environments
            .keys()
            .find(|name| !self.has_environment(name))
        {
            None => Ok(()),
            Some(name) => {
                let field = format!("{path}environments.{name}");
                Err(ApiError::bad_request(
                    "unknown_environment",
                    format!("{field}: there is no environment {name:?}; create it first"),
                    Some(field),
                ))
            }
        }
    }

    pub fn has_environment(&self, name: &str) -> bool {
        self.snapshots.contains_key(name)
    }
}

/// An empty, lazily filled payload cell per environment.
fn lazy_payloads(environments: &[Environment]) -> HashMap<String, OnceLock<ClientFeaturesCache>> {
    environments
        .iter()
        .map(|e| (e.name.clone(), OnceLock::new()))
        .collect()
}

/// The published state as the limits, validation and compilation read it: live flags.
impl Catalog for Published {
    fn compat(&self) -> Compat {
        Compat::Native
    }

    fn flag(&self, key: &str) -> Option<&Flag> {
        self.flags.get(key).filter(|r| !r.archived).map(|r| &r.flag)
    }

    fn segment(&self, name: &str) -> Option<&Segment> {
        self.segments.get(name).map(|r| &r.segment)
    }

    fn segment_names(&self) -> Vec<&str> {
        self.segments.keys().map(String::as_str).collect()
    }

    fn flag_twin(&self, lower: &str) -> Option<&str> {
        self.refs.flag_twin(lower)
    }

    fn segment_twin(&self, lower: &str) -> Option<&str> {
        self.refs.segment_twin(lower)
    }

    fn totals(&self) -> Totals {
        Totals {
            flags: self.refs.live,
            segments: self.segments.len(),
            regexes: self.refs.regexes,
        }
    }
}
