//! SDK-reported usage: counts add up per environment, bucket and flag, every filter works,
//! recording is no configuration change, and concurrent reports lose nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use tokio::task::JoinSet;

use super::fixtures::count;
use super::Observation;
use crate::records::{UsageCount, UsageFilter, UsageRecord};
use crate::store::Store;

const TASKS: usize = 20;
const ROUNDS: usize = 5;

/// Recording adds to what a bucket holds (yes, no and each variant, also for a flag named
/// twice in one report); buckets and environments are kept apart; reading returns them in
/// bucket, environment, flag order; neither the configuration version nor the audit log
/// changes.
pub async fn usage_counts(store: &dyn Store) {
    let (production, staging) = ("usage-production", "usage-staging");
    let (first, second) = (hour(1, 10), hour(1, 11));
    let before = Observation::take(store).await;

    let reports = [
        (
            production,
            first,
            vec![
                count("usage-x", 3, 1, &[("a", 2), ("b", 1)]),
                count("usage-y", 0, 4, &[]),
            ],
        ),
        (
            production,
            first,
            vec![
                count("usage-x", 2, 2, &[("b", 3), ("c", 1)]),
                count("usage-x", 1, 0, &[("a", 1)]),
            ],
        ),
        (production, second, vec![count("usage-x", 7, 0, &[])]),
        (staging, first, vec![count("usage-x", 0, 5, &[("a", 5)])]),
        (staging, first, vec![]),
    ];
    for (environment, bucket, counts) in &reports {
        store
            .record_usage(environment, *bucket, counts)
            .await
            .unwrap_or_else(|error| {
                panic!("record_usage({environment}, {bucket}, {counts:?}): {error:?}")
            });
    }

    let expected = [
        usage(
            production,
            first,
            "usage-x",
            6,
            3,
            &[("a", 3), ("b", 4), ("c", 1)],
        ),
        usage(production, first, "usage-y", 0, 4, &[]),
        usage(staging, first, "usage-x", 0, 5, &[("a", 5)]),
        usage(production, second, "usage-x", 7, 0, &[]),
    ];
    let all = read(store, &UsageFilter::default()).await;
    assert_eq!(
        only(&all, &[production, staging]),
        expected,
        "counts added up per environment, bucket and flag, in bucket, environment, flag order"
    );
    before.assert_no_config_change(&Observation::take(store).await, "record_usage");
}

/// Each filter alone and combined: flag, environment, since (inclusive) and until
/// (exclusive) on the bucket start. Results are in bucket, environment, flag order,
/// names in byte order.
pub async fn usage_filters(store: &dyn Store) {
    let environments = ["usage-filter-b", "usage-filter-a"];
    let flags = ["usage-f-alpha", "usage-f-Zeta", "usage-f-beta"];
    let buckets = [hour(2, 3), hour(2, 1), hour(2, 2)];
    let mut expected = Vec::new();
    for (e, environment) in environments.iter().enumerate() {
        for (b, bucket) in buckets.iter().enumerate() {
            let counts: Vec<UsageCount> = flags
                .iter()
                .enumerate()
                .map(|(f, flag)| {
                    let n = (100 * e + 10 * b + f) as i64;
                    count(flag, n, n + 1, &[("v", n + 2)])
                })
                .collect();
            store
                .record_usage(environment, *bucket, &counts)
                .await
                .expect("record_usage");
            expected.extend(counts.into_iter().map(|c| stored(environment, *bucket, c)));
        }
    }
    expected.sort_by(|a, b| order(a).cmp(&order(b)));
    let ours = |records: &[UsageRecord]| only(records, &environments);

    let all = read(store, &UsageFilter::default()).await;
    assert_eq!(ours(&all), expected, "unfiltered");
    assert!(
        all.windows(2).all(|w| order(&w[0]) < order(&w[1])),
        "unfiltered usage in bucket, environment, flag order (byte order), without duplicates"
    );

    let check = |filter: UsageFilter, description: String| {
        let expected: Vec<UsageRecord> = expected
            .iter()
            .filter(|r| matches(r, &filter))
            .cloned()
            .collect();
        async move {
            let found = read(store, &filter).await;
            assert!(
                found.iter().all(|r| matches(r, &filter)),
                "{description}: only matching usage, got {found:?}"
            );
            assert!(
                found.windows(2).all(|w| order(&w[0]) < order(&w[1])),
                "{description}: in bucket, environment, flag order"
            );
            assert!(
                !expected.is_empty(),
                "{description}: the check matches some usage"
            );
            assert_eq!(ours(&found), expected, "{description}");
        }
    };

    for flag in flags {
        let filter = UsageFilter {
            flag: Some(flag.to_owned()),
            ..UsageFilter::default()
        };
        check(filter, format!("flag {flag}")).await;
    }
    for environment in environments {
        let filter = UsageFilter {
            environment: Some(environment.to_owned()),
            ..UsageFilter::default()
        };
        check(filter, format!("environment {environment}")).await;
    }
    for bucket in buckets {
        let filter = UsageFilter {
            since: Some(bucket),
            ..UsageFilter::default()
        };
        check(filter, format!("since {bucket} (inclusive)")).await;
        let filter = UsageFilter {
            until: Some(bucket + chrono::TimeDelta::hours(1)),
            ..UsageFilter::default()
        };
        check(filter, format!("until the end of {bucket} (exclusive)")).await;
        let filter = UsageFilter {
            since: Some(bucket),
            until: Some(bucket + chrono::TimeDelta::hours(1)),
            ..UsageFilter::default()
        };
        check(filter, format!("the hour of {bucket}")).await;
    }
    let filter = UsageFilter {
        flag: Some(flags[1].to_owned()),
        environment: Some(environments[0].to_owned()),
        since: Some(hour(2, 2)),
        until: Some(hour(2, 3)),
    };
    check(filter, "all filters together".to_owned()).await;

    let nothing = [
        UsageFilter {
            until: Some(hour(2, 1)),
            environment: Some(environments[0].to_owned()),
            ..UsageFilter::default()
        },
        UsageFilter {
            since: Some(hour(2, 2)),
            until: Some(hour(2, 2)),
            ..UsageFilter::default()
        },
        UsageFilter {
            flag: Some(flags[0].to_owned()),
            environment: Some("usage-nowhere".to_owned()),
            ..UsageFilter::default()
        },
    ];
    for filter in nothing {
        let found = read(store, &filter).await;
        assert!(found.is_empty(), "{filter:?} matches nothing: {found:?}");
    }
}

