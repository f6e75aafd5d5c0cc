//! Unleash's streaming events, as Unleash and Edge send them: `unleash-connected` (on
//! connect) and `unleash-updated`, each with `{"events": [...]}` of delta events
//! (`hydration`, `feature-updated`, `feature-removed`, `segment-updated`,
//! `segment-removed`), every feature exactly as `/api/client/features` shows it.

use axum::body::Bytes;
use flagpole_core::formats::unleash::{self as format, Feature, UnleashSegment};
use flagpole_core::Scope;
use serde::Serialize;

use super::change::{Publish, Since};
use super::frame::{frame, live_flag, segment};
use crate::published::Published;

pub const CONNECTED: &str = "unleash-connected";
pub const UPDATED: &str = "unleash-updated";

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum Event<'a> {
    #[serde(rename_all = "camelCase")]
    FeatureUpdated { event_id: i64, feature: Feature },
    #[serde(rename_all = "camelCase")]
    FeatureRemoved {
        event_id: i64,
        feature_name: &'a str,
        project: String,
    },
    #[serde(rename_all = "camelCase")]
    SegmentUpdated {
        event_id: i64,
        segment: UnleashSegment,
    },
    #[serde(rename_all = "camelCase")]
    SegmentRemoved { event_id: i64, segment_id: i64 },
}

#[derive(Serialize)]
struct Events<'a> {
    events: Vec<Event<'a>>,
}

fn encode(event: &str, version: i64, events: &Events<'_>) -> Bytes {
    frame(
        event,
        version,
        &serde_json::to_vec(events).unwrap_or_default(),
    )
}

/// The whole environment: one `hydration` event, its arrays copied from the
/// environment's cached payload.
pub fn full(published: &Published, environment: &str, scope: &Scope, event: &str) -> Bytes {
    let version = published.version;
    let Ok(cache) = published.client_features_for(environment, scope) else {
        return encode(event, version, &Events { events: Vec::new() });
    };
    // `{"events":[{"type":"hydration","eventId":…,"features":[…],"segments":[…]}]}`
    let (features, segments) = (cache.features_json(), cache.segments_json());
    let mut data = Vec::with_capacity(features.len() + segments.len() + 80);
    data.extend_from_slice(
        format!("{{\"events\":[{{\"type\":\"hydration\",\"eventId\":{version},\"features\":")
            .as_bytes(),
    );
    data.extend_from_slice(features);
    data.extend_from_slice(b",\"segments\":");
    data.extend_from_slice(segments);
    data.extend_from_slice(b"}]}");
    frame(event, version, &data)
}

/// `unleash-updated` for one publish, or `None` when it changed nothing Unleash SDKs
/// of `environment` see.
pub fn changed(publish: &Publish, environment: &str, scope: &Scope) -> Option<Bytes> {
    let (before, after, change) = (publish.before, publish.after, publish.change);
    if change.full || change.unleash_full {
        return Some(full(after, environment, scope, UPDATED));
    }
    let version = after.version;
    let (before_ids, after_ids) = (before.segment_ids(), after.segment_ids());
    let mut events = removed(&change.removed_segment_ids, version);
    for name in &change.segments {
        let now = segment(after, name, scope).map(|s| format::export_segment(name, s, &after_ids));
        let was =
            segment(before, name, scope).map(|s| format::export_segment(name, s, &before_ids));
        if let Some(segment) = now.filter(|s| was.as_ref() != Some(s)) {
            events.push(Event::SegmentUpdated {
                event_id: version,
                segment,
            });
        }
    }
    for key in &change.flags {
        let now = live_flag(after, key, scope)
            .map(|f| format::export_feature(key, &f, environment, &after_ids));
        let was = live_flag(before, key, scope)
            .map(|f| format::export_feature(key, &f, environment, &before_ids));
        match (was, now) {
            (was, Some(feature)) if was.as_ref() != Some(&feature) => {
                events.push(Event::FeatureUpdated {
                    event_id: version,
                    feature,
                })
            }
            (Some(_), None) => events.push(Event::FeatureRemoved {
                event_id: version,
                feature_name: key,
                project: project_of(before, key),
            }),
            _ => {}
        }
    }
    (!events.is_empty()).then(|| encode(UPDATED, version, &Events { events }))
}

/// `unleash-connected` for a client resuming: the current state of what changed since
/// its version (nothing when it is current).
pub fn since(published: &Published, environment: &str, scope: &Scope, since: &Since) -> Bytes {
    let version = published.version;
    let ids = published.segment_ids();
    let mut events = removed(&since.removed_segment_ids, version);
    events.extend(since.segments.iter().filter_map(|name| {
        let s = segment(published, name, scope)?;
        Some(Event::SegmentUpdated {
            event_id: version,
            segment: format::export_segment(name, s, &ids),
        })
    }));
    for key in &since.flags {
        events.push(
            match live_flag(published, key, scope)
                .map(|f| format::export_feature(key, &f, environment, &ids))
            {
                Some(feature) => Event::FeatureUpdated {
                    event_id: version,
                    feature,
                },
                None => Event::FeatureRemoved {
                    event_id: version,
                    feature_name: key,
                    project: project_of(published, key),
                },
            },
        );
    }
    encode(CONNECTED, version, &Events { events })
}

/// The project a flag of `published` belongs to (`default` for one it does not hold).
fn project_of(published: &Published, key: &str) -> String {
    published
        .flags
        .get(key)
        .map_or(flagpole_core::DEFAULT_PROJECT, |r| &r.project)
        .to_string()
}

/// `segment-removed` events for the Unleash ids of removed segments.
fn removed<'a>(ids: &[i64], version: i64) -> Vec<Event<'a>> {
    ids.iter()
        .map(|&segment_id| Event::SegmentRemoved {
            event_id: version,
            segment_id,
        })
        .collect()
}
