//! The server every route is tried on, the request sent to each route, and the
//! fingerprint of everything a refused request must leave as it was.

use std::sync::OnceLock;

use axum::http::Method;
use chrono::Utc;
use flagpole_server::identity::issue::{self, NewToken};
use flagpole_server::identity::secret;
use flagpole_store::{AuditFilter, Change, SessionRecord, UserRecord};
use serde_json::{json, Value};

use crate::callers::{EDITOR, EXPIRED, PASSWORD, REVOKED, SESSION, SPARE, VIEWER};
use crate::common::{Harness, Payload};

/// One Argon2id hash of [`PASSWORD`], made once for every harness.
fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| secret::hash_password(PASSWORD)).clone()
}

fn change(action: &str) -> Change<'_> {
    Change {
        actor: "matrix",
        action,
        environment: None,
        address: None,
    }
}

/// A server with production protected, the flag `f` in both environments using the
/// segment `s`, the callers' tokens, the users `matrix` (admin, logged in) and `other`.
pub async fn harness() -> Harness {
    let h = Harness::new().await;
    let store = h.store.clone();
    store
        .set_environment_protected("production", true, change("environment.protected"))
        .await
        .unwrap();
    type Expiry = Option<chrono::DateTime<Utc>>;
    let tokens: [(&str, Option<&str>, Expiry); 5] = [
        (VIEWER, Some("viewer"), None),
        (EDITOR, Some("editor"), None),
        (REVOKED, Some("admin"), None),
        (
            EXPIRED,
            Some("admin"),
            Some(Utc::now() - chrono::TimeDelta::hours(1)),
        ),
        (SPARE, Some("viewer"), None),
    ];
    for (text, role, expires_at) in tokens {
        let new = NewToken {
            name: text.into(),
            kind: "admin".into(),
            role: role.map(str::to_string),
            expires_at,
            secret: Some(text.into()),
            ..NewToken::default()
        };
        let (record, _) = issue::token(&new, "matrix", |_| true).unwrap();
        store
            .create_token(&record, change("token.created"))
            .await
            .unwrap();
        if text == REVOKED {
            store
                .revoke_token(&record.id, Utc::now(), change("token.revoked"))
                .await
                .unwrap();
        }
    }
    for (name, role) in [("matrix", "admin"), ("other", "viewer")] {
        let user = UserRecord {
            name: name.into(),
            password_hash: password_hash(),
            role: role.into(),
            grants: vec![],
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        store
            .create_user(&user, change("user.created"))
            .await
            .unwrap();
    }
    let now = Utc::now();
    store
        .create_session(&SessionRecord {
            id_hash: secret::verifier(SESSION),
            user: "matrix".into(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + chrono::TimeDelta::hours(1),
        })
        .await
        .unwrap();
    h.state.reload_auth().await.unwrap();
    // A project `f` (routes' `{key}`) with the user `other` as a member.
    h.post_json("/api/v1/projects", json!({"key": "f"}))
        .await
        .expect(201);
    h.put_json(
        "/api/v1/projects/f/members/other",
        json!({"role": "viewer"}),
    )
    .await
    .expect(204);
    let seg = json!({"name": "s", "conditions": [{"attribute": "plan", "operator": "IN", "values": ["pro"]}]});
    h.create_segment(seg).await;
    let rules = json!([{"segments": ["s"], "rollout": 50}]);
    h.create_flag(json!({"key": "f", "environments": {
        "production": {"enabled": true, "rules": rules},
        "development": {"enabled": true, "rules": rules},
    }}))
    .await;
    // A second version, so that rolling back to the first changes production.
    h.put_json(
        "/api/v1/flags/f/environments/production",
        json!({"version": 1, "enabled": true, "rules": [{"segments": ["s"], "rollout": 75}]}),
    )
    .await
    .expect(200);
    // A schedule in production (id 1), and the editor's change request for it (id 1).
    let due = (Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339();
    h.post_json(
        "/api/v1/flags/f/schedules",
        json!({"due_at": due, "environment": "production", "enabled": false}),
    )
    .await
    .expect(201);
    let editor = format!("Bearer {EDITOR}");
    h.send(
        Method::POST,
        "/api/v1/change-requests",
        &[("authorization", &editor)],
        Payload::Json(json!({"key": "f", "environment": "production", "enabled": false})),
    )
    .await
    .expect(201);
    h
}

/// The request for a route: its path with parameters filled, and a body that would
/// change something if the caller were let through.
pub fn request(h: &Harness, method: &str, template: &str, n: usize) -> (String, Payload) {
    let token_id = h
        .state
        .directory()
        .token(SPARE, Utc::now())
        .map(|t| t.id.clone())
        .unwrap_or_default();
    let name = match template {
        t if t.starts_with("/api/v1/users") => "other",
        t if t.starts_with("/api/v1/segments") => "s",
        _ => "f",
    };
    let mut path = template
        .replace("{env}", "production")
        .replace("{key}", "f")
        .replace("{name}", name)
        .replace("{version}", "1")
        .replace("{user}", "other")
        .replace(
            "{id}",
            if template.starts_with("/api/v1/schedules")
                || template.starts_with("/api/v1/change-requests")
            {
                "1"
            } else {
                &token_id
            },
        );
    let published = h.state.published();
    let flag_version = published.flags.get("f").map_or(1, |r| r.version);
    let json = |v: Value| Payload::Json(v);
    let body = match (method, template) {
        ("POST", "/api/v1/environments") => json(json!({"name": format!("env-{n}")})),
        ("POST", "/api/v1/projects") => json(json!({"key": format!("p-{n}")})),
        ("PATCH", "/api/v1/projects/{key}") => json(json!({"name": format!("P {n}")})),
        ("PUT", "/api/v1/projects/{key}/environments/{env}") => json(json!({"protected": true})),
        ("PUT", "/api/v1/projects/{key}/members/{user}") => json(json!({"role": "editor"})),
        ("PATCH", "/api/v1/environments/{env}") => json(json!({"protected": false})),
        ("POST", "/api/v1/flags") => json(json!({"key": format!("new_{n}")})),
        ("PUT", "/api/v1/flags/{key}") => json(
            json!({"version": flag_version, "description": format!("d{n}"), "environments": {"production": {"enabled": false}}}),
        ),
        ("PUT", "/api/v1/flags/{key}/environments/{env}") => json(json!({"enabled": false})),
        ("PUT", "/api/v1/flags/{key}/environments/{env}/rules") => {
            json(json!({"version": flag_version, "rules": [{"rollout": 10}]}))
        }
        ("PUT", "/api/v1/flags/{key}/environments/{env}/default") => {
            json(json!({"version": flag_version, "default": {"variant": "zzz"}}))
        }
        ("PUT", "/api/v1/flags/{key}/environments/{env}/rollout") => json(json!({"rollout": 20})),
        ("POST", "/api/v1/flags/{key}/environments/{env}/release-plan") => {
            json(json!({"milestones": [{"percent": 5}]}))
        }
        ("PUT", "/api/v1/environments/{env}/sampling") => json(json!({"enabled": true})),
        ("POST", "/api/v1/segments") => json(json!({"name": format!("seg_{n}"), "conditions": []})),
        ("PUT", "/api/v1/segments/{name}") => json(json!({"version": 1, "conditions": []})),
        ("POST", "/api/v1/flags/{key}/rollback") => {
            json(json!({"to_version": 1, "version": flag_version}))
        }
        ("POST", "/api/v1/import") => json(json!({"flags": {format!("imp_{n}"): {}, "f": {}}})),
        ("POST", "/api/v1/auth/login") => json(json!({"name": "matrix", "password": PASSWORD})),
        ("POST", "/api/v1/auth/password") => {
            json(json!({"current_password": PASSWORD, "new_password": "a-new-password"}))
        }
        ("POST", "/api/v1/tokens") => {
            json(json!({"name": format!("t{n}"), "kind": "admin", "role": "viewer"}))
        }
        ("POST", "/api/v1/users") => {
            json(json!({"name": format!("u{n}"), "password": "password-long", "role": "viewer"}))
        }
        ("PATCH", "/api/v1/users/{name}") => json(json!({"role": "editor"})),
        (
            "POST",
            "/api/v1/environments/{env}/evaluate" | "/api/v1/environments/{env}/evaluate/{key}",
        ) => json(json!({"userId": "1"})),
        ("POST", "/ofrep/v1/evaluate/flags" | "/ofrep/v1/evaluate/flags/{key}") => {
            json(json!({"context": {"targetingKey": "1"}}))
        }
        ("POST", "/api/client/register") => json(json!({"appName": "matrix", "instanceId": "i"})),
        ("POST", "/api/client/metrics") => {
            json(json!({"appName": "matrix", "instanceId": "i", "bucket": {
            "start": "2026-01-01T00:00:00Z", "stop": "2026-01-01T00:01:00Z",
            "toggles": {"f": {"yes": 1, "no": 0, "variants": {}}}}}))
        }
        ("POST", "/api/frontend") => json(json!({"context": {"userId": "1"}})),
        ("POST", "/api/v1/flags/{key}/schedules") => json(json!({
            "due_at": (Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339(),
            "environment": "production", "rollout": 5})),
        ("POST", "/api/v1/segments/{name}/schedules") => json(json!({
            "due_at": (Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339(),
            "segment": {"conditions": []}})),
        ("POST", "/api/v1/change-requests") => {
            json(json!({"key": "f", "environment": "development", "enabled": false}))
        }
        ("POST", "/api/v1/change-requests/{id}/comments") => json(json!({"text": format!("c{n}")})),
        ("PUT", "/api/v1/environments/{env}/approval") => json(json!({"required": true})),
        ("POST", "/api/v1/tokens/introspect") => json(json!({"tokens": ["not-a-token"]})),
        _ => Payload::Empty,
    };
    match (method, template) {
        ("POST", "/flags/{name}") => path.push_str("?enabled=false&rollout_percentage=30"),
        ("GET", "/flags/{name}") => path.push_str("?user_id=1"),
        _ => {}
    }
    (path, body)
}

/// Everything a refused request must leave as it was.
pub async fn fingerprint(h: &Harness) -> (i64, usize, i64, usize, usize, String) {
    let audit = h
        .store
        .audit(&AuditFilter {
            limit: Some(1000),
            ..AuditFilter::default()
        })
        .await
        .unwrap()
        .len();
    let auth = h.store.load_auth().await.unwrap();
    let export = flagpole_core::formats::export(
        &h.state.published().document(),
        flagpole_core::formats::Format::Native,
        "production",
    )
    .unwrap();
    let usage = h.store.usage(&Default::default()).await.unwrap().len();
    (
        h.store.version().await.unwrap(),
        audit,
        auth.version,
        auth.tokens.len() + auth.users.len(),
        usage,
        export,
    )
}
