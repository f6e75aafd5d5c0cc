//! Conformance checks of tokens, users, sessions and protected environments.

use std::future::Future;

use chrono::TimeDelta;

use super::asserts::Refusal::{Conflict, NotFound};
use super::asserts::{environment, newest_audit, refused_as};
use super::fixtures::{change, create_environment, token, user};
use crate::auth::SessionRecord;
use crate::error::Error;
use crate::store::Store;

/// Runs `create`, which must succeed, and again, which must be refused as a conflict
/// (`what`) and change nothing.
async fn created_once<F>(store: &dyn Store, what: &str, create: impl Fn() -> F)
where
    F: Future<Output = Result<(), Error>>,
{
    create()
        .await
        .unwrap_or_else(|error| panic!("{what}: the first time: {error:?}"));
    refused_as(store, Conflict, what, create()).await;
}

/// First start: the first admin user and token are stored once, and only on a database
/// with neither. Run on a store without users or tokens.
pub async fn bootstrap_once(store: &dyn Store) {
    let first = store
        .bootstrap(&user("admin", "admin"), &token("boot"), change("bootstrap"))
        .await
        .expect("bootstrap an empty store");
    assert!(first, "bootstrap stores on an empty database");
    let again = store
        .bootstrap(
            &user("admin2", "admin"),
            &token("boot2"),
            change("bootstrap"),
        )
        .await
        .expect("bootstrap again");
    assert!(
        !again,
        "bootstrap changes nothing once a user or token exists"
    );
    let auth = store.load_auth().await.expect("load auth");
    assert_eq!(auth.users.len(), 1);
    assert_eq!(auth.tokens.len(), 1);
    assert_eq!(
        auth.tokens[0].verifier,
        "ab".repeat(32),
        "the verifier is kept"
    );
}

/// Tokens: create (unique ids), list, last use, revocation, the auth version, audit.
pub async fn tokens(store: &dyn Store) {
    let start = store.auth_version().await.expect("auth version");
    let config = store.version().await.expect("version");
    let t = token("tok-a");
    let create = || store.create_token(&t, change("token.created"));
    created_once(store, "a token id twice", create).await;
    let auth = store.load_auth().await.expect("load auth");
    assert_eq!(
        auth.version,
        start + 1,
        "a token change raises the auth version"
    );
    let stored = auth
        .tokens
        .iter()
        .find(|x| x.id == "tok-a")
        .expect("stored");
    assert_eq!(stored, &t, "a token reads back as written");
    assert_eq!(
        store.version().await.expect("version"),
        config,
        "tokens are not configuration"
    );

    let at = crate::rules::now();
    store.touch_token("tok-a", at).await.expect("touch");
    let revoked = store
        .revoke_token("tok-a", at, change("token.revoked"))
        .await
        .expect("revoke");
    assert_eq!(revoked.last_used_at, Some(at));
    assert_eq!(revoked.revoked_at, Some(at));
    let later = store
        .revoke_token("tok-a", at + TimeDelta::hours(1), change("token.revoked"))
        .await
        .expect("revoke again");
    assert_eq!(
        later.revoked_at,
        Some(at),
        "a revoked token keeps its first revocation time"
    );
    let missing = store
        .revoke_token("no-such", at, change("token.revoked"))
        .await;
    NotFound.assert(missing, "revoking a missing token");
    let entries = newest_audit(store, 10).await;
    let entry = entries
        .iter()
        .find(|e| e.action == "token.created")
        .expect("audited");
    let after = entry.after.as_ref().expect("after").to_string();
    assert!(
        !after.contains(&"ab".repeat(32)),
        "the audit log holds no verifier: {after}"
    );
}

/// Users and sessions: create, update (ending other sessions), delete (ending all).
pub async fn users_and_sessions(store: &dyn Store) {
    let u = user("ana", "editor");
    let create = || store.create_user(&u, change("user.created"));
    created_once(store, "a user twice", create).await;
    let now = crate::rules::now();
    let session = |id: &str| SessionRecord {
        id_hash: id.to_owned(),
        user: "ana".into(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + TimeDelta::hours(8),
    };
    for id in ["s1", "s2", "s3"] {
        store
            .create_session(&session(id))
            .await
            .expect("create a session");
    }
    let stored = |id| async move { store.session(id).await.expect("read a session") };
    assert_eq!(stored("s1").await, Some(session("s1")));
    let later = now + TimeDelta::minutes(5);
    store.touch_session("s1", later).await.expect("touch");
    assert_eq!(stored("s1").await.map(|s| s.last_seen_at), Some(later));

    let mut changed = u.clone();
    changed.role = "viewer".into();
    changed.password_hash = "$argon2id$changed".into();
    changed.updated_at = crate::rules::now();
    store
        .update_user(&changed, Some(Some("s2")), change("user.updated"))
        .await
        .expect("update");
    assert!(stored("s1").await.is_none(), "other sessions end");
    assert!(stored("s2").await.is_some(), "the kept one stays");
    let auth = store.load_auth().await.expect("load auth");
    assert_eq!(auth.users.iter().find(|x| x.name == "ana"), Some(&changed));
    let missing = store
        .update_user(&user("nobody", "viewer"), None, change("user.updated"))
        .await;
    NotFound.assert(missing, "updating a missing user");

    store.delete_session("s2").await.expect("delete a session");
    assert!(stored("s2").await.is_none());
    store.create_session(&session("s4")).await.expect("create");
    store
        .delete_user("ana", change("user.deleted"))
        .await
        .expect("delete");
    assert!(
        stored("s4").await.is_none(),
        "a deleted user's sessions end"
    );
    let missing = store.delete_user("ana", change("user.deleted")).await;
    NotFound.assert(missing, "deleting a deleted user");
}

/// Protecting an environment is a configuration change, audited; the flag reads it back.
pub async fn protected_environments(store: &dyn Store) {
    create_environment(store, "env-protected").await;
    let before = store.version().await.expect("version");
    let written = store
        .set_environment_protected("env-protected", true, change("environment.protected"))
        .await
        .expect("protect");
    assert_eq!(written.config_version, before + 1);
    assert!(environment(store, "env-protected").await.protected);
    let missing = store
        .set_environment_protected("env-nope", true, change("environment.protected"))
        .await;
    NotFound.assert(missing, "protecting a missing environment");
    assert_eq!(
        store.version().await.expect("version"),
        before + 1,
        "a refused change changes nothing"
    );
}
