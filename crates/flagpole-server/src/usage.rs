//! Usage reported by SDKs (Unleash's `/api/client/metrics`): how often each flag was on
//! and off and which variants were served, per environment and hourly bucket. Stored
//! through [`flagpole_store::Store::record_usage`].

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::Serialize;
use serde_json::Value;

use flagpole_core::limits::{MAX_REPORT_FLAGS, MAX_REPORT_VARIANTS, MAX_TEXT_LEN};
use flagpole_core::Problem;
use flagpole_store::{Store, UsageCount};

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
        too_many(
            toggles.len(),
            MAX_REPORT_FLAGS,
            "bucket.toggles",
            "flags",
            "MAX_REPORT_FLAGS",
        )?;
        for (name, t) in toggles {
            let path = format!("bucket.toggles.{name}");
            plain_name(name, &path)?;
            let mut f = FlagUsage {
                yes: count(&t["yes"], &format!("{path}.yes"))?,
                no: count(&t["no"], &format!("{path}.no"))?,
                variants: BTreeMap::new(),
            };
            if let Some(variants) = t["variants"].as_object() {
                let vpath = format!("{path}.variants");
                too_many(
                    variants.len(),
                    MAX_REPORT_VARIANTS,
                    &vpath,
                    "variants",
                    "MAX_REPORT_VARIANTS",
                )?;
                for (v, n) in variants {
                    plain_name(v, &format!("{vpath}.{v}"))?;
                    f.variants
                        .insert(v.clone(), count(n, &format!("{path}.variants.{v}"))?);
                }
            }
            usage.flags.insert(name.clone(), f);
        }
        Ok(usage)
    }

    /// Removes the flags `known` does not know and returns their counts added up.
    pub fn drop_unknown(&mut self, known: impl Fn(&str) -> bool) -> FlagUsage {
        let mut unknown = FlagUsage::default();
        self.flags.retain(|name, f| {
            let keep = known(name);
            if !keep {
                unknown.yes += f.yes;
                unknown.no += f.no;
            }
            keep
        });
        unknown
    }

    /// Adds the report to the Prometheus counters; `unknown` (flags this server does not
    /// know) is counted under the one label [`UNKNOWN_FLAG_LABEL`].
    pub fn count_in_prometheus(&self, environment: &str, unknown: &FlagUsage) {
        let unknown = (unknown.yes + unknown.no > 0).then_some((UNKNOWN_FLAG_LABEL, unknown));
        let known = self.flags.iter().map(|(k, f)| (k.as_str(), f));
        for (flag, f) in known.chain(unknown) {
            for (result, n) in [("yes", f.yes), ("no", f.no)] {
                metrics::counter!(
                    "flagpole_sdk_evaluations_total",
                    "environment" => environment.to_string(),
                    "flag" => flag.to_string(),
                    "result" => result
                )
                .increment(n);
            }
        }
    }
    /// Stores the report's counts in their hourly bucket.
    pub async fn record(self, store: &dyn Store, environment: &str) -> Result<(), ApiError> {
        let clamp = |n: u64| n.min(i64::MAX as u64) as i64;
        let counts: Vec<UsageCount> = self
            .flags
            .into_iter()
            .map(|(flag, f)| UsageCount {
                flag,
                yes: clamp(f.yes),
                no: clamp(f.no),
                variants: f.variants.into_iter().map(|(v, n)| (v, clamp(n))).collect(),
            })
            .collect();
        if counts.is_empty() {
            return Ok(());
        }
        store.record_usage(environment, self.start, &counts).await?;
        Ok(())
    }
}

/// The `flag` label of SDK evaluations of flags this server does not know (no flag key
/// can have it: keys start with a letter or digit).
pub const UNKNOWN_FLAG_LABEL: &str = "_unknown";

fn too_many(n: usize, limit: usize, path: &str, what: &str, name: &str) -> Result<(), ApiError> {
    if n <= limit {
        return Ok(());
    }
    Err(ApiError::Invalid(vec![Problem {
        path: path.into(),
        message: format!("{n} {what} in one report; at most {limit} allowed (limit {name})"),
    }]))
}

/// Names in a report are stored: no control characters (PostgreSQL refuses NUL), at most
/// `MAX_TEXT_LEN` bytes.
fn plain_name(name: &str, path: &str) -> Result<(), ApiError> {
    let why = if name.chars().any(char::is_control) {
        "contains control characters"
    } else if name.len() > MAX_TEXT_LEN {
        "is too long (limit MAX_TEXT_LEN)"
    } else {
        return Ok(());
    };
    Err(ApiError::Invalid(vec![Problem {
        path: path.into(),
        message: format!("the name {name:?} {why}"),
    }]))
}
