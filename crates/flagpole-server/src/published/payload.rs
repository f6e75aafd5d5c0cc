//! One environment's Unleash `ClientFeatures`, written on first request after a change
//! to what it shows (and gzipped on first request for gzip). It is written flag by
//! flag: a flag the change did not touch is copied, as bytes, from the payload of an
//! earlier state ([`PayloadCell::after`]); the others are parsed from their compact
//! record, converted and serialized one at a time. So a payload after a write costs a
//! copy plus what the write changed, not a conversion of every flag. Only the JSON is
//! kept, with the byte range of each feature and of the `features` and `segments`
//! arrays (a hydration event reuses those).

use std::collections::BTreeSet;
use std::io::Write;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use flagpole_core::formats::unleash;
use flagpole_core::Scope;

use super::Published;

#[derive(Debug)]
pub struct ClientFeaturesCache {
    pub json: Bytes,
    /// Where the `features` array is in `json`.
    features: Range<usize>,
    /// Each feature's key and where its object is in `json`, in key order.
    each: Box<[(Box<str>, Range<usize>)]>,
    /// The segment ids its features refer to segments by (a payload is copied from
    /// only under the same ids).
    segment_ids: Box<[(Box<str>, i64)]>,
    /// Where the `segments` array is in `json` (absent: no segments, and the payload
    /// leaves the field out as Unleash does).
    segments: Option<Range<usize>>,
    gzip: OnceLock<Bytes>,
    pub etag: String,
}

impl ClientFeaturesCache {
    /// The payload of `published` for `scope` (the flags of its projects, the segments
    /// they may use); the features of flags not in `base`'s changed set are copied from
    /// its payload. `version`: the last change to what it shows.
    fn new(published: &Published, at: &Shown<'_>, base: Option<&Base>) -> ClientFeaturesCache {
        let Shown {
            environment,
            scope,
            version,
        } = *at;
        let ids = published.segment_ids();
        let base = base
            .and_then(|b| Some((b.cell.built.get()?, &b.changed)))
            .filter(|(b, _)| {
                b.segment_ids.len() == ids.len()
                    && b.segment_ids
                        .iter()
                        .zip(&ids)
                        .all(|((n, i), (m, j))| **n == **m && i == j)
            });
        let capacity = base.map_or(64 * 1024, |(b, _)| b.json.len() + 4096);
        let mut out = Vec::with_capacity(capacity);
        let mut each = Vec::new();
        out.extend_from_slice(b"{\"version\":2,\"features\":");
        let start = out.len();
        out.push(b'[');
        for (i, (key, record)) in published.scoped_records(scope).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let at = out.len();
            let kept = base
                .filter(|(_, changed)| !changed.contains(key))
                .and_then(|(b, _)| b.feature(key));
            match kept {
                Some(bytes) => out.extend_from_slice(bytes),
                None => {
                    let flag = record.flag();
                    let feature = unleash::export_feature(key, &flag, environment, &ids);
                    // Serializing plain data with string keys cannot fail.
                    let _ = serde_json::to_writer(&mut out, &feature);
                }
            }
            each.push((Box::from(key), at..out.len()));
        }
        out.push(b']');
        let features = start..out.len();
        let mut segments = None;
        let mut shown = published
            .segments
            .iter()
            .filter(|(_, s)| scope.sees_segment(s.segment.project()))
            .peekable();
        if shown.peek().is_some() {
            out.extend_from_slice(b",\"segments\":");
            let start = out.len();
            out.push(b'[');
            for (i, (name, record)) in shown.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let segment = unleash::export_segment(name, &record.segment, &ids);
                let _ = serde_json::to_writer(&mut out, &segment);
            }
            out.push(b']');
            segments = Some(start..out.len());
        }
        out.push(b'}');
        out.shrink_to_fit();
        let etag = match scope.fingerprint() {
            None => format!("\"{environment}-{version}\""),
            Some(f) => format!("\"{environment}-{version}-{f}\""),
        };
        ClientFeaturesCache {
            json: Bytes::from(out),
            features,
            each: each.into_boxed_slice(),
            segment_ids: ids.iter().map(|(n, i)| (Box::from(*n), *i)).collect(),
            segments,
            gzip: OnceLock::new(),
            etag,
        }
    }

    /// One feature's JSON object.
    fn feature(&self, key: &str) -> Option<&[u8]> {
        let i = self.each.binary_search_by(|(k, _)| (**k).cmp(key)).ok()?;
        Some(&self.json[self.each[i].1.clone()])
    }

    /// The payload with only the features `keep` keeps (Unleash's query filters): their
    /// bytes copied, every segment kept.
    pub fn filtered(&self, keep: impl Fn(&str) -> bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.json.len() / 4 + 64);
        out.extend_from_slice(b"{\"version\":2,\"features\":[");
        let mut first = true;
        for (_, range) in self.each.iter().filter(|(k, _)| keep(k)) {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            out.extend_from_slice(&self.json[range.clone()]);
        }
        out.extend_from_slice(b"],\"segments\":");
        out.extend_from_slice(self.segments_json());
        out.push(b'}');
        out
    }

    /// The `features` array, as JSON.
    pub fn features_json(&self) -> &[u8] {
        &self.json[self.features.clone()]
    }

    /// The `segments` array, as JSON (`[]` when there are none).
    pub fn segments_json(&self) -> &[u8] {
        match &self.segments {
            Some(range) => &self.json[range.clone()],
            None => b"[]",
        }
    }

    /// The JSON, gzipped (made on first use).
    pub fn gzip(&self) -> Bytes {
        self.gzip
            .get_or_init(|| {
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder
                    .write_all(&self.json)
                    .and_then(|()| encoder.finish())
                    .map(Bytes::from)
                    .unwrap_or_default()
            })
            .clone()
    }
}

