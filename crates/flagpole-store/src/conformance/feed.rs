//! The change feed: [`Store::changes_since`] names exactly what changed, as it is now, and
//! asks for a reload when environments or projects changed.

use super::asserts::record;
use super::fixtures::{
    change, create_flag, create_project, create_segment, flag, flag_in, segment, user,
};
use super::ACTOR;
use crate::records::{Change, Expect};
use crate::store::Store;

/// Flag and segment writes, deletions and imports appear in the feed with their current
/// records; an environment change asks for a reload; nothing after the current version.
pub async fn change_feed(store: &dyn Store) {
    let start = store.version().await.expect("version");
    let none = store.changes_since(start).await.expect("changes_since");
    assert_eq!(
        (
            none.version,
            none.reload,
            none.flags.len(),
            none.segments.len()
        ),
        (start, false, 0, 0),
        "nothing changed after the current version"
    );
    create_flag(store, "feed-a", &flag("a1")).await;
    create_flag(store, "feed-b", &flag("b1")).await;
    let after_a = store.version().await.expect("version");
    store
        .put_flag(
            "feed-a",
            &flag("a2"),
            false,
            Expect::Any,
            change("flag.updated"),
        )
        .await
        .expect("update feed-a");
    store
        .delete_flag("feed-b", Expect::Any, change("flag.deleted"))
        .await
        .expect("delete feed-b");
    create_segment(store, "feed-s", &segment("s")).await;
    let all = store.changes_since(start).await.expect("changes_since");
    assert_eq!(
        all.version,
        start + 5,
        "the feed reads up to the current version"
    );
    assert!(!all.reload, "flag and segment changes need no reload");
    let a = record(store, "feed-a").await.expect("feed-a");
    assert_eq!(
        all.flags,
        vec![
            ("feed-a".to_string(), Some(a.clone())),
            ("feed-b".to_string(), None)
        ],
        "each changed flag once, as it is now (None: deleted)"
    );
    let s = store.load().await.expect("load");
    let s = s.segments.into_iter().find(|s| s.name == "feed-s");
    assert_eq!(
        all.segments,
        vec![("feed-s".to_string(), s)],
        "the changed segment as it is now"
    );
    let later = store.changes_since(after_a).await.expect("changes_since");
    assert_eq!(
        names(&later.flags),
        ["feed-a", "feed-b"],
        "only what changed after the version asked for"
    );

    store
        .import(
            &[("feed-c".to_string(), flag("c"))],
            &[("feed-t".to_string(), segment("t"))],
            change("import"),
        )
        .await
        .expect("import");
    let imported = store
        .changes_since(all.version)
        .await
        .expect("changes_since");
    assert_eq!(
        (names(&imported.flags), names(&imported.segments)),
        (vec!["feed-c"], vec!["feed-t"]),
        "an import names every item it wrote"
    );

    let before_env = store.version().await.expect("version");
    let env_change = Change {
        actor: ACTOR,
        action: "environment.created",
        environment: Some("feed-env"),
        address: None,
    };
    store
        .create_environment("feed-env", env_change)
        .await
        .expect("create an environment");
    let env = store
        .changes_since(before_env)
        .await
        .expect("changes_since");
    assert!(
        env.reload && env.flags.is_empty() && env.version == before_env + 1,
        "an environment change asks for a reload: {env:?}"
    );
}

/// The names of the changed items, in the feed's order.
fn names<T>(changed: &[(String, Option<T>)]) -> Vec<&str> {
    changed.iter().map(|(name, _)| name.as_str()).collect()
}

/// A project change makes readers load everything again; a membership change is no
/// configuration change and asks for nothing.
pub async fn project_feed(store: &dyn Store) {
    let before = store.version().await.expect("version");
    create_project(store, "proj-feed").await;
    let changes = store.changes_since(before).await.expect("changes_since");
    assert!(
        changes.reload && changes.version == before + 1,
        "a project change asks for a reload: {changes:?}"
    );
    let user = user("feed-user", "member");
    store
        .create_user(&user, change("user.created"))
        .await
        .expect("create a user");
    let after_project = store.version().await.expect("version");
    create_flag(store, "feed-project-flag", &flag_in(Some("proj-feed"), "f")).await;
    let member = store.set_member(
        "proj-feed",
        "feed-user",
        Some("viewer"),
        change("member.added"),
    );
    member.await.expect("add a member");
    assert_eq!(
        store.version().await.expect("version"),
        after_project + 1,
        "a membership is not configuration"
    );
    let changes = store
        .changes_since(after_project)
        .await
        .expect("changes_since");
    let flags: Vec<&str> = changes.flags.iter().map(|(key, _)| key.as_str()).collect();
    assert!(
        !changes.reload && flags == ["feed-project-flag"] && changes.segments.is_empty(),
        "a membership change asks for no reload: {changes:?}"
    );
}
