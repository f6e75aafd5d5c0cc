//! The permission matrix: every route of the router (read from the OpenAPI document the
//! router is built with, so a new route cannot be missed) × every kind of caller, each
//! with the status class it must get, and on every refusal a check that nothing was
//! written (configuration version, audit log, tokens and users, the export).
//!
//! A route missing from [`POLICIES`] fails the test, as does a route that answers a caller
//! it should refuse, or refuses one it should let through. Callers: no credential, a
//! malformed, unknown, revoked or expired token, client tokens of the other and the right
//! environment, a frontend token from an allowed and a disallowed origin, viewer, editor
//! and admin tokens, and a logged-in admin's session cookie with and without the proof
//! that the request comes from Flagpole's own pages (`Origin` matching `Host`).

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::OnceLock;

use axum::http::Method;
use chrono::Utc;
use common::credentials::{
    ADMIN, CLIENT_DEVELOPMENT, CLIENT_PRODUCTION, FRONTEND_ORIGIN, FRONTEND_PRODUCTION,
};
use common::{operations, Harness, Payload};
use flagpole_server::identity::issue::{self, NewToken};
use flagpole_server::identity::secret;
use flagpole_store::{AuditFilter, Change, SessionRecord, UserRecord};
use serde_json::{json, Value};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Policy {
    Public,
    Viewer,
    Editor,
    /// An editor change to configuration in `production`, which is protected.
    EditorProtected,
    Admin,
    /// Viewer and up, but only a logged-in user (a token has no password).
    User,
    ClientSdk,
    FrontendSdk,
    AnySdk,
    /// Client tokens of the environment in the path, and any admin credential.
    Evaluator,
    /// The seed API's GET: client tokens of the seed environment (production), admins.
    SeedReader,
    /// The seed API's POST: editors; production is protected.
    SeedWriter,
}

use Policy::*;

