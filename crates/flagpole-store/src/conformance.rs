//! The storage conformance suite: written once, run against every backend.
//!
//! Each check is a public async function that panics, naming what it checked, when the
//! store under test behaves differently from the [`Store`] contract. [`run_all`] runs
//! them all on one fresh, empty store; checks use their own keys so that they do not
//! disturb each other. [`reopen_write`] and [`reopen_check`] test durability across a
//! close and reopen, which only the backend's own test can arrange.
//!
//! ```no_run
//! # async fn example() {
//! let store = flagpole_store::SqliteStore::open_in_memory().await.expect("open");
//! flagpole_store::conformance::run_all(std::sync::Arc::new(store)).await;
//! # }
//! ```

mod access;
mod asserts;
mod audit;
mod bulk;
mod concurrency;
mod feed;
mod fixtures;
mod flags;
mod members;
mod projects;
mod release;
mod review;
mod usage;

use std::future::Future;
use std::sync::Arc;

use crate::records::{AuditFilter, Expect, UsageFilter, UsageRecord};
use crate::store::{State, Store};
use asserts::{assert_written, newest_audit};
// The rules' unit tests build their usage counts with it too.
pub(crate) use fixtures::count;
use fixtures::{change, create_environment, create_flag, create_segment, flag, segment};

pub use access::{bootstrap_once, protected_environments, tokens, users_and_sessions};
pub use audit::{audit_entries, audit_limits, config_version};
pub use bulk::{environments, import, segments};
pub use concurrency::concurrent_writers;
pub use feed::{change_feed, project_feed};
pub use flags::{expect_semantics, flag_lifecycle, flag_versions};
pub use members::{memberships, token_scope};
pub use projects::{project_audit, project_contents, projects};
pub use release::{impact_metrics, release_leases, release_plans, sampling_settings};
pub use review::{change_requests, schedules};
pub use usage::{concurrent_usage, usage_counts, usage_filters};

/// The actor the suite writes as, unless a check says otherwise.
pub const ACTOR: &str = "conformance";

/// Runs every check on `store`, which must be empty.
pub async fn run_all(store: Arc<dyn Store>) {
    let store_ref: &dyn Store = &*store;
    step("empty_store", empty_store(store_ref)).await;
    step("flag_lifecycle", flag_lifecycle(store_ref)).await;
    step("expect_semantics", expect_semantics(store_ref)).await;
    step("flag_versions", flag_versions(store_ref)).await;
    step("audit_entries", audit_entries(store_ref)).await;
    step("config_version", config_version(store_ref)).await;
    step("segments", segments(store_ref)).await;
    step("environments", environments(store_ref)).await;
    step("import", import(store_ref)).await;
    step("change_feed", change_feed(store_ref)).await;
    step("concurrent_writers", concurrent_writers(store.clone())).await;
    step("audit_limits", audit_limits(store_ref)).await;
    step("usage_counts", usage_counts(store_ref)).await;
    step("usage_filters", usage_filters(store_ref)).await;
    step("concurrent_usage", concurrent_usage(store.clone())).await;
    step("bootstrap_once", bootstrap_once(store_ref)).await;
    step("tokens", tokens(store_ref)).await;
    step("users_and_sessions", users_and_sessions(store_ref)).await;
    step("protected_environments", protected_environments(store_ref)).await;
    step("projects", projects(store_ref)).await;
    step("project_contents", project_contents(store_ref)).await;
    step("project_audit", project_audit(store_ref)).await;
    step("project_feed", project_feed(store_ref)).await;
    step("memberships", memberships(store_ref)).await;
    step("token_scope", token_scope(store_ref)).await;
    step("release_plans", release_plans(store_ref)).await;
    step("release_leases", release_leases(store.clone())).await;
    step("impact_metrics", impact_metrics(store_ref)).await;
    step("sampling_settings", sampling_settings(store_ref)).await;
    step("schedules", schedules(store.clone())).await;
    step("change_requests", change_requests(store_ref)).await;
    step("integrity", integrity(store_ref)).await;
}

/// A fresh store: configuration version 0, nothing stored but the default project, no
/// audit entries.
pub async fn empty_store(store: &dyn Store) {
    let state = store.load().await.expect("load an empty store");
    assert_eq!(
        state.version, 0,
        "a fresh store starts at configuration version 0"
    );
    let default = state.projects.iter().map(|p| {
        let settings = p.settings.is_empty() && p.environments.is_none();
        (p.key.as_str(), p.name.as_str(), p.version, settings)
    });
    assert_eq!(
        default.collect::<Vec<_>>(),
        [(flagpole_core::DEFAULT_PROJECT, "Default", 1, true)],
        "a fresh store has the default project, with no settings of its own"
    );
    assert!(
        state.environments.is_empty() && state.flags.is_empty() && state.segments.is_empty(),
        "the conformance suite needs an empty store, found {state:?}"
    );
    assert_eq!(store.version().await.expect("version"), 0);
    let audit = store.audit(&AuditFilter::default()).await.expect("audit");
    assert!(
        audit.is_empty(),
        "a fresh store has no audit entries, found {audit:?}"
    );
    let usage = store.usage(&UsageFilter::default()).await.expect("usage");
    assert!(
        usage.is_empty(),
        "a fresh store has no usage, found {usage:?}"
    );
    assert!(store
        .flag_versions("anything")
        .await
        .expect("flag_versions")
        .is_empty());
    assert_eq!(
        store
            .flag_version("anything", 1)
            .await
            .expect("flag_version"),
        None
    );
}

