//! The request and evaluation metrics, counted per thread.
//!
//! They are counted on every request, so they must cost little. In the shared metrics
//! registry each count is an atomic add on a value every worker shares, whose cache line
//! moves between cores on every request, and each duration is a push onto a shared,
//! epoch-managed queue. Here each thread counts into series of its own, found through a
//! thread-local table and written by that thread alone (a load and a store: no lock and
//! no read-modify-write); rendering `/metrics` sums every thread's series. A thread's
//! series outlive it, so no count is lost.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

/// The upper bounds of the request-duration histogram's buckets, in seconds.
pub const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A value written by one thread and read by any: a relaxed load and store, which is an
/// add only because no other thread writes it.
#[derive(Debug, Default)]
struct Owned(AtomicU64);

impl Owned {
    fn add(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }

    fn add_f64(&self, x: f64) {
        let sum = f64::from_bits(self.0.load(Relaxed)) + x;
        self.0.store(sum.to_bits(), Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// One thread's count for one label set.
#[derive(Debug, Default)]
pub struct Count(Owned);

impl Count {
    pub fn increment(&self) {
        self.0.add(1);
    }
}

/// One thread's histogram of durations for one label set (its count is the request count).
#[derive(Debug, Default)]
pub struct Timing {
    /// Observations per bucket, not cumulative; the last is above every bound.
    buckets: [Owned; BUCKETS.len() + 1],
    count: Owned,
    sum: Owned,
}

impl Timing {
    pub fn record(&self, seconds: f64) {
        let bucket = BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(BUCKETS.len());
        self.buckets[bucket].add(1);
        self.count.add(1);
        self.sum.add_f64(seconds);
    }
}

/// A series' values summed over threads.
pub trait Series: Default + Send + Sync + 'static {
    type Total: Default;
    fn add_to(&self, total: &mut Self::Total);
}

impl Series for Count {
    type Total = u64;
    fn add_to(&self, total: &mut u64) {
        *total += self.0.get();
    }
}

/// A [`Timing`] summed over threads.
#[derive(Debug, Default)]
pub struct TimingTotal {
    pub buckets: [u64; BUCKETS.len() + 1],
    pub count: u64,
    pub sum: f64,
}

impl Series for Timing {
    type Total = TimingTotal;
    fn add_to(&self, total: &mut TimingTotal) {
        for (sum, bucket) in total.buckets.iter_mut().zip(&self.buckets) {
            *sum += bucket.get();
        }
        total.count += self.count.get();
        total.sum += f64::from_bits(self.sum.get());
    }
}

type Labels = [String; 3];

/// A thread's series, as rendering reads them.
type Shared<S> = Arc<Mutex<Vec<(Labels, Arc<S>)>>>;

/// One metric's series, in every thread that has counted it.
pub struct Family<S> {
    threads: Mutex<Vec<Shared<S>>>,
}

impl<S: Series> Family<S> {
    pub const fn new() -> Family<S> {
        Family {
            threads: Mutex::new(Vec::new()),
        }
    }

    /// Every label set's values summed over threads, in label order.
    pub fn totals(&self) -> BTreeMap<Labels, S::Total> {
        let mut totals = BTreeMap::<Labels, S::Total>::new();
        let threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        for thread in threads.iter() {
            let series = thread.lock().unwrap_or_else(|e| e.into_inner());
            for (labels, s) in series.iter() {
                match totals.get_mut(labels) {
                    Some(total) => s.add_to(total),
                    None => s.add_to(totals.entry(labels.clone()).or_default()),
                }
            }
        }
        totals
    }
}

/// A thread's table of its series in one family, by their three label values.
pub struct Local<S> {
    table: FxHashMap<String, FxHashMap<String, FxHashMap<String, Arc<S>>>>,
    shared: Shared<S>,
}

impl<S: Series> Local<S> {
    /// The calling thread's table, registered with `family`.
    pub fn new(family: &'static Family<S>) -> Local<S> {
        let shared = Shared::default();
        family
            .threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(shared.clone());
        Local {
            table: FxHashMap::default(),
            shared,
        }
    }

    /// Calls `f` with this thread's series for the labels `[a, b, c]`, made the first
    /// time it counts them.
    pub fn with(&mut self, [a, b, c]: [&str; 3], f: impl FnOnce(&S)) {
        if let Some(series) = self
            .table
            .get(a)
            .and_then(|m| m.get(b))
            .and_then(|m| m.get(c))
        {
            return f(series);
        }
        let series = Arc::new(S::default());
        let labels = [a.to_owned(), b.to_owned(), c.to_owned()];
        self.shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((labels, series.clone()));
        f(&series);
        self.table
            .entry(a.to_owned())
            .or_default()
            .entry(b.to_owned())
            .or_default()
            .insert(c.to_owned(), series);
    }
}

/// Writes a label set as Prometheus text, `{a="…",b="…",c="…"` (without the closing
/// brace, so that `le` can follow).
pub fn write_labels(out: &mut String, names: [&str; 3], values: &Labels) {
    out.push('{');
    for (i, (name, value)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{name}=\"");
        for ch in value.chars() {
            match ch {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                ch => out.push(ch),
            }
        }
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static COUNTS: Family<Count> = Family::new();
    static TIMINGS: Family<Timing> = Family::new();

    #[test]
    fn every_threads_counts_are_summed_and_outlive_the_thread() {
        let count = |labels: [&str; 3], n: usize| {
            let mut local = Local::new(&COUNTS);
            for _ in 0..n {
                local.with(labels, Count::increment);
            }
        };
        std::thread::scope(|s| {
            s.spawn(|| count(["production", "a", "on"], 3));
            s.spawn(|| count(["production", "a", "on"], 4));
            s.spawn(|| count(["production", "b", "off"], 2));
        });
        let totals = COUNTS.totals();
        let key = |a: &str, b: &str, c: &str| [a.to_owned(), b.to_owned(), c.to_owned()];
        assert_eq!(totals[&key("production", "a", "on")], 7);
        assert_eq!(totals[&key("production", "b", "off")], 2);
        assert_eq!(totals.len(), 2);
    }

    #[test]
    fn durations_fall_in_the_first_bucket_whose_bound_they_do_not_exceed() {
        let mut local = Local::new(&TIMINGS);
        let labels = ["/flags/{name}", "GET", "200"];
        for seconds in [0.0001, 0.0005, 0.0007, 3.0] {
            local.with(labels, |t| t.record(seconds));
        }
        let totals = TIMINGS.totals();
        let total = totals.values().next().expect("one label set");
        assert_eq!(total.count, 4);
        assert_eq!(total.buckets[0], 2, "0.0001 and 0.0005 (le 0.0005)");
        assert_eq!(total.buckets[1], 1, "0.0007 (le 0.001)");
        assert_eq!(total.buckets[BUCKETS.len()], 1, "3.0 (above every bound)");
        assert!((total.sum - 3.0013).abs() < 1e-9);
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        let values = ["a\"b".to_owned(), "c\\d".to_owned(), "e\nf".to_owned()];
        write_labels(&mut out, ["x", "y", "z"], &values);
        assert_eq!(out, r#"{x="a\"b",y="c\\d",z="e\nf""#);
    }
}