/// Every route and its policy. Paths are filled with `production`, the flag `f`
/// (configured in production, using the segment `s`), the user `other`, the token
/// `spare`.
const POLICIES: &[(&str, &str, Policy)] = &[
    ("GET", "/api/v1/environments", Viewer),
    ("POST", "/api/v1/environments", Admin),
    ("PATCH", "/api/v1/environments/{env}", Admin),
    ("DELETE", "/api/v1/environments/{env}", Admin),
    ("GET", "/api/v1/flags", Viewer),
    ("POST", "/api/v1/flags", Editor),
    ("GET", "/api/v1/flags/{key}", Viewer),
    ("PUT", "/api/v1/flags/{key}", EditorProtected),
    ("DELETE", "/api/v1/flags/{key}", EditorProtected),
    ("POST", "/api/v1/flags/{key}/archive", EditorProtected),
    // Unarchiving a live flag changes nothing, in production or anywhere.
    ("POST", "/api/v1/flags/{key}/unarchive", Editor),
    ("GET", "/api/v1/flags/{key}/environments/{env}", Viewer),
    (
        "PUT",
        "/api/v1/flags/{key}/environments/{env}",
        EditorProtected,
    ),
    (
        "POST",
        "/api/v1/flags/{key}/environments/{env}/enable",
        EditorProtected,
    ),
    (
        "POST",
        "/api/v1/flags/{key}/environments/{env}/disable",
        EditorProtected,
    ),
    (
        "PUT",
        "/api/v1/flags/{key}/environments/{env}/rules",
        EditorProtected,
    ),
    (
        "PUT",
        "/api/v1/flags/{key}/environments/{env}/default",
        EditorProtected,
    ),
    (
        "PUT",
        "/api/v1/flags/{key}/environments/{env}/rollout",
        EditorProtected,
    ),
    (
        "GET",
        "/api/v1/flags/{key}/environments/{env}/release-plan",
        Viewer,
    ),
    (
        "POST",
        "/api/v1/flags/{key}/environments/{env}/release-plan",
        EditorProtected,
    ),
    (
        "POST",
        "/api/v1/flags/{key}/environments/{env}/release-plan/pause",
        EditorProtected,
    ),
    (
        "POST",
        "/api/v1/flags/{key}/environments/{env}/release-plan/resume",
        EditorProtected,
    ),
    (
        "POST",
        "/api/v1/flags/{key}/environments/{env}/release-plan/cancel",
        EditorProtected,
    ),
    ("GET", "/api/v1/release-plans", Viewer),
    ("GET", "/api/v1/environments/{env}/sampling", Viewer),
    ("PUT", "/api/v1/environments/{env}/sampling", Admin),
    ("GET", "/api/v1/segments", Viewer),
    ("POST", "/api/v1/segments", Editor),
    ("GET", "/api/v1/segments/{name}", Viewer),
    ("PUT", "/api/v1/segments/{name}", EditorProtected),
    // Only a segment used nowhere can be deleted (else 409), so no environment is touched.
    ("DELETE", "/api/v1/segments/{name}", Editor),
    ("POST", "/api/v1/environments/{env}/evaluate", Evaluator),
    (
        "POST",
        "/api/v1/environments/{env}/evaluate/{key}",
        Evaluator,
    ),
    ("GET", "/api/v1/audit", Viewer),
    ("GET", "/api/v1/usage", Viewer),
    ("GET", "/api/v1/flags/{key}/versions", Viewer),
    ("GET", "/api/v1/flags/{key}/versions/{version}", Viewer),
    ("GET", "/api/v1/flags/{key}/diff", Viewer),
    ("POST", "/api/v1/flags/{key}/rollback", EditorProtected),
    ("POST", "/api/v1/import", EditorProtected),
    ("GET", "/api/v1/export", Viewer),
    ("POST", "/api/v1/auth/login", Public),
    ("POST", "/api/v1/auth/logout", Viewer),
    ("GET", "/api/v1/auth/me", Viewer),
    ("POST", "/api/v1/auth/password", User),
    ("GET", "/api/v1/tokens", Admin),
    ("POST", "/api/v1/tokens", Admin),
    ("DELETE", "/api/v1/tokens/{id}", Admin),
    ("GET", "/api/v1/users", Admin),
    ("POST", "/api/v1/users", Admin),
    ("DELETE", "/api/v1/users/{name}", Admin),
    ("PATCH", "/api/v1/users/{name}", Admin),
    ("GET", "/api/v1/openapi.json", Public),
    ("GET", "/flags/{name}", SeedReader),
    ("POST", "/flags/{name}", SeedWriter),
    ("POST", "/ofrep/v1/evaluate/flags", AnySdk),
    ("POST", "/ofrep/v1/evaluate/flags/{key}", AnySdk),
    ("GET", "/api/client/features", ClientSdk),
    ("GET", "/api/client/features/{name}", ClientSdk),
    ("POST", "/api/client/register", ClientSdk),
    ("POST", "/api/client/metrics", ClientSdk),
    ("GET", "/api/client/streaming", ClientSdk),
    ("GET", "/ofrep/v1/stream", AnySdk),
    ("GET", "/api/v1/environments/{env}/stream", Evaluator),
    ("GET", "/api/v1/environments/{env}/snapshot", Evaluator),
    ("GET", "/api/v1/relay/stream", Viewer),
    ("POST", "/api/v1/tokens/introspect", Viewer),
    ("GET", "/api/frontend", FrontendSdk),
    ("POST", "/api/frontend", FrontendSdk),
    ("GET", "/api/frontend/features/{name}", FrontendSdk),
    ("GET", "/api/v1/schedules", Viewer),
    ("GET", "/api/v1/schedules/{id}", Viewer),
    // The harness's schedule changes production.
    ("DELETE", "/api/v1/schedules/{id}", EditorProtected),
    ("POST", "/api/v1/flags/{key}/schedules", EditorProtected),
    ("POST", "/api/v1/segments/{name}/schedules", EditorProtected),
    ("GET", "/api/v1/change-requests", Viewer),
    // Proposing is open to editors, protected environment or not.
    ("POST", "/api/v1/change-requests", Editor),
    ("GET", "/api/v1/change-requests/{id}", Viewer),
    ("POST", "/api/v1/change-requests/{id}/comments", Viewer),
    // Four eyes: the harness's request (production) is the editor's own, so only
    // someone else who may change production (admins) may approve it; viewers never.
    (
        "POST",
        "/api/v1/change-requests/{id}/approve",
        EditorProtected,
    ),
    // The author (the editor) may withdraw it; others need the right to change production.
    ("POST", "/api/v1/change-requests/{id}/reject", Editor),
    ("POST", "/api/v1/change-requests/{id}/rebase", Editor),
    ("PUT", "/api/v1/environments/{env}/approval", Admin),
    ("GET", "/health/live", Public),
    ("GET", "/health/ready", Public),
    ("GET", "/metrics", Public),
];

