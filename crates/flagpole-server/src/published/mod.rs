//! The published state: the store's flags and segments, their native document, and one
//! compiled snapshot per environment. Immutable; replaced whole.

mod build;
mod filter;
mod payload;
mod refs;
mod scoped;
mod stored;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use flagpole_core::{Catalog, Compat, Document, Flag, Segment, Snapshot, Totals};
use flagpole_store::{Environment, FlagRecord, ProjectRecord, SegmentRecord, State};
use imbl::OrdMap;
use indexmap::IndexMap;

use crate::error::ApiError;
pub use build::Builder;
pub use filter::FeatureFilter;
pub use payload::ClientFeaturesCache;
use payload::PayloadCell;
use refs::Refs;
pub use stored::StoredFlag;

#[derive(Debug)]
pub struct Published {
    /// The configuration version this was built from.
    pub version: i64,
    pub built_at: Instant,
    pub environments: Vec<Environment>,
    /// The projects, by key (changing one reloads the state).
    pub projects: Arc<BTreeMap<String, ProjectRecord>>,
    /// Every flag, archived ones included, by key, each kept compact. A persistent map:
    /// the state after a write shares every unchanged record with the state before.
    pub flags: OrdMap<String, Arc<StoredFlag>>,
    pub segments: OrdMap<String, Arc<SegmentRecord>>,
    pub snapshots: HashMap<String, Arc<Snapshot>>,
    refs: Refs,
    /// Per environment, the configuration version of the last change to what its
    /// Unleash payload shows (its ETag).
    payload_versions: HashMap<String, i64>,
    /// `/api/client/features` per environment, serialized on first use and kept by the
    /// states after this one until a change touches the environment.
    client_features: HashMap<String, Arc<PayloadCell>>,
    /// The same for project-scoped tokens, made on first request.
    scoped_features: scoped::ScopedPayloads,
    /// The one project every live flag is in, when they are all in one (kept so that
    /// the seed GET need not look its flag's project up).
    sole_project: Option<Box<str>>,
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

impl Published {
    /// Builds everything from the store's whole state (recovery after environments
    /// changed or this process fell too far behind, and relays).
    pub fn build(mut state: State) -> Result<Published, ApiError> {
        let flags = std::mem::take(&mut state.flags);
        let mut builder = Builder::default();
        for f in flags {
            builder.flag(f);
        }
        builder.finish(state)
    }

    /// Reads the store's whole state and builds from it, one parsed flag at a time
    /// (start-up and recovery).
    pub async fn load(store: &dyn flagpole_store::Store) -> Result<Published, ApiError> {
        let mut builder = Builder::default();
        let state = store
            .load_each(&mut |f| {
                builder.flag(f);
                Ok(())
            })
            .await?;
        builder.finish(state)
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
        // The features a payload built before this change cannot be copied from for.
        let flags_changed: BTreeSet<String> = update.flags.iter().map(|(k, _)| k.clone()).collect();
        // The environments whose payload changes; `None`: every one.
        let mut shown: Option<BTreeSet<String>> = Some(BTreeSet::new());
        let mut projects = BTreeSet::new();
        for (key, record) in update.flags {
            projects.extend(flags.get(&key).map(|r| r.project.clone()));
            projects.extend(record.as_ref().map(|r| r.flag.project().into()));
            let before = flags.get(&key).filter(|r| !r.archived).map(|r| r.flag());
            let after = record.as_ref().filter(|r| !r.archived).map(|r| &r.flag);
            match (&mut shown, payload_touches(before.as_ref(), after)) {
                (Some(envs), Some(touched)) => envs.extend(touched),
                _ => shown = None,
            }
            if let Some(old) = &before {
                refs.remove_flag(&key, old);
            }
            match record {
                Some(r) => {
                    if !r.archived {
                        refs.add_flag(&key, &r.flag);
                    }
                    flags.insert(key.clone(), Arc::new(StoredFlag::new(r)));
                }
                None => {
                    flags.remove(&key);
                }
            }
            affected.insert(key);
        }
        let segments_changed = !update.segments.is_empty();
        for (name, record) in update.segments {
            // Every payload lists the segments.
            shown = None;
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
            projects: self.projects.clone(),
            flags,
            segments,
            refs,
            snapshots: HashMap::new(),
            payload_versions: HashMap::new(),
            client_features: HashMap::new(),
            scoped_features: Default::default(),
            sole_project: None,
        };
        next.sole_project = next.refs.only_project().map(Box::from);
        for env in &self.environments {
            let name = &env.name;
            let touched = shown.as_ref().is_none_or(|envs| envs.contains(name));
            let previous = self.client_features.get(name);
            let (version, cell) = match (self.payload_versions.get(name), previous) {
                (Some(v), Some(cell)) if !touched => (*v, cell.clone()),
                (_, Some(cell)) => {
                    let live = next.refs.live;
                    (
                        update.version,
                        PayloadCell::after(cell, &flags_changed, live),
                    )
                }
                (_, None) => (update.version, Arc::default()),
            };
            next.payload_versions.insert(name.clone(), version);
            next.client_features.insert(name.clone(), cell);
        }
        let touched = scoped::Touched {
            environments: shown,
            projects,
            segments: segments_changed,
            flags: flags_changed,
        };
        next.scoped_features = self.carry_scoped(&touched, update.version);
        let before: Vec<&Snapshot> = self.snapshots.values().map(|s| &**s).collect();
        let keys = affected.iter().map(String::as_str);
        next.snapshots = Snapshot::with_changes_each(&before, &next, keys)
            .into_iter()
            .map(|s| (s.environment().to_string(), Arc::new(s)))
            .collect();
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
            document.flags.insert(key.clone(), f.flag());
        }
        document
    }

