//! Unleash's `ClientFeatures` document (what `/api/client/features` serves) and its delta
//! events, to and from the native document.
//!
//! Imported documents are marked `compat: unleash` so Unleash's semantics hold where they
//! differ from Flagpole's: one-level dependencies, unknown operators and strategies kept
//! as written (never matching), and malformed rules turning their flag off.
//!
//! `types.rs` holds the wire types, `import.rs` and `export.rs` the two directions.

mod export;
mod import;
mod types;

pub use export::{
    export, export_feature, export_parts, export_segment, payload, payload_of, segment_ids,
};
pub use import::{from_client_features, import};
pub use types::{
    ClientFeatures, Constraint, DeltaEvent, Feature, FeatureDependency, Payload, Strategy,
    UnleashOverride, UnleashSegment, UnleashVariant,
};
