//! A release plan guarded by a real Prometheus: the test serves a tiny scrape target
//! whose error rate it controls, starts `prometheus` scraping it every second, and checks
//! that the plan rolls the flag back within one check interval of the rise being visible.
//! Skipped (saying so) when `prometheus` is not installed, unless `CI` is set.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Harness;
use flagpole_server::{ReleaseConfig, ServerConfig};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHECK: Duration = Duration::from_millis(500);
const QUERY: &str =
    r#"sum(rate(http_requests_total{status="500"}[5s])) / sum(rate(http_requests_total[5s]))"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prometheus_guard_rolls_back_on_an_error_rate_rise() {
    if std::process::Command::new("prometheus")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "prometheus is not installed (CI is set)"
        );
        eprintln!("skipped: prometheus is not installed (apt-get install prometheus)");
        return;
    }
    // The scrape target: 20 requests a second, failing when `bad` is set.
    let (ok, err, bad) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let (o, e, b) = (ok.clone(), err.clone(), bad.clone());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if b.load(Ordering::Relaxed) {
                e.fetch_add(1, Ordering::Relaxed)
            } else {
                o.fetch_add(1, Ordering::Relaxed)
            };
        }
    });
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_addr = target.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = target.accept().await else {
                continue;
            };
            let body = format!(
                "# TYPE http_requests_total counter\nhttp_requests_total{{status=\"200\"}} {}\nhttp_requests_total{{status=\"500\"}} {}\n",
                ok.load(Ordering::Relaxed),
                err.load(Ordering::Relaxed)
            );
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let reply = format!("HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    // Prometheus on a free port, scraping every second.
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{target_addr}']\n"),
    )
    .unwrap();
    let mut prometheus = tokio::process::Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let value = || async {
        let r = http
            .get(
                reqwest::Url::parse_with_params(
                    &format!("{url}/api/v1/query"),
                    &[("query", QUERY)],
                )
                .ok()?,
            )
            .send()
            .await
            .ok()?;
        let v: serde_json::Value = r.json().await.ok()?;
        v["data"]["result"][0]["value"][1]
            .as_str()?
            .parse::<f64>()
            .ok()
    };
    // Wait until Prometheus has a rate to report (0: no errors yet).
    let start = Instant::now();
    while value().await.is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "prometheus reports no rate"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let h = Harness::with_config(ServerConfig {
        release: ReleaseConfig {
            check_interval: CHECK,
            time_unit: Duration::from_millis(100),
            prometheus_url: Some(url.clone()),
            ..ReleaseConfig::default()
        },
        ..ServerConfig::default()
    })
    .await;
    h.create_flag(
        json!({"key": "pay", "type": "boolean", "environments": {"production": {"enabled": true}}}),
    )
    .await;
    let before = h.get_ok("/api/v1/flags/pay").await;
    let runner = tokio::spawn(h.state.releases().clone().run());
    h.post_json(
        "/api/v1/flags/pay/environments/production/release-plan",
        json!({"milestones": [{"percent": 10, "wait_seconds": 5}, {"percent": 50, "wait_seconds": 100000}, {"percent": 100}],
               "guards": [{"source": "prometheus", "query": QUERY, "comparison": "gt", "threshold": 0.2}]}),
    )
    .await
    .expect(201);
    let plan = || async {
        h.get_ok("/api/v1/flags/pay/environments/production/release-plan")
            .await
    };
    let start = Instant::now();
    while plan().await["step"] != 1 {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no second step: {}",
            plan().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // After the step, every request fails; once Prometheus sees the rate above 0.2, the
    // plan must roll back within one check interval.
    bad.store(true, Ordering::Relaxed);
    let start = Instant::now();
    while value().await.is_none_or(|v| v <= 0.2) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "prometheus never saw the errors"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let visible = Instant::now();
    loop {
        let p = plan().await;
        if p["status"] == "rolled_back" {
            let reason = p["reason"].as_str().unwrap();
            assert!(
                reason.contains("guard 0 (prometheus query") && reason.contains("gt 0.2"),
                "{reason}"
            );
            break;
        }
        assert!(
            visible.elapsed() <= CHECK + Duration::from_millis(300),
            "not rolled back within one check interval: {p}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = h.get_ok("/api/v1/flags/pay").await;
    assert_eq!(after["environments"], before["environments"]);
    let last = h
        .audit(flagpole_store::AuditFilter {
            flag: Some("pay".into()),
            limit: Some(1),
            ..Default::default()
        })
        .await;
    assert!(
        last[0]
            .action
            .starts_with("flag.release.rolled_back: guard 0 (prometheus query"),
        "{}",
        last[0].action
    );
    runner.abort();
    let _ = prometheus.kill().await;
}
