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
    /// The payload of `published`; the features of flags not in `base`'s changed set
    /// are copied from its payload.
    fn new(published: &Published, environment: &str, base: Option<&Base>) -> ClientFeaturesCache {
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
        let mut each = Vec::with_capacity(published.live_flags());
        out.extend_from_slice(b"{\"version\":2,\"features\":");
        let start = out.len();
        out.push(b'[');
        for (i, (key, record)) in published.live_records().enumerate() {
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
        if !published.segments.is_empty() {
            out.extend_from_slice(b",\"segments\":");
            let start = out.len();
            out.push(b'[');
            for (i, (name, record)) in published.segments.iter().enumerate() {
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
        let version = published.payload_version(environment);
        ClientFeaturesCache {
            json: Bytes::from(out),
            features,
            each: each.into_boxed_slice(),
            segment_ids: ids.iter().map(|(n, i)| (Box::from(*n), *i)).collect(),
            segments,
            gzip: OnceLock::new(),
            etag: format!("\"{environment}-{version}\""),
        }
    }

    /// One feature's JSON object.
    fn feature(&self, key: &str) -> Option<&[u8]> {
        let i = self.each.binary_search_by(|(k, _)| (**k).cmp(key)).ok()?;
        Some(&self.json[self.each[i].1.clone()])
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

/// One environment's payload in one published state: built on first use, from the
/// built payload of an earlier state when there is one to start from.
#[derive(Debug, Default)]
pub struct PayloadCell {
    built: OnceLock<ClientFeaturesCache>,
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
    pub(super) fn get(&self, published: &Published, environment: &str) -> &ClientFeaturesCache {
        self.built.get_or_init(|| {
            let base = self.base.lock().unwrap_or_else(|e| e.into_inner()).take();
            ClientFeaturesCache::new(published, environment, base.as_ref())
        })
    }
}
