//! What refers to what among the live flags and segments, kept beside the published
//! state so that a write finds what its change affects without scanning every flag:
//! the flags using each segment, the flags depending on each flag, names by lower case
//! (for the limits' case check), and the totals the limits bound.

use flagpole_core::limits::{flag_regexes, regexes};
use flagpole_core::{Flag, Segment};
use imbl::{HashMap, OrdSet};

/// A persistent multimap: a changed copy costs what the change does.
type Multi = HashMap<String, OrdSet<String>>;

/// Lower-cased name → the names with that lower case, sorted: almost always one, so a
/// plain vector (a one-element `OrdSet` costs a whole B-tree node).
type Names = HashMap<String, Vec<String>>;

#[derive(Clone, Debug, Default)]
pub(crate) struct Refs {
    /// Segment name → the live flags whose rules (in any environment) name it.
    segment_users: Multi,
    /// Project → its live flags.
    projects: Multi,
    /// Flag key → the live flags that depend on it (in any environment).
    dependents: Multi,
    /// Lower-cased key → the live flags with that key.
    flag_names: Names,
    /// Lower-cased name → the segments with that name.
    segment_names: Names,
    /// Live flags.
    pub(crate) live: usize,
    /// REGEX conditions in live flags and segments.
    pub(crate) regexes: usize,
}

fn add(map: &mut Multi, key: &str, value: &str) {
    map.entry(key.to_string())
        .or_default()
        .insert(value.to_string());
}

fn remove(map: &mut Multi, key: &str, value: &str) {
    if let Some(set) = map.get_mut(key) {
        set.remove(value);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

fn add_name(map: &mut Names, name: &str) {
    let names = map.entry(name.to_ascii_lowercase()).or_default();
    if let Err(at) = names.binary_search_by(|n| n.as_str().cmp(name)) {
        names.insert(at, name.to_string());
    }
}

fn remove_name(map: &mut Names, name: &str) {
    let lower = name.to_ascii_lowercase();
    if let Some(names) = map.get_mut(&lower) {
        names.retain(|n| n != name);
        if names.is_empty() {
            map.remove(&lower);
        }
    }
}

fn segments_named(flag: &Flag) -> OrdSet<&str> {
    flag.environments
        .values()
        .flat_map(|e| e.rules.iter())
        .flat_map(|r| r.segments.iter())
        .map(String::as_str)
        .collect()
}

fn parents(flag: &Flag) -> OrdSet<&str> {
    flag.environments
        .values()
        .flat_map(|e| e.depends_on.iter())
        .map(|d| d.flag.as_str())
        .collect()
}

impl Refs {
    /// Counts a live flag in.
    pub(crate) fn add_flag(&mut self, key: &str, flag: &Flag) {
        for s in segments_named(flag) {
            add(&mut self.segment_users, s, key);
        }
        for p in parents(flag) {
            add(&mut self.dependents, p, key);
        }
        add(&mut self.projects, flag.project(), key);
        add_name(&mut self.flag_names, key);
        self.live += 1;
        self.regexes += flag_regexes(flag);
    }

    /// Counts a live flag out (as it was counted in).
    pub(crate) fn remove_flag(&mut self, key: &str, flag: &Flag) {
        for s in segments_named(flag) {
            remove(&mut self.segment_users, s, key);
        }
        for p in parents(flag) {
            remove(&mut self.dependents, p, key);
        }
        remove(&mut self.projects, flag.project(), key);
        remove_name(&mut self.flag_names, key);
        self.live = self.live.saturating_sub(1);
        self.regexes = self.regexes.saturating_sub(flag_regexes(flag));
    }

    pub(crate) fn add_segment(&mut self, name: &str, segment: &Segment) {
        add_name(&mut self.segment_names, name);
        self.regexes += regexes(&segment.conditions);
    }

    pub(crate) fn remove_segment(&mut self, name: &str, segment: &Segment) {
        remove_name(&mut self.segment_names, name);
        self.regexes = self.regexes.saturating_sub(regexes(&segment.conditions));
    }

    /// The live flags whose rules name the segment.
    pub(crate) fn segment_users(&self, name: &str) -> impl Iterator<Item = &String> {
        self.segment_users.get(name).into_iter().flatten()
    }

    /// Every segment name a live flag's rules name (whether or not there is such a
    /// segment).
    pub(crate) fn segments_named(&self) -> impl Iterator<Item = &str> {
        self.segment_users.keys().map(String::as_str)
    }

    /// The one project every live flag is in, when they are all in one.
    pub(crate) fn only_project(&self) -> Option<&str> {
        match self.projects.len() {
            1 => self.projects.keys().next().map(String::as_str),
            _ => None,
        }
    }

    /// The live flags of a project, in key order.
    pub(crate) fn project_flags(&self, project: &str) -> Option<&OrdSet<String>> {
        self.projects.get(project)
    }

    /// The live flags that depend on the flag.
    pub(crate) fn dependents(&self, key: &str) -> impl Iterator<Item = &String> {
        self.dependents.get(key).into_iter().flatten()
    }

    pub(crate) fn flag_twin(&self, lower: &str) -> Option<&str> {
        self.flag_names
            .get(lower)
            .and_then(|s| s.first())
            .map(String::as_str)
    }

    pub(crate) fn segment_twin(&self, lower: &str) -> Option<&str> {
        self.segment_names
            .get(lower)
            .and_then(|s| s.first())
            .map(String::as_str)
    }
}
