//! Metrics and request tracking: Prometheus counters and histograms for requests (by
//! route and status) and evaluations (by environment, flag and variant), counted per
//! thread (`tally`); the other metrics go through the `metrics` registry.

mod tally;

use std::cell::RefCell;
use std::fmt::Write;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};

use axum::response::Response;
use flagpole_core::Evaluation;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tally::{Count, Family, Local, Timing};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder (once per process), which holds the gauges and the
/// counters that are not counted per request.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (tests); then ours only renders.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The current metrics in Prometheus text format: the registry's, then the request and
/// evaluation metrics, which are counted per thread (`tally`).
pub fn render() -> String {
    let mut out = install().render();
    render_requests(&mut out);
    render_evaluations(&mut out);
    out
}

const REQUEST_LABELS: [&str; 3] = ["route", "method", "status"];
const EVALUATION_LABELS: [&str; 3] = ["environment", "flag", "variant"];

fn render_requests(out: &mut String) {
    let totals = REQUESTS.totals();
    let counts = totals.iter().map(|(labels, total)| (labels, total.count));
    let name = "flagpole_http_requests_total";
    let help = "HTTP requests answered, by route template, method and status.";
    render_counter(out, name, help, REQUEST_LABELS, counts);
    if totals.is_empty() {
        return;
    }
    let name = "flagpole_http_request_duration_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Time to answer an HTTP request, by route template, method and status."
    );
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (labels, total) in &totals {
        let mut cumulative = 0;
        let bounds = tally::BUCKETS.iter().map(|b| b.to_string());
        for (le, n) in bounds.chain(["+Inf".to_owned()]).zip(total.buckets) {
            cumulative += n;
            let _ = write!(out, "{name}_bucket");
            tally::write_labels(out, REQUEST_LABELS, labels);
            let _ = writeln!(out, ",le=\"{le}\"}} {cumulative}");
        }
        for (suffix, value) in [
            ("sum", total.sum.to_string()),
            ("count", total.count.to_string()),
        ] {
            let _ = write!(out, "{name}_{suffix}");
            tally::write_labels(out, REQUEST_LABELS, labels);
            let _ = writeln!(out, "}} {value}");
        }
    }
    let _ = writeln!(out);
}

fn render_evaluations(out: &mut String) {
    let totals = EVALUATIONS.totals();
    let name = "flagpole_evaluations_total";
    let help = "Flag evaluations made by this server, by environment, flag and variant.";
    render_counter(
        out,
        name,
        help,
        EVALUATION_LABELS,
        totals.iter().map(|(l, n)| (l, *n)),
    );
}

/// A counter family as Prometheus text (nothing when it has no series).
fn render_counter<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    label_names: [&str; 3],
    series: impl ExactSizeIterator<Item = (&'a [String; 3], u64)>,
) {
    if series.len() == 0 {
        return;
    }
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    for (labels, count) in series {
        out.push_str(name);
        tally::write_labels(out, label_names, labels);
        let _ = writeln!(out, "}} {count}");
    }
    let _ = writeln!(out);
}

static REQUESTS: Family<Timing> = Family::new();
static EVALUATIONS: Family<Count> = Family::new();

thread_local! {
    static LOCAL_REQUESTS: RefCell<Local<Timing>> = RefCell::new(Local::new(&REQUESTS));
    static LOCAL_EVALUATIONS: RefCell<Local<Count>> = RefCell::new(Local::new(&EVALUATIONS));
}

/// One request being counted and timed by route template, method and status.
#[derive(Debug)]
pub struct Tracked {
    route: Route,
    method: axum::http::Method,
    start: Instant,
}

/// The route template a request is counted under.
#[derive(Debug)]
enum Route {
    /// The route the router matched.
    Matched(MatchedPath),
    /// A route answered without the router (`routes::hot`).
    Known(&'static str),
    Unmatched,
}

impl Tracked {
    /// Starts tracking a request: under `route` when it is answered without the router,
    /// else under the route the router matched (none: "unmatched").
    pub fn start(req: &Request, route: Option<&'static str>) -> Tracked {
        let route = match route {
            Some(known) => Route::Known(known),
            None => req
                .extensions()
                .get::<MatchedPath>()
                .cloned()
                .map_or(Route::Unmatched, Route::Matched),
        };
        Tracked {
            route,
            method: req.method().clone(),
            start: Instant::now(),
        }
    }

    /// Counts the request with its answer.
    pub fn finish(self, response: &Response) {
        record_request(self, response.status());
    }
}

fn record_request(tracked: Tracked, status: axum::http::StatusCode) {
    let Tracked {
        route,
        method,
        start,
    } = tracked;
    let route = match &route {
        Route::Matched(matched) => matched.as_str(),
        Route::Known(known) => known,
        Route::Unmatched => "unmatched",
    };
    let took = start.elapsed();
    LOCAL_REQUESTS.with(|local| {
        local
            .borrow_mut()
            .with([route, method.as_str(), status.as_str()], |t| {
                t.record(took.as_secs_f64());
            });
    });
    tracing::debug!(route, status = status.as_u16(), took = ?took, "answered");
}

/// Counts one evaluation by environment, flag and variant.
pub fn count_evaluation(environment: &str, flag: &str, e: &Evaluation<'_>) {
    // The variant a rule chose (an off variant is not an exposure).
    let variant = e
        .chosen
        .map_or(if e.enabled { "on" } else { "off" }, |c| c.name);
    LOCAL_EVALUATIONS.with(|local| {
        local
            .borrow_mut()
            .with([environment, flag, variant], Count::increment);
    });
}
