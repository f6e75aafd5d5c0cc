//! The audit log and its filters, and the configuration version.

use std::future::Future;

use super::asserts::{audit, newest_audit, refused};
use super::fixtures::{change, create_flag, flag, segment};
use crate::error::Error;
use crate::records::{AuditEntry, AuditFilter, Change, Expect, Written};
use crate::store::Store;

/// Every write records one entry, with before and after; every filter works, newest first.
pub async fn audit_entries(store: &dyn Store) {
    let key = "audited";
    let environment = "audit-production";
    let (a, b) = (flag("a"), flag("b"));
    let as_json = |flag| serde_json::to_value(flag).expect("a flag serializes");
    let created = create_flag(store, key, &a).await;
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

    let of_flag = || AuditFilter {
        flag: Some(key.to_owned()),
        ..AuditFilter::default()
    };
    let entries = audit(store, of_flag()).await;
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

    let by_environment = AuditFilter {
        environment: Some(environment.to_owned()),
        ..AuditFilter::default()
    };
    let expected = &entries[2..3];
    assert_audit(store, by_environment, expected, "filtered by environment").await;
    let both = AuditFilter {
        environment: Some(environment.to_owned()),
        ..of_flag()
    };
    assert_audit(store, both, expected, "filtered by flag and environment").await;
    let none = AuditFilter {
        environment: Some("audit-nowhere".to_owned()),
        ..of_flag()
    };
    assert_audit(store, none, [], "filters combine with AND").await;
    let limited = AuditFilter {
        limit: Some(2),
        ..of_flag()
    };
    assert_audit(store, limited, &entries[..2], "a limit keeps the newest").await;

    for pivot in &entries {
        let since = AuditFilter {
            since: Some(pivot.at),
            ..of_flag()
        };
        let expected = entries.iter().filter(|e| e.at >= pivot.at);
        let what = format!("since {} (inclusive)", pivot.at);
        assert_audit(store, since, expected, &what).await;
        let until = AuditFilter {
            until: Some(pivot.at),
            ..of_flag()
        };
        let expected = entries.iter().filter(|e| e.at < pivot.at);
        let what = format!("until {} (exclusive)", pivot.at);
        assert_audit(store, until, expected, &what).await;
    }
    let (oldest, newest) = (entries[3].at, entries[0].at);
    let between = AuditFilter {
        since: Some(oldest),
        until: Some(newest),
        ..of_flag()
    };
    let expected = entries.iter().filter(|e| e.at >= oldest && e.at < newest);
    let window = assert_audit(store, between, expected, "since and until together").await;
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
    let mut at = store.version().await.expect("version");
    let write = store.create_environment("version-env", change("environment.created"));
    wrote(store, &mut at, "creating an environment", write).await;
    let f = flag("versioned");
    let write = store.put_flag(
        "versioned",
        &f,
        false,
        Expect::Absent,
        change("flag.created"),
    );
    wrote(store, &mut at, "creating a flag", write).await;
    let write = store.put_flag("versioned", &f, true, Expect::Any, change("flag.archived"));
    wrote(store, &mut at, "archiving a flag", write).await;
    let s = segment("versioned");
    let write = store.put_segment("versioned", &s, Expect::Absent, change("segment.created"));
    wrote(store, &mut at, "creating a segment", write).await;
    let write = store.delete_segment("versioned", Expect::Version(1), change("segment.deleted"));
    wrote(store, &mut at, "deleting a segment", write).await;
    let write = store.delete_flag("versioned", Expect::Any, change("flag.deleted"));
    wrote(store, &mut at, "deleting a flag", write).await;
    let two = [
        ("versioned".to_owned(), f.clone()),
        ("versioned-2".to_owned(), f.clone()),
    ];
    let write = store.import(&two, &[], change("import"));
    wrote(store, &mut at, "an import of two flags", write).await;
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
    assert_reads_do_not_write(store, at).await;
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
    let most = newest_audit(store, 5000).await;
    assert_eq!(most.len(), 1000, "at most 1000 entries in one read");
    assert!(most.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let zero = newest_audit(store, 0).await;
    assert!(zero.is_empty(), "a limit of 0 reads nothing");
}

/// Reads the audit log through `filter`, checks that it returns exactly `expected`, and
/// returns what it read.
async fn assert_audit<'a>(
    store: &dyn Store,
    filter: AuditFilter,
    expected: impl IntoIterator<Item = &'a AuditEntry>,
    what: &str,
) -> Vec<AuditEntry> {
    let found = audit(store, filter).await;
    let expected: Vec<AuditEntry> = expected.into_iter().cloned().collect();
    assert_eq!(found, expected, "{what}");
    found
}

/// Awaits `write` (`what`), checks that it raised the configuration version by exactly
/// one (moving `at` on), and that reads then leave the version alone.
async fn wrote(
    store: &dyn Store,
    at: &mut i64,
    what: &str,
    write: impl Future<Output = Result<Written, Error>>,
) {
    let written = write
        .await
        .unwrap_or_else(|error| panic!("{what}: {error:?}"));
    *at += 1;
    assert_eq!(
        written.config_version, *at,
        "{what} raises the configuration version by one"
    );
    assert_reads_do_not_write(store, *at).await;
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
