//! Login sessions: the cookie's attributes, the cross-site proof on writes, password
//! changes ending the other sessions, logout, idle and absolute expiry, and the limit on
//! failed logins.

#![allow(clippy::unwrap_used)]

mod common;

use axum::http::Method;
use chrono::{TimeDelta, Utc};
use common::{Harness, Payload};
use flagpole_server::identity::secret;
use flagpole_store::SessionRecord;
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

async fn with_user(name: &str) -> Harness {
    let h = Harness::new().await;
    h.create_user(name, "admin", PASSWORD).await;
    h
}

/// Logs in; answers the `Cookie` header value to send back.
async fn login(h: &Harness, name: &str, password: &str) -> Result<String, u16> {
    let reply = h.login(name, password).await;
    if reply.status != 200 {
        return Err(reply.status.as_u16());
    }
    let cookie = reply.headers["set-cookie"].to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "not Secure over plain HTTP: {cookie}"
    );
    Ok(cookie.split(';').next().unwrap().to_string())
}

async fn status(h: &Harness, method: Method, uri: &str, headers: &[(&str, &str)]) -> u16 {
    h.send(method, uri, headers, Payload::Empty)
        .await
        .status
        .as_u16()
}

#[tokio::test]
async fn a_session_reads_and_writes_from_its_own_pages_only() {
    let h = with_user("ana").await;
    let cookie = login(&h, "ana", PASSWORD).await.unwrap();
    let me = h
        .get_with("/api/v1/auth/me", &[("cookie", &cookie)])
        .await
        .expect(200)
        .json();
    assert_eq!(
        me,
        json!({"kind": "user", "name": "ana", "role": "admin", "grants": []})
    );
    h.create_flag(json!({"key": "f"})).await;
    let enable = "/api/v1/flags/f/environments/production/enable";
    // Without an Origin, or from another site: refused, nothing written.
    let version = h.config_version().await;
    assert_eq!(
        status(&h, Method::POST, enable, &[("cookie", &cookie)]).await,
        403
    );
    let foreign = [
        ("cookie", cookie.as_str()),
        ("host", "flagpole.test"),
        ("origin", "https://evil.example"),
    ];
    assert_eq!(status(&h, Method::POST, enable, &foreign).await, 403);
    assert_eq!(h.config_version().await, version);
    // From Flagpole's own origin: written, and audited as the user.
    let own = [
        ("cookie", cookie.as_str()),
        ("host", "flagpole.test"),
        ("origin", "http://flagpole.test"),
    ];
    assert_eq!(status(&h, Method::POST, enable, &own).await, 200);
    let entries = h.audit(Default::default()).await;
    assert_eq!(entries[0].actor, "user:ana");
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_logout_ends_this_one() {
    let h = with_user("ana").await;
    let first = login(&h, "ana", PASSWORD).await.unwrap();
    let second = login(&h, "ana", PASSWORD).await.unwrap();
    let own = [
        ("cookie", first.as_str()),
        ("host", "flagpole.test"),
        ("origin", "http://flagpole.test"),
    ];
    let reply = h
        .send(
            Method::POST,
            "/api/v1/auth/password",
            &own,
            Payload::Json(json!({"current_password": "wrong", "new_password": "a new password"})),
        )
        .await;
    assert_eq!(reply.status, 401, "{}", reply.text());
    h.send(
        Method::POST,
        "/api/v1/auth/password",
        &own,
        Payload::Json(json!({"current_password": PASSWORD, "new_password": "a new password"})),
    )
    .await
    .expect(204);
    assert_eq!(
        status(&h, Method::GET, "/api/v1/auth/me", &[("cookie", &second)]).await,
        401
    );
    assert_eq!(
        status(&h, Method::GET, "/api/v1/auth/me", &[("cookie", &first)]).await,
        200
    );
    assert_eq!(login(&h, "ana", PASSWORD).await, Err(401));
    login(&h, "ana", "a new password").await.unwrap();

    let reply = h
        .send(Method::POST, "/api/v1/auth/logout", &own, Payload::Empty)
        .await
        .expect(204);
    assert!(reply.headers["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        status(&h, Method::GET, "/api/v1/auth/me", &[("cookie", &first)]).await,
        401
    );
}

#[tokio::test]
async fn sessions_expire_when_idle_and_at_their_end() {
    let h = with_user("ana").await;
    let now = Utc::now();
    let idle = h.state.config().session_idle;
    let sessions = [
        ("fresh", now, now + TimeDelta::hours(1), 200),
        (
            "idle",
            now - TimeDelta::from_std(idle).unwrap() - TimeDelta::minutes(1),
            now + TimeDelta::days(1),
            401,
        ),
        ("over", now, now - TimeDelta::seconds(1), 401),
    ];
    for (id, last_seen, expires_at, want) in sessions {
        h.store
            .create_session(&SessionRecord {
                id_hash: secret::verifier(id),
                user: "ana".into(),
                created_at: now - TimeDelta::days(2),
                last_seen_at: last_seen,
                expires_at,
            })
            .await
            .unwrap();
        let cookie = format!("flagpole_session={id}");
        assert_eq!(
            status(&h, Method::GET, "/api/v1/auth/me", &[("cookie", &cookie)]).await,
            want,
            "session {id}"
        );
    }
    // An ended session is gone from the store.
    assert!(h
        .store
        .session(&secret::verifier("idle"))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn failed_logins_are_limited_per_user() {
    let h = with_user("ana").await;
    for _ in 0..5 {
        assert_eq!(login(&h, "ana", "guess").await, Err(401));
    }
    let reply = h.login("ana", PASSWORD).await.expect(429);
    let wait: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 15 * 60, "{wait}");
    // An unknown user is answered like a wrong password.
    let reply = h.login("nobody", PASSWORD).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["message"], "wrong user name or password");
}
