//! Usage reported by SDKs (Unleash's `/api/client/metrics`): how often each flag was on
//! and off and which variants were served, per environment and hourly bucket. Stored
//! through [`flagpole_store::Store::record_usage`].

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::error::ApiError;

/// The counts of one report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    pub start: DateTime<Utc>,
    pub flags: BTreeMap<String, FlagUsage>,
}

/// One flag's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FlagUsage {
    pub yes: u64,
    pub no: u64,
    pub variants: BTreeMap<String, u64>,
}

impl FlagUsage {
    pub fn add(&mut self, other: &FlagUsage) {
        self.yes += other.yes;
        self.no += other.no;
        for (v, n) in &other.variants {
            *self.variants.entry(v.clone()).or_default() += n;
        }
    }
}

/// Counts are kept per hour.
pub fn bucket_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at)
}

fn count(value: &Value, path: &str) -> Result<u64, ApiError> {
    match value {
        Value::Null => Ok(0),
        v => v.as_u64().ok_or_else(|| {
            ApiError::bad_request(
                "invalid_body",
                format!("{path}: must be a non-negative integer"),
                Some(path.into()),
            )
        }),
    }
}

impl Usage {
    /// Reads an Unleash metrics report.
    pub fn from_unleash(report: &Value) -> Result<Usage, ApiError> {
        let bucket = &report["bucket"];
        if !bucket.is_object() {
            return Err(ApiError::bad_request(
                "invalid_body",
                "bucket: must be an object",
                Some("bucket".into()),
            ));
        }
        let start = match &bucket["start"] {
            Value::String(s) => DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|e| {
                    ApiError::bad_request(
                        "invalid_body",
                        format!("bucket.start: {s:?} is not an RFC 3339 time: {e}"),
                        Some("bucket.start".into()),
                    )
                })?,
            _ => Utc::now(),
        };
        let mut usage = Usage {
            start: bucket_of(start),
            flags: BTreeMap::new(),
        };
        let Some(toggles) = bucket["toggles"].as_object() else {
            return Ok(usage);
        };
        for (name, t) in toggles {
            let path = format!("bucket.toggles.{name}");
            let mut f = FlagUsage {
                yes: count(&t["yes"], &format!("{path}.yes"))?,
                no: count(&t["no"], &format!("{path}.no"))?,
                variants: BTreeMap::new(),
            };
            if let Some(variants) = t["variants"].as_object() {
                for (v, n) in variants {
                    f.variants
                        .insert(v.clone(), count(n, &format!("{path}.variants.{v}"))?);
                }
            }
            usage.flags.insert(name.clone(), f);
        }
        Ok(usage)
    }

    /// Adds the report to the Prometheus counters.
    pub fn count_in_prometheus(&self, environment: &str) {
        for (flag, f) in &self.flags {
            for (result, n) in [("yes", f.yes), ("no", f.no)] {
                metrics::counter!(
                    "flagpole_sdk_evaluations_total",
                    "environment" => environment.to_string(),
                    "flag" => flag.clone(),
                    "result" => result
                )
                .increment(n);
            }
        }
    }
}
