//! What the checks read back and judge with: one flag or environment as loaded, the
//! audit log, and writes the store must refuse (with a conflict, or not found) without
//! changing anything.

use std::fmt::Debug;
use std::future::Future;

use super::Observation;
use crate::error::Error;
use crate::records::{AuditEntry, AuditFilter, Environment, FlagRecord, Written};
use crate::store::Store;

/// A flag as [`Store::load`] returns it, archived or not.
pub(crate) async fn record(store: &dyn Store, key: &str) -> Option<FlagRecord> {
    let state = store.load().await.expect("load");
    state.flags.into_iter().find(|record| record.key == key)
}

/// An environment as [`Store::load`] returns it; it must exist.
pub(crate) async fn environment(store: &dyn Store, name: &str) -> Environment {
    let state = store.load().await.expect("load");
    let found = state.environments.into_iter().find(|e| e.name == name);
    found.unwrap_or_else(|| panic!("environment {name} is loaded"))
}

/// The audit entries `filter` selects, newest first.
pub(crate) async fn audit(store: &dyn Store, filter: AuditFilter) -> Vec<AuditEntry> {
    store.audit(&filter).await.expect("read the audit log")
}

/// The newest `limit` audit entries, newest first.
pub(crate) async fn newest_audit(store: &dyn Store, limit: i64) -> Vec<AuditEntry> {
    let filter = AuditFilter {
        limit: Some(limit),
        ..AuditFilter::default()
    };
    audit(store, filter).await
}

/// Runs a write that must fail, checks that it changed nothing, and returns its error.
pub(crate) async fn refused<T: Debug>(
    store: &dyn Store,
    what: &str,
    write: impl Future<Output = Result<T, Error>>,
) -> Error {
    let before = Observation::take(store).await;
    let error = match write.await {
        Ok(written) => panic!("{what}: expected an error, the write succeeded with {written:?}"),
        Err(error) => error,
    };
    before.assert_same(&Observation::take(store).await, what);
    error
}

/// How the store must refuse a write.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Refusal {
    /// [`Error::Conflict`].
    Conflict,
    /// [`Error::NotFound`].
    NotFound,
}

impl Refusal {
    /// Panics unless `result` is this refusal, whose error it returns.
    pub(crate) fn assert<T: Debug>(self, result: Result<T, Error>, what: &str) -> Error {
        match (self, result) {
            (Refusal::Conflict, Err(error @ Error::Conflict { .. }))
            | (Refusal::NotFound, Err(error @ Error::NotFound { .. })) => error,
            (_, other) => panic!("{what}: expected {self:?}, got {other:?}"),
        }
    }
}

/// [`refused`], as `refusal` says.
pub(crate) async fn refused_as<T: Debug>(
    store: &dyn Store,
    refusal: Refusal,
    what: &str,
    write: impl Future<Output = Result<T, Error>>,
) -> Error {
    refusal.assert::<T>(Err(refused(store, what, write).await), what)
}

/// [`refused_as`] for each write in turn.
pub(crate) async fn each_refused_as<'a, T: Debug, F: Future<Output = Result<T, Error>>>(
    store: &dyn Store,
    writes: impl IntoIterator<Item = (Refusal, &'a str, F)>,
) {
    for (refusal, what, write) in writes {
        refused_as(store, refusal, what, write).await;
    }
}

/// Panics unless `written` says it wrote `version` at configuration version
/// `config_version`.
pub(crate) fn assert_written(written: Written, version: i64, config_version: i64, what: &str) {
    let expected = Written {
        version,
        config_version,
        at: written.at,
    };
    assert_eq!(written, expected, "{what}");
}
