//! Release plans and impact metrics: stored as given, one active plan per flag and
//! environment, updates checked by revision, leases held by one owner at a time, impact
//! samples merged per series and hour.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::asserts::Refusal::{Conflict, NotFound};
use super::fixtures::flag;
use crate::release::{Guard, ImpactSample, Milestone, PlanFilter, ReleasePlan};
use crate::store::Store;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a time")
        .with_timezone(&Utc)
}

/// A running plan on `key` in `production`, as the server would create it.
pub fn plan(key: &str) -> ReleasePlan {
    let now = at("2026-01-02T03:04:05.123456Z");
    ReleasePlan {
        id: 0,
        flag: key.into(),
        environment: "production".into(),
        rule: 0,
        milestones: vec![
            Milestone {
                percent: 10,
                wait_seconds: 60,
            },
            Milestone {
                percent: 100,
                wait_seconds: 0,
            },
        ],
        guards: vec![Guard {
            source: "prometheus".into(),
            metric: None,
            per: None,
            labels: BTreeMap::new(),
            query: Some("sum(rate(errors_total[1m]))".into()),
            comparison: "gt".into(),
            threshold: 0.5,
            window_seconds: None,
        }],
        on_breach: "rollback".into(),
        step: 0,
        status: "running".into(),
        reason: None,
        before: flag("before the plan"),
        last_version: 3,
        next_at: Some(now + TimeDelta::seconds(60)),
        created_by: "user:alice".into(),
        created_at: now,
        updated_at: now,
        revision: 0,
    }
}

/// Plans: create, read, list, update by revision, one active plan per flag.
pub async fn release_plans(store: &dyn Store) {
    let created = store
        .create_release_plan(&plan("rp-a"))
        .await
        .expect("create a plan");
    assert!(created.id > 0, "the store assigns an id");
    assert_eq!(created.revision, 1, "a new plan is at revision 1");
    let read = store.release_plan(created.id).await.expect("read");
    assert_eq!(
        read.as_ref(),
        Some(&created),
        "a plan reads back as created"
    );
    assert_eq!(
        store.release_plan(created.id + 1000).await.expect("read"),
        None
    );

    let second = store.create_release_plan(&plan("rp-a")).await;
    Conflict.assert(
        second,
        "a second active plan on the same flag and environment",
    );

    let mut next = created.clone();
    next.step = 1;
    next.next_at = None;
    next.status = "completed".into();
    next.reason = Some("all milestones reached".into());
    next.last_version = 4;
    let updated = store.update_release_plan(&next).await.expect("update");
    assert_eq!(updated.revision, 2);
    assert_eq!(
        store.release_plan(created.id).await.expect("read"),
        Some(updated.clone()),
        "an update reads back"
    );
    let stale = store.update_release_plan(&next).await;
    Conflict.assert(stale, "an update based on an old revision");
    let mut gone = next.clone();
    gone.id = created.id + 1000;
    let missing = store.update_release_plan(&gone).await;
    NotFound.assert(missing, "updating a missing plan");

    // Completed: a new plan may start.
    let again = store
        .create_release_plan(&plan("rp-a"))
        .await
        .expect("a new plan after the last one completed");
    store
        .create_release_plan(&plan("rp-b"))
        .await
        .expect("another flag");
    let all = store
        .release_plans(&PlanFilter {
            flag: Some("rp-a".into()),
            ..PlanFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(
        all.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![again.id, created.id],
        "newest first, filtered by flag"
    );
    let active = store
        .release_plans(&PlanFilter {
            active: true,
            environment: Some("production".into()),
            ..PlanFilter::default()
        })
        .await
        .expect("list active");
    assert!(active.iter().all(|p| p.is_active()) && active.len() == 2);
}

/// Leases: one owner at a time until the lease expires.
pub async fn release_leases(store: Arc<dyn Store>) {
    let p = store
        .create_release_plan(&plan("rp-lease"))
        .await
        .expect("create");
    let now = at("2026-01-02T03:00:00Z");
    let until = now + TimeDelta::seconds(10);
    let claim = async |owner, now, until| {
        store
            .claim_release_plan(p.id, owner, now, until)
            .await
            .expect("claim")
    };
    assert!(claim("a", now, until).await);
    assert!(
        !claim("b", now, until).await,
        "another owner cannot take an unexpired lease"
    );
    assert!(claim("a", now, until).await, "the owner renews its lease");
    let later = until + TimeDelta::seconds(1);
    assert!(
        claim("b", later, later + TimeDelta::seconds(10)).await,
        "an expired lease can be taken"
    );
    // Many claimants at once: exactly one wins.
    let t = later + TimeDelta::seconds(100);
    let claims = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .claim_release_plan(p.id, &format!("c{i}"), t, t + TimeDelta::seconds(5))
                .await
                .expect("claim")
        })
    });
    let mut won = 0;
    for c in claims {
        won += usize::from(c.await.expect("join"));
    }
    assert_eq!(
        won, 1,
        "exactly one of concurrent claimants takes the lease"
    );
}

