//! Guarded rollouts end to end (milestones advanced by the runner with shortened waits;
//! an SDK impact-metric guard breached after a step rolls the flag back within one check
//! interval, and the audit says why) and the impact preview on 10,000 sampled contexts.

mod common;

use std::time::{Duration, Instant};

use common::{Harness, Payload, Reply};
use flagpole_server::{ReleaseConfig, ServerConfig};
use flagpole_store::AuditFilter;
use serde_json::{json, Value};

const CHECK: Duration = Duration::from_millis(200);

async fn harness() -> Harness {
    Harness::with_config(ServerConfig {
        release: ReleaseConfig {
            check_interval: CHECK,
            time_unit: Duration::from_millis(50),
            ..ReleaseConfig::default()
        },
        ..ServerConfig::default()
    })
    .await
}

async fn flag(h: &Harness, key: &str) {
    h.create_flag(
        json!({"key": key, "type": "boolean", "environments": {"production": {"enabled": true}}}),
    )
    .await;
}

async fn plan(h: &Harness, key: &str) -> Value {
    h.get_ok(&format!(
        "/api/v1/flags/{key}/environments/production/release-plan"
    ))
    .await
}

/// Polls until the plan's status is `status`, for at most `within`.
async fn wait_for(h: &Harness, key: &str, status: &str, within: Duration) -> Value {
    let start = Instant::now();
    loop {
        let p = plan(h, key).await;
        if p["status"] == status {
            return p;
        }
        assert!(
            start.elapsed() < within,
            "the plan did not become {status}: {p}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn rollout(h: &Harness, key: &str) -> Value {
    h.get_ok(&format!("/api/v1/flags/{key}/environments/production"))
        .await["rules"][0]["rollout"]
        .clone()
}

#[tokio::test]
async fn a_plan_advances_through_its_milestones() {
    let h = harness().await;
    flag(&h, "checkout").await;
    let runner = tokio::spawn(h.state.releases().clone().run());
    let created = h
        .post_json(
            "/api/v1/flags/checkout/environments/production/release-plan",
            json!({"milestones": [
                {"percent": 1, "wait_seconds": 2},
                {"percent": 10, "wait_seconds": 2},
                {"percent": 50, "wait_seconds": 2},
                {"percent": 100}
            ]}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(created["status"], "running");
    assert_eq!(
        rollout(&h, "checkout").await,
        1,
        "the first milestone is applied at once"
    );
    let done = wait_for(&h, "checkout", "completed", Duration::from_secs(10)).await;
    assert_eq!(done["step"], 3);
    assert_eq!(rollout(&h, "checkout").await, 100);
    let actor = format!("release-plan:{}", created["id"]);
    let steps: Vec<String> = h
        .flag_audit("checkout")
        .await
        .into_iter()
        .filter(|e| e.actor == actor)
        .map(|e| e.action)
        .collect();
    assert_eq!(
        steps,
        [
            "flag.release.step: milestone 3 (100%)",
            "flag.release.step: milestone 2 (50%)",
            "flag.release.step: milestone 1 (10%)",
            "flag.release.step: milestone 0 (1%)"
        ]
    );
    // Pausing and cancelling a finished plan is refused; a new one may start.
    h.post("/api/v1/flags/checkout/environments/production/release-plan/pause")
        .await
        .expect(409);
    runner.abort();
}

fn impact(errors: u64, requests: u64) -> Value {
    let labels = json!({"appName": "shop", "environment": "production", "checkout": "enabled"});
    json!({
        "appName": "shop", "instanceId": "i-1", "bucket": null,
        "impactMetrics": [
            {"name": "errors", "help": "failed requests", "type": "counter",
             "samples": [{"labels": labels, "value": errors}]},
            {"name": "requests", "help": "requests", "type": "counter",
             "samples": [{"labels": labels, "value": requests}]}
        ]
    })
}

/// Sends an SDK metrics report with the production client token.
async fn send_report(h: &Harness, body: Value) -> Reply {
    h.send(
        axum::http::Method::POST,
        "/api/client/metrics",
        &[("authorization", common::credentials::CLIENT_PRODUCTION)],
        Payload::Json(body),
    )
    .await
}

async fn report(h: &Harness, body: Value) {
    send_report(h, body).await.expect(202);
}

#[tokio::test]
async fn an_impact_metric_breach_rolls_the_flag_back_within_one_check_interval() {
    let h = harness().await;
    flag(&h, "checkout").await;
    let before = h.get_ok("/api/v1/flags/checkout").await;
    let runner = tokio::spawn(h.state.releases().clone().run());
    report(&h, impact(1, 100)).await;
    let created = h
        .post_json(
            "/api/v1/flags/checkout/environments/production/release-plan",
            json!({
                "milestones": [{"percent": 10, "wait_seconds": 2}, {"percent": 50, "wait_seconds": 100000}, {"percent": 100}],
                "guards": [{"source": "impact", "metric": "errors", "per": "requests",
                            "labels": {"checkout": "enabled"}, "comparison": "gt", "threshold": 0.1}]
            }),
        )
        .await
        .expect(201)
        .json();
    // The guard holds (1%): the plan takes its second step.
    let start = Instant::now();
    while plan(&h, "checkout").await["step"] != 1 {
        assert!(start.elapsed() < Duration::from_secs(10), "no second step");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rollout(&h, "checkout").await, 50);
    // After the step, errors rise to 60 of 200 (30%).
    report(&h, impact(59, 100)).await;
    let breached = Instant::now();
    let p = wait_for(&h, "checkout", "rolled_back", CHECK * 3).await;
    assert!(
        breached.elapsed() <= CHECK + Duration::from_millis(150),
        "rolled back after {:?}; the check interval is {CHECK:?}",
        breached.elapsed()
    );
    let reason = p["reason"].as_str().unwrap();
    assert!(
        reason.contains(
            "guard 0 (impact metric errors/requests {checkout=enabled}) breached: 0.3 gt 0.1"
        ),
        "{reason}"
    );
    let after = h.get_ok("/api/v1/flags/checkout").await;
    assert_eq!(
        after["environments"], before["environments"],
        "the flag is as it was before the plan"
    );
    let last = h
        .audit(AuditFilter {
            flag: Some("checkout".into()),
            limit: Some(1),
            ..AuditFilter::default()
        })
        .await;
    assert_eq!(last[0].actor, format!("release-plan:{}", created["id"]));
    assert!(
        last[0]
            .action
            .starts_with("flag.release.rolled_back: guard 0"),
        "{}",
        last[0].action
    );
    runner.abort();
}

#[tokio::test]
async fn a_rollback_after_someone_else_changed_the_flag_pauses_instead() {
    let h = harness().await;
    flag(&h, "search").await;
    let created = h
        .post_json(
            "/api/v1/flags/search/environments/production/release-plan",
            json!({"milestones": [{"percent": 10, "wait_seconds": 100000}, {"percent": 100}],
                   "guards": [{"source": "impact", "metric": "errors", "comparison": "gt", "threshold": 5}]}),
        )
        .await
        .expect(201)
        .json();
    h.put_rollout("search", "production", json!({"rollout": 20}))
        .await
        .expect(200);
    report(
        &h,
        json!({"bucket": null, "impactMetrics": [{"name": "errors", "type": "counter", "samples": [{"labels": {}, "value": 9}]}]}),
    )
    .await;
    h.state.releases().tick().await.unwrap();
    let p = plan(&h, "search").await;
    assert_eq!(p["id"], created["id"]);
    assert_eq!(p["status"], "paused");
    assert!(
        p["reason"]
            .as_str()
            .unwrap()
            .contains("not rolled back: the flag was changed by someone else"),
        "{p}"
    );
    assert_eq!(rollout(&h, "search").await, 20, "the other change stays");
}

#[tokio::test]
async fn bad_plans_are_refused_naming_the_field() {
    let h = harness().await;
    flag(&h, "f").await;
    let uri = "/api/v1/flags/f/environments/production/release-plan";
    for (body, field) in [
        (json!({"milestones": []}), "milestones"),
        (
            json!({"milestones": [{"percent": 101}]}),
            "milestones[0].percent",
        ),
        (
            json!({"milestones": [{"percent": 1}], "guards": [{"source": "x", "comparison": "gt", "threshold": 1}]}),
            "guards[0].source",
        ),
        (
            json!({"milestones": [{"percent": 1}], "guards": [{"source": "prometheus", "query": "up", "comparison": "gt", "threshold": 1}]}),
            "guards[0].source",
        ),
        (
            json!({"milestones": [{"percent": 1}], "guards": [{"source": "impact", "metric": "e", "comparison": "eq", "threshold": 1}]}),
            "guards[0].comparison",
        ),
        (
            json!({"milestones": [{"percent": 1}], "on_breach": "explode"}),
            "on_breach",
        ),
        (json!({"milestones": [{"percent": 1}], "rule": 3}), "rule"),
    ] {
        let r = h.post_json(uri, body.clone()).await.expect(422).json();
        assert_eq!(r["field"], field, "{body}: {r}");
    }
    let bad_metrics =
        json!({"bucket": null, "impactMetrics": [{"name": "e", "type": "summary", "samples": []}]});
    let r = send_report(&h, bad_metrics).await.expect(400).json();
    assert_eq!(r["field"], "impactMetrics[0].type");
}

#[tokio::test]
async fn the_preview_of_a_rollout_from_10_to_20_percent_flips_about_10_percent() {
    let h = harness().await;
    h.create_flag(
        json!({"key": "new_ui", "type": "boolean", "environments": {"production": {
        "enabled": true, "rules": [{"rollout": 10, "stickiness": "default"}]}}}),
    )
    .await;
    h.sample_users("production", 10_000, 12_000).await;
    let before_version = h.config_version().await;
    let r = h
        .put_json(
            "/api/v1/flags/new_ui/environments/production/rollout?preview=true",
            json!({"rollout": 20}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        h.config_version().await,
        before_version,
        "a preview writes nothing"
    );
    let report = &r["preview"][0];
    assert_eq!(report["sampled"], 10_000);
    let changed = report["changed"].as_u64().unwrap();
    assert!(
        (900..=1100).contains(&changed),
        "{changed} of 10,000 flip: {report}"
    );
    assert_eq!(
        report["off_to_on"], changed,
        "raising a rollout only turns contexts on"
    );
    assert_eq!(report["on_to_off"], 0);
    assert_eq!(report["examples"].as_array().unwrap().len(), 5);
    // The same count by evaluating the sample directly before and after the change.
    let sample = h.state.samplers().sample("production");
    let eval = |h: &Harness| {
        let published = h.state.published();
        let snapshot = published.snapshot("production").unwrap().clone();
        sample
            .iter()
            .map(|c| {
                snapshot
                    .evaluate(
                        "new_ui",
                        c,
                        chrono::Utc::now(),
                        &mut flagpole_core::SplitMix64(1),
                    )
                    .enabled
            })
            .collect::<Vec<bool>>()
    };
    let before = eval(&h);
    h.put_rollout("new_ui", "production", json!({"rollout": 20}))
        .await
        .expect(200);
    let after = eval(&h);
    let flipped = before.iter().zip(&after).filter(|(a, b)| a != b).count() as u64;
    assert_eq!(flipped, changed, "the preview matches a direct evaluation");
    // Preview is refused where it would not stop a write.
    h.put_json("/api/v1/segments/s?preview=true", json!({"conditions": []}))
        .await
        .expect(400);
}
