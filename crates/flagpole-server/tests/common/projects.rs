//! The fixture of the project tests: two projects with flags and segments of their own.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::Harness;

/// Projects `alpha` and `beta`, a flag in each and one in `default`, a segment of each
/// and a global one, all on in production.
pub async fn two_projects() -> Harness {
    let h = Harness::new().await;
    for key in ["alpha", "beta"] {
        h.post_json(
            "/api/v1/projects",
            json!({"key": key, "name": key.to_uppercase()}),
        )
        .await
        .expect(201);
    }
    for (name, project) in [
        ("seg-alpha", "alpha"),
        ("seg-beta", "beta"),
        ("seg-all", "*"),
    ] {
        h.create_segment(json!({"name": name, "project": project, "conditions": []}))
            .await;
    }
    let on = |segments: Vec<&str>| json!({"production": {"enabled": true, "rules": [{"segments": segments}]}});
    for (key, project, segments) in [
        ("a1", Some("alpha"), vec!["seg-alpha", "seg-all"]),
        ("a2", Some("alpha"), vec![]),
        ("b1", Some("beta"), vec!["seg-beta"]),
        ("d1", None, vec![]),
    ] {
        let mut flag = json!({"key": key, "environments": on(segments)});
        if let Some(p) = project {
            flag["project"] = json!(p);
        }
        h.create_flag(flag).await;
    }
    h
}

/// A set of texts.
pub fn set(items: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    items.into_iter().collect()
}

/// The `field` of each object of a JSON list.
pub fn names(list: &Value, field: &str) -> BTreeSet<String> {
    set(list
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|f| f[field].as_str().unwrap_or_default().to_string()))
}

/// The keys of a JSON object.
pub fn keys(map: &Value) -> BTreeSet<String> {
    set(map.as_object().unwrap().keys().cloned())
}

/// Makes `name` a user without a server-wide role, a member of `project` with `role`,
/// and logs them in; their session cookie.
pub async fn member_session(h: &Harness, name: &str, project: &str, role: &str) -> String {
    h.create_user(name, "member", "correct horse battery").await;
    h.put_json(
        &format!("/api/v1/projects/{project}/members/{name}"),
        json!({"role": role}),
    )
    .await
    .expect(204);
    let login = h.login(name, "correct horse battery").await;
    let cookie = login.header("set-cookie").split(';').next().unwrap();
    cookie.to_string()
}

/// The headers of a request sent with `cookie` from Flagpole's own pages.
pub fn own_page(cookie: &str) -> [(&'static str, &str); 3] {
    [
        ("cookie", cookie),
        ("host", "flagpole.test"),
        ("origin", "http://flagpole.test"),
    ]
}