fn sample(name: &str, kind: &str, labels: &[(&str, &str)], value: f64) -> ImpactSample {
    ImpactSample {
        name: name.into(),
        kind: kind.into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        value,
        count: 0,
        sum: 0.0,
        buckets: Vec::new(),
    }
}

/// Impact metrics: counters and histograms add up per series and hour; gauges replace.
pub async fn impact_metrics(store: &dyn Store) {
    let hour = at("2026-01-02T03:00:00Z");
    let next = at("2026-01-02T04:00:00Z");
    let on = [("f", "enabled")];
    let off = [("f", "disabled")];
    let mut hist = sample("latency", "histogram", &on, 0.0);
    hist.count = 2;
    hist.sum = 0.7;
    hist.buckets = vec![("0.1".into(), 1), ("+Inf".into(), 2)];
    let counter = |labels, value| sample("errors", "counter", labels, value);
    let gauge = |value| sample("memory", "gauge", &on, value);
    let reports = [
        (
            "production",
            hour,
            vec![
                counter(&on, 3.0),
                counter(&off, 1.0),
                gauge(5.0),
                hist.clone(),
            ],
        ),
        (
            "production",
            hour,
            vec![counter(&on, 2.0), gauge(4.0), hist],
        ),
        ("production", next, vec![counter(&on, 7.0)]),
        ("development", hour, vec![counter(&on, 9.0)]),
    ];
    for (environment, bucket, samples) in &reports {
        store
            .record_impact(environment, *bucket, samples)
            .await
            .unwrap_or_else(|error| panic!("record_impact({environment}, {bucket}): {error:?}"));
    }

    let read = |name, since| store.impact("production", name, since);
    let errors = read("errors", hour).await.expect("read");
    let values: Vec<(DateTime<Utc>, String, f64)> = errors
        .iter()
        .map(|r| (r.bucket, r.sample.labels["f"].clone(), r.sample.value))
        .collect();
    assert_eq!(
        values,
        vec![
            (hour, "disabled".into(), 1.0),
            (hour, "enabled".into(), 5.0),
            (next, "enabled".into(), 7.0)
        ],
        "counters add up per series and hour"
    );
    let since_next = read("errors", next).await.expect("read");
    assert_eq!(since_next.len(), 1, "`since` filters by bucket");
    let memory = read("memory", hour).await.expect("read");
    assert_eq!(memory[0].sample.value, 4.0, "gauges keep the last value");
    let latency = read("latency", hour).await.expect("read");
    assert_eq!(latency[0].sample.count, 4);
    assert!((latency[0].sample.sum - 1.4).abs() < 1e-9);
    assert_eq!(
        latency[0].sample.buckets,
        vec![("0.1".to_string(), 2), ("+Inf".to_string(), 4)],
        "histogram buckets add up"
    );
}

/// Sampling settings: stored per environment, replaced by a second put.
pub async fn sampling_settings(store: &dyn Store) {
    assert!(store.sampling_settings().await.expect("read").is_empty());
    let mut s = crate::release::SamplingSetting {
        environment: "production".into(),
        enabled: true,
        mode: "minimal".into(),
        size: 500,
    };
    store.put_sampling_setting(&s).await.expect("put");
    s.enabled = false;
    store.put_sampling_setting(&s).await.expect("put again");
    assert_eq!(store.sampling_settings().await.expect("read"), vec![s]);
}
