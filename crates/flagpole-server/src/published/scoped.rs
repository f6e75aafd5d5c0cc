//! The published state as a credential of some projects sees it: which flags it reaches,
//! and the Unleash payloads of project-scoped tokens, kept per environment and scope and
//! carried from one state to the next like the environment's own (a change elsewhere
//! leaves them, and their ETags, as they were).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use flagpole_core::Scope;
use flagpole_store::{Environment, ProjectEnvironment, ProjectRecord};

use super::payload::{PayloadCell, Shown};
use super::{ClientFeaturesCache, Published, StoredFlag};
use crate::error::ApiError;

/// Scoped payloads by environment and scope: the last change to what each shows, and
/// its cell.
pub(super) type ScopedPayloads = Mutex<HashMap<(String, Scope), (i64, Arc<PayloadCell>)>>;

/// What a committed change touched, for the scoped payloads.
#[derive(Debug, Default)]
pub(super) struct Touched {
    /// The environments whose payloads change; `None`: every one.
    pub(super) environments: Option<BTreeSet<String>>,
    /// The projects of the flags written, before and after.
    pub(super) projects: BTreeSet<Box<str>>,
    /// A segment changed (payloads list the segments).
    pub(super) segments: bool,
    pub(super) flags: BTreeSet<String>,
}

impl Published {
    /// Whether `scope` reaches the flag: for a list of projects, a live flag of one of
    /// them; every key for every project (callers look the flag up anyway).
    pub fn visible(&self, key: &str, scope: &Scope) -> bool {
        scope.is_all()
            || self
                .flags
                .get(key)
                .is_some_and(|f| !f.archived && scope.contains(&f.project))
    }

    /// The live flags of `scope`, in key order.
    pub fn scoped_keys<'a>(&'a self, scope: &'a Scope) -> Box<dyn Iterator<Item = &'a str> + 'a> {
        match scope {
            Scope::All => Box::new(self.live_keys()),
            Scope::Projects(projects) => {
                let sets = projects.iter().filter_map(|p| self.refs.project_flags(p));
                if projects.len() == 1 {
                    return Box::new(sets.flatten().map(String::as_str));
                }
                let mut keys: Vec<&str> = sets.flatten().map(String::as_str).collect();
                keys.sort_unstable();
                Box::new(keys.into_iter())
            }
        }
    }

    /// The live flags' records of `scope`, in key order.
    pub fn scoped_records<'a>(
        &'a self,
        scope: &'a Scope,
    ) -> Box<dyn Iterator<Item = (&'a str, &'a StoredFlag)> + 'a> {
        match scope {
            Scope::All => Box::new(self.live_records()),
            _ => Box::new(
                self.scoped_keys(scope)
                    .filter_map(|k| self.flags.get(k).map(|r| (k, &**r))),
            ),
        }
    }

    /// A project.
    pub fn project(&self, key: &str) -> Option<&ProjectRecord> {
        self.projects.get(key)
    }

    /// Whether the live flag `key` is in `project`; without a lookup when every live
    /// flag is in that project (the seed GET's common case).
    pub fn in_project(&self, key: &str, project: &str) -> bool {
        self.sole_project.as_deref() == Some(project) || self.flag_project(key) == Some(project)
    }

    /// The project of a stored flag (live or archived).
    pub fn flag_project(&self, key: &str) -> Option<&str> {
        self.flags.get(key).map(|f| &*f.project)
    }

    /// The project of a flag (`kind` `flag`) or segment: `default` for one that does not
    /// exist (yet).
    pub fn project_of(&self, kind: &str, target: &str) -> &str {
        let found = match kind {
            "segment" => self.segments.get(target).map(|s| s.segment.project()),
            _ => self.flag_project(target),
        };
        found.unwrap_or(flagpole_core::DEFAULT_PROJECT)
    }

    /// Whether changes in `environment` of `project`'s flags are limited to admins and
    /// those granted it: the environment is protected for every project, or for this
    /// one.
    pub fn protected(&self, project: &str, environment: &str) -> bool {
        self.environment_flag(environment, |e| e.protected)
            || self.project_setting(project, environment, |s| s.protected)
    }

    /// Whether changes in `environment` of `project`'s flags need an approved change
    /// request: for every project, or for this one.
    pub fn requires_approval(&self, project: &str, environment: &str) -> bool {
        self.environment_flag(environment, |e| e.requires_approval)
            || self.project_setting(project, environment, |s| s.requires_approval)
    }

    fn environment_flag(&self, environment: &str, get: impl Fn(&Environment) -> bool) -> bool {
        self.environments
            .iter()
            .any(|e| e.name == environment && get(e))
    }

    fn project_setting(
        &self,
        project: &str,
        environment: &str,
        get: impl Fn(&ProjectEnvironment) -> bool,
    ) -> bool {
        self.project(project)
            .and_then(|p| p.settings.get(environment))
            .is_some_and(get)
    }

    /// How many live flags a project holds.
    pub fn project_size(&self, project: &str) -> usize {
        self.refs.project_flags(project).map_or(0, |s| s.len())
    }

    /// The Unleash `ClientFeatures` of an environment, every project's flags.
    pub fn client_features(&self, environment: &str) -> Result<Arc<ClientFeaturesCache>, ApiError> {
        self.client_features_for(environment, &Scope::All)
    }

    /// The Unleash `ClientFeatures` of an environment for `scope`, serialized once per
    /// change to what it shows.
    pub fn client_features_for(
        &self,
        environment: &str,
        scope: &Scope,
    ) -> Result<Arc<ClientFeaturesCache>, ApiError> {
        let missing = || ApiError::NotFound {
            kind: "environment",
            name: environment.to_string(),
        };
        if scope.is_all() {
            let cell = self.client_features.get(environment).ok_or_else(missing)?;
            let version = self.payload_version(environment);
            return Ok(cell.get(self, self.shown(environment, scope, version)));
        }
        if !self.has_environment(environment) {
            return Err(missing());
        }
        let (version, cell) = self
            .scoped_features
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((environment.to_string(), scope.clone()))
            .or_insert_with(|| (self.version, Arc::default()))
            .clone();
        Ok(cell.get(self, self.shown(environment, scope, version)))
    }

    fn shown<'a>(&self, environment: &'a str, scope: &'a Scope, version: i64) -> Shown<'a> {
        Shown {
            environment,
            scope,
            version,
        }
    }

    /// The scoped payloads of the state after a change: those it does not touch kept as
    /// they are, the others to be built again from them.
    pub(super) fn carry_scoped(&self, touched: &Touched, version: i64) -> ScopedPayloads {
        let before = self
            .scoped_features
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let live = self.live_flags();
        let carried = before
            .iter()
            .filter(|((env, _), _)| self.has_environment(env))
            .map(|((env, scope), (v, cell))| {
                let shown = touched
                    .environments
                    .as_ref()
                    .is_none_or(|envs| envs.contains(env));
                let reached =
                    touched.segments || touched.projects.iter().any(|p| scope.contains(p));
                let next = if shown && reached {
                    (version, PayloadCell::after(cell, &touched.flags, live))
                } else {
                    (*v, cell.clone())
                };
                ((env.clone(), scope.clone()), next)
            })
            .collect();
        Mutex::new(carried)
    }
}
