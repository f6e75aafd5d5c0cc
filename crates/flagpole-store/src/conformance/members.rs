//! What access records hold of projects: memberships, users with no server-wide role,
//! and the projects and owner of a token.

use super::asserts::Refusal::NotFound;
use super::asserts::{newest_audit, refused_as};
use super::fixtures::{change, create_project, token, user};
use crate::auth::{MemberRecord, TokenRecord};
use crate::records::Expect;
use crate::store::Store;

/// The memberships of users whose name starts with `prefix`, as (project, user, role).
async fn members(store: &dyn Store, prefix: &str) -> Vec<(String, String, String)> {
    let auth = store.load_auth().await.expect("load auth");
    let of = |m: &MemberRecord| m.user.starts_with(prefix);
    let triple = |m: MemberRecord| (m.project, m.user, m.role);
    auth.members.into_iter().filter(of).map(triple).collect()
}

/// `(project, user, role)` triples as [`members`] returns them.
fn triples(expected: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    let triple = |&(p, u, r): &(&str, &str, &str)| (p.to_owned(), u.to_owned(), r.to_owned());
    expected.iter().map(triple).collect()
}

/// Memberships: added, their role replaced (keeping when they began), ended; refused for
/// a missing user, project or membership; listed in project, then user order; audited
/// with their project; access changes (the auth version, not the configuration
/// version); gone with their user and with their project.
pub async fn memberships(store: &dyn Store) {
    let (one, two) = ("proj-members", "proj-members-2");
    create_project(store, one).await;
    create_project(store, two).await;
    for (name, role) in [("mem-ana", "member"), ("mem-bob", "viewer")] {
        let created = user(name, role);
        let create = store.create_user(&created, change("user.created"));
        create.await.expect("create a user");
    }
    let auth = store.load_auth().await.expect("load auth");
    let ana = auth
        .users
        .iter()
        .find(|u| u.name == "mem-ana")
        .expect("ana");
    assert_eq!(ana.role, "member", "a user may have no server-wide role");

    let config = store.version().await.expect("version");
    let start = store.auth_version().await.expect("auth version");
    let set = |project, user, role| store.set_member(project, user, role, change("member.set"));
    set(one, "mem-ana", Some("editor"))
        .await
        .expect("add a member");
    assert_eq!(
        store.auth_version().await.expect("auth version"),
        start + 1,
        "a membership raises the auth version"
    );
    assert_eq!(
        store.version().await.expect("version"),
        config,
        "not configuration"
    );
    let first = store.load_auth().await.expect("load auth").members;
    let began = first
        .iter()
        .find(|m| m.user == "mem-ana")
        .map(|m| m.created_at);
    set(one, "mem-ana", Some("admin"))
        .await
        .expect("replace the role");
    set(one, "mem-bob", Some("viewer"))
        .await
        .expect("add another");
    set(two, "mem-ana", Some("viewer"))
        .await
        .expect("add to another project");
    let expected = [
        (one, "mem-ana", "admin"),
        (one, "mem-bob", "viewer"),
        (two, "mem-ana", "viewer"),
    ];
    assert_eq!(members(store, "mem-").await, triples(&expected), "in order");
    let now = store.load_auth().await.expect("load auth").members;
    let still = now.iter().find(|m| m.user == "mem-ana" && m.project == one);
    assert_eq!(
        still.map(|m| m.created_at),
        began,
        "a new role keeps the start"
    );

    let entry = newest_audit(store, 1).await.pop().expect("audited");
    assert_eq!(
        (entry.action.as_str(), entry.project.as_deref(), entry.flag),
        ("member.set", Some(two), None),
        "a membership is audited with its project"
    );
    let after = entry.after.expect("after");
    assert_eq!(
        (&after["user"], &after["role"]),
        (&"mem-ana".into(), &"viewer".into())
    );

    set(one, "mem-bob", None).await.expect("end a membership");
    let expected = [(one, "mem-ana", "admin"), (two, "mem-ana", "viewer")];
    assert_eq!(members(store, "mem-").await, triples(&expected), "ended");
    for (what, project, user, role) in [
        ("ending a membership there is not", one, "mem-bob", None),
        ("a missing user", one, "mem-nobody", Some("viewer")),
        (
            "a missing project",
            "proj-nowhere",
            "mem-bob",
            Some("viewer"),
        ),
    ] {
        refused_as(store, NotFound, what, set(project, user, role)).await;
    }

    store
        .delete_user("mem-ana", change("user.deleted"))
        .await
        .expect("delete a user");
    assert!(
        members(store, "mem-").await.is_empty(),
        "gone with their user"
    );
    set(two, "mem-bob", Some("editor"))
        .await
        .expect("add to the second project");
    let before = store.auth_version().await.expect("auth version");
    let deleted = store.delete_project(two, Expect::Any, change("project.deleted"));
    deleted.await.expect("delete the project");
    assert!(
        members(store, "mem-").await.is_empty(),
        "gone with their project"
    );
    assert_eq!(
        store.auth_version().await.expect("auth version"),
        before + 1,
        "deleting a project raises the auth version"
    );
}

/// A token keeps the projects it reaches and its owner; a token written before projects
/// (JSON without them) reaches every project and is a service account's.
pub async fn token_scope(store: &dyn Store) {
    let scoped = TokenRecord {
        kind: "admin".into(),
        environment: None,
        role: Some("editor".into()),
        origins: vec![],
        projects: vec!["proj-a".into(), "proj-b".into()],
        owner: Some("ana".into()),
        ..token("tok-scoped")
    };
    let created = store.create_token(&scoped, change("token.created"));
    created.await.expect("create a scoped token");
    let auth = store.load_auth().await.expect("load auth");
    let stored = auth.tokens.iter().find(|t| t.id == "tok-scoped");
    assert_eq!(
        stored,
        Some(&scoped),
        "a token keeps its projects and owner"
    );

    let mut old = serde_json::to_value(&scoped).expect("serializes");
    let fields = old.as_object_mut().expect("an object");
    fields.remove("projects");
    fields.remove("owner");
    let old: TokenRecord = serde_json::from_value(old).expect("old JSON reads");
    let expected = (vec![flagpole_core::GLOBAL_PROJECT.to_owned()], None);
    assert_eq!(
        (old.projects, old.owner),
        expected,
        "old JSON: every project"
    );
}
