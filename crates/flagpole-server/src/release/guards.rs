//! Guard values: an SDK impact metric kept by the store, or one number from a Prometheus
//! query (`GET /api/v1/query`). A guard is breached when its value compares with its
//! threshold as it says (`gt`, `gte`, `lt`, `lte`); a guard without data is not breached.

use chrono::{DateTime, TimeDelta, Utc};
use flagpole_store::{Guard, ImpactRecord};
use serde_json::Value;

use crate::core::Core;

/// Largest Prometheus answer read.
pub const MAX_PROMETHEUS_BYTES: usize = 1 << 20;

/// What checking one guard found.
#[derive(Clone, Debug, PartialEq)]
pub enum Reading {
    /// The guard's value; `None` when there is no data yet.
    Value(Option<f64>),
    /// The value could not be read (the reason).
    Failed(String),
}

/// Whether `value` breaches `guard`.
pub fn breached(guard: &Guard, value: f64) -> bool {
    match guard.comparison.as_str() {
        "gt" => value > guard.threshold,
        "gte" => value >= guard.threshold,
        "lt" => value < guard.threshold,
        "lte" => value <= guard.threshold,
        _ => false,
    }
}

/// How a guard is described in reasons and audit entries.
pub fn describe(guard: &Guard) -> String {
    let what = match (
        guard.source.as_str(),
        &guard.metric,
        &guard.per,
        &guard.query,
    ) {
        ("impact", Some(m), Some(per), _) => format!("impact metric {m}/{per}"),
        ("impact", Some(m), None, _) => format!("impact metric {m}"),
        (_, _, _, Some(q)) => format!("prometheus query {q:?}"),
        _ => guard.source.clone(),
    };
    if guard.labels.is_empty() {
        return what;
    }
    let labels: Vec<String> = guard
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{what} {{{}}}", labels.join(","))
}

/// Where guard values come from: SDK impact metrics in the store, and a Prometheus
/// server over HTTP (with the client made for it: timeouts, no redirects). Cheap to
/// clone.
#[derive(Clone, Debug)]
pub struct Reader {
    core: Core,
    http: reqwest::Client,
}

impl Reader {
    pub fn new(core: Core) -> Reader {
        let timeout = core.config().release.prometheus_timeout;
        Reader {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            core,
        }
    }

    /// The core guards read the store of, and plans write through.
    pub fn core(&self) -> &Core {
        &self.core
    }
}

/// Reads a guard's value now.
pub async fn read(
    reader: &Reader,
    environment: &str,
    guard: &Guard,
    now: DateTime<Utc>,
) -> Reading {
    let result = match guard.source.as_str() {
        "impact" => impact(reader, environment, guard, now).await,
        "prometheus" => prometheus(reader, guard).await,
        other => Err(format!("unknown source {other:?}")),
    };
    match result {
        Ok(v) => Reading::Value(v),
        Err(e) => Reading::Failed(e),
    }
}

async fn impact(
    reader: &Reader,
    environment: &str,
    guard: &Guard,
    now: DateTime<Utc>,
) -> Result<Option<f64>, String> {
    let hours = (guard.window_seconds.unwrap_or(3600).max(1) + 3599) / 3600;
    let since = crate::usage::bucket_of(now) - TimeDelta::hours(hours - 1);
    let metric = guard.metric.as_deref().unwrap_or_default();
    // The samples of metric `name` with the guard's labels.
    let read = |name: String| async move {
        let records = reader
            .core
            .store()
            .impact(environment, &name, since)
            .await
            .map_err(|e| format!("reading impact metric {name}: {e}"))?;
        let labelled = |r: &ImpactRecord| {
            let labels = &r.sample.labels;
            guard.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
        };
        Ok::<Vec<ImpactRecord>, String>(records.into_iter().filter(labelled).collect())
    };
    let records = read(metric.to_string()).await?;
    let Some(value) = aggregate(&records) else {
        return Ok(None);
    };
    let Some(per) = &guard.per else {
        return Ok(Some(value));
    };
    let denominator = read(per.clone()).await?;
    Ok(aggregate(&denominator)
        .filter(|d| *d > 0.0)
        .map(|d| value / d))
}

