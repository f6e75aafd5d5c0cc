//! Projects in the web UI through `oneshot`: the switcher (`?project=`, kept in a
//! cookie) narrows the flags, segments, history and change-request pages to one project;
//! a project's settings page shows its members and its settings per environment, with
//! controls only for its admins; a user of role `member` opens the UI and sees only the
//! projects they are a member of.

#![allow(clippy::unwrap_used)]

mod common;

use common::projects::two_projects;
use common::{Harness, Reply};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

/// [`two_projects`], a change request of `a1`, `b1` and `d1` each (1, 2 and 3), and
/// users `ada` (admin) and `mia` (member, editor of alpha).
async fn harness() -> Harness {
    let h = two_projects().await;
    for key in ["a1", "b1", "d1"] {
        h.post_json(
            "/api/v1/change-requests",
            json!({"key": key, "environment": "production", "enabled": false,
                "description": format!("pause {key}")}),
        )
        .await
        .expect(201);
    }
    h.create_user("ada", "admin", PASSWORD).await;
    h.create_user("mia", "member", PASSWORD).await;
    h.put_json(
        "/api/v1/projects/alpha/members/mia",
        json!({"role": "editor"}),
    )
    .await
    .expect(204);
    h
}

/// A page as `user` (logged in), with `cookies` besides the session.
async fn page_as(h: &Harness, user: &str, path: &str, cookies: &str) -> Reply {
    let session = h.session(user, PASSWORD).await;
    let cookie = format!("{session}; {cookies}");
    h.get_with(path, &[("authorization", ""), ("cookie", cookie.as_str())])
        .await
}

async fn text_as(h: &Harness, user: &str, path: &str, cookies: &str) -> String {
    page_as(h, user, path, cookies).await.expect(200).text()
}

/// Which of `keys` a page links to as flags.
fn flags_in<'a>(html: &str, keys: &[&'a str]) -> Vec<&'a str> {
    let links = keys
        .iter()
        .filter(|k| html.contains(&format!("href=\"/flag/{k}\"")));
    links.copied().collect()
}

#[tokio::test]
async fn the_switcher_narrows_the_pages_to_one_project() {
    let h = harness().await;
    let all = ["a1", "a2", "b1", "d1"];

    // `?project=` shows that project and keeps it in the cookie.
    let reply = page_as(&h, "ada", "/?project=alpha", "").await.expect(200);
    let kept: Vec<&str> = (reply.headers.get_all("set-cookie").iter())
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        kept.iter()
            .any(|c| c.starts_with("flagpole_project=alpha;")),
        "{kept:?}"
    );
    let list = reply.text();
    assert_eq!(flags_in(&list, &all), ["a1", "a2"]);
    assert!(
        list.contains("<option value=\"alpha\" selected>ALPHA</option>"),
        "{list}"
    );
    assert!(list.contains("2 of 2 flags"), "{list}");

    // The cookie alone chooses on the next pages; `all` shows everything again.
    let cookie = "flagpole_project=beta";
    assert_eq!(
        flags_in(&text_as(&h, "ada", "/", cookie).await, &all),
        ["b1"]
    );
    assert_eq!(
        flags_in(&text_as(&h, "ada", "/?project=all", cookie).await, &all),
        all
    );
    let segments = text_as(&h, "ada", "/segments", cookie).await;
    assert!(
        segments.contains("id=\"segment-seg-beta\"") && segments.contains("id=\"segment-seg-all\"")
    );
    assert!(!segments.contains("id=\"segment-seg-alpha\""), "{segments}");
    // Saved in its own project (a segment sent without one would move).
    assert!(segments.contains("type=\"hidden\" data-k=\"project\" value=\"beta\""));
    let history = text_as(&h, "ada", "/history", cookie).await;
    assert_eq!(flags_in(&history, &all), ["b1"]);
    let requests = text_as(&h, "ada", "/change-requests", cookie).await;
    assert!(
        requests.contains("pause b1") && !requests.contains("pause a1"),
        "{requests}"
    );
    let requests = text_as(&h, "ada", "/change-requests", "flagpole_project=all").await;
    assert!(["pause a1", "pause b1", "pause d1"]
        .iter()
        .all(|t| requests.contains(t)));
    // New flags go to the chosen project first.
    let new = text_as(&h, "ada", "/new", cookie).await;
    let select = new.split("id=\"f-project\"").nth(1).unwrap();
    let first = select.split("<option").nth(1).unwrap();
    assert!(first.starts_with(" value=\"beta\">"), "{new}");
}

