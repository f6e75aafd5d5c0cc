//! Segments, environments and imports.

use super::asserts::Refusal::{Conflict, NotFound};
use super::asserts::{
    assert_written, audit, each_refused_as, newest_audit, record, refused, refused_as,
};
use super::fixtures::{change, create_environment, create_segment, flag, segment};
use crate::records::{AuditFilter, Expect, SegmentRecord};
use crate::store::Store;

/// Segments: create, update, overwrite and delete, with the same [`Expect`] rules as flags.
pub async fn segments(store: &dyn Store) {
    let name = "beta-testers";
    let (one, two, three) = (segment("one"), segment("two"), segment("three"));
    let put = |segment, expect| store.put_segment(name, segment, expect, change("segment.updated"));
    let start = store.version().await.expect("version");
    let written = put(&one, Expect::Absent).await.expect("create a segment");
    assert_written(written, 1, start + 1, "creating a segment");
    // The segment as loaded, which must hold `segment` at `version` (`what`).
    let loaded_as = async |segment, version, what: &str| {
        let loaded = loaded_segment(store, name)
            .await
            .unwrap_or_else(|| panic!("{what} is loaded"));
        assert_eq!(
            (&loaded.segment, loaded.version),
            (segment, version),
            "{what}"
        );
        loaded
    };
    let loaded = loaded_as(&one, 1, "the created segment").await;
    assert_eq!(
        loaded.created_at, loaded.updated_at,
        "a new segment was updated when created"
    );

    refused_as(
        store,
        Conflict,
        "creating an existing segment",
        put(&two, Expect::Absent),
    )
    .await;
    assert_eq!(
        put(&two, Expect::Version(1)).await.expect("update").version,
        2,
        "updating a segment"
    );
    let error = refused_as(
        store,
        Conflict,
        "updating a segment from a stale version",
        put(&three, Expect::Version(1)),
    )
    .await;
    assert!(
        error.to_string().contains("has version 2, not 1"),
        "{error}"
    );
    assert_eq!(
        put(&three, Expect::Any).await.expect("overwrite").version,
        3,
        "overwriting a segment"
    );
    let loaded_again = loaded_as(&three, 3, "the updated segment").await;
    assert_eq!(
        loaded_again.created_at, loaded.created_at,
        "updating keeps created_at"
    );

    each_refused_as(
        store,
        [
            (
                NotFound,
                "updating a missing segment",
                store.put_segment(
                    "no-such-segment",
                    &one,
                    Expect::Version(1),
                    change("segment.updated"),
                ),
            ),
            (
                Conflict,
                "deleting a segment from a stale version",
                store.delete_segment(name, Expect::Version(2), change("segment.deleted")),
            ),
        ],
    )
    .await;
    let written = store
        .delete_segment(name, Expect::Version(3), change("segment.deleted"))
        .await
        .expect("delete a segment");
    assert_eq!(written.version, 0, "a deletion writes version 0");
    assert_eq!(
        loaded_segment(store, name).await,
        None,
        "a deleted segment is not loaded"
    );
    refused_as(
        store,
        NotFound,
        "deleting a deleted segment",
        store.delete_segment(name, Expect::Any, change("segment.deleted")),
    )
    .await;

    let entries = newest_audit(store, 20).await;
    let mine: Vec<_> = entries
        .iter()
        .filter(|e| e.segment.as_deref() == Some(name))
        .collect();
    let json = |s| Some(serde_json::to_value(s).expect("a segment serializes"));
    let summary: Vec<_> = mine
        .iter()
        .map(|e| (e.flag.clone(), e.before.clone(), e.after.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (None, json(&three), None),
            (None, json(&two), json(&three)),
            (None, json(&one), json(&two)),
            (None, None, json(&one)),
        ],
        "a segment's audit entries, newest first"
    );
}

