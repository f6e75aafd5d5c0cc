//! The audit log and its filters, and the configuration version.

use super::{change, flag, refused, segment};
use crate::{AuditEntry, AuditFilter, Change, Expect, Store};

/// Every write records one entry, with before and after; every filter works, newest first.
pub async fn audit_entries(store: &dyn Store) {
    let key = "audited";
    let environment = "audit-production";
    let (a, b) = (flag("a"), flag("b"));
    let as_json = |flag| serde_json::to_value(flag).expect("a flag serializes");
    let created = store
        .put_flag(key, &a, false, Expect::Absent, change("flag.created"))
        .await
        .expect("create");
    let in_environment = Change {
        address: None,
        actor: "bob",
        action: "flag.updated",
        environment: Some(environment),
    };
    let updated = store
        .put_flag(key, &b, false, Expect::Version(1), in_environment)
        .await
        .expect("update in one environment");
    let archived = store
        .put_flag(key, &b, true, Expect::Version(2), change("flag.archived"))
        .await
        .expect("archive");
    let deleted = store
        .delete_flag(key, Expect::Version(3), change("flag.deleted"))
        .await
        .expect("delete");

    let entries = audit(
        store,
        AuditFilter {
            flag: Some(key.to_owned()),
            ..AuditFilter::default()
        },
    )
    .await;
    let summary: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.actor.as_str(),
                e.flag.as_deref(),
                e.segment.as_deref(),
                e.environment.as_deref(),
                e.before.clone(),
                e.after.clone(),
                e.config_version,
            )
        })
        .collect();
    let (actor, flag_key) = (super::ACTOR, Some(key));
    assert_eq!(
        summary,
        [
            (
                "flag.deleted",
                actor,
                flag_key,
                None,
                None,
                Some(as_json(&b)),
                None,
                deleted.config_version
            ),
            (
                "flag.archived",
                actor,
                flag_key,
                None,
                None,
                Some(as_json(&b)),
                Some(as_json(&b)),
                archived.config_version
            ),
            (
                "flag.updated",
                "bob",
                flag_key,
                None,
                Some(environment),
                Some(as_json(&a)),
                Some(as_json(&b)),
                updated.config_version
            ),
            (
                "flag.created",
                actor,
                flag_key,
                None,
                None,
                None,
                Some(as_json(&a)),
                created.config_version
            ),
        ],
        "a flag's audit entries, newest first"
    );
    assert!(
        entries.windows(2).all(|w| w[0].id > w[1].id),
        "newest first means ids decrease"
    );
    assert!(
        entries.windows(2).all(|w| w[0].at >= w[1].at),
        "newest first means times decrease"
    );

    let newest = audit(store, AuditFilter::default()).await;
    assert_eq!(
        newest.first(),
        entries.first(),
        "unfiltered, the latest write comes first"
    );

    let by_environment = audit(
        store,
        AuditFilter {
            environment: Some(environment.to_owned()),
            ..AuditFilter::default()
        },
    )
    .await;
    assert_eq!(by_environment, entries[2..3], "filtered by environment");
    let both = audit(
        store,
        AuditFilter {
            flag: Some(key.to_owned()),
            environment: Some(environment.to_owned()),
            ..AuditFilter::default()
        },
    )
    .await;
    assert_eq!(both, entries[2..3], "filtered by flag and environment");
    let none = audit(
        store,
        AuditFilter {
            flag: Some(key.to_owned()),
            environment: Some("audit-nowhere".to_owned()),
            ..AuditFilter::default()
        },
    )
    .await;
    assert!(none.is_empty(), "filters combine with AND: {none:?}");

    let limited = audit(
        store,
        AuditFilter {
            flag: Some(key.to_owned()),
            limit: Some(2),
            ..AuditFilter::default()
        },
    )
    .await;
    assert_eq!(limited, entries[..2], "a limit keeps the newest");

    for pivot in &entries {
        let since = audit(
            store,
            AuditFilter {
                flag: Some(key.to_owned()),
                since: Some(pivot.at),
                ..AuditFilter::default()
            },
        )
        .await;
        let expected: Vec<_> = entries
            .iter()
            .filter(|e| e.at >= pivot.at)
            .cloned()
            .collect();
        assert_eq!(since, expected, "since {} (inclusive)", pivot.at);
        let until = audit(
            store,
            AuditFilter {
                flag: Some(key.to_owned()),
                until: Some(pivot.at),
                ..AuditFilter::default()
            },
        )
        .await;
        let expected: Vec<_> = entries
            .iter()
            .filter(|e| e.at < pivot.at)
            .cloned()
            .collect();
        assert_eq!(until, expected, "until {} (exclusive)", pivot.at);
    }
    let (oldest, newest) = (entries[3].at, entries[0].at);
    let window = audit(
        store,
        AuditFilter {
            flag: Some(key.to_owned()),
            since: Some(oldest),
            until: Some(newest),
            ..AuditFilter::default()
        },
    )
    .await;
    let expected: Vec<_> = entries
        .iter()
        .filter(|e| e.at >= oldest && e.at < newest)
        .cloned()
        .collect();
    assert_eq!(window, expected, "since and until together");
    if oldest < newest {
        assert!(
            window.len() < entries.len(),
            "the window leaves out the newest entry"
        );
    }
}

