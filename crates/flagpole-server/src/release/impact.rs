//! SDK impact metrics: the `impactMetrics` Unleash SDKs send with their usage reports to
//! `/api/client/metrics` (counters, gauges and histograms whose labels name flags and the
//! variant each was evaluated to), read within limits and kept per hour.
//!
//! The shape (as the Python `UnleashClient` 6 sends it, through Yggdrasil):
//! `[{"name", "help", "type": "counter"|"gauge"|"histogram", "samples": [{"labels": {..},
//! "value"} | {"labels", "count", "sum", "buckets": [{"le": 0.1 | "+Inf", "count"}]}]}]`.

use serde_json::Value;

use flagpole_core::limits::MAX_TEXT_LEN;
use flagpole_core::Problem;
use flagpole_store::ImpactSample;

use crate::error::ApiError;

/// Metrics in one report.
pub const MAX_IMPACT_METRICS: usize = 64;
/// Samples (series) in one report, all metrics together.
pub const MAX_IMPACT_SAMPLES: usize = 1000;
/// Labels on one sample.
pub const MAX_IMPACT_LABELS: usize = 16;
/// Buckets of one histogram sample.
pub const MAX_IMPACT_BUCKETS: usize = 64;

/// Reads a report's `impactMetrics` (none when absent or null).
pub fn parse(report: &Value) -> Result<Vec<ImpactSample>, ApiError> {
    let metrics = match &report["impactMetrics"] {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a,
        _ => return Err(bad("impactMetrics", "must be an array")),
    };
    if metrics.len() > MAX_IMPACT_METRICS {
        return Err(limit(
            "impactMetrics",
            metrics.len(),
            MAX_IMPACT_METRICS,
            "MAX_IMPACT_METRICS",
        ));
    }
    let mut out = Vec::new();
    for (i, m) in metrics.iter().enumerate() {
        let path = format!("impactMetrics[{i}]");
        let name = text(&m["name"], &format!("{path}.name"))?;
        let kind = text(&m["type"], &format!("{path}.type"))?;
        if !matches!(kind.as_str(), "counter" | "gauge" | "histogram") {
            return Err(bad(
                &format!("{path}.type"),
                "must be counter, gauge or histogram",
            ));
        }
        let samples = m["samples"]
            .as_array()
            .ok_or_else(|| bad(&format!("{path}.samples"), "must be an array"))?;
        if out.len() + samples.len() > MAX_IMPACT_SAMPLES {
            return Err(limit(
                &format!("{path}.samples"),
                out.len() + samples.len(),
                MAX_IMPACT_SAMPLES,
                "MAX_IMPACT_SAMPLES",
            ));
        }
        for (j, s) in samples.iter().enumerate() {
            out.push(sample(&name, &kind, s, &format!("{path}.samples[{j}]"))?);
        }
    }
    Ok(out)
}

