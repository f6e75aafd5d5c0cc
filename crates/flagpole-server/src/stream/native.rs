//! The native change stream: `snapshot` (the whole environment: every live flag with its
//! configuration in that environment, and every segment), then `change` events with the
//! flags and segments a publish changed or deleted, and `refetch` when a client fell
//! too far behind. Enough for an SDK to rebuild the environment's `Document` exactly.

use axum::body::Bytes;
use flagpole_core::{Flag, Scope, Segment};
use indexmap::IndexMap;
use serde::Serialize;

use super::change::{Change, Publish, Since};
use super::frame::{frame, live_flag, segment};
use crate::published::Published;

#[derive(Serialize)]
struct Changed<'a> {
    version: i64,
    environment: &'a str,
    flags: IndexMap<&'a str, Flag>,
    deleted_flags: Vec<&'a str>,
    segments: IndexMap<&'a str, &'a Segment>,
    deleted_segments: Vec<&'a str>,
}

impl Changed<'_> {
    fn is_empty(&self) -> bool {
        self.flags.is_empty()
            && self.deleted_flags.is_empty()
            && self.segments.is_empty()
            && self.deleted_segments.is_empty()
    }
}

/// A flag as one environment sees it: everything but the other environments.
fn project(mut flag: Flag, environment: &str) -> Flag {
    flag.environments.retain(|name, _| name == environment);
    flag
}

/// Whether two versions of a flag look the same from `environment`.
fn same_in(a: &Flag, b: &Flag, environment: &str) -> bool {
    a.same_except_environments(b)
        && a.environments.get(environment) == b.environments.get(environment)
}

/// The whole environment.
pub fn full(published: &Published, environment: &str, scope: &Scope) -> Bytes {
    frame(
        "snapshot",
        published.version,
        &snapshot_json(published, environment, scope),
    )
}

/// The whole environment as JSON: the `snapshot` event's data, also served at
/// `GET /api/v1/environments/{env}/snapshot` for clients that poll.
///
/// Written flag by flag, each parsed and projected only while it is written, so the
/// whole flag set is never held parsed. The shape is
/// `{"version", "environment", "flags": {key: flag}, "segments": {name: segment}}`.
pub(crate) fn snapshot_json(published: &Published, environment: &str, scope: &Scope) -> Vec<u8> {
    // Serializing plain data with string keys cannot fail.
    let mut out = Vec::with_capacity(64 * 1024);
    out.extend_from_slice(
        format!("{{\"version\":{},\"environment\":", published.version).as_bytes(),
    );
    let _ = serde_json::to_writer(&mut out, environment);
    out.extend_from_slice(b",\"flags\":{");
    for (i, (key, record)) in published.scoped_records(scope).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut out, key);
        out.push(b':');
        let _ = serde_json::to_writer(&mut out, &project(record.flag(), environment));
    }
    out.extend_from_slice(b"},\"segments\":");
    let segments: IndexMap<&str, &Segment> = published
        .segments
        .iter()
        .filter(|(_, r)| scope.sees_segment(r.segment.project()))
        .map(|(k, r)| (k.as_str(), &r.segment))
        .collect();
    let _ = serde_json::to_writer(&mut out, &segments);
    out.push(b'}');
    out
}

/// What one publish changed in `environment`.
fn delta<'a>(
    before: &Published,
    after: &'a Published,
    change: &'a Change,
    environment: &'a str,
    scope: &Scope,
) -> Changed<'a> {
    let mut out = Changed {
        version: after.version,
        environment,
        flags: IndexMap::new(),
        deleted_flags: Vec::new(),
        segments: IndexMap::new(),
        deleted_segments: Vec::new(),
    };
    for key in &change.flags {
        match (live_flag(before, key, scope), live_flag(after, key, scope)) {
            (Some(was), Some(now)) if same_in(&was, &now, environment) => {}
            (_, Some(now)) => {
                out.flags.insert(key, project(now, environment));
            }
            (Some(_), None) => out.deleted_flags.push(key),
            (None, None) => {}
        }
    }
    for name in &change.segments {
        match (segment(before, name, scope), segment(after, name, scope)) {
            (Some(was), Some(now)) if was == now => {}
            (_, Some(now)) => {
                out.segments.insert(name, now);
            }
            (Some(_), None) => out.deleted_segments.push(name),
            (None, None) => {}
        }
    }
    out
}

/// Whether a publish changed anything `environment` evaluates with.
pub fn touches(publish: &Publish, environment: &str, scope: &Scope) -> bool {
    let (before, after, change) = (publish.before, publish.after, publish.change);
    change.full || !delta(before, after, change, environment, scope).is_empty()
}

/// `change` for one publish (`snapshot` when anything may have changed), or `None`.
pub fn changed(publish: &Publish, environment: &str, scope: &Scope) -> Option<Bytes> {
    let (before, after, change) = (publish.before, publish.after, publish.change);
    if change.full {
        return Some(full(after, environment, scope));
    }
    let delta = delta(before, after, change, environment, scope);
    if delta.is_empty() {
        return None;
    }
    let data = serde_json::to_vec(&delta).unwrap_or_default();
    Some(frame("change", after.version, &data))
}

/// `change` for a client resuming: the current state of what changed since its version
/// (empty when it is current).
pub fn since(published: &Published, environment: &str, scope: &Scope, since: &Since) -> Bytes {
    let mut out = Changed {
        version: published.version,
        environment,
        flags: IndexMap::new(),
        deleted_flags: Vec::new(),
        segments: IndexMap::new(),
        deleted_segments: Vec::new(),
    };
    for key in &since.flags {
        match live_flag(published, key, scope) {
            Some(flag) => {
                out.flags.insert(key, project(flag, environment));
            }
            None => out.deleted_flags.push(key),
        }
    }
    for name in &since.segments {
        match segment(published, name, scope) {
            Some(segment) => {
                out.segments.insert(name, segment);
            }
            None => out.deleted_segments.push(name),
        }
    }
    let data = serde_json::to_vec(&out).unwrap_or_default();
    frame("change", published.version, &data)
}

/// The last event of a stream that fell too far behind: fetch everything again.
pub fn refetch(version: i64) -> Bytes {
    frame(
        "refetch",
        version,
        format!("{{\"version\":{version}}}").as_bytes(),
    )
}