/// Which payload: an environment's, for a scope of projects, as of the last change to
/// what it shows.
#[derive(Clone, Copy, Debug)]
pub(super) struct Shown<'a> {
    pub(super) environment: &'a str,
    pub(super) scope: &'a Scope,
    pub(super) version: i64,
}

/// One environment's payload (for one scope) in one published state: built on first
/// use, from the built payload of an earlier state when there is one to start from.
#[derive(Debug, Default)]
pub struct PayloadCell {
    built: OnceLock<Arc<ClientFeaturesCache>>,
    /// What to build from; taken when building.
    base: Mutex<Option<Base>>,
}

/// A built payload, and the flags changed since its state.
#[derive(Clone, Debug)]
pub(super) struct Base {
    cell: Arc<PayloadCell>,
    changed: BTreeSet<String>,
}

impl PayloadCell {
    /// The cell of the state after a change to what this payload shows; `changed`: the
    /// flags the change wrote (a segment change writes none: features name segments by
    /// id, and the payload is built afresh when the ids moved). It starts from
    /// `previous` when that is built, or from what `previous` would have started from;
    /// and afresh once more than a quarter of the flags changed since, where copying
    /// gains little.
    pub(super) fn after(
        previous: &Arc<PayloadCell>,
        changed: &BTreeSet<String>,
        live: usize,
    ) -> Arc<PayloadCell> {
        let base = if previous.built.get().is_some() {
            Some(Base {
                cell: previous.clone(),
                changed: BTreeSet::new(),
            })
        } else {
            previous
                .base
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        };
        let base = base
            .map(|mut base| {
                base.changed.extend(changed.iter().cloned());
                base
            })
            .filter(|base| base.changed.len() <= live / 4 + 16);
        Arc::new(PayloadCell {
            built: OnceLock::new(),
            base: Mutex::new(base),
        })
    }

    /// The payload, built on first use.
    pub(super) fn get(&self, published: &Published, at: Shown<'_>) -> Arc<ClientFeaturesCache> {
        self.built
            .get_or_init(|| {
                let base = self.base.lock().unwrap_or_else(|e| e.into_inner()).take();
                Arc::new(ClientFeaturesCache::new(published, &at, base.as_ref()))
            })
            .clone()
    }
}