fn sample(name: &str, kind: &str, s: &Value, path: &str) -> Result<ImpactSample, ApiError> {
    let mut labels = std::collections::BTreeMap::new();
    match &s["labels"] {
        Value::Null => {}
        Value::Object(map) => {
            if map.len() > MAX_IMPACT_LABELS {
                return Err(limit(
                    &format!("{path}.labels"),
                    map.len(),
                    MAX_IMPACT_LABELS,
                    "MAX_IMPACT_LABELS",
                ));
            }
            for (k, v) in map {
                let lpath = format!("{path}.labels.{k}");
                plain(k, &lpath)?;
                let v = match v {
                    Value::String(v) => v.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err(bad(&lpath, "must be a string")),
                };
                plain(&v, &lpath)?;
                labels.insert(k.clone(), v);
            }
        }
        _ => return Err(bad(&format!("{path}.labels"), "must be an object")),
    }
    let mut out = ImpactSample {
        name: name.to_string(),
        kind: kind.to_string(),
        labels,
        value: 0.0,
        count: 0,
        sum: 0.0,
        buckets: Vec::new(),
    };
    if kind != "histogram" {
        out.value = number(&s["value"], &format!("{path}.value"))?;
        if kind == "counter" && out.value < 0.0 {
            return Err(bad(&format!("{path}.value"), "a counter cannot go down"));
        }
        return Ok(out);
    }
    out.count = count(&s["count"], &format!("{path}.count"))?;
    out.sum = number(&s["sum"], &format!("{path}.sum"))?;
    let buckets = s["buckets"]
        .as_array()
        .ok_or_else(|| bad(&format!("{path}.buckets"), "must be an array"))?;
    if buckets.len() > MAX_IMPACT_BUCKETS {
        return Err(limit(
            &format!("{path}.buckets"),
            buckets.len(),
            MAX_IMPACT_BUCKETS,
            "MAX_IMPACT_BUCKETS",
        ));
    }
    for (k, b) in buckets.iter().enumerate() {
        let bpath = format!("{path}.buckets[{k}]");
        let le = match &b["le"] {
            Value::String(s) if s == "+Inf" => s.clone(),
            Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => n.to_string(),
            _ => return Err(bad(&format!("{bpath}.le"), "must be a number or \"+Inf\"")),
        };
        out.buckets
            .push((le, count(&b["count"], &format!("{bpath}.count"))?));
    }
    Ok(out)
}

fn text(v: &Value, path: &str) -> Result<String, ApiError> {
    let s = v.as_str().ok_or_else(|| bad(path, "must be a string"))?;
    if s.is_empty() {
        return Err(bad(path, "must not be empty"));
    }
    plain(s, path)?;
    Ok(s.to_string())
}

fn number(v: &Value, path: &str) -> Result<f64, ApiError> {
    v.as_f64()
        .filter(|n| n.is_finite())
        .ok_or_else(|| bad(path, "must be a finite number"))
}

fn count(v: &Value, path: &str) -> Result<i64, ApiError> {
    v.as_u64()
        .and_then(|n| i64::try_from(n).ok())
        .ok_or_else(|| bad(path, "must be a non-negative integer"))
}

fn plain(s: &str, path: &str) -> Result<(), ApiError> {
    if s.chars().any(char::is_control) {
        return Err(bad(path, "contains control characters"));
    }
    if s.len() > MAX_TEXT_LEN {
        return Err(bad(path, "is too long (limit MAX_TEXT_LEN)"));
    }
    Ok(())
}

fn bad(path: &str, message: &str) -> ApiError {
    ApiError::bad_request(
        "invalid_body",
        format!("{path}: {message}"),
        Some(path.into()),
    )
}

fn limit(path: &str, n: usize, max: usize, name: &str) -> ApiError {
    ApiError::Invalid(vec![Problem {
        path: path.into(),
        message: format!("{n} in one report; at most {max} allowed (limit {name})"),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_the_python_sdk_sends() {
        let report = json!({"impactMetrics": [
            {"name": "errors", "help": "h", "type": "counter",
             "samples": [{"labels": {"appName": "a", "f": "enabled"}, "value": 3}]},
            {"name": "lat", "help": "h", "type": "histogram",
             "samples": [{"labels": {"f": "disabled"}, "count": 1, "sum": 0.5,
               "buckets": [{"le": 0.1, "count": 0}, {"le": "+Inf", "count": 1}]}]}
        ]});
        let samples = parse(&report).expect("parse");
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].value, 3.0);
        assert_eq!(samples[0].labels["f"], "enabled");
        assert_eq!(
            samples[1].buckets,
            vec![("0.1".into(), 0), ("+Inf".into(), 1)]
        );
    }

    #[test]
    fn refuses_bad_shapes_naming_the_field() {
        let e = parse(&json!({"impactMetrics": [{"name": "x", "type": "summary", "samples": []}]}))
            .expect_err("bad type");
        assert!(e.to_string().contains("impactMetrics[0].type"), "{e}");
        let many: Vec<_> = (0..65)
            .map(|i| json!({"name": format!("m{i}"), "type": "gauge", "samples": []}))
            .collect();
        assert!(parse(&json!({ "impactMetrics": many })).is_err());
    }
}