/// The callers, in the order each route sees them (the session with its proof last:
/// its logout ends the session).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    Nobody,
    Malformed,
    Unknown,
    Revoked,
    Expired,
    ClientOtherEnvironment,
    Client,
    FrontendAllowedOrigin,
    FrontendOtherOrigin,
    Viewer,
    Editor,
    SessionWithoutProof,
    Admin,
    SessionWithProof,
}

const CALLERS: [Caller; 14] = [
    Caller::Nobody,
    Caller::Malformed,
    Caller::Unknown,
    Caller::Revoked,
    Caller::Expired,
    Caller::ClientOtherEnvironment,
    Caller::Client,
    Caller::FrontendAllowedOrigin,
    Caller::FrontendOtherOrigin,
    Caller::Viewer,
    Caller::Editor,
    Caller::SessionWithoutProof,
    Caller::Admin,
    Caller::SessionWithProof,
];

const VIEWER: &str = "matrix-viewer-token";
const EDITOR: &str = "matrix-editor-token";
const REVOKED: &str = "matrix-revoked-token";
const EXPIRED: &str = "matrix-expired-token";
const SPARE: &str = "matrix-spare-token";
const UNKNOWN: &str = "flagpole_admin_0123456789ab_0123456789abcdef0123456789abcdef01234567";
const SESSION: &str = "matrix-session-id";
const PASSWORD: &str = "matrix-password";

/// What a caller must get: refused with this status, or let through (any other status:
/// the handler ran, and answered as the request deserves).
#[derive(Debug, PartialEq)]
enum Expected {
    Refused(u16),
    Allowed,
}

fn expected(policy: Policy, caller: Caller, method: &str) -> Expected {
    use Caller as C;
    use Expected::{Allowed, Refused};
    // A change sent from another site's page is refused before any route, unless it is a
    // browser SDK route (where the frontend token's origins decide).
    let foreign_page = matches!(caller, C::FrontendAllowedOrigin | C::FrontendOtherOrigin);
    let unsafe_method = !matches!(method, "GET" | "HEAD");
    if foreign_page && unsafe_method && !matches!(policy, AnySdk | FrontendSdk) {
        return Refused(403);
    }
    if policy == Public {
        return Allowed;
    }
    match caller {
        C::Nobody | C::Malformed | C::Unknown | C::Revoked | C::Expired => return Refused(401),
        C::SessionWithoutProof if !matches!(method, "GET" | "HEAD") => return Refused(403),
        _ => {}
    }
    let admin_user = matches!(caller, C::SessionWithProof | C::SessionWithoutProof);
    let role = match caller {
        C::Viewer => Some(1),
        C::Editor => Some(2),
        C::Admin => Some(3),
        _ if admin_user => Some(3),
        _ => None,
    };
    let at_least = |min: u8| {
        if role >= Some(min) {
            Allowed
        } else {
            Refused(403)
        }
    };
    match policy {
        Public => Allowed,
        Viewer => at_least(1),
        Editor | SeedWriter => at_least(2),
        EditorProtected => at_least(3),
        Admin => at_least(3),
        User if admin_user => Allowed,
        User => Refused(403),
        ClientSdk => match caller {
            C::Client | C::ClientOtherEnvironment => Allowed,
            _ => Refused(403),
        },
        FrontendSdk => match caller {
            C::FrontendAllowedOrigin => Allowed,
            _ => Refused(403),
        },
        AnySdk => match caller {
            C::Client | C::ClientOtherEnvironment | C::FrontendAllowedOrigin => Allowed,
            _ => Refused(403),
        },
        Evaluator | SeedReader => match caller {
            C::Client => Allowed,
            C::ClientOtherEnvironment | C::FrontendAllowedOrigin | C::FrontendOtherOrigin => {
                Refused(403)
            }
            _ => at_least(1),
        },
    }
}

