//! Schedules and change requests: the lifecycle, claims that are exactly-once under
//! concurrent claimers, status preconditions, comments, and `requires_approval`.

use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::json;

use super::asserts::environment;
use super::asserts::Refusal::Conflict;
use super::fixtures::{change, create_environment};
use crate::review::{Comment, NewChangeRequest, NewSchedule, ScheduleFilter};
use crate::store::Store;

/// A schedule goes pending → running (claimed once) → applied; cancelled only while pending.
pub async fn schedules(store: Arc<dyn Store>) {
    let envs = vec!["production".to_string()];
    let body = json!({"description": "scheduled"});
    let now = Utc::now();
    let new = |due| NewSchedule {
        kind: "flag",
        target: "sched",
        environments: &envs,
        body: &body,
        based_on: 1,
        due_at: due,
        change_request: None,
        created_by: "user:alice",
    };
    let mut ids = Vec::new();
    for _ in 0..8 {
        let s = store
            .create_schedule(&new(now - Duration::seconds(1)), change("schedule.created"))
            .await
            .expect("create a schedule");
        assert_eq!((s.status.as_str(), s.attempts), ("pending", 0));
        assert_eq!(s.body, body);
        ids.push(s.id);
    }
    let later = store
        .create_schedule(&new(now + Duration::hours(1)), change("schedule.created"))
        .await
        .expect("create");
    // Four claimers at once: every due schedule claimed exactly once, the later one never.
    let lease = now + Duration::seconds(30);
    let claims = (0..4).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.claim_due_schedules(Utc::now(), lease, 3).await })
    });
    let mut claimed = Vec::new();
    for claim in claims {
        claimed.extend(claim.await.expect("join").expect("claim"));
    }
    while claimed.len() < ids.len() {
        let more = store
            .claim_due_schedules(Utc::now(), lease, 3)
            .await
            .expect("claim");
        assert!(!more.is_empty(), "due schedules left unclaimed");
        claimed.extend(more);
    }
    let mut got: Vec<i64> = claimed.iter().map(|s| s.id).collect();
    got.sort_unstable();
    assert_eq!(got, ids, "each due schedule is claimed exactly once");
    assert!(claimed
        .iter()
        .all(|s| s.status == "running" && s.attempts == 1));
    // A lease that ran out can be claimed again.
    let again = store
        .claim_due_schedules(
            lease + Duration::seconds(1),
            lease + Duration::seconds(60),
            100,
        )
        .await
        .expect("claim after the lease");
    assert_eq!(again.len(), ids.len());
    assert!(again.iter().all(|s| s.attempts == 2));
    let done = store
        .finish_schedule(ids[0], true, None, change("schedule.applied"))
        .await
        .expect("finish");
    assert_eq!(done.status, "applied");
    let twice = store
        .finish_schedule(ids[0], false, Some("x"), change("schedule.failed"))
        .await;
    Conflict.assert(twice, "finishing a finished schedule");
    let failed = store
        .finish_schedule(
            ids[1],
            false,
            Some("it conflicts"),
            change("schedule.failed"),
        )
        .await
        .expect("fail");
    assert_eq!(failed.reason.as_deref(), Some("it conflicts"));
    let running = store
        .cancel_schedule(ids[2], change("schedule.cancelled"))
        .await;
    Conflict.assert(running, "cancelling a running schedule");
    let cancelled = store
        .cancel_schedule(later.id, change("schedule.cancelled"))
        .await
        .expect("cancel");
    assert_eq!(cancelled.status, "cancelled");
    let filter = ScheduleFilter {
        status: Some("pending".into()),
        ..ScheduleFilter::default()
    };
    assert!(store.schedules(&filter).await.expect("list").is_empty());
    assert_eq!(
        store.schedule(later.id).await.expect("read"),
        Some(cancelled)
    );
}

/// A change request is decided once; comments accumulate; environments can require approval.
pub async fn change_requests(store: &dyn Store) {
    let envs = vec!["production".to_string()];
    let body = json!({"description": "proposed"});
    let new = NewChangeRequest {
        kind: "flag",
        target: "cr",
        environments: &envs,
        body: &body,
        based_on: 1,
        description: "why",
        author: "user:alice",
    };
    let created = store
        .create_change_request(&new, change("change_request.created"))
        .await
        .expect("create");
    assert_eq!(created.status, "open");
    let comment = |text: &str| Comment {
        author: "user:bob".into(),
        at: Utc::now(),
        text: text.into(),
    };
    store
        .add_comment(
            created.id,
            &comment("one"),
            change("change_request.commented"),
        )
        .await
        .expect("comment");
    let commented = store
        .add_comment(
            created.id,
            &comment("two"),
            change("change_request.commented"),
        )
        .await
        .expect("comment");
    assert_eq!(commented.comments.len(), 2);
    let mut approved = commented.clone();
    approved.status = "applied".into();
    approved.reviewer = Some("user:bob".into());
    let stored = store
        .update_change_request(&approved, "open", change("change_request.approved"))
        .await
        .expect("approve");
    assert_eq!(stored.status, "applied");
    assert_eq!(stored.comments.len(), 2);
    let twice = store
        .update_change_request(&approved, "open", change("change_request.approved"))
        .await;
    Conflict.assert(twice, "approving a decided request");
    assert_eq!(
        store
            .change_requests(Some("open"))
            .await
            .expect("list")
            .len(),
        0
    );
    assert_eq!(store.change_requests(None).await.expect("list").len(), 1);
    create_environment(store, "approval-env").await;
    store
        .set_environment_requires_approval("approval-env", true, change("environment.approval"))
        .await
        .expect("require approval");
    assert!(environment(store, "approval-env").await.requires_approval);
}
