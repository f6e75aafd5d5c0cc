//! SDK-reported evaluations per hour, by variant, as a server-rendered SVG bar chart
//! (stacked bars; colours come from the stylesheet, so light and dark both work).

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use flagpole_store::UsageRecord;
use maud::{html, Markup};

/// Hours the chart shows.
pub const HOURS: i64 = 48;
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 160.0;
const PALETTE: usize = 6;

/// The chart of `usage` (one flag, one environment) for the [`HOURS`] before `now`.
pub fn usage_chart(usage: &[UsageRecord], now: DateTime<Utc>) -> Markup {
    let end = now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now);
    let start = end - TimeDelta::hours(HOURS - 1);
    // Per hour: counts per series (a variant, or on/off without variants).
    let mut hours: BTreeMap<i64, BTreeMap<String, i64>> = BTreeMap::new();
    let mut series: Vec<String> = Vec::new();
    let mut total = 0;
    for r in usage
        .iter()
        .filter(|r| r.bucket >= start && r.bucket <= end)
    {
        let slot = (r.bucket - start).num_hours();
        let counts = hours.entry(slot).or_default();
        let mut add = |name: &str, n: i64| {
            if n > 0 {
                *counts.entry(name.to_string()).or_default() += n;
                if !series.iter().any(|s| s == name) {
                    series.push(name.to_string());
                }
            }
        };
        if r.variants.is_empty() {
            add("on", r.yes);
            add("off", r.no);
        } else {
            let named: i64 = r.variants.values().sum();
            for (v, n) in &r.variants {
                add(v, *n);
            }
            add("no variant", (r.yes + r.no - named).max(0));
        }
        total += r.yes + r.no;
    }
    if total == 0 {
        return html! { p.empty { "No SDK has reported evaluating this flag here in the last " (HOURS) " hours." } };
    }
    let max = hours
        .values()
        .map(|c| c.values().sum::<i64>())
        .max()
        .unwrap_or(1)
        .max(1);
    let slot_w = WIDTH / HOURS as f64;
    let label = format!("Evaluations per hour over the last {HOURS} hours: {total} in all, at most {max} in one hour");
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {WIDTH} {}", HEIGHT + 20.0)) role="img" aria-label=(label) {
                line.axis x1="0" y1=(HEIGHT) x2=(WIDTH) y2=(HEIGHT) {}
                @for (slot, counts) in &hours {
                    @let x = *slot as f64 * slot_w;
                    @let mut y = HEIGHT;
                    @for (name, n) in counts {
                        @let h = *n as f64 / max as f64 * (HEIGHT - 4.0);
                        @let top = { y -= h; y };
                        rect class=(format!("s{}", series_index(&series, name))) x=(fmt(x + 1.0)) y=(fmt(top)) width=(fmt(slot_w - 2.0)) height=(fmt(h)) {
                            title { (name) ": " (n) " at " ((start + TimeDelta::hours(*slot)).format("%d %b %H:00 UTC")) }
                        }
                    }
                }
                text x="0" y=(HEIGHT + 16.0) { ((start).format("%d %b %H:00")) }
                text x=(WIDTH) y=(HEIGHT + 16.0) text-anchor="end" { (end.format("%d %b %H:00 UTC")) }
                text x="4" y="12" { "max " (max) "/h" }
            }
            figcaption {
                ul.legend {
                    @for (i, s) in series.iter().enumerate() {
                        li { span class=(format!("swatch s{}", i % PALETTE)) {} (s) }
                    }
                }
            }
        }
    }
}

fn series_index(series: &[String], name: &str) -> usize {
    series.iter().position(|s| s == name).unwrap_or(0) % PALETTE
}

fn fmt(x: f64) -> String {
    format!("{x:.1}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_by_variant() {
        let now = Utc::now();
        let bucket = now.duration_trunc(TimeDelta::hours(1)).expect("trunc");
        let record = UsageRecord {
            environment: "production".into(),
            bucket,
            flag: "f".into(),
            yes: 7,
            no: 3,
            variants: [("blue".to_string(), 4), ("green".to_string(), 6)].into(),
        };
        let svg = usage_chart(&[record], now).into_string();
        assert!(svg.contains("blue: 4"), "{svg}");
        assert!(svg.contains("green: 6"));
        assert!(svg.contains("10 in all"));
        assert!(usage_chart(&[], now).into_string().contains("No SDK"));
    }
}
