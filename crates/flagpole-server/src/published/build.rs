//! Building the published state from the store's whole state, one flag at a time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use flagpole_core::Snapshot;
use flagpole_store::{Environment, FlagRecord, State};
use imbl::OrdMap;

use super::payload::PayloadCell;
use super::refs::Refs;
use super::{Published, StoredFlag};
use crate::error::ApiError;

/// The published state built flag by flag, so that start-up can read the store with
/// [`flagpole_store::Store::load_each`] and hold one parsed flag at a time: each is
/// counted into the references and kept compact as it arrives; compilation waits for
/// [`Builder::finish`], when the segments and environments are known.
#[derive(Debug, Default)]
pub struct Builder {
    flags: OrdMap<String, Arc<StoredFlag>>,
    refs: Refs,
}

impl Builder {
    /// Takes one flag record.
    pub fn flag(&mut self, record: FlagRecord) {
        if !record.archived {
            self.refs.add_flag(&record.key, &record.flag);
        }
        self.flags
            .insert(record.key.clone(), Arc::new(StoredFlag::new(record)));
    }

    /// The published state of `state` (whose flags were given to [`Builder::flag`]),
    /// every stored flag and segment checked again and compiled in each environment.
    pub fn finish(self, state: State) -> Result<Published, ApiError> {
        let mut refs = self.refs;
        for s in &state.segments {
            refs.add_segment(&s.name, &s.segment);
        }
        let mut published = Published {
            version: state.version,
            built_at: Instant::now(),
            client_features: lazy_payloads(&state.environments),
            payload_versions: state
                .environments
                .iter()
                .map(|e| (e.name.clone(), state.version))
                .collect(),
            environments: state.environments,
            projects: Arc::new(
                state
                    .projects
                    .into_iter()
                    .map(|p| (p.key.clone(), p))
                    .collect(),
            ),
            flags: self.flags,
            segments: state
                .segments
                .into_iter()
                .map(|s| (s.name.clone(), Arc::new(s)))
                .collect(),
            refs,
            snapshots: HashMap::new(),
            scoped_features: Default::default(),
            sole_project: None,
        };
        published.sole_project = published.refs.only_project().map(Box::from);
        // What the store holds was checked when written; checked again here, item by
        // item, so a damaged database is refused at start rather than served.
        for name in published.segments.keys() {
            flagpole_core::validate_segment(&published, name).map_err(ApiError::Stored)?;
        }
        for key in published.live_keys() {
            flagpole_core::validate_flag(&published, key).map_err(ApiError::Stored)?;
        }
        let empty: Vec<Snapshot> = published
            .environments
            .iter()
            .map(|env| Snapshot::empty(&env.name))
            .collect();
        let empty: Vec<&Snapshot> = empty.iter().collect();
        let snapshots = Snapshot::with_changes_each(&empty, &published, published.live_keys());
        published.snapshots = snapshots
            .into_iter()
            .map(|s| (s.environment().to_string(), Arc::new(s)))
            .collect();
        Ok(published)
    }
}

/// An empty, lazily filled payload cell per environment.
fn lazy_payloads(environments: &[Environment]) -> HashMap<String, Arc<PayloadCell>> {
    environments
        .iter()
        .map(|e| (e.name.clone(), Arc::default()))
        .collect()
}