/// Counters: the total; histograms: the mean observation; gauges: the largest value in
/// the newest bucket. `None` without samples.
fn aggregate(records: &[ImpactRecord]) -> Option<f64> {
    let first = records.first()?;
    match first.sample.kind.as_str() {
        "gauge" => {
            let newest = records.iter().map(|r| r.bucket).max()?;
            records
                .iter()
                .filter(|r| r.bucket == newest)
                .map(|r| r.sample.value)
                .reduce(f64::max)
        }
        "histogram" => {
            let count: i64 = records.iter().map(|r| r.sample.count).sum();
            let sum: f64 = records.iter().map(|r| r.sample.sum).sum();
            (count > 0).then(|| sum / count as f64)
        }
        _ => Some(records.iter().map(|r| r.sample.value).sum()),
    }
}

async fn prometheus(reader: &Reader, guard: &Guard) -> Result<Option<f64>, String> {
    let base = reader
        .core
        .config()
        .release
        .prometheus_url
        .as_deref()
        .ok_or("no Prometheus server is configured (--prometheus-url)")?;
    let query = guard.query.as_deref().unwrap_or_default();
    let url = format!("{}/api/v1/query", base.trim_end_matches('/'));
    let target = reqwest::Url::parse_with_params(&url, &[("query", query)])
        .map_err(|e| format!("the Prometheus URL {url:?} is invalid: {e}"))?;
    let mut response = reader
        .http
        .get(target)
        .send()
        .await
        .map_err(|e| format!("querying Prometheus at {url}: {e}"))?;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading Prometheus's answer: {e}"))?
    {
        if body.len() + chunk.len() > MAX_PROMETHEUS_BYTES {
            return Err(format!(
                "Prometheus's answer is larger than {MAX_PROMETHEUS_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        format!(
            "Prometheus answered {} with no JSON: {e}",
            response.status()
        )
    })?;
    one_number(&value)
}

/// The one number of a Prometheus query answer (`None`: an empty vector or NaN).
pub fn one_number(answer: &Value) -> Result<Option<f64>, String> {
    if answer["status"] != "success" {
        return Err(format!(
            "Prometheus refused the query: {}",
            answer["error"].as_str().unwrap_or("no reason given")
        ));
    }
    let data = &answer["data"];
    let sample = match data["resultType"].as_str() {
        Some("scalar") => &data["result"],
        Some("vector") => match data["result"].as_array().map(Vec::as_slice) {
            Some([]) => return Ok(None),
            Some([one]) => &one["value"],
            Some(many) => {
                return Err(format!(
                    "the query returns {} series; a guard needs one number (aggregate it, e.g. sum(...))",
                    many.len()
                ))
            }
            None => return Err("the answer has no result".into()),
        },
        other => return Err(format!("the query returns a {other:?}; a guard needs one number")),
    };
    let n: f64 = sample[1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or("the answer's value is not a number")?;
    Ok((!n.is_nan()).then_some(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_one_number() {
        let v = json!({"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1.0, "0.25"]}]}});
        assert_eq!(one_number(&v), Ok(Some(0.25)));
        let empty = json!({"status": "success", "data": {"resultType": "vector", "result": []}});
        assert_eq!(one_number(&empty), Ok(None));
        let nan =
            json!({"status": "success", "data": {"resultType": "scalar", "result": [1.0, "NaN"]}});
        assert_eq!(one_number(&nan), Ok(None));
        let two = json!({"status": "success", "data": {"resultType": "vector", "result": [{"value": [1, "1"]}, {"value": [1, "2"]}]}});
        assert!(one_number(&two).is_err());
    }
}
