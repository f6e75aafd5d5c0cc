//! Scheduled changes with two replicas on one PostgreSQL, each running the scheduler: a
//! schedule due while one replica is stopped (its task aborted) is applied exactly once,
//! by the other, within a second of its time, and audited; one due while both are
//! stopped is applied by the first to start; many due at once are each applied once.
//!
//! Needs `FLAGPOLE_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! says it is skipped without it. Works in a schema of its own, dropped at the end.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::postgres::Schema;
use common::{actions, SCHEDULE_APPLIED};
use flagpole_server::review::scheduler;
use flagpole_store::{ScheduleFilter, Store};
use serde_json::json;

const INTERVAL: Duration = Duration::from_millis(100);

/// Waits (bounded) until schedule `id` is no longer pending or running.
async fn until_finished(store: &dyn Store, id: i64) -> flagpole_store::ScheduleRecord {
    let start = Instant::now();
    loop {
        let s = store.schedule(id).await.unwrap().unwrap();
        if s.status != "pending" && s.status != "running" {
            return s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{s:?} never finished"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn two_replicas_apply_each_due_schedule_exactly_once() {
    let Some(schema) = Schema::create("schedules").await else {
        return;
    };
    let (a, b) = schema.two_replicas().await;
    let store_a = a.store.clone();
    a.create_flag(json!({"key": "f", "environments": {"production": {"enabled": false}}}))
        .await;
    let mut runner_a = tokio::spawn(scheduler::run(a.state.core().clone(), INTERVAL));
    let runner_b = tokio::spawn(scheduler::run(b.state.core().clone(), INTERVAL));

    // A is stopped; the schedule falls due; B applies it, once, within a second.
    runner_a.abort();
    let due = Utc::now() + chrono::Duration::milliseconds(800);
    let s = a
        .schedule(
            "f",
            json!({"due_at": due.to_rfc3339(), "environment": "production", "enabled": true}),
        )
        .await;
    let done = until_finished(&*store_a, s["id"].as_i64().unwrap()).await;
    assert_eq!(done.status, "applied", "{done:?}");
    let versions = store_a.flag_versions("f").await.unwrap();
    assert_eq!(versions.len(), 2, "applied exactly once");
    let late = versions[1].at - due;
    assert!(
        late >= chrono::Duration::zero() && late < chrono::Duration::seconds(1),
        "applied {late} after its time"
    );
    let audit = a.flag_audit("f").await;
    assert_eq!(actions(&audit), SCHEDULE_APPLIED);
    println!("applied {} ms after its due time", late.num_milliseconds());

    // Both stopped; a schedule falls due; the first to start applies it.
    runner_b.abort();
    // (A runs no follower here: it catches up with B's change by hand.)
    a.state.reload().await.unwrap();
    let s = a
        .schedule(
            "f",
            json!({"due_at": Utc::now().to_rfc3339(), "environment": "production", "rollout": 40}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let id = s["id"].as_i64().unwrap();
    assert_eq!(
        store_a.schedule(id).await.unwrap().unwrap().status,
        "pending"
    );
    runner_a = tokio::spawn(scheduler::run(a.state.core().clone(), INTERVAL));
    let done = until_finished(&*store_a, id).await;
    assert_eq!(done.status, "applied");

    // Many due at once, both replicas running: each applied once, by whichever claimed it.
    let runner_b = tokio::spawn(scheduler::run(b.state.core().clone(), INTERVAL));
    for i in 0..6 {
        a.create_flag(
            json!({"key": format!("g{i}"), "environments": {"production": {"enabled": false}}}),
        )
        .await;
        a.schedule(
            &format!("g{i}"),
            json!({"due_at": Utc::now().to_rfc3339(), "environment": "production", "enabled": true}),
        )
        .await;
    }
    let start = Instant::now();
    loop {
        let pending = ScheduleFilter {
            status: Some("pending".into()),
            ..Default::default()
        };
        let running = ScheduleFilter {
            status: Some("running".into()),
            ..Default::default()
        };
        if store_a.schedules(&pending).await.unwrap().is_empty()
            && store_a.schedules(&running).await.unwrap().is_empty()
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for i in 0..6 {
        let versions = store_a.flag_versions(&format!("g{i}")).await.unwrap();
        assert_eq!(versions.len(), 2, "g{i} applied exactly once");
    }
    let applied = ScheduleFilter {
        status: Some("applied".into()),
        ..Default::default()
    };
    assert_eq!(store_a.schedules(&applied).await.unwrap().len(), 8);
    runner_a.abort();
    runner_b.abort();
    drop((a, b));
    schema.drop_schema().await;
}
