//! Flags: their lifecycle, the optimistic [`Expect`] checks, and their stored versions.

use super::asserts::Refusal::{Conflict, NotFound};
use super::asserts::{assert_written, each_refused_as, record, refused_as};
use super::fixtures::{change, create_flag, flag};
use super::ACTOR;
use crate::records::{Change, Expect};
use crate::store::Store;

/// Create, read, update, archive, unarchive and delete one flag.
pub async fn flag_lifecycle(store: &dyn Store) {
    let key = "lifecycle";
    let start = store.version().await.expect("version");
    let first = flag("first");
    let put = |flag, archived, expect, action| {
        store.put_flag(key, flag, archived, expect, change(action))
    };
    let written = create_flag(store, key, &first).await;
    assert_written(written, 1, start + 1, "creating a flag");
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

    // Writes over version `from` (`what`), checks the flag's version was raised, and
    // returns the flag as loaded.
    let change_to = async |flag, archived, from: i64, action, what: &str| {
        let written = put(flag, archived, Expect::Version(from), action)
            .await
            .unwrap_or_else(|error| panic!("{what}: {error:?}"));
        assert_eq!(
            written.version,
            from + 1,
            "{what} raises the flag's version"
        );
        record(store, key)
            .await
            .unwrap_or_else(|| panic!("{what}: the flag is still loaded"))
    };

    let second = flag("second");
    let updated = change_to(&second, false, 1, "flag.updated", "updating").await;
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

    let archived = change_to(&second, true, 2, "flag.archived", "archiving").await;
    assert!(archived.archived, "the archived flag is marked archived");
    assert_eq!(archived.flag, second, "archiving keeps the flag");

    let unarchived = change_to(&second, false, 3, "flag.unarchived", "unarchiving").await;
    assert!(!unarchived.archived, "the unarchived flag is live");

    let written = store
        .delete_flag(key, Expect::Version(4), change("flag.deleted"))
        .await
        .expect("delete a flag");
    assert_written(written, 0, start + 5, "deleting a flag");
    assert_eq!(
        record(store, key).await,
        None,
        "a deleted flag is not loaded"
    );
    each_refused_as(
        store,
        [
            (
                NotFound,
                "deleting a deleted flag",
                store.delete_flag(key, Expect::Any, change("flag.deleted")),
            ),
            (
                NotFound,
                "updating a deleted flag",
                put(&first, false, Expect::Version(4), "flag.updated"),
            ),
        ],
    )
    .await;
}

/// `Absent`, `Version` and `Any`, and that a refused write changes nothing at all.
pub async fn expect_semantics(store: &dyn Store) {
    let key = "expect";
    let (one, two, three) = (flag("one"), flag("two"), flag("three"));
    let put = |flag, archived, expect| {
        store.put_flag(key, flag, archived, expect, change("flag.updated"))
    };
    put(&one, false, Expect::Absent).await.expect("create");

    refused_as(
        store,
        Conflict,
        "creating an existing flag",
        put(&two, false, Expect::Absent),
    )
    .await;

    put(&two, false, Expect::Version(1))
        .await
        .expect("update at the stored version");
    let error = refused_as(
        store,
        Conflict,
        "updating from a stale version",
        put(&three, false, Expect::Version(1)),
    )
    .await;
    let message = error.to_string();
    assert!(
        message.contains("has version 2, not 1") && message.contains("reload and retry"),
        "a version conflict says what is stored and what to do: {message:?}"
    );
    refused_as(
        store,
        Conflict,
        "updating from a future version",
        put(&three, false, Expect::Version(3)),
    )
    .await;

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

    let missing = "expect-missing";
    each_refused_as(
        store,
        [
            (
                Conflict,
                "deleting from a stale version",
                store.delete_flag(key, Expect::Version(2), change("flag.deleted")),
            ),
            (
                Conflict,
                "deleting while expecting absence",
                store.delete_flag(key, Expect::Absent, change("flag.deleted")),
            ),
            (
                NotFound,
                "updating a missing flag",
                store.put_flag(
                    missing,
                    &one,
                    false,
                    Expect::Version(1),
                    change("flag.updated"),
                ),
            ),
            (
                NotFound,
                "deleting a missing flag",
                store.delete_flag(missing, Expect::Any, change("flag.deleted")),
            ),
        ],
    )
    .await;

    put(&three, true, Expect::Version(3))
        .await
        .expect("archive");
    each_refused_as(
        store,
        [
            (
                Conflict,
                "creating over an archived flag",
                put(&one, false, Expect::Absent),
            ),
            (
                Conflict,
                "unarchiving from a stale version",
                put(&three, false, Expect::Version(3)),
            ),
        ],
    )
    .await;
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
    let put =
        |flag, archived, expect, actor| store.put_flag(key, flag, archived, expect, by(actor));
    put(&a, false, Expect::Absent, "alice")
        .await
        .expect("create");
    put(&b, false, Expect::Version(1), "bob")
        .await
        .expect("update");
    put(&b, true, Expect::Version(2), ACTOR)
        .await
        .expect("archive");
    store
        .delete_flag(key, Expect::Version(3), by("carol"))
        .await
        .expect("delete");
    let written = put(&c, false, Expect::Absent, "dave")
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
