//! The PostgreSQL backend: one database shared by several Flagpole replicas.
//!
//! Every write transaction starts by updating the one-row `meta` table, which raises the
//! configuration version and holds that row's lock until commit: writers from every
//! replica run one after another, so a version check cannot be won twice and
//! configuration versions have no gaps. Reads never take that lock. Just before commit
//! a write sends `NOTIFY` on [`CHANGES_CHANNEL`] with the new configuration version;
//! PostgreSQL delivers it only if the transaction commits.

mod auth;
mod feed;
mod release;
mod review;
mod tables;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flagpole_core::{Flag, Segment};
use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder, Transaction};

use crate::rules;
use crate::write::{Entry, EnvironmentSwitch, FlagWrite};
use crate::{
    AuditEntry, AuditFilter, Change, Error, Expect, FlagVersion, State, Store, UsageCount,
    UsageFilter, UsageRecord, Written,
};
use tables::{
    add_usage, audit_entry, config_version, environment, flag_record, flag_version, insert_audit,
    segment_record, stored_flag, stored_segment, usage_record, write_flag, write_segment,
};

/// The channel every committed write notifies, with the new configuration version as
/// its payload (decimal text). Replicas `LISTEN` on it to reload.
pub const CHANGES_CHANNEL: &str = "flagpole_changes";

/// Connections in a pool this module creates.
const MAX_CONNECTIONS: u32 = 8;
/// How long a request waits for a connection: when PostgreSQL is away, writes fail
/// within this (503) instead of queueing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);

const FLAG: &str = "flag";
const SEGMENT: &str = "segment";
const ENVIRONMENT: &str = "environment";
const USAGE: &str = "usage";

/// A [`Store`] in a PostgreSQL database (in the connection's `search_path` schema).
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

    /// Starts a write: takes the `meta` row's lock by raising the configuration version.
    async fn begin_write(&self) -> Result<(Transaction<'static, Postgres>, i64), Error> {
        let mut tx = self.pool.begin().await?;
        let config_version = sqlx::query_scalar(
            "UPDATE meta SET config_version = config_version + 1 WHERE id = 1 RETURNING config_version",
        )
        .fetch_one(&mut *tx)
        .await?;
        Ok((tx, config_version))
    }
}

/// Rolls back at once (releasing the `meta` lock for the next writer) and fails with `error`.
async fn abort<T>(tx: Transaction<'static, Postgres>, error: Error) -> Result<T, Error> {
    tx.rollback().await?;
    Err(error)
}