/// Twenty tasks report five times each at once, to the same rows (new at first), flags in
/// opposite orders: every count is kept, and the configuration version does not move.
pub async fn concurrent_usage(store: Arc<dyn Store>) {
    let environment = "usage-concurrent";
    let bucket = hour(3, 0);
    let before = Observation::take(&*store).await;
    let report = |task: usize| {
        let a = count(
            "usage-c-a",
            1,
            2,
            &[("on", 1), (&format!("v{}", task % 3), 1)],
        );
        let b = count("usage-c-b", 3, 0, &[]);
        if task.is_multiple_of(2) {
            vec![a, b]
        } else {
            vec![b, a]
        }
    };

    let mut tasks = JoinSet::new();
    for task in 0..TASKS {
        let store = store.clone();
        let counts = report(task);
        tasks.spawn(async move {
            for _ in 0..ROUNDS {
                store.record_usage(environment, bucket, &counts).await?;
            }
            Ok::<(), crate::error::Error>(())
        });
    }
    for result in tasks.join_all().await {
        if let Err(error) = result {
            panic!("concurrent record_usage must succeed, got {error:?}");
        }
    }

    let mut totals: BTreeMap<String, UsageRecord> = BTreeMap::new();
    for task in 0..TASKS {
        for count in report(task) {
            let total = totals
                .entry(count.flag.clone())
                .or_insert_with(|| usage(environment, bucket, &count.flag, 0, 0, &[]));
            total.yes += ROUNDS as i64 * count.yes;
            total.no += ROUNDS as i64 * count.no;
            for (variant, n) in count.variants {
                *total.variants.entry(variant).or_default() += ROUNDS as i64 * n;
            }
        }
    }
    let expected: Vec<UsageRecord> = totals.into_values().collect();
    let found = read(
        &*store,
        &UsageFilter {
            environment: Some(environment.to_owned()),
            ..UsageFilter::default()
        },
    )
    .await;
    assert_eq!(
        found, expected,
        "{TASKS} tasks x {ROUNDS} concurrent reports: no count lost"
    );
    let after = Observation::take(&*store).await;
    before.assert_no_config_change(&after, "concurrent record_usage");
}

/// The start of an hour on day `day` of January 2030.
fn hour(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, day, hour, 0, 0)
        .single()
        .expect("a valid time")
}

fn usage(
    environment: &str,
    bucket: DateTime<Utc>,
    flag: &str,
    yes: i64,
    no: i64,
    variants: &[(&str, i64)],
) -> UsageRecord {
    stored(environment, bucket, count(flag, yes, no, variants))
}

/// `count` as stored in `environment`'s `bucket`.
fn stored(environment: &str, bucket: DateTime<Utc>, count: UsageCount) -> UsageRecord {
    UsageRecord {
        environment: environment.to_owned(),
        bucket,
        flag: count.flag,
        yes: count.yes,
        no: count.no,
        variants: count.variants,
    }
}

async fn read(store: &dyn Store, filter: &UsageFilter) -> Vec<UsageRecord> {
    store
        .usage(filter)
        .await
        .unwrap_or_else(|error| panic!("usage({filter:?}): {error:?}"))
}

/// The records of `environments` only (other checks record usage too).
fn only(records: &[UsageRecord], environments: &[&str]) -> Vec<UsageRecord> {
    records
        .iter()
        .filter(|r| environments.contains(&r.environment.as_str()))
        .cloned()
        .collect()
}

fn order(record: &UsageRecord) -> (DateTime<Utc>, &[u8], &[u8]) {
    (
        record.bucket,
        record.environment.as_bytes(),
        record.flag.as_bytes(),
    )
}

fn matches(record: &UsageRecord, filter: &UsageFilter) -> bool {
    filter.flag.as_ref().is_none_or(|f| *f == record.flag)
        && filter
            .environment
            .as_ref()
            .is_none_or(|e| *e == record.environment)
        && filter.since.is_none_or(|since| record.bucket >= since)
        && filter.until.is_none_or(|until| record.bucket < until)
}
