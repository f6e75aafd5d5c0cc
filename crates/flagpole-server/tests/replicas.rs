//! Replicas on one PostgreSQL: a change written through one is published by the other
//! as soon as its notification arrives (the poll is switched off here), only the changed
//! records are applied, and a dropped notification connection loses nothing: the
//! replica reconnects and reads everything after its last applied version.
//!
//! Needs `FLAGPOLE_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! says it is skipped without it. Works in a schema of its own, dropped at the end.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::Harness;
use flagpole_server::follow::follow;
use flagpole_store::{PostgresStore, Store};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPool};

const URL_VARIABLE: &str = "FLAGPOLE_TEST_POSTGRES_URL";

async fn schema() -> Option<(PgPool, PgConnectOptions, String)> {
    let Ok(url) = std::env::var(URL_VARIABLE) else {
        println!("skipped: {URL_VARIABLE} not set");
        return None;
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("flagpole_replicas_{}_{nanos}", std::process::id());
    let admin = PgPool::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&admin)
        .await
        .unwrap();
    let options: PgConnectOptions = url.parse().unwrap();
    let options = options
        .options([("search_path", name.as_str())])
        .application_name(&name);
    Some((admin, options, name))
}

async fn open(options: &PgConnectOptions) -> Arc<dyn Store> {
    Arc::new(PostgresStore::connect_with(options.clone()).await.unwrap())
}

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
    let Some((admin, options, name)) = schema().await else {
        return;
    };
    let store_a = open(&options).await;
    Harness::prepare(&*store_a).await;
    let a = Harness::on(store_a).await;
    let b = Harness::on(open(&options).await).await;
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
    .bind(&name)
    .fetch_all(&admin)
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
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {name} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
}
