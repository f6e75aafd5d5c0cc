//! Usage reports, as Unleash SDKs send them: every metrics interval (and at shutdown),
//! `POST /api/client/metrics` with `{appName, instanceId, bucket: {start, stop,
//! toggles: {flag: {yes, no, variants}}}}`. Counting is a relaxed atomic add on a
//! counter the state holds per flag; a report swaps every counter to zero.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::inner::Inner;
use crate::request::{check, post, SDK};
use crate::state::{FlagCounter, State};

#[derive(Debug, Default, Serialize)]
struct Toggle {
    yes: u64,
    no: u64,
    variants: BTreeMap<String, u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    app_name: &'a str,
    instance_id: &'a str,
    connection_id: &'a str,
    bucket: Bucket,
}

#[derive(Serialize)]
struct Bucket {
    start: DateTime<Utc>,
    stop: DateTime<Utc>,
    toggles: BTreeMap<String, Toggle>,
}

/// The usage task: a report every interval, and a last one at shutdown.
pub(crate) async fn run(inner: Arc<Inner>, mut shutdown: watch::Receiver<bool>) {
    let Some(every) = inner.config.metrics_interval else {
        return;
    };
    register(&inner).await;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => break,
        }
        if let Err(e) = flush(&inner).await {
            tracing::debug!(error = %e, "flagpole: cannot send usage");
        }
    }
    if let Err(e) = flush(&inner).await {
        tracing::warn!(error = %e, "flagpole: cannot send usage at shutdown");
    }
}

/// `POST /api/client/register`, as Unleash SDKs announce themselves; best effort.
async fn register(inner: &Inner) {
    let config = &inner.config;
    let body = serde_json::json!({
        "appName": config.app_name,
        "instanceId": config.instance_id,
        "connectionId": config.connection_id,
        "sdkVersion": SDK,
        "strategies": ["default", "flexibleRollout"],
        "started": Utc::now(),
        "interval": config.metrics_interval.map_or(0, |d| d.as_millis()),
    });
    let request = post(config, "/api/client/register")
        .json(&body)
        .timeout(config.read_timeout);
    if let Err(e) = request.send().await {
        tracing::debug!(error = %e, "flagpole: cannot register");
    }
}

/// Sends everything counted since the last report; counts that could not be sent are
/// added back, to go with the next one.
pub(crate) async fn flush(inner: &Inner) -> Result<()> {
    let start = *inner.bucket_start.lock().unwrap_or_else(|e| e.into_inner());
    let stop = Utc::now();
    let mut toggles = BTreeMap::new();
    let state = inner.state.load_full();
    let retired = std::mem::take(&mut *inner.retired.lock().unwrap_or_else(|e| e.into_inner()));
    for counter in state.counters().chain(retired.iter()) {
        take(counter, &mut toggles);
    }
    if toggles.is_empty() {
        return Ok(());
    }
    let config = &inner.config;
    let report = Report {
        app_name: &config.app_name,
        instance_id: &config.instance_id,
        connection_id: &config.connection_id,
        bucket: Bucket {
            start,
            stop,
            toggles,
        },
    };
    let sent = async {
        let response = post(config, "/api/client/metrics")
            .json(&report)
            .timeout(config.read_timeout)
            .send()
            .await
            .map_err(Error::Request)?;
        check(response).await.map(drop)
    }
    .await;
    match sent {
        Ok(()) => {
            *inner.bucket_start.lock().unwrap_or_else(|e| e.into_inner()) = stop;
            Ok(())
        }
        Err(e) => {
            give_back(&state, report.bucket.toggles);
            Err(e)
        }
    }
}

/// Swaps a counter's counts out into `toggles`.
fn take(counter: &FlagCounter, toggles: &mut BTreeMap<String, Toggle>) {
    let yes = counter.yes.swap(0, Ordering::Relaxed);
    let no = counter.no.swap(0, Ordering::Relaxed);
    if yes == 0 && no == 0 {
        return;
    }
    let t = toggles.entry(counter.key.to_string()).or_default();
    t.yes += yes;
    t.no += no;
    for (name, n) in counter.variants.iter() {
        let n = n.swap(0, Ordering::Relaxed);
        if n > 0 {
            *t.variants.entry(name.to_string()).or_default() += n;
        }
    }
}

/// Adds unsent counts back to the current counters (flags since deleted are dropped).
fn give_back(state: &State, toggles: BTreeMap<String, Toggle>) {
    for (key, t) in toggles {
        let Some(counter) = state.counter(&key) else {
            continue;
        };
        counter.yes.fetch_add(t.yes, Ordering::Relaxed);
        counter.no.fetch_add(t.no, Ordering::Relaxed);
        for (name, n) in t.variants {
            if let Some((_, c)) = counter.variants.iter().find(|(v, _)| **v == *name) {
                c.fetch_add(n, Ordering::Relaxed);
            }
        }
    }
}
