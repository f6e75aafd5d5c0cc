//! Scheduled changes on SQLite: a due schedule is applied once through the write path
//! and audited; one whose flag moved on where it changes fails with its reason; the
//! flag moving on elsewhere is merged; cancelling; bad input; the approval rule.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, Utc};
use common::{actions, Harness, SCHEDULE_APPLIED};
use flagpole_server::review::scheduler;
use flagpole_store::AuditFilter;
use serde_json::{json, Value};

async fn harness_with_flag() -> Harness {
    let h = Harness::new().await;
    h.create_flag(json!({"key": "f", "environments": {
        "production": {"enabled": false}, "development": {"enabled": false}}}))
        .await;
    h
}

fn soon() -> String {
    (Utc::now() + Duration::milliseconds(300)).to_rfc3339()
}

/// Schedules switching `f` on in production, due [`soon`].
async fn enable_soon(h: &Harness) -> Value {
    h.schedule(
        "f",
        json!({"due_at": soon(), "environment": "production", "enabled": true}),
    )
    .await
}

/// Runs the scheduler until `id` is finished (bounded), returning it.
async fn until_finished(h: &Harness, id: i64) -> Value {
    let start = std::time::Instant::now();
    loop {
        scheduler::tick(&h.state).await.unwrap();
        let s = h.get_ok(&format!("/api/v1/schedules/{id}")).await;
        if s["status"] != "pending" && s["status"] != "running" {
            return s;
        }
        assert!(
            start.elapsed().as_secs() < 5,
            "schedule {id} never ran: {s}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_due_schedule_is_applied_once_through_the_write_path_and_audited() {
    let h = harness_with_flag().await;
    let s = enable_soon(&h).await;
    assert_eq!(s["status"], "pending");
    assert_eq!(s["environments"], json!(["production"]));
    let id = s["id"].as_i64().unwrap();
    // Not before its time.
    scheduler::tick(&h.state).await.unwrap();
    let flag = h.get_ok("/api/v1/flags/f").await;
    assert_eq!(flag["environments"]["production"]["enabled"], false);
    let done = until_finished(&h, id).await;
    assert_eq!(done["status"], "applied", "{done}");
    let flag = h.get_ok("/api/v1/flags/f").await;
    assert_eq!(flag["environments"]["production"]["enabled"], true);
    assert_eq!(flag["version"], 2);
    // Applied once: more ticks change nothing.
    scheduler::tick(&h.state).await.unwrap();
    assert_eq!(h.get("/api/v1/flags/f").await.json()["version"], 2);
    let versions = h.store.flag_versions("f").await.unwrap();
    assert_eq!(versions.len(), 2);
    assert!(
        versions[1]
            .actor
            .starts_with(&format!("schedule:{id} (by token:")),
        "{}",
        versions[1].actor
    );
    let audit = h.flag_audit("f").await;
    assert_eq!(actions(&audit), SCHEDULE_APPLIED);
}

#[tokio::test]
async fn a_schedule_whose_change_conflicts_fails_with_its_reason_and_a_change_elsewhere_is_merged()
{
    let h = harness_with_flag().await;
    let due = soon();
    let conflicting = h
        .schedule(
            "f",
            json!({"due_at": due, "environment": "production", "rollout": 30}),
        )
        .await;
    let merged = h
        .schedule(
            "f",
            json!({"due_at": due, "environment": "development", "enabled": true}),
        )
        .await;
    // Meanwhile production changes directly.
    h.post_json("/api/v1/flags/f/environments/production/enable", json!({}))
        .await
        .expect(200);
    let failed = until_finished(&h, conflicting["id"].as_i64().unwrap()).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let reason = failed["reason"].as_str().unwrap();
    assert!(reason.contains("production changed"), "{reason}");
    let applied = until_finished(&h, merged["id"].as_i64().unwrap()).await;
    assert_eq!(applied["status"], "applied", "{applied}");
    let flag = h.get("/api/v1/flags/f").await.json();
    assert_eq!(flag["environments"]["production"]["enabled"], true);
    let rules = &flag["environments"]["production"]["rules"];
    assert!(rules.as_array().is_none_or(|r| r.is_empty()), "{rules}");
    assert_eq!(flag["environments"]["development"]["enabled"], true);
    let audit = h.audit(AuditFilter::default()).await;
    let entry = audit
        .iter()
        .find(|e| e.action == "schedule.failed")
        .unwrap();
    assert_eq!(entry.after.as_ref().unwrap()["reason"], reason);
    let failed = h.get_ok("/api/v1/schedules?status=failed").await;
    assert_eq!(failed["schedules"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_cancelled_schedule_is_never_applied_and_bad_input_names_the_field() {
    let h = harness_with_flag().await;
    let s = enable_soon(&h).await;
    let id = s["id"].as_i64().unwrap();
    let cancelled = h
        .delete(&format!("/api/v1/schedules/{id}"))
        .await
        .expect(200)
        .json();
    assert_eq!(cancelled["status"], "cancelled");
    h.delete(&format!("/api/v1/schedules/{id}"))
        .await
        .expect(409);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    scheduler::tick(&h.state).await.unwrap();
    assert_eq!(h.get("/api/v1/flags/f").await.json()["version"], 1);
    for (body, field) in [
        (
            json!({"environment": "production", "enabled": true}),
            "due_at",
        ),
        (
            json!({"due_at": "2001-01-01T00:00:00Z", "environment": "production", "enabled": true}),
            "due_at",
        ),
        (
            json!({"due_at": soon(), "environment": "production"}),
            "environment",
        ),
        (json!({"due_at": soon()}), "flag"),
        (
            json!({"due_at": soon(), "environment": "production", "rollout": 500}),
            "",
        ),
    ] {
        let reply = h.post_json("/api/v1/flags/f/schedules", body.clone()).await;
        assert!(reply.status.is_client_error(), "{body}: {}", reply.text());
        if !field.is_empty() {
            assert_eq!(reply.json()["field"], field, "{body}: {}", reply.text());
        }
    }
    h.get("/api/v1/schedules/999").await.expect(404);
    h.get("/api/v1/schedules?status=maybe").await.expect(400);
}

#[tokio::test]
async fn a_schedule_due_while_the_server_was_down_is_applied_on_start() {
    let h = harness_with_flag().await;
    let s = h.schedule("f", json!({"due_at": Utc::now().to_rfc3339(), "environment": "development", "enabled": true})).await;
    // A "new" server on the same store: its first tick applies it.
    let restarted = Harness::on(h.store.clone()).await;
    let finished = scheduler::tick(&restarted.state).await.unwrap();
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0].id, s["id"].as_i64().unwrap());
    assert_eq!(finished[0].status, "applied");
}

#[tokio::test]
async fn an_environment_that_requires_approval_takes_no_direct_change_nor_schedule() {
    let h = harness_with_flag().await;
    h.put_json(
        "/api/v1/environments/production/approval",
        json!({"required": true}),
    )
    .await
    .expect(200);
    let reply = h
        .post_json("/api/v1/flags/f/environments/production/enable", json!({}))
        .await
        .expect(409);
    assert_eq!(reply.json()["code"], "approval_required");
    let reply = h
        .post_json(
            "/api/v1/flags/f/schedules",
            json!({"due_at": soon(), "environment": "production", "enabled": true}),
        )
        .await
        .expect(409);
    assert_eq!(reply.json()["code"], "approval_required");
    // The seed API goes through the same write path.
    h.post("/flags/f?enabled=true").await.expect(409);
    // Other environments are as before.
    h.post_json("/api/v1/flags/f/environments/development/enable", json!({}))
        .await
        .expect(200);
}