    /// A live (not archived) flag, parsed.
    pub fn live_flag(&self, key: &str) -> Option<Flag> {
        self.flags
            .get(key)
            .filter(|r| !r.archived)
            .map(|r| r.flag())
    }

    /// The live flags' records, in key order.
    pub fn live_records(&self) -> impl Iterator<Item = (&str, &StoredFlag)> {
        self.flags
            .iter()
            .filter(|(_, r)| !r.archived)
            .map(|(k, r)| (k.as_str(), &**r))
    }

    /// The live flags' keys, in key order (what bulk evaluations list).
    pub fn live_keys(&self) -> impl Iterator<Item = &str> {
        self.live_records().map(|(k, _)| k)
    }

    /// The configuration version of the last change to what an environment's SDKs see
    /// (its payloads' ETags name it).
    pub fn payload_version(&self, environment: &str) -> i64 {
        self.payload_versions
            .get(environment)
            .copied()
            .unwrap_or(self.version)
    }

    /// The Unleash id of every segment name: the segments by position (from 1), then
    /// the names rules refer to without such a segment (kept from Unleash documents),
    /// sorted, under ids no segment has, so they keep turning their flags off. Every
    /// Unleash payload and stream event of this state numbers segments so.
    pub fn segment_ids(&self) -> IndexMap<&str, i64> {
        let mut ids: IndexMap<&str, i64> = self
            .segments
            .keys()
            .enumerate()
            .map(|(i, name)| (name.as_str(), i as i64 + 1))
            .collect();
        let mut missing: Vec<&str> = self
            .refs
            .segments_named()
            .filter(|name| !self.segments.contains_key(*name))
            .collect();
        missing.sort_unstable();
        for name in missing {
            let next = ids.len() as i64 + 1;
            ids.insert(name, next);
        }
        ids
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

    /// A live or archived flag, parsed, or 404.
    pub fn flag(&self, key: &str) -> Result<FlagRecord, ApiError> {
        self.flags
            .get(key)
            .map(|r| r.record())
            .ok_or_else(|| ApiError::NotFound {
                kind: "flag",
                name: key.to_string(),
            })
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

/// The environments whose Unleash payload a flag change alters (`None` is a flag not
/// served); `None` when every payload changes: a flag appears or goes (every payload
/// lists every flag), or something outside the per-environment configuration changed
/// (every payload shows the description and variants).
fn payload_touches(before: Option<&Flag>, after: Option<&Flag>) -> Option<BTreeSet<String>> {
    let (b, a) = (before?, after?);
    if !b.same_except_environments(a) {
        return None;
    }
    Some(
        b.environments
            .keys()
            .chain(a.environments.keys())
            .filter(|env| b.environments.get(*env) != a.environments.get(*env))
            .cloned()
            .collect(),
    )
}

/// The published state as the limits, validation and compilation read it: live flags.
impl Catalog for Published {
    fn compat(&self) -> Compat {
        Compat::Native
    }

    fn flag(&self, key: &str) -> Option<Cow<'_, Flag>> {
        self.live_flag(key).map(Cow::Owned)
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
