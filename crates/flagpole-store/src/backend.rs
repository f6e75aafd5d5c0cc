//! What differs between the backends, and nothing else. The store's SQL is written once,
//! in [`crate::sql`], and expanded for each backend against the items of [`Backend`],
//! which [`crate::SqliteStore`] and [`crate::PostgresStore`] implement.

use chrono::{DateTime, Utc};
use sqlx::{Database, Transaction};

use crate::error::Error;
use crate::feed::Notifications;
use crate::records::UsageCount;

/// A connection of backend `B`'s database (what a transaction dereferences to).
pub(crate) type Conn<B> = <<B as Backend>::Db as Database>::Connection;

/// A database the store's SQL runs on. Besides these items the SQL uses the store's
/// `pool()`, which every backend has.
pub(crate) trait Backend: Send + Sync + 'static {
    /// The sqlx driver.
    type Db: Database;

    /// A timestamp as bound to a statement (see [`Backend::timestamp`]).
    type Timestamp;

    /// Held for the whole of a write transaction (see [`Backend::begin_write`]).
    type WriteLock<'a>: Send
    where
        Self: 'a;

    /// Whether write transactions run side by side, ordered only by the rows they lock
    /// (PostgreSQL), rather than one at a time (SQLite, whose writer lock covers the whole
    /// file). Where they do, a write locks what it reads before deciding (`FOR UPDATE`)
    /// and a claim skips rows another writer is claiming (`SKIP LOCKED`).
    const CONCURRENT_WRITES: bool;

    /// What follows a JSON document's text parameter to make it JSON (`$1::json`); empty
    /// where documents are stored as text.
    const JSON: &'static str;

    /// What follows a text column in `ORDER BY` to order it by bytes; empty where that is
    /// the default collation.
    const BYTE_ORDER: &'static str;

    /// A timestamp as the database stores it.
    fn timestamp(at: &DateTime<Utc>) -> Self::Timestamp;

    /// Begins a read-only transaction that reads one consistent snapshot.
    async fn begin_read(&self) -> Result<Transaction<'static, Self::Db>, Error>;

    /// Begins a transaction that writes. Configuration and access writes then order
    /// themselves after every other such write (see `crate::sql`).
    async fn begin_write(
        &self,
    ) -> Result<(Self::WriteLock<'_>, Transaction<'static, Self::Db>), Error>;

    /// Announces `config_version` to every process, just before the transaction that
    /// produced it commits (and only if it does); nothing where no process listens.
    async fn notify(_conn: &mut Conn<Self>, _config_version: i64) -> Result<(), Error> {
        Ok(())
    }

    /// A subscription to the configuration versions every process commits, where the
    /// backend announces them.
    async fn listen(&self) -> Result<Option<Notifications>, Error> {
        Ok(None)
    }

    /// Adds one report's counts (one per flag, in flag order) to their rows in the hourly
    /// `bucket`, inside a write transaction, so that concurrent reports all count.
    async fn add_usage(
        conn: &mut Conn<Self>,
        environment: &str,
        bucket: DateTime<Utc>,
        counts: &[UsageCount],
    ) -> Result<(), Error>;

    /// The database's own integrity check.
    async fn check_database(&self) -> Result<(), Error>;
}
