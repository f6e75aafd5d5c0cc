//! The SQLite backend: Flagpole's embedded default, one file beside the binary.
//!
//! The file is in WAL mode, so readers never block the writer, with `synchronous = FULL`,
//! so a write acknowledged to the caller survives `kill -9` and power loss. Writers are
//! serialized twice: by a mutex inside this process (so waiting writers hold no
//! connection and never starve readers) and by `BEGIN IMMEDIATE` (so another process on
//! the same file cannot interleave). Timestamps are stored as fixed-width RFC 3339 text
//! in UTC, whose text order is time order. The SQL is [`crate::sql`]'s.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::backend::Backend;
use crate::error::Error;
use crate::records::UsageCount;
use crate::rules::{self, USAGE};

/// Connections in a file-backed pool: one writer at a time, the rest for readers.
const MAX_CONNECTIONS: u32 = 4;
/// How long a connection waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`crate::Store`] in one SQLite file (or in memory, for tests).
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Held for the whole of every write transaction.
    write: Mutex<()>,
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file if it is missing (its directory
    /// must exist), and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<SqliteStore, Error> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await?;
        SqliteStore::migrated(pool).await
    }

    /// Opens a fresh, private in-memory database (for tests): one connection, kept open
    /// for as long as the store lives, because the data dies with it.
    pub async fn open_in_memory() -> Result<SqliteStore, Error> {
        let options = SqliteConnectOptions::new()
            .in_memory(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        SqliteStore::migrated(pool).await
    }

    /// The connection pool, for diagnostics and tests.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection, waiting for them to finish (and SQLite to checkpoint).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrated(pool: SqlitePool) -> Result<SqliteStore, Error> {
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore {
            pool,
            write: Mutex::new(()),
        })
    }
}

crate::sql::store!(SqliteStore);

impl Backend for SqliteStore {
    type Db = Sqlite;
    /// UTC, microseconds, always the same width.
    type Timestamp = String;
    type WriteLock<'a> = MutexGuard<'a, ()>;

    const CONCURRENT_WRITES: bool = false;
    const JSON: &'static str = "";
    const BYTE_ORDER: &'static str = "";

    fn timestamp(at: &DateTime<Utc>) -> String {
        at.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    async fn begin_read(&self) -> Result<Transaction<'static, Sqlite>, Error> {
        // A deferred transaction reads one WAL snapshot from its first statement on.
        Ok(self.pool.begin().await?)
    }

    /// This process's writer lock, then SQLite's.
    async fn begin_write(
        &self,
    ) -> Result<(MutexGuard<'_, ()>, Transaction<'static, Sqlite>), Error> {
        let guard = self.write.lock().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok((guard, tx))
    }

    /// Each flag's row read, added to and written back: correct because writers run one
    /// at a time.
    async fn add_usage(
        conn: &mut SqliteConnection,
        environment: &str,
        bucket: DateTime<Utc>,
        counts: &[UsageCount],
    ) -> Result<(), Error> {
        let bucket = Self::timestamp(&bucket);
        for count in counts {
            add_count(conn, environment, &bucket, count).await?;
        }
        Ok(())
    }

    async fn check_database(&self) -> Result<(), Error> {
        let report: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await?;
        if report != ["ok"] {
            return Err(Error::Integrity {
                detail: report.join("; "),
            });
        }
        Ok(())
    }
}

/// Adds one flag's counts to its row in `bucket` (a stored timestamp), creating the row if
/// there is none.
async fn add_count(
    conn: &mut SqliteConnection,
    environment: &str,
    bucket: &str,
    count: &UsageCount,
) -> Result<(), Error> {
    let row = sqlx::query(
        "SELECT yes, no, variants FROM usage WHERE environment = $1 AND bucket = $2 AND flag = $3",
    )
    .bind(environment)
    .bind(bucket)
    .bind(&count.flag)
    .fetch_optional(&mut *conn)
    .await?;
    let mut total = UsageCount {
        flag: count.flag.clone(),
        ..UsageCount::default()
    };
    if let Some(row) = row {
        total.yes = row.try_get("yes")?;
        total.no = row.try_get("no")?;
        total.variants = rules::parse(USAGE, &count.flag, row.try_get("variants")?)?;
    }
    rules::add_usage(&mut total, count);
    let variants = rules::to_text(USAGE, &count.flag, &total.variants)?;
    sqlx::query(
        "INSERT INTO usage (environment, bucket, flag, yes, no, variants) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (environment, bucket, flag) DO UPDATE SET yes = excluded.yes, \
         no = excluded.no, variants = excluded.variants",
    )
    .bind(environment)
    .bind(bucket)
    .bind(&count.flag)
    .bind(total.yes)
    .bind(total.no)
    .bind(variants)
    .execute(conn)
    .await?;
    Ok(())
}
