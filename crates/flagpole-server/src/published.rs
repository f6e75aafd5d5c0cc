//! The published state: the store's flags and segments, their native document, and one
//! compiled snapshot per environment. Immutable; replaced whole.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::body::Bytes;
use flagpole_core::formats::unleash::{self, ClientFeatures};
use flagpole_core::{Document, Flag, Snapshot};
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
    /// `/api/client/features` per environment, serialized on first use.
    client_features: HashMap<String, OnceLock<ClientFeaturesCache>>,
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
    pub fn build(state: State) -> Result<Published, ApiError> {
        let mut document = Document::default();
        for s in &state.segments {
            document.segments.insert(s.name.clone(), s.segment.clone());
        }
        for f in state.flags.iter().filter(|f| !f.archived) {
            document.flags.insert(f.key.clone(), f.flag.clone());
        }
        let client_features = state
            .environments
            .iter()
            .map(|e| (e.name.clone(), OnceLock::new()))
            .collect();
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
            client_features,
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

    /// The Unleash `ClientFeatures` of an environment, serialized once per version.
    pub fn client_features(&self, environment: &str) -> Result<&ClientFeaturesCache, ApiError> {
        let cell = self
            .client_features
            .get(environment)
            .ok_or_else(|| ApiError::NotFound {
                kind: "environment",
                name: environment.to_string(),
            })?;
        Ok(
            cell.get_or_init(|| {
                ClientFeaturesCache::new(&self.document, environment, self.version)
            }),
        )
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
