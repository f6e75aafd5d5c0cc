//! One environment's Unleash `ClientFeatures`, written once per change to what it shows
//! (and gzipped on first request). It is written flag by flag, each parsed from its
//! compact record, converted and serialized before the next is read, so building it
//! holds one flag at a time besides the output. Only the JSON is kept; the byte ranges
//! of its `features` and `segments` arrays let a hydration event reuse them.

use std::io::Write;
use std::ops::Range;
use std::sync::OnceLock;

use axum::body::Bytes;
use flagpole_core::formats::unleash;

use super::Published;

#[derive(Debug)]
pub struct ClientFeaturesCache {
    pub json: Bytes,
    /// Where the `features` array is in `json`.
    features: Range<usize>,
    /// Where the `segments` array is in `json` (absent: no segments, and the payload
    /// leaves the field out as Unleash does).
    segments: Option<Range<usize>>,
    gzip: OnceLock<Bytes>,
    pub etag: String,
}

impl ClientFeaturesCache {
    pub(super) fn new(published: &Published, environment: &str) -> ClientFeaturesCache {
        let ids = published.segment_ids();
        let mut out = Vec::with_capacity(64 * 1024);
        out.extend_from_slice(b"{\"version\":2,\"features\":");
        let start = out.len();
        out.push(b'[');
        for (i, (key, record)) in published.live_records().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let feature = unleash::export_feature(key, &record.flag(), environment, &ids);
            // Serializing plain data with string keys cannot fail.
            let _ = serde_json::to_writer(&mut out, &feature);
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
            segments,
            gzip: OnceLock::new(),
            etag: format!("\"{environment}-{version}\""),
        }
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
