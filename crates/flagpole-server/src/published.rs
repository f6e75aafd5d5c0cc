//! The published state: the store's flags and segments, their native document, and one
//! compiled snapshot per environment. Immutable; replaced whole.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use flagpole_core::{Document, Snapshot};
use flagpole_store::{Environment, FlagRecord, SegmentRecord, State};
use indexmap::IndexMap;

use crate::error::ApiError;

#[derive(Debug)]
pub struct Published {
    /// The configuration version this was built from.
    pub version: i64,
    pub built_at: Instant,
    pub environments: Vec<Environment>,
    /// Every flag, archived ones included, by key.
    pub flags: IndexMap<String, FlagRecord>,
    pub segments: IndexMap<String, SegmentRecord>,
    /// The live (not archived) flags and the segments, as one document.
    pub document: Document,
    pub snapshots: HashMap<String, Arc<Snapshot>>,
}

impl Published {
    pub fn build(state: State) -> Result<Published, ApiError> {
        let mut document = Document::default();
        for s in &state.segments {
            document.segments.insert(s.name.clone(), s.segment.clone());
        }
        for f in state.flags.iter().filter(|f| !f.archived) {
            document.flags.insert(f.key.clone(), f.flag.clone());
        }
        let mut snapshots = HashMap::new();
        for env in &state.environments {
            let snapshot = Snapshot::compile(&document, &env.name).map_err(ApiError::Stored)?;
            snapshots.insert(env.name.clone(), Arc::new(snapshot));
        }
        Ok(Published {
            version: state.version,
            built_at: Instant::now(),
            environments: state.environments,
            flags: state
                .flags
                .into_iter()
                .map(|f| (f.key.clone(), f))
                .collect(),
            segments: state
                .segments
                .into_iter()
                .map(|s| (s.name.clone(), s))
                .collect(),
            document,
            snapshots,
        })
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
        self.flags.get(key).ok_or_else(|| ApiError::NotFound {
            kind: "flag",
            name: key.to_string(),
        })
    }

    pub fn has_environment(&self, name: &str) -> bool {
        self.snapshots.contains_key(name)
    }
}