/// The headers a caller sends.
fn headers(caller: Caller) -> Vec<(&'static str, String)> {
    let bearer = |t: &str| vec![("authorization", format!("Bearer {t}"))];
    let cookie = ("cookie", format!("flagpole_session={SESSION}"));
    match caller {
        // The test client adds the admin token unless a credential is named; an empty
        // value names one and is then dropped.
        Caller::Nobody => vec![("authorization", String::new())],
        Caller::Malformed => vec![("authorization", "Bearer".into())],
        Caller::Unknown => bearer(UNKNOWN),
        Caller::Revoked => bearer(REVOKED),
        Caller::Expired => bearer(EXPIRED),
        Caller::ClientOtherEnvironment => bearer(CLIENT_DEVELOPMENT),
        Caller::Client => bearer(CLIENT_PRODUCTION),
        Caller::FrontendAllowedOrigin => {
            let mut h = bearer(FRONTEND_PRODUCTION);
            h.push(("origin", FRONTEND_ORIGIN.into()));
            h
        }
        Caller::FrontendOtherOrigin => {
            let mut h = bearer(FRONTEND_PRODUCTION);
            h.push(("origin", "https://evil.example".into()));
            h
        }
        Caller::Viewer => bearer(VIEWER),
        Caller::Editor => bearer(EDITOR),
        Caller::Admin => bearer(ADMIN),
        Caller::SessionWithoutProof => vec![cookie],
        Caller::SessionWithProof => vec![
            cookie,
            ("host", "flagpole.test".into()),
            ("origin", "http://flagpole.test".into()),
        ],
    }
}

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
async fn harness() -> Harness {
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
    let seg = json!({"name": "s", "conditions": [{"attribute": "plan", "operator": "IN", "values": ["pro"]}]});
    h.post_json("/api/v1/segments", seg).await.expect(201);
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
fn request(h: &Harness, method: &str, template: &str, n: usize) -> (String, Payload) {
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
async fn fingerprint(h: &Harness) -> (i64, usize, i64, usize, usize, String) {
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

#[tokio::test]
async fn every_route_answers_every_caller_as_its_policy_says() {
    let doc = Harness::new()
        .await
        .get("/api/v1/openapi.json")
        .await
        .expect(200)
        .json();
    let mut cases = 0;
    let mut unexpected = Vec::new();
    let mut n = 0;
    for (method, template, op) in operations(&doc) {
        let method = method.to_uppercase();
        let policy = POLICIES
            .iter()
            .find(|(m, p, _)| *m == method && *p == template)
            .map(|(_, _, policy)| *policy)
            .unwrap_or_else(|| panic!("{method} {template} has no row in the permission matrix"));
        // The document says which routes need no credential; it must agree.
        let documented_public = op["security"] == json!([{}]);
        assert_eq!(
            documented_public,
            policy == Public,
            "{method} {template}: the OpenAPI document and the matrix disagree on whether it is public"
        );
        let h = harness().await;
        for caller in CALLERS {
            n += 1;
            cases += 1;
            let (uri, body) = request(&h, &method, &template, n);
            let want = expected(policy, caller, &method);
            let before = fingerprint(&h).await;
            let sent = headers(caller);
            let sent: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let reply = h.send(m, &uri, &sent, body).await;
            let status = reply.status.as_u16();
            let ok = match want {
                Expected::Refused(code) => status == code,
                Expected::Allowed => status != 401 && status != 403,
            };
            if !ok {
                unexpected.push(format!(
                    "{method} {uri} as {caller:?}: expected {want:?}, got {status} {}",
                    reply.text()
                ));
                continue;
            }
            if let Expected::Refused(code) = want {
                let body = reply.json();
                assert!(
                    body["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{method} {uri} as {caller:?}: {body}"
                );
                if code == 401 {
                    assert!(
                        reply.headers.contains_key("www-authenticate"),
                        "{method} {uri}: 401 without WWW-Authenticate"
                    );
                }
                let after = fingerprint(&h).await;
                assert_eq!(
                    before, after,
                    "{method} {uri} as {caller:?} was refused but wrote"
                );
            }
        }
    }
    println!(
        "authz matrix: {cases} cases, {} unexpected",
        unexpected.len()
    );
    assert!(
        unexpected.is_empty(),
        "{} unexpected answers:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}

#[tokio::test]
async fn cors_preflight_answers_allowed_origins_only() {
    let h = Harness::new().await;
    for (path, origin, status) in [
        ("/api/frontend", FRONTEND_ORIGIN, 204),
        ("/ofrep/v1/evaluate/flags", FRONTEND_ORIGIN, 204),
        ("/api/frontend", "https://evil.example", 403),
    ] {
        let reply = h
            .send(
                Method::OPTIONS,
                path,
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    (
                        "access-control-request-headers",
                        "authorization, content-type",
                    ),
                ],
                Payload::Empty,
            )
            .await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{path} from {origin}: {}",
            reply.text()
        );
        if status == 204 {
            assert_eq!(reply.headers["access-control-allow-origin"], origin);
            assert!(reply.headers["access-control-allow-headers"]
                .to_str()
                .unwrap()
                .contains("authorization"));
        }
    }
    // The answer itself carries the origin; other routes never do.
    let reply = h
        .send(
            Method::GET,
            "/api/frontend",
            &[("origin", FRONTEND_ORIGIN)],
            Payload::Empty,
        )
        .await
        .expect(200);
    assert_eq!(
        reply.headers["access-control-allow-origin"],
        FRONTEND_ORIGIN
    );
    let reply = h
        .send(
            Method::GET,
            "/api/v1/flags",
            &[("origin", FRONTEND_ORIGIN)],
            Payload::Empty,
        )
        .await
        .expect(200);
    assert!(!reply.headers.contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn revocation_takes_effect_on_the_next_request() {
    let h = Harness::new().await;
    let created = h
        .post_json(
            "/api/v1/tokens",
            json!({"name": "short-lived", "kind": "client", "environment": "production"}),
        )
        .await
        .expect(201)
        .json();
    let secret = format!("Bearer {}", created["secret"].as_str().unwrap());
    let features = [("authorization", secret.as_str())];
    let get = Method::GET;
    let status = h
        .send(
            get.clone(),
            "/api/client/features",
            &features,
            Payload::Empty,
        )
        .await
        .status;
    assert_eq!(status, 200);
    let id = created["id"].as_str().unwrap();
    h.delete(&format!("/api/v1/tokens/{id}")).await.expect(200);
    let status = h
        .send(get, "/api/client/features", &features, Payload::Empty)
        .await
        .status;
    assert_eq!(status, 401);
    // The secret is nowhere in what the API shows of the token.
    let list = h.get("/api/v1/tokens").await.expect(200).text();
    assert!(!list.contains(created["secret"].as_str().unwrap()));
    assert!(!list.contains("verifier"));
}