/// The integrity check passes on a store the suite has used.
pub async fn integrity(store: &dyn Store) {
    if let Err(error) = store.check_integrity().await {
        panic!("check_integrity failed on a healthy store: {error} ({error:?})");
    }
}

/// What the durability checks compare: everything a store holds, as read back.
#[derive(Debug)]
pub struct Observation {
    state: State,
    version: i64,
    latest_audit: Option<i64>,
    usage: Vec<UsageRecord>,
}

impl Observation {
    /// Reads everything `store` holds.
    pub async fn take(store: &dyn Store) -> Observation {
        let state = store.load().await.expect("load");
        let version = store.version().await.expect("version");
        let latest = newest_audit(store, 1).await;
        let usage = store.usage(&UsageFilter::default()).await.expect("usage");
        Observation {
            state,
            version,
            latest_audit: latest.first().map(|entry| entry.id),
            usage,
        }
    }

    /// Panics unless `other` holds exactly what `self` does.
    pub fn assert_same(&self, other: &Observation, context: &str) {
        assert_eq!(
            self.version, other.version,
            "{context}: configuration version changed"
        );
        assert_eq!(
            self.state.version, other.state.version,
            "{context}: loaded version changed"
        );
        assert_eq!(
            self.state.environments, other.state.environments,
            "{context}: environments changed"
        );
        assert_eq!(
            self.state.flags, other.state.flags,
            "{context}: flags changed"
        );
        assert_eq!(
            self.state.segments, other.state.segments,
            "{context}: segments changed"
        );
        assert_eq!(
            self.state.projects, other.state.projects,
            "{context}: projects changed"
        );
        assert_eq!(
            self.latest_audit, other.latest_audit,
            "{context}: audit entries were added"
        );
        assert_eq!(self.usage, other.usage, "{context}: usage changed");
    }

    /// Panics if `other` has another configuration version (as read both ways) or audit
    /// entry than `self`: what a write that changes no configuration leaves alone.
    pub(crate) fn assert_no_config_change(&self, other: &Observation, context: &str) {
        assert_eq!(
            (self.version, self.state.version),
            (other.version, other.state.version),
            "{context}: the configuration version must not change"
        );
        assert_eq!(
            self.latest_audit, other.latest_audit,
            "{context}: no audit entries"
        );
    }
}

/// Writes a bit of everything, for [`reopen_check`] after the store is closed and opened
/// again; returns what it wrote, as read back.
pub async fn reopen_write(store: &dyn Store) -> Observation {
    create_environment(store, "durable-env").await;
    for key in ["durable-live", "durable-archived", "durable-deleted"] {
        create_flag(store, key, &flag(key)).await;
    }
    store
        .put_flag(
            "durable-archived",
            &flag("archived"),
            true,
            Expect::Version(1),
            change("flag.archived"),
        )
        .await
        .expect("archive flag");
    store
        .delete_flag(
            "durable-deleted",
            Expect::Version(1),
            change("flag.deleted"),
        )
        .await
        .expect("delete flag");
    create_segment(store, "durable-segment", &segment("kept")).await;
    fixtures::create_project(store, "durable-project").await;
    let bucket = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2030, 6, 1, 12, 0, 0)
        .single()
        .expect("a valid time");
    let counts = [count("durable-live", 3, 1, &[("blue", 2)])];
    for _ in 0..2 {
        store
            .record_usage("durable-env", bucket, &counts)
            .await
            .expect("record usage");
    }
    Observation::take(store).await
}

/// Checks that a reopened store holds what [`reopen_write`] wrote, and still works.
pub async fn reopen_check(store: &dyn Store, before: &Observation) {
    before.assert_same(&Observation::take(store).await, "after reopening");
    let versions = store
        .flag_versions("durable-deleted")
        .await
        .expect("flag_versions");
    let numbers: Vec<i64> = versions.iter().map(|v| v.version).collect();
    assert_eq!(
        numbers,
        [1, 2],
        "after reopening: versions of a deleted flag"
    );
    assert_eq!(
        versions[1].flag, None,
        "after reopening: the deletion version"
    );
    let written = store
        .put_flag(
            "durable-live",
            &flag("after reopening"),
            false,
            Expect::Version(1),
            change("flag.updated"),
        )
        .await
        .expect("write after reopening");
    let what = "after reopening: the next write continues the numbering";
    assert_written(written, 2, before.version + 1, what);
    integrity(store).await;
}

async fn step(name: &str, check: impl Future<Output = ()>) {
    println!("conformance: {name}");
    check.await;
    println!("conformance: {name} ok");
}