/// The configuration version rises by exactly one per committed write, is what the write
/// returned, and does not move on reads or refused writes.
pub async fn config_version(store: &dyn Store) {
    let mut expected = store.version().await.expect("version");
    let mut wrote = |what: &str, config_version: i64| {
        expected += 1;
        assert_eq!(
            config_version, expected,
            "{what} raises the configuration version by one"
        );
        expected
    };
    let w = store
        .create_environment("version-env", change("environment.created"))
        .await
        .expect("environment");
    let now = wrote("creating an environment", w.config_version);
    assert_reads_do_not_write(store, now).await;
    let f = flag("versioned");
    let w = store
        .put_flag(
            "versioned",
            &f,
            false,
            Expect::Absent,
            change("flag.created"),
        )
        .await
        .expect("flag");
    let now = wrote("creating a flag", w.config_version);
    assert_reads_do_not_write(store, now).await;
    let w = store
        .put_flag("versioned", &f, true, Expect::Any, change("flag.archived"))
        .await
        .expect("archive");
    let now = wrote("archiving a flag", w.config_version);
    assert_reads_do_not_write(store, now).await;
    let s = segment("versioned");
    let w = store
        .put_segment("versioned", &s, Expect::Absent, change("segment.created"))
        .await
        .expect("segment");
    let now = wrote("creating a segment", w.config_version);
    assert_reads_do_not_write(store, now).await;
    let w = store
        .delete_segment("versioned", Expect::Version(1), change("segment.deleted"))
        .await
        .expect("delete");
    let now = wrote("deleting a segment", w.config_version);
    assert_reads_do_not_write(store, now).await;
    let w = store
        .delete_flag("versioned", Expect::Any, change("flag.deleted"))
        .await
        .expect("delete flag");
    let now = wrote("deleting a flag", w.config_version);
    assert_reads_do_not_write(store, now).await;
    let w = store
        .import(
            &[
                ("versioned".to_owned(), f.clone()),
                ("versioned-2".to_owned(), f.clone()),
            ],
            &[],
            change("import"),
        )
        .await
        .expect("import");
    let now = wrote("an import of two flags", w.config_version);
    assert_reads_do_not_write(store, now).await;
    refused(
        store,
        "a refused write",
        store.put_flag(
            "versioned",
            &f,
            false,
            Expect::Absent,
            change("flag.created"),
        ),
    )
    .await;
    assert_reads_do_not_write(store, now).await;
}

/// At most 1000 entries per read, 100 unless asked; an import writes one per item.
pub async fn audit_limits(store: &dyn Store) {
    let flags: Vec<_> = (0..1001)
        .map(|i| (format!("bulk-{i:04}"), flag("bulk")))
        .collect();
    let written = store
        .import(&flags, &[], change("import"))
        .await
        .expect("import 1001 flags");
    let all = audit(store, AuditFilter::default()).await;
    assert_eq!(all.len(), 100, "100 entries unless a limit says otherwise");
    assert_eq!(
        all[0].flag.as_deref(),
        Some("bulk-1000"),
        "the last flag imported is the newest entry"
    );
    assert!(all
        .iter()
        .all(|e| e.config_version == written.config_version && e.action == "import"));
    let most = audit(
        store,
        AuditFilter {
            limit: Some(5000),
            ..AuditFilter::default()
        },
    )
    .await;
    assert_eq!(most.len(), 1000, "at most 1000 entries in one read");
    assert!(most.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let zero = audit(
        store,
        AuditFilter {
            limit: Some(0),
            ..AuditFilter::default()
        },
    )
    .await;
    assert!(zero.is_empty(), "a limit of 0 reads nothing");
}

async fn audit(store: &dyn Store, filter: AuditFilter) -> Vec<AuditEntry> {
    store.audit(&filter).await.expect("read the audit log")
}

/// Reads every way there is and checks that none moved the configuration version.
async fn assert_reads_do_not_write(store: &dyn Store, expected: i64) {
    let state = store.load().await.expect("load");
    assert_eq!(
        state.version, expected,
        "load returns the current configuration version"
    );
    store.audit(&AuditFilter::default()).await.expect("audit");
    store
        .flag_versions("versioned")
        .await
        .expect("flag_versions");
    store
        .flag_version("versioned", 1)
        .await
        .expect("flag_version");
    store.check_integrity().await.expect("check_integrity");
    assert_eq!(
        store.version().await.expect("version"),
        expected,
        "reads leave the configuration version alone"
    );
}
