//! The PostgreSQL backend: one database shared by several Flagpole replicas.
//!
//! Every configuration write starts by updating the one-row `meta` table, which raises the
//! configuration version and holds that row's lock until commit: writers from every
//! replica run one after another, so a version check cannot be won twice and
//! configuration versions have no gaps. Reads never take that lock. Just before commit
//! a configuration write sends `NOTIFY` on [`CHANGES_CHANNEL`] with the new configuration
//! version; PostgreSQL delivers it only if the transaction commits. Other writes run side
//! by side, ordered by the rows they lock. The SQL is [`crate::sql`]'s.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::backend::Backend;
use crate::error::Error;
use crate::feed::Notifications;
use crate::records::UsageCount;
use crate::rules::{self, USAGE};

/// The channel every committed write notifies, with the new configuration version as
/// its payload (decimal text). Replicas `LISTEN` on it to reload.
pub const CHANGES_CHANNEL: &str = "flagpole_changes";

/// Connections in a pool this module creates.
const MAX_CONNECTIONS: u32 = 8;
/// How long a request waits for a connection: when PostgreSQL is away, writes fail
/// within this (503) instead of queueing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);

/// A [`crate::Store`] in a PostgreSQL database (in the connection's `search_path` schema).
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db?…`) and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<PostgresStore, Error> {
        let options: PgConnectOptions = url.parse()?;
        PostgresStore::connect_with(options).await
    }

    /// Connects with explicit options (e.g. a `search_path` set through
    /// [`PgConnectOptions::options`]) and brings the schema up to date.
    pub async fn connect_with(options: PgConnectOptions) -> Result<PostgresStore, Error> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        PostgresStore::from_pool(pool).await
    }

    /// Uses an existing pool, bringing the schema up to date.
    pub async fn from_pool(pool: PgPool) -> Result<PostgresStore, Error> {
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore { pool })
    }

    /// The connection pool: replicas use it to `LISTEN` on [`CHANGES_CHANNEL`].
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection, waiting for them to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

crate::sql::store!(PostgresStore);

impl Backend for PostgresStore {
    type Db = Postgres;
    type Timestamp = DateTime<Utc>;
    /// Nothing: writers are ordered by the rows they lock.
    type WriteLock<'a> = ();

    const CONCURRENT_WRITES: bool = true;
    /// Flags, segments and the audit log are `json`, which keeps documents as written;
    /// other documents are `jsonb`, which PostgreSQL converts `json` to on assignment.
    const JSON: &'static str = "::json";
    /// The database's collation may not be byte order.
    const BYTE_ORDER: &'static str = r#" COLLATE "C""#;

    fn timestamp(at: &DateTime<Utc>) -> DateTime<Utc> {
        *at
    }

    async fn begin_read(&self) -> Result<Transaction<'static, Postgres>, Error> {
        let begin = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
        Ok(self.pool.begin_with(begin).await?)
    }

    async fn begin_write(&self) -> Result<((), Transaction<'static, Postgres>), Error> {
        Ok(((), self.pool.begin().await?))
    }

    async fn notify(conn: &mut PgConnection, config_version: i64) -> Result<(), Error> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANGES_CHANNEL)
            .bind(config_version.to_string())
            .execute(conn)
            .await?;
        Ok(())
    }

    async fn listen(&self) -> Result<Option<Notifications>, Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANGES_CHANNEL).await?;
        Ok(Some(Notifications::new(listener)))
    }

    /// In one statement. `ON CONFLICT DO UPDATE` locks each existing row and adds to its
    /// latest committed values, so concurrent reports from any number of replicas all
    /// count; rows are locked in the order given, so that they cannot deadlock. Sums
    /// saturate at the bounds of `bigint`, as [`rules::add_usage`] does.
    async fn add_usage(
        conn: &mut PgConnection,
        environment: &str,
        bucket: DateTime<Utc>,
        counts: &[UsageCount],
    ) -> Result<(), Error> {
        let flags: Vec<&str> = counts.iter().map(|c| c.flag.as_str()).collect();
        let yes: Vec<i64> = counts.iter().map(|c| c.yes).collect();
        let no: Vec<i64> = counts.iter().map(|c| c.no).collect();
        let variants = counts
            .iter()
            .map(|c| rules::to_text(USAGE, &c.flag, &c.variants))
            .collect::<Result<Vec<String>, Error>>()?;
        sqlx::query(
            "INSERT INTO usage AS u (environment, bucket, flag, yes, no, variants) \
             SELECT $1, $2, c.flag, c.yes, c.no, c.variants::jsonb \
             FROM unnest($3::text[], $4::bigint[], $5::bigint[], $6::text[]) WITH ORDINALITY \
                 AS c(flag, yes, no, variants, position) \
             ORDER BY c.position \
             ON CONFLICT (environment, bucket, flag) DO UPDATE SET \
             yes = GREATEST(LEAST(u.yes::numeric + excluded.yes, 9223372036854775807), -9223372036854775808)::bigint, \
             no = GREATEST(LEAST(u.no::numeric + excluded.no, 9223372036854775807), -9223372036854775808)::bigint, \
             variants = (\
                 SELECT COALESCE(jsonb_object_agg(s.key, \
                     GREATEST(LEAST(s.total, 9223372036854775807), -9223372036854775808)::bigint), '{}') \
                 FROM (SELECT v.key, sum(v.value::numeric) AS total \
                     FROM (SELECT * FROM jsonb_each_text(u.variants) \
                         UNION ALL SELECT * FROM jsonb_each_text(excluded.variants)) AS v \
                     GROUP BY v.key) AS s)",
        )
        .bind(environment)
        .bind(bucket)
        .bind(flags)
        .bind(yes)
        .bind(no)
        .bind(variants)
        .execute(conn)
        .await?;
        Ok(())
    }

    async fn check_database(&self) -> Result<(), Error> {
        let meta_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM meta")
            .fetch_one(&self.pool)
            .await?;
        if meta_rows != 1 {
            return Err(Error::Integrity {
                detail: format!("meta has {meta_rows} rows, not 1"),
            });
        }
        Ok(())
    }
}
