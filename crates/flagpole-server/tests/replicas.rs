//! Replicas on one PostgreSQL: a change written through one is published by the other
//! as soon as its notification arrives (the poll is switched off here), only the changed
//! records are applied, and a dropped notification connection loses nothing: the
//! replica reconnects and reads everything after its last applied version.
//!
//! Needs `FLAGPOLE_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! says it is skipped without it. Works in a schema of its own, dropped at the end.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::postgres::Schema;
use common::Harness;
use flagpole_server::follow::follow;
use serde_json::json;

/// Waits (bounded) until `b` publishes configuration version `version`.
async fn until_published(b: &Harness, version: i64) -> Duration {
    let start = Instant::now();
    while b.state.published().version < version {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "replica B still at {} after 10 s, expected {version}",
            b.state.published().version
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    start.elapsed()
}

#[tokio::test]
async fn a_replica_hears_of_changes_at_once_and_loses_none_across_a_dropped_connection() {
    let Some(schema) = Schema::create("replicas").await else {
        return;
    };
    let (a, b) = schema.two_replicas().await;
    // Notifications only: the poll would hide a listener that does not work.
    let follower = tokio::spawn(follow(b.state.core().clone(), Duration::from_secs(3600)));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let key = format!("flag-{}", i % 4);
        let enabled = i % 2 == 0;
        a.post(&format!(
            "/flags/{key}?enabled={enabled}&rollout_percentage={i}"
        ))
        .await
        .expect(200);
        let version = a.state.published().version;
        slowest = slowest.max(until_published(&b, version).await);
        assert_eq!(
            b.state.published().flags.get(&key),
            a.state.published().flags.get(&key),
            "B publishes what A committed"
        );
    }
    println!("replicas: 20 changes, the slowest reached B in {slowest:?}");

    // Drop B's notification connection; write while it is away.
    let killed: Vec<i32> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid)::int FROM pg_stat_activity \
         WHERE application_name = $1 AND query ILIKE 'LISTEN%'",
    )
    .bind(&schema.name)
    .fetch_all(&schema.admin)
    .await
    .unwrap();
    assert!(!killed.is_empty(), "found B's listening connection");
    for i in 0..5 {
        a.create_flag(json!({"key": format!("while-away-{i}"), "environments": {"production": {"enabled": true}}}))
            .await;
    }
    let version = a.state.published().version;
    until_published(&b, version).await;
    let (pa, pb) = (a.state.published(), b.state.published());
    assert_eq!(
        pa.flags, pb.flags,
        "nothing missed across the dropped connection"
    );
    let ctx = flagpole_core::Context::from_json(&json!({"userId": "u1"})).unwrap();
    let now = chrono::Utc::now();
    let rng = &mut flagpole_core::SplitMix64(1);
    assert!(
        pb.snapshots["production"]
            .evaluate("while-away-4", &ctx, now, rng)
            .enabled
    );

    follower.abort();
    schema.drop_schema().await;
}