/// Announces the new configuration version, then commits.
async fn commit(mut tx: Transaction<'static, Postgres>, config_version: i64) -> Result<(), Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANGES_CHANNEL)
        .bind(config_version.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

impl PostgresStore {
    /// Sets a yes/no setting of an environment (raising the configuration version),
    /// with its audit entry; `NotFound` if there is no such environment.
    pub(crate) async fn set_environment_switch(
        &self,
        name: &str,
        switch: EnvironmentSwitch,
        value: bool,
        change: Change<'_>,
    ) -> Result<Written, Error> {
        let (mut tx, config_version) = self.begin_write().await?;
        let sql = format!(
            "UPDATE environments SET {} = $2 WHERE name = $1",
            switch.column()
        );
        let updated = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .bind(value)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            return abort(tx, rules::not_found(ENVIRONMENT, name)).await;
        }
        let after = rules::to_text(ENVIRONMENT, name, &switch.after(name, value))?;
        let entry = Entry {
            environment: Some(name),
            after: Some(&after),
            ..Entry::new(&change, config_version)
        };
        insert_audit(&mut tx, &entry).await?;
        commit(tx, config_version).await?;
        Ok(Written {
            version: 0,
            config_version,
            at: entry.at,
        })
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn load_each(
        &self,
        each: &mut (dyn FnMut(crate::FlagRecord) -> Result<(), Error> + Send),
    ) -> Result<State, Error> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
        let version = config_version(&mut tx).await?;
        let environments = sqlx::query(
            "SELECT name, created_at, protected, requires_approval FROM environments ORDER BY name",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(environment)
        .collect::<Result<_, _>>()?;
        let mut rows = sqlx::query(
            "SELECT key, body::text AS body, version, archived, created_at, updated_at FROM flags ORDER BY key",
        )
        .fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            each(flag_record(&row)?)?;
        }
        drop(rows);
        let segments = sqlx::query(
            "SELECT name, body::text AS body, version, created_at, updated_at FROM segments ORDER BY name",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(segment_record)
        .collect::<Result<_, _>>()?;
        tx.rollback().await?;
        Ok(State {
            version,
            environments,
            flags: Vec::new(),
            segments,
        })
    }

    async fn notifications(&self) -> Result<Option<crate::Notifications>, Error> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANGES_CHANNEL).await?;
        Ok(Some(crate::Notifications::new(listener)))
    }

    async fn changes_since(&self, version: i64) -> Result<crate::Changes, Error> {
        feed::changes_since(&self.pool, version).await
    }

    async fn version(&self) -> Result<i64, Error> {
        let mut conn = self.pool.acquire().await?;
        config_version(&mut conn).await
    }

    async fn create_environment(&self, name: &str, change: Change<'_>) -> Result<Written, Error> {
        let (mut tx, config_version) = self.begin_write().await?;
        let entry = Entry::new(&change, config_version);
        let inserted = sqlx::query(
            "INSERT INTO environments (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(entry.at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return abort(tx, rules::conflict(ENVIRONMENT, name, "already exists")).await;
        }
        let after = rules::to_text(ENVIRONMENT, name, &serde_json::json!({ "name": name }))?;
        let entry = Entry {
            environment: Some(name),
            after: Some(&after),
            ..entry
        };
        insert_audit(&mut tx, &entry).await?;
        commit(tx, config_version).await?;
        Ok(Written {
            version: 0,
            config_version,
            at: entry.at,
        })
    }

    async fn delete_environment(
        &self,
        name: &str,
        flags: &[(String, Flag)],
        change: Change<'_>,
    ) -> Result<Written, Error> {
        let (mut tx, config_version) = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM environments WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return abort(tx, rules::not_found(ENVIRONMENT, name)).await;
        }
        let entry = Entry {
            environment: Some(name),
            ..Entry::new(&change, config_version)
        };
        for (key, flag) in flags {
            let body = rules::to_text(FLAG, key, flag)?;
            let Some(stored) = stored_flag(&mut tx, key).await? else {
                continue;
            };
            let write = FlagWrite {
                key,
                body: Some(&body),
                archived: stored.current.archived,
                before: Some(&stored.body),
            };
            write_flag(&mut tx, &write, &entry).await?;
        }
        let before = rules::to_text(ENVIRONMENT, name, &serde_json::json!({ "name": name }))?;
        insert_audit(
            &mut tx,
            &Entry {
                before: Some(&before),
                ..entry
            },
        )
        .await?;
        commit(tx, config_version).await?;
        Ok(Written {
            version: 0,
            config_version,
            at: entry.at,
        })
    }

    async fn set_environment_protected(
        &self,
        name: &str,
        protected: bool,
        change: Change<'_>,
    ) -> Result<Written, Error> {
        self.set_environment_switch(name, EnvironmentSwitch::Protected, protected, change)
            .await
    }

    async fn put_flag(
        &self,
        key: &str,
        flag: &Flag,
        archived: bool,
        expect: Expect,
        change: Change<'_>,
    ) -> Result<Written, Error> {
        let body = rules::to_text(FLAG, key, flag)?;
        let (mut tx, config_version) = self.begin_write().await?;
        let stored = stored_flag(&mut tx, key).await?;
        if let Err(error) = rules::check_put(FLAG, key, stored.as_ref().map(|s| s.current), expect)
        {
            return abort(tx, error).await;
        }
        let before = stored.map(|s| s.body);
        let write = FlagWrite {
            key,
            body: Some(&body),
            archived,
            before: before.as_deref(),
        };
        let entry = Entry::new(&change, config_version);
        let version = write_flag(&mut tx, &write, &entry).await?;
        commit(tx, config_version).await?;
        Ok(Written {
            version,
            config_version,
            at: entry.at,
        })
    }

    async fn delete_flag(
        &self,
        key: &str,
        expect: Expect,
        change: Change<'_>,
    ) -> Result<Written, Error> {
        let (mut tx, config_version) = self.begin_write().await?;
        let stored = stored_flag(&mut tx, key).await?;
        if let Err(error) =
            rules::check_delete(FLAG, key, stored.as_ref().map(|s| s.current), expect)
        {
            return abort(tx, error).await;
        }
        let before = stored.map(|s| s.body);
        let write = FlagWrite {
            key,
            body: None,
            archived: false,
            before: before.as_deref(),
        };
        let entry = Entry::new(&change, config_version);
        write_flag(&mut tx, &write, &entry).await?;
        commit(tx, config_version).await?;
        Ok(Written {
            version: 0,
            config_version,
            at: entry.at,
        })
    }

    async fn put_segment(
        &self,
        name: &str,
        segment: &Segment,
        expect: Expect,
        change: Change<'_>,
    ) -> Result<Written, Error> {
        let body = rules::to_text(SEGMENT, name, segment)?;
        let (mut tx, config_version) = self.begin_write().await?;
        let stored = stored_segment(&mut tx, name).await?;
        if let Err(error) =
            rules::check_put(SEGMENT, name, stored.as_ref().map(|s| s.current), expect)
        {
            return abort(tx, error).await;
        }
        let before = stored.map(|s| s.body);
        let entry = Entry::new(&change, config_version);
        let version = write_segment(&mut tx, name, &body, before.as_deref(), &entry).await?;
        commit(tx, config_version).await?;
        Ok(Written {
            version,
            config_version,
            at: entry.at,
        })
    }

    async fn delete_segment(
        &self,
        name: &str,
        expect: Expect,
        change: Change<'_>,
    ) -> Result<Written, Error> {
        let (mut tx, config_version) = self.begin_write().await?;
        let stored = stored_segment(&mut tx, name).await?;
        if let Err(error) =
            rules::check_delete(SEGMENT, name, stored.as_ref().map(|s| s.current), expect)
        {
            return abort(tx, error).await;
        }
        sqlx::query("DELETE FROM segments WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let before = stored.map(|s| s.body);
        let entry = Entry {
            segment: Some(name),
            before: before.as_deref(),
            ..Entry::new(&change, config_version)
        };
        insert_audit(&mut tx, &entry).await?;
        commit(tx, config_version).await?;
        Ok(Written {
            version: 0,
            config_version,
            at: entry.at,
        })
    }

    async fn import(
        &self,
        flags: &[(String, Flag)],
        segments: &[(String, Segment)],
        change: Change<'_>,
    ) -> Result<Written, Error> {
        let (mut tx, config_version) = self.begin_write().await?;
        let entry = Entry::new(&change, config_version);
        for (name, segment) in segments {
            let body = rules::to_text(SEGMENT, name, segment)?;
            let before = stored_segment(&mut tx, name).await?.map(|s| s.body);
            write_segment(&mut tx, name, &body, before.as_deref(), &entry).await?;
        }
        for (key, flag) in flags {
            let body = rules::to_text(FLAG, key, flag)?;
            let before = stored_flag(&mut tx, key).await?.map(|s| s.body);
            let write = FlagWrite {
                key,
                body: Some(&body),
                archived: false,
                before: before.as_deref(),
            };
            write_flag(&mut tx, &write, &entry).await?;
        }
        commit(tx, config_version).await?;
        Ok(Written {
            version: 0,
            config_version,
            at: entry.at,
        })
    }

    async fn flag_versions(&self, key: &str) -> Result<Vec<FlagVersion>, Error> {
        sqlx::query(
            "SELECT key, version, body::text AS body, archived, actor, at FROM flag_versions \
             WHERE key = $1 ORDER BY version",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(flag_version)
        .collect()
    }

    async fn flag_version(&self, key: &str, version: i64) -> Result<Option<FlagVersion>, Error> {
        sqlx::query(
            "SELECT key, version, body::text AS body, archived, actor, at FROM flag_versions \
             WHERE key = $1 AND version = $2",
        )
        .bind(key)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(flag_version)
        .transpose()
    }

    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, Error> {
        let mut query = QueryBuilder::<Postgres>::new(
            "SELECT id, at, actor, action, flag, segment, environment, before::text AS before, \
             after::text AS after, config_version, address FROM audit WHERE true",
        );
        if let Some(flag) = &filter.flag {
            query.push(" AND flag = ").push_bind(flag.clone());
        }
        if let Some(environment) = &filter.environment {
            query
                .push(" AND environment = ")
                .push_bind(environment.clone());
        }
        if let Some(since) = filter.since {
            query.push(" AND at >= ").push_bind(since);
        }
        if let Some(until) = filter.until {
            query.push(" AND at < ").push_bind(until);
        }
        query
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(rules::audit_limit(filter));
        query
            .build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(audit_entry)
            .collect()
    }

    async fn record_usage(
        &self,
        environment: &str,
        bucket: DateTime<Utc>,
        counts: &[UsageCount],
    ) -> Result<(), Error> {
        let counts = rules::usage_by_flag(counts)?;
        if counts.is_empty() {
            return Ok(());
        }
        // Not a configuration change: no `meta` lock, version, audit entry or notification.
        let mut tx = self.pool.begin().await?;
        add_usage(&mut tx, environment, bucket, &counts).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn usage(&self, filter: &UsageFilter) -> Result<Vec<UsageRecord>, Error> {
        let mut query = QueryBuilder::<Postgres>::new(
            "SELECT environment, bucket, flag, yes, no, variants::text AS variants FROM usage WHERE true",
        );
        if let Some(flag) = &filter.flag {
            query.push(" AND flag = ").push_bind(flag.clone());
        }
        if let Some(environment) = &filter.environment {
            query
                .push(" AND environment = ")
                .push_bind(environment.clone());
        }
        if let Some(since) = filter.since {
            query.push(" AND bucket >= ").push_bind(since);
        }
        if let Some(until) = filter.until {
            query.push(" AND bucket < ").push_bind(until);
        }
        // Byte order, as in SQLite, whatever the database's collation.
        query.push(r#" ORDER BY bucket, environment COLLATE "C", flag COLLATE "C""#);
        query
            .build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(usage_record)
            .collect()
    }

    async fn check_writable(&self) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE meta SET config_version = config_version WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        tx.rollback().await?;
        Ok(())
    }

    async fn check_integrity(&self) -> Result<(), Error> {
        let meta_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM meta")
            .fetch_one(&self.pool)
            .await?;
        if meta_rows != 1 {
            return Err(Error::Integrity {
                detail: format!("meta has {meta_rows} rows, not 1"),
            });
        }
        let broken: Vec<String> = sqlx::query_scalar(rules::FLAGS_WITHOUT_CURRENT_VERSION)
            .fetch_all(&self.pool)
            .await?;
        rules::check_flags_have_versions(&broken)
    }
}
