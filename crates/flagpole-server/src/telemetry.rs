//! Metrics and request tracking: Prometheus counters and histograms for requests (by
//! route and status) and evaluations (by environment, flag and variant).

use std::cell::RefCell;
use std::sync::{OnceLock, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use flagpole_core::Evaluation;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use rustc_hash::FxHashMap;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// How often histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the Prometheus recorder (once per process).
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(&[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (tests); then ours only renders.
        let _ = metrics::set_global_recorder(recorder);
        // Histogram samples wait in buckets until upkeep folds them in; without it they
        // pile up for as long as nobody scrapes /metrics (found by scripts/soak.sh).
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("flagpole-metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
        }
        handle
    })
}

/// The current metrics in Prometheus text format.
pub fn render() -> String {
    install().render()
}

/// Metric handles registered once per label set, found again by borrowed label values:
/// the hot path neither allocates label strings nor searches the metrics registry. Each
/// thread finds them in its own table (`Local`), so counting a request touches no lock
/// or reference count shared with the other workers; the shared table only registers a
/// label set the first time a thread meets it.
struct Handles<H> {
    map: RwLock<ByLabels<H>>,
}

/// Handles by their three label values, one level per label. Labels are short strings
/// this server chose or was configured with, so a fast hash (Fx) serves.
type ByLabels<H> = FxHashMap<String, FxHashMap<String, FxHashMap<String, H>>>;

/// A thread's copy of the handles it has used.
type Local<H> = std::thread::LocalKey<RefCell<ByLabels<H>>>;

fn find<'a, H>(map: &'a ByLabels<H>, a: &str, b: &str, c: &str) -> Option<&'a H> {
    map.get(a)?.get(b)?.get(c)
}

fn insert<'m, H>(
    map: &'m mut ByLabels<H>,
    a: &str,
    b: &str,
    c: &str,
    make: impl FnOnce() -> H,
) -> &'m H {
    map.entry(a.to_string())
        .or_default()
        .entry(b.to_string())
        .or_default()
        .entry(c.to_string())
        .or_insert_with(make)
}

impl<H: Clone> Handles<H> {
    fn new() -> Handles<H> {
        Handles {
            map: RwLock::new(FxHashMap::default()),
        }
    }

    /// Calls `f` with the handle for these labels, made with `make` the first time any
    /// thread needs it.
    fn with(
        &self,
        local: &'static Local<H>,
        [a, b, c]: [&str; 3],
        make: impl FnOnce() -> H,
        f: impl FnOnce(&H),
    ) {
        local.with(|cache| {
            if let Some(h) = find(&cache.borrow(), a, b, c) {
                return f(h);
            }
            let shared = {
                let map = self.map.read().unwrap_or_else(|e| e.into_inner());
                find(&map, a, b, c).cloned()
            };
            let h = shared.unwrap_or_else(|| {
                let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
                insert(&mut map, a, b, c, make).clone()
            });
            f(insert(&mut cache.borrow_mut(), a, b, c, || h));
        });
    }
}

thread_local! {
    static LOCAL_REQUESTS: RefCell<ByLabels<(Counter, Histogram)>> = RefCell::new(FxHashMap::default());
    static LOCAL_EVALUATIONS: RefCell<ByLabels<Counter>> = RefCell::new(FxHashMap::default());
}

fn request_handles() -> &'static Handles<(Counter, Histogram)> {
    static H: OnceLock<Handles<(Counter, Histogram)>> = OnceLock::new();
    H.get_or_init(Handles::new)
}

fn evaluation_handles() -> &'static Handles<Counter> {
    static H: OnceLock<Handles<Counter>> = OnceLock::new();
    H.get_or_init(Handles::new)
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
    let labels = [route, method.as_str(), status.as_str()];
    let make = || {
        let labels = [
            ("route", route.to_string()),
            ("method", method.to_string()),
            ("status", status.as_str().to_string()),
        ];
        (
            metrics::counter!("flagpole_http_requests_total", &labels),
            metrics::histogram!("flagpole_http_request_duration_seconds", &labels),
        )
    };
    request_handles().with(&LOCAL_REQUESTS, labels, make, |(counter, histogram)| {
        counter.increment(1);
        histogram.record(took.as_secs_f64());
    });
    tracing::debug!(route, status = status.as_u16(), took = ?took, "answered");
}

/// Counts one evaluation by environment, flag and variant.
pub fn count_evaluation(environment: &str, flag: &str, e: &Evaluation<'_>) {
    // The variant a rule chose (an off variant is not an exposure).
    let variant = e
        .chosen
        .map_or(if e.enabled { "on" } else { "off" }, |c| c.name);
    let make = || {
        metrics::counter!(
            "flagpole_evaluations_total",
            "environment" => environment.to_string(),
            "flag" => flag.to_string(),
            "variant" => variant.to_string()
        )
    };
    let labels = [environment, flag, variant];
    evaluation_handles().with(&LOCAL_EVALUATIONS, labels, make, |c| c.increment(1));
}

/// A panic in a handler becomes a logged 500 with the usual error body.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(serde_json::json!({"code": "internal", "message": "internal error; see the server log"})),
    )
        .into_response()
}