#[tokio::test]
async fn the_settings_page_shows_members_and_settings() {
    let h = harness().await;
    h.put_json(
        "/api/v1/projects/alpha/environments/production",
        json!({"protected": true}),
    )
    .await
    .expect(200);
    let page = text_as(&h, "ada", "/projects/alpha", "").await;
    assert!(page.contains("<h1>Project ALPHA</h1>"), "{page}");
    let member = page.split("data-member=\"mia\"").nth(1).unwrap();
    assert!(
        member.contains("data-patch-select=\"/api/v1/projects/alpha/members/mia\""),
        "{member}"
    );
    assert!(
        member.contains("<option value=\"editor\" selected>"),
        "{member}"
    );
    let switch = |env: &str, name: &str| {
        let row = page
            .split(&format!("data-environment=\"{env}\""))
            .nth(1)
            .unwrap();
        let field = format!("data-field-name=\"{name}\"");
        let button = row.split("<button").find(|b| b.contains(&field)).unwrap();
        button.split('>').next().unwrap().to_string()
    };
    let protected = switch("production", "protected");
    assert!(protected.contains("aria-checked=\"true\""), "{protected}");
    assert!(protected.contains("data-patch=\"/api/v1/projects/alpha/environments/production\""));
    assert!(protected.contains("data-method=\"PUT\"") && !protected.contains("disabled"));
    assert!(switch("development", "protected").contains("aria-checked=\"false\""));
    assert!(switch("production", "requires_approval").contains("aria-checked=\"false\""));
    assert!(page.contains("data-api=\"PUT /api/v1/projects/alpha/members/{user}\""));

    let list = text_as(&h, "ada", "/projects", "").await;
    for key in ["alpha", "beta", "default"] {
        assert!(
            list.contains(&format!("href=\"/projects/{key}\"")),
            "{list}"
        );
    }
    assert!(list.contains("data-api=\"POST /api/v1/projects\""));
    let missing = page_as(&h, "ada", "/projects/nope", "").await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn a_member_sees_only_their_project() {
    let h = harness().await;
    let all = ["a1", "a2", "b1", "d1"];
    // Even a cookie naming another project shows only hers.
    for cookie in ["", "flagpole_project=beta"] {
        let list = text_as(&h, "mia", "/", cookie).await;
        assert_eq!(flags_in(&list, &all), ["a1", "a2"], "{list}");
        assert!(
            !list.contains("value=\"beta\"") && !list.contains("value=\"default\""),
            "{list}"
        );
    }
    let projects = text_as(&h, "mia", "/projects", "").await;
    assert!(
        projects.contains("href=\"/projects/alpha\"")
            && !projects.contains("href=\"/projects/beta\"")
    );
    assert!(!projects.contains("New project"));
    assert_eq!(page_as(&h, "mia", "/projects/beta", "").await.status, 404);
    // An editor of alpha, not its admin: its settings are read-only.
    let settings = text_as(&h, "mia", "/projects/alpha", "").await;
    assert!(settings.contains("<fieldset disabled>"), "{settings}");
    assert!(!settings.contains("Add member"));
    assert!(text_as(&h, "mia", "/flag/b1", "")
        .await
        .contains("No such flag"));
    let flag = text_as(&h, "mia", "/flag/a1?env=production", "").await;
    assert!(
        !flag.contains("<fieldset disabled>"),
        "she edits alpha's flags: {flag}"
    );
    let segments = text_as(&h, "mia", "/segments", "").await;
    assert!(
        segments.contains("id=\"segment-seg-alpha\"")
            && segments.contains("id=\"segment-seg-all\"")
    );
    assert!(!segments.contains("id=\"segment-seg-beta\""));
    let history = text_as(&h, "mia", "/history", "").await;
    assert_eq!(flags_in(&history, &all), ["a1", "a2"]);
    let requests = text_as(&h, "mia", "/change-requests", "").await;
    assert!(
        requests.contains("pause a1") && !requests.contains("pause b1"),
        "{requests}"
    );
    assert_eq!(
        page_as(&h, "mia", "/change-requests/2", "").await.status,
        404
    );
    let new = text_as(&h, "mia", "/new", "").await;
    assert!(new.contains("<option value=\"alpha\">") && !new.contains("<option value=\"beta\">"));
    assert_eq!(page_as(&h, "mia", "/tokens", "").await.status, 403);
    assert!(!text_as(&h, "mia", "/", "")
        .await
        .contains("href=\"/users\""));
    // A member of no project has nothing to open.
    h.delete("/api/v1/projects/alpha/members/mia")
        .await
        .expect(204);
    assert_eq!(page_as(&h, "mia", "/", "").await.status, 403);
}
