//! Flags: their lifecycle, the optimistic [`Expect`] checks, and their stored versions.

use super::{assert_conflict, assert_not_found, change, flag, record, refused, ACTOR};
use crate::{Change, Expect, Store, Written};

/// Create, read, update, archive, unarchive and delete one flag.
pub async fn flag_lifecycle(store: &dyn Store) {
    let key = "lifecycle";
    let start = store.version().await.expect("version");
    let first = flag("first");
    let written = store
        .put_flag(key, &first, false, Expect::Absent, change("flag.created"))
        .await
        .expect("create a flag");
    assert_eq!(
        written,
        Written {
            version: 1,
            config_version: start + 1,
            at: written.at,
        },
        "creating a flag"
    );
    let created = record(store, key).await.expect("a created flag is loaded");
    assert_eq!(
        (created.key.as_str(), &created.flag),
        (key, &first),
        "the created flag"
    );
    assert_eq!(
        (created.version, created.archived),
        (1, false),
        "the created flag"
    );
    assert_eq!(
        created.created_at, created.updated_at,
        "a new flag was updated when created"
    );

    let second = flag("second");
    let written = store
        .put_flag(
            key,
            &second,
            false,
            Expect::Version(1),
            change("flag.updated"),
        )
        .await
        .expect("update a flag");
    assert_eq!(written.version, 2, "updating raises the flag's version");
    let updated = record(store, key).await.expect("an updated flag is loaded");
    assert_eq!(
        (&updated.flag, updated.version),
        (&second, 2),
        "the updated flag"
    );
    assert_eq!(
        updated.created_at, created.created_at,
        "updating keeps created_at"
    );
    assert!(
        updated.updated_at >= created.updated_at,
        "updating moves updated_at forward"
    );

    let written = store
        .put_flag(
            key,
            &second,
            true,
            Expect::Version(2),
            change("flag.archived"),
        )
        .await
        .expect("archive a flag");
    assert_eq!(written.version, 3, "archiving raises the flag's version");
    let archived = record(store, key)
        .await
        .expect("an archived flag is still loaded");
    assert!(archived.archived, "the archived flag is marked archived");
    assert_eq!(archived.flag, second, "archiving keeps the flag");

    let written = store
        .put_flag(
            key,
            &second,
            false,
            Expect::Version(3),
            change("flag.unarchived"),
        )
        .await
        .expect("unarchive a flag");
    assert_eq!(written.version, 4, "unarchiving raises the flag's version");
    let unarchived = record(store, key)
        .await
        .expect("an unarchived flag is loaded");
    assert!(!unarchived.archived, "the unarchived flag is live");

    let written = store
        .delete_flag(key, Expect::Version(4), change("flag.deleted"))
        .await
        .expect("delete a flag");
    assert_eq!(
        written,
        Written {
            version: 0,
            config_version: start + 5,
            at: written.at,
        },
        "deleting a flag"
    );
    assert_eq!(
        record(store, key).await,
        None,
        "a deleted flag is not loaded"
    );
    let error = refused(
        store,
        "deleting a deleted flag",
        store.delete_flag(key, Expect::Any, change("flag.deleted")),
    )
    .await;
    assert_not_found(&error, "deleting a deleted flag");
    let error = refused(
        store,
        "updating a deleted flag",
        store.put_flag(
            key,
            &first,
            false,
            Expect::Version(4),
            change("flag.updated"),
        ),
    )
    .await;
    assert_not_found(&error, "updating a deleted flag");
}

