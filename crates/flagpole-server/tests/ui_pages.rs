//! The web UI's pages through `oneshot`: every page (the list below is compared with the
//! routes in `src/ui/mod.rs`, so a new page cannot be missed) sends a caller without a
//! session to the login page, carries the Content-Security-Policy, and renders for a
//! viewer with its controls disabled, while the API the page would write to refuses the
//! viewer. Also `?explain=true` on native evaluation. The flows themselves run in real
//! Chromium (`tests/ui`, launched by `crates/flagpole/tests/ui_e2e.rs`).

#![allow(clippy::unwrap_used)]

mod common;

use axum::http::Method;
use chrono::Utc;
use common::{Harness, Payload};
use serde_json::json;

/// Every UI route, filled in, and whether it needs a session.
const PAGES: &[(&str, &str, bool)] = &[
    ("/", "/", true),
    ("/new", "/new", true),
    ("/flag/{key}", "/flag/f", true),
    ("/history", "/history", true),
    ("/history/{key}", "/history/f", true),
    ("/schedules", "/schedules", true),
    ("/change-requests", "/change-requests", true),
    ("/change-requests/{id}", "/change-requests/1", true),
    ("/try", "/try", true),
    ("/release-plans", "/release-plans", true),
    ("/segments", "/segments", true),
    ("/projects", "/projects", true),
    ("/projects/{key}", "/projects/default", true),
    ("/environments", "/environments", true),
    ("/tokens", "/tokens", true),
    ("/users", "/users", true),
    ("/account", "/account", true),
    ("/login", "/login", false),
    ("/assets/{name}", "/assets/ui.js", false),
];

const PASSWORD: &str = "correct horse battery";

async fn harness() -> Harness {
    let h = Harness::new().await;
    h.create_flag(json!({"key": "f", "environments": {"development": {"enabled": true,
        "rules": [{"name": "staff", "conditions": [{"attribute": "email", "operator": "STR_ENDS_WITH", "values": ["@ourco.com"]}]}]}}}))
        .await;
    for (name, role) in [("vera", "viewer"), ("ed", "editor")] {
        h.create_user(name, role, PASSWORD).await;
    }
    // Change request 1 and schedule 1, by the admin token, for the review pages.
    h.post_json(
        "/api/v1/change-requests",
        json!({"key": "f", "environment": "development", "enabled": false, "description": "pause f"}),
    )
    .await
    .expect(201);
    let due = (Utc::now() + chrono::TimeDelta::days(1)).to_rfc3339();
    h.schedule(
        "f",
        json!({"due_at": due, "environment": "production", "enabled": true}),
    )
    .await;
    h
}

/// The `<button …>…</button>` of `html` whose text is `label`.
fn button<'a>(html: &'a str, label: &str) -> &'a str {
    html.split("<button")
        .find(|b| {
            b.split("</button>")
                .next()
                .unwrap()
                .ends_with(&format!(">{label}"))
        })
        .unwrap_or_else(|| panic!("no {label} button in {html}"))
}

async fn login(h: &Harness, name: &str) -> String {
    h.session(name, PASSWORD).await
}

#[test]
fn the_list_names_every_ui_route() {
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui/mod.rs"),
    )
    .unwrap();
    let routes: Vec<&str> = source
        .split(".route(\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let listed: Vec<&str> = PAGES.iter().map(|(r, _, _)| *r).collect();
    assert_eq!(
        routes, listed,
        "tests/ui_pages.rs PAGES must list src/ui routes"
    );
}

#[tokio::test]
async fn pages_without_a_session_go_to_the_login_page() {
    let h = harness().await;
    for (_, path, private) in PAGES {
        let reply = h.get_with(path, &[("authorization", "")]).await;
        if *private {
            assert_eq!(reply.status, 303, "{path}");
            let to = reply.headers["location"].to_str().unwrap();
            assert!(to.starts_with("/login?next=/"), "{path}: {to}");
        } else {
            assert_eq!(reply.status, 200, "{path}");
        }
        let csp = reply.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe"));
        assert_eq!(reply.headers["x-frame-options"], "DENY");
    }
    // An SDK token is not a way into the UI.
    let reply = h
        .get_with("/", &[("authorization", "Bearer test-client-production")])
        .await;
    assert_eq!(reply.status, 403);
}

#[tokio::test]
async fn login_only_sends_back_to_this_server() {
    let h = harness().await;
    let page = h
        .get_with("/login?next=//evil.example/x", &[("authorization", "")])
        .await
        .expect(200)
        .text();
    assert!(page.contains("data-then=\"go:/\""), "{page}");
}

