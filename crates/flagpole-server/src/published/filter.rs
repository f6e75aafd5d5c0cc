//! Unleash's query filters on `/api/client/features`: `project`, `namePrefix` and
//! `tag` (`type:value`, a plain tag being Unleash's `simple` type), each repeatable;
//! a feature is kept when it passes every kind given (any value of one kind).

use super::Published;
use crate::error::ApiError;

/// Most filter values one request gives.
pub const MAX_FILTERS: usize = 100;

#[derive(Debug, Default)]
pub struct FeatureFilter {
    projects: Vec<String>,
    prefixes: Vec<String>,
    /// `(type, value)`.
    tags: Vec<(String, String)>,
}

impl FeatureFilter {
    /// The filter of a query's pairs (other parameters are ignored, as Unleash does).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<FeatureFilter, ApiError> {
        let mut filter = FeatureFilter::default();
        let mut count = 0;
        for (name, value) in pairs {
            match name.as_str() {
                "project" => filter.projects.push(value),
                "namePrefix" => filter.prefixes.push(value),
                "tag" => {
                    let (kind, tag) = value.split_once(':').unwrap_or(("simple", &value));
                    filter.tags.push((kind.to_string(), tag.to_string()));
                }
                _ => continue,
            }
            count += 1;
            if count > MAX_FILTERS {
                return Err(ApiError::bad_request(
                    "too_many_filters",
                    format!("at most {MAX_FILTERS} project, namePrefix and tag filters"),
                    None,
                ));
            }
        }
        Ok(filter)
    }

    pub fn is_empty(&self) -> bool {
        self.projects.is_empty() && self.prefixes.is_empty() && self.tags.is_empty()
    }

    /// Whether the live flag `key` of `published` passes.
    pub fn keeps(&self, published: &Published, key: &str) -> bool {
        let Some(record) = published.flags.get(key) else {
            return false;
        };
        if !self.projects.is_empty() && !self.projects.iter().any(|p| **p == *record.project) {
            return false;
        }
        if !self.prefixes.is_empty() && !self.prefixes.iter().any(|p| key.starts_with(p.as_str())) {
            return false;
        }
        self.tags.is_empty() || {
            let flag = record.flag();
            flag.tags.iter().any(|t| {
                let (kind, value) = t.split_once(':').unwrap_or(("simple", t));
                self.tags.iter().any(|(k, v)| k == kind && v == value)
            })
        }
    }
}