/// `Absent`, `Version` and `Any`, and that a refused write changes nothing at all.
pub async fn expect_semantics(store: &dyn Store) {
    let key = "expect";
    let (one, two, three) = (flag("one"), flag("two"), flag("three"));
    let put = |flag, archived, expect| {
        store.put_flag(key, flag, archived, expect, change("flag.updated"))
    };
    put(&one, false, Expect::Absent).await.expect("create");

    let error = refused(
        store,
        "creating an existing flag",
        put(&two, false, Expect::Absent),
    )
    .await;
    assert_conflict(&error, "creating an existing flag");

    put(&two, false, Expect::Version(1))
        .await
        .expect("update at the stored version");
    let error = refused(
        store,
        "updating from a stale version",
        put(&three, false, Expect::Version(1)),
    )
    .await;
    assert_conflict(&error, "updating from a stale version");
    let message = error.to_string();
    assert!(
        message.contains("has version 2, not 1") && message.contains("reload and retry"),
        "a version conflict says what is stored and what to do: {message:?}"
    );
    let error = refused(
        store,
        "updating from a future version",
        put(&three, false, Expect::Version(3)),
    )
    .await;
    assert_conflict(&error, "updating from a future version");

    let written = put(&three, false, Expect::Any)
        .await
        .expect("overwrite with Any");
    assert_eq!(written.version, 3, "Any overwrites and raises the version");
    assert_eq!(
        record(store, key).await.map(|r| r.flag),
        Some(three.clone()),
        "Any overwrote the flag"
    );
    let written = store
        .put_flag(
            "expect-any",
            &one,
            false,
            Expect::Any,
            change("flag.created"),
        )
        .await
        .expect("create with Any");
    assert_eq!(
        written.version, 1,
        "Any creates a missing flag at version 1"
    );

    let error = refused(
        store,
        "deleting from a stale version",
        store.delete_flag(key, Expect::Version(2), change("flag.deleted")),
    )
    .await;
    assert_conflict(&error, "deleting from a stale version");
    let error = refused(
        store,
        "deleting while expecting absence",
        store.delete_flag(key, Expect::Absent, change("flag.deleted")),
    )
    .await;
    assert_conflict(&error, "deleting while expecting absence");

    let missing = "expect-missing";
    let error = refused(
        store,
        "updating a missing flag",
        store.put_flag(
            missing,
            &one,
            false,
            Expect::Version(1),
            change("flag.updated"),
        ),
    )
    .await;
    assert_not_found(&error, "updating a missing flag");
    let error = refused(
        store,
        "deleting a missing flag",
        store.delete_flag(missing, Expect::Any, change("flag.deleted")),
    )
    .await;
    assert_not_found(&error, "deleting a missing flag");

    put(&three, true, Expect::Version(3))
        .await
        .expect("archive");
    let error = refused(
        store,
        "creating over an archived flag",
        put(&one, false, Expect::Absent),
    )
    .await;
    assert_conflict(&error, "creating over an archived flag");
    let error = refused(
        store,
        "unarchiving from a stale version",
        put(&three, false, Expect::Version(3)),
    )
    .await;
    assert_conflict(&error, "unarchiving from a stale version");
}

/// Every change stores a version; deletions are versions too, and a flag created again
/// after deletion continues its numbering.
pub async fn flag_versions(store: &dyn Store) {
    let key = "history";
    let (a, b, c) = (flag("a"), flag("b"), flag("c"));
    let by = |actor| Change {
        address: None,
        actor,
        action: "flag.updated",
        environment: None,
    };
    store
        .put_flag(key, &a, false, Expect::Absent, by("alice"))
        .await
        .expect("create");
    store
        .put_flag(key, &b, false, Expect::Version(1), by("bob"))
        .await
        .expect("update");
    store
        .put_flag(key, &b, true, Expect::Version(2), by(ACTOR))
        .await
        .expect("archive");
    store
        .delete_flag(key, Expect::Version(3), by("carol"))
        .await
        .expect("delete");
    let written = store
        .put_flag(key, &c, false, Expect::Absent, by("dave"))
        .await
        .expect("create again after deletion");
    assert_eq!(
        written.version, 5,
        "a flag created again continues its version numbering"
    );
    let recreated = record(store, key)
        .await
        .expect("the flag created again is loaded");
    assert_eq!(
        recreated.version, 5,
        "the loaded flag has the continued version"
    );

    let versions = store.flag_versions(key).await.expect("flag_versions");
    let summary: Vec<_> = versions
        .iter()
        .map(|v| {
            (
                v.key.as_str(),
                v.version,
                v.flag.clone(),
                v.archived,
                v.actor.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (key, 1, Some(a), false, "alice"),
            (key, 2, Some(b.clone()), false, "bob"),
            (key, 3, Some(b), true, ACTOR),
            (key, 4, None, false, "carol"),
            (key, 5, Some(c), false, "dave"),
        ],
        "the versions of a flag, oldest first"
    );
    assert!(
        versions.windows(2).all(|w| w[0].at <= w[1].at),
        "versions are in time order"
    );
    assert!(
        recreated.created_at >= versions[3].at,
        "created again means created anew"
    );
    for version in &versions {
        let one = store
            .flag_version(key, version.version)
            .await
            .expect("flag_version");
        assert_eq!(
            one.as_ref(),
            Some(version),
            "flag_version({key}, {})",
            version.version
        );
    }
    assert_eq!(
        store.flag_version(key, 6).await.expect("flag_version"),
        None,
        "a version not yet written"
    );
    assert_eq!(
        store.flag_version(key, 0).await.expect("flag_version"),
        None,
        "version 0"
    );
    assert!(
        store
            .flag_versions("never-existed")
            .await
            .expect("flag_versions")
            .is_empty(),
        "a flag that never existed has no versions"
    );
}