#[tokio::test]
async fn a_viewer_sees_disabled_controls_and_the_api_refuses_the_viewer() {
    let h = harness().await;
    let cookie = login(&h, "vera").await;
    let headers = [("authorization", ""), ("cookie", cookie.as_str())];
    for (_, path, private) in PAGES {
        if *private {
            let reply = h.get_with(path, &headers).await;
            let expected = if matches!(*path, "/tokens" | "/users") {
                403
            } else {
                200
            };
            assert_eq!(reply.status, expected, "{path}");
        }
    }
    let page = h
        .get_with("/flag/f?env=development", &headers)
        .await
        .expect(200)
        .text();
    assert!(
        page.contains("<fieldset disabled>"),
        "the editor is not disabled"
    );
    assert!(page.contains("read-only"));
    let list = h.get_with("/", &headers).await.text();
    assert!(
        !list.contains("href=\"/new\""),
        "a viewer is offered New flag"
    );
    let version = h.get("/api/v1/flags/f").await.json()["version"].clone();
    let write = [
        ("authorization", ""),
        ("cookie", cookie.as_str()),
        ("origin", "http://localhost"),
        ("host", "localhost"),
    ];
    let refused = h
        .send(
            Method::POST,
            "/api/v1/flags/f/environments/development/disable",
            &write,
            Payload::Json(json!({"version": version})),
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(h.get("/api/v1/flags/f").await.json()["version"], version);
}

#[tokio::test]
async fn an_editor_cannot_switch_a_protected_environment_from_the_list() {
    let h = harness().await;
    h.send(
        Method::PATCH,
        "/api/v1/environments/production",
        &[],
        Payload::Json(json!({"protected": true})),
    )
    .await
    .expect(200);
    let cookie = login(&h, "ed").await;
    let headers = [("authorization", ""), ("cookie", cookie.as_str())];
    let list = h.get_with("/", &headers).await.text();
    let production = list
        .split("<button")
        .find(|b| b.contains("data-env=\"production\""))
        .unwrap();
    assert!(production.contains("disabled"), "{production}");
    let development = list
        .split("<button")
        .find(|b| b.contains("data-env=\"development\""))
        .unwrap();
    assert!(!development.contains("disabled"), "{development}");
}

#[tokio::test]
async fn native_evaluation_explains_on_request() {
    let h = harness().await;
    let ctx = json!({"userId": "u", "properties": {"email": "a@ourco.com"}});
    let plain = h
        .post_json("/api/v1/environments/development/evaluate/f", ctx.clone())
        .await
        .expect(200)
        .json();
    assert!(plain.get("trace").is_none());
    let explained = h
        .post_json(
            "/api/v1/environments/development/evaluate/f?explain=true",
            ctx.clone(),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(explained["reason"], plain["reason"]);
    let rule = &explained["trace"]["rules"][0];
    assert_eq!(rule["matched"], true);
    assert_eq!(rule["conditions"][0]["context_value"], "a@ourco.com");
    assert_eq!(rule["conditions"][0]["operator"], "STR_ENDS_WITH");
    let all = h
        .post_json(
            "/api/v1/environments/development/evaluate?explain=true",
            ctx,
        )
        .await
        .expect(200)
        .json();
    assert_eq!(all["flags"][0]["trace"]["flag"], "f");
    h.post_json(
        "/api/v1/environments/development/evaluate/f?explain=maybe",
        json!({}),
    )
    .await
    .expect(400);
}

#[tokio::test]
async fn review_pages_disable_what_the_viewer_may_not_do_and_say_why() {
    let h = harness().await;
    let vera = login(&h, "vera").await;
    let ed = login(&h, "ed").await;
    let page = |cookie: String, path: &'static str| {
        let h = &h;
        async move {
            let headers = [("authorization", ""), ("cookie", cookie.as_str())];
            h.get_with(path, &headers).await.expect(200).text()
        }
    };

    // A viewer: every button disabled, with the server's reason.
    let detail = page(vera.clone(), "/change-requests/1").await;
    assert!(button(&detail, "Approve").contains("disabled"), "{detail}");
    assert!(button(&detail, "Reject").contains("disabled"));
    assert!(
        detail.contains("You cannot approve this: approving needs the editor role"),
        "{detail}"
    );
    assert!(
        detail.contains("<del>") && detail.contains("<ins>"),
        "no diff: {detail}"
    );
    assert!(detail.contains("pause f"));
    let schedules = page(vera.clone(), "/schedules").await;
    assert!(
        button(&schedules, "Cancel").contains("disabled"),
        "{schedules}"
    );
    assert!(schedules.contains("href=\"/flag/f\""));
    let list = page(vera.clone(), "/change-requests").await;
    assert!(list.contains("href=\"/change-requests/1\""), "{list}");

    // The author (the admin token) may reject but not approve its own.
    let own = h.get("/change-requests/1").await.expect(200).text();
    assert!(button(&own, "Approve").contains("disabled"));
    assert!(
        own.contains("authors cannot approve their own change request"),
        "{own}"
    );
    assert!(!button(&own, "Reject").contains("disabled"));

    // Another editor may approve; nothing is disabled.
    let other = page(ed.clone(), "/change-requests/1").await;
    assert!(!button(&other, "Approve").contains("disabled"), "{other}");
    assert!(!other.contains("You cannot approve this"));
    assert!(!button(&page(ed, "/schedules").await, "Cancel").contains("disabled"));

    // The API refuses the viewer anyway.
    let write = [
        ("authorization", ""),
        ("cookie", vera.as_str()),
        ("origin", "http://localhost"),
        ("host", "localhost"),
    ];
    for path in [
        "/api/v1/change-requests/1/approve",
        "/api/v1/change-requests/1/reject",
    ] {
        let refused = h.send(Method::POST, path, &write, Payload::Empty).await;
        assert_eq!(refused.status, 403, "{path}");
    }
    let refused = h
        .send(
            Method::DELETE,
            "/api/v1/schedules/1",
            &write,
            Payload::Empty,
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        h.get("/api/v1/change-requests/1").await.json()["status"],
        "open"
    );
    assert_eq!(
        h.get("/api/v1/schedules/1").await.json()["status"],
        "pending"
    );

    // An unknown request is a page saying so.
    let missing = h.get("/change-requests/99").await;
    assert_eq!(missing.status, 404);
}