/// Environments: created once, listed by name, audited; a second creation conflicts.
pub async fn environments(store: &dyn Store) {
    let start = store.version().await.expect("version");
    for name in ["env-staging", "env-development"] {
        create_environment(store, name).await;
    }
    let state = store.load().await.expect("load");
    assert_eq!(state.version, start + 2, "each environment is one write");
    let names: Vec<_> = state.environments.iter().map(|e| e.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "environments are loaded in name order");
    assert!(
        names.contains(&"env-staging") && names.contains(&"env-development"),
        "{names:?}"
    );

    refused_as(
        store,
        Conflict,
        "creating an existing environment",
        store.create_environment("env-staging", change("environment.created")),
    )
    .await;

    let by_environment = AuditFilter {
        environment: Some("env-staging".to_owned()),
        ..AuditFilter::default()
    };
    let entries = audit(store, by_environment).await;
    assert_eq!(
        entries.len(),
        1,
        "one audit entry for the environment: {entries:?}"
    );
    assert_eq!(entries[0].action, "environment.created");
    assert_eq!(entries[0].config_version, start + 1);
}

/// An import writes everything in one transaction with one entry per item, un-archives
/// the flags it overwrites, and when it fails part-way leaves nothing behind.
pub async fn import(store: &dyn Store) {
    let (old, new) = (flag("old"), flag("new"));
    let old_segment = segment("old");
    store
        .put_flag(
            "imp-existing",
            &old,
            true,
            Expect::Absent,
            change("flag.created"),
        )
        .await
        .expect("create an archived flag");
    create_segment(store, "imp-seg-existing", &old_segment).await;
    let start = store.version().await.expect("version");
    let flags = [
        ("imp-new".to_owned(), new.clone()),
        ("imp-existing".to_owned(), new.clone()),
    ];
    let segments = [
        ("imp-seg-new".to_owned(), segment("new")),
        ("imp-seg-existing".to_owned(), segment("new")),
    ];
    let written = store
        .import(&flags, &segments, change("import"))
        .await
        .expect("import");
    assert_eq!(written.config_version, start + 1, "an import is one write");
    assert_eq!(store.version().await.expect("version"), start + 1);

    let created = record(store, "imp-new")
        .await
        .expect("an imported flag is loaded");
    assert_eq!(
        (&created.flag, created.version, created.archived),
        (&new, 1, false),
        "a new imported flag"
    );
    let overwritten = record(store, "imp-existing")
        .await
        .expect("an overwritten flag is loaded");
    assert_eq!(
        (&overwritten.flag, overwritten.version, overwritten.archived),
        (&new, 2, false),
        "an imported flag overwrites and un-archives"
    );
    for name in ["imp-seg-new", "imp-seg-existing"] {
        let loaded = loaded_segment(store, name)
            .await
            .expect("an imported segment is loaded");
        assert_eq!(loaded.segment, segment("new"), "imported segment {name}");
    }

    let entries = newest_audit(store, 10).await;
    let imported: Vec<_> = entries
        .iter()
        .filter(|e| e.config_version == written.config_version)
        .collect();
    assert_eq!(
        imported.len(),
        4,
        "one audit entry per imported flag and segment: {imported:?}"
    );
    assert!(
        imported.iter().all(|e| e.action == "import"),
        "{imported:?}"
    );
    let existing = imported
        .iter()
        .find(|e| e.flag.as_deref() == Some("imp-existing"))
        .expect("an entry for the overwritten flag");
    assert_eq!(
        existing.before,
        Some(serde_json::to_value(&old).expect("serialize")),
        "before of an overwrite"
    );
    let fresh = imported
        .iter()
        .find(|e| e.flag.as_deref() == Some("imp-new"))
        .expect("an entry for the new flag");
    assert_eq!(fresh.before, None, "before of a creation");

    // An empty key breaks the schema's CHECK constraint after the items before it were
    // written: the whole import must roll back.
    let half = [
        ("imp-half".to_owned(), new.clone()),
        (String::new(), new.clone()),
    ];
    let half_segments = [("imp-seg-half".to_owned(), segment("half"))];
    refused(
        store,
        "an import that failed part-way",
        store.import(&half, &half_segments, change("import")),
    )
    .await;
    assert!(
        store
            .flag_versions("imp-half")
            .await
            .expect("flag_versions")
            .is_empty(),
        "a failed import leaves no flag versions"
    );
    refused(
        store,
        "an import whose segment failed",
        store.import(&flags, &[(String::new(), segment("bad"))], change("import")),
    )
    .await;
}

async fn loaded_segment(store: &dyn Store, name: &str) -> Option<SegmentRecord> {
    let state = store.load().await.expect("load");
    let names: Vec<_> = state.segments.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.windows(2).all(|w| w[0] < w[1]),
        "segments are loaded in name order: {names:?}"
    );
    state.segments.into_iter().find(|s| s.name == name)
}
