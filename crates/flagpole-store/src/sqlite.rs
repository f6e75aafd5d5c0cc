//! The SQLite backend: Flagpole's embedded default, one file beside the binary.
//!
//! The file is in WAL mode, so readers never block the writer, with `synchronous = FULL`,
//! so a write acknowledged to the caller survives `kill -9` and power loss. Writers are
//! serialized twice: by a mutex inside this process (so waiting writers hold no
//! connection and never starve readers) and by `BEGIN IMMEDIATE` (so another process on
//! the same file cannot interleave). Timestamps are stored as fixed-width RFC 3339 text
//! in UTC, whose text order is time order.

mod auth;
mod feed;
mod release;
mod review;
mod tables;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flagpole_core::{Flag, Segment};
use futures_util::TryStreamExt;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::rules;
use crate::write::{Entry, EnvironmentSwitch, FlagWrite};
use crate::{
    AuditEntry, AuditFilter, Change, Error, Expect, FlagVersion, State, Store, UsageCount,
    UsageFilter, UsageRecord, Written,
};
use tables::{
    add_usage, audit_entry, bump, config_version, environment, flag_record, flag_version,
    insert_audit, segment_record, stored_flag, stored_segment, timestamp, usage_record, write_flag,
    write_segment,
};

/// Connections in a file-backed pool: one writer at a time, the rest for readers.
const MAX_CONNECTIONS: u32 = 4;
/// How long a connection waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const FLAG: &str = "flag";
const SEGMENT: &str = "segment";
const ENVIRONMENT: &str = "environment";
const USAGE: &str = "usage";

/// A [`Store`] in one SQLite file (or in memory, for tests).
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

    /// Starts a write: this process's writer lock, then SQLite's write lock.
    async fn begin_write(
        &self,
    ) -> Result<(MutexGuard<'_, ()>, Transaction<'static, Sqlite>), Error> {
        let guard = self.write.lock().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok((guard, tx))
    }
}

impl SqliteStore {
    /// Sets a yes/no setting of an environment (raising the configuration version),
    /// with its audit entry; `NotFound` if there is no such environment.
    pub(crate) async fn set_environment_switch(
        &self,
        name: &str,
        switch: EnvironmentSwitch,
        value: bool,
        change: Change<'_>,
    ) -> Result<Written, Error> {
        let (_guard, mut tx) = self.begin_write().await?;
        let config_version = bump(&mut tx).await?;
        let sql = format!(
            "UPDATE environments SET {} = ?2 WHERE name = ?1",
            switch.column()
        );
        let updated = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .bind(value)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            return Err(rules::not_found(ENVIRONMENT, name));
        }
        let after = rules::to_text(ENVIRONMENT, name, &switch.after(name, value))?;
        let entry = Entry {
            environment: Some(name),
            after: Some(&after),
            ..Entry::new(&change, config_version)
        };
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Written {
            version: 0,
            config_version,
            at: entry.at,
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn load_each(
        &self,
        each: &mut (dyn FnMut(crate::FlagRecord) -> Result<(), Error> + Send),
    ) -> Result<State, Error> {
        // A deferred transaction reads one WAL snapshot from its first statement on.
        let mut tx = self.pool.begin().await?;
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
            "SELECT key, body, version, archived, created_at, updated_at FROM flags ORDER BY key",
        )
        .fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            each(flag_record(&row)?)?;
        }
        drop(rows);
        let segments = sqlx::query(
            "SELECT name, body, version, created_at, updated_at FROM segments ORDER BY name",
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

    async fn changes_since(&self, version: i64) -> Result<crate::Changes, Error> {
        feed::changes_since(&self.pool, version).await
    }

    async fn version(&self) -> Result<i64, Error> {
        let mut conn = self.pool.acquire().await?;
        config_version(&mut conn).await
    }

    async fn create_environment(&self, name: &str, change: Change<'_>) -> Result<Written, Error> {
        let (_guard, mut tx) = self.begin_write().await?;
        let exists = sqlx::query("SELECT 1 FROM environments WHERE name = ?1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if exists {
            return Err(rules::conflict(ENVIRONMENT, name, "already exists"));
        }
        let config_version = bump(&mut tx).await?;
        let entry = Entry::new(&change, config_version);
        sqlx::query("INSERT INTO environments (name, created_at) VALUES (?1, ?2)")
            .bind(name)
            .bind(timestamp(&entry.at))
            .execute(&mut *tx)
            .await?;
        let after = rules::to_text(ENVIRONMENT, name, &serde_json::json!({ "name": name }))?;
        let entry = Entry {
            environment: Some(name),
            after: Some(&after),
            ..entry
        };
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
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
        let (_guard, mut tx) = self.begin_write().await?;
        let config_version = bump(&mut tx).await?;
        let deleted = sqlx::query("DELETE FROM environments WHERE name = ?1")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(rules::not_found(ENVIRONMENT, name));
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
        tx.commit().await?;
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
        let (_guard, mut tx) = self.begin_write().await?;
        let stored = stored_flag(&mut tx, key).await?;
        rules::check_put(FLAG, key, stored.as_ref().map(|s| s.current), expect)?;
        let config_version = bump(&mut tx).await?;
        let before = stored.map(|s| s.body);
        let write = FlagWrite {
            key,
            body: Some(&body),
            archived,
            before: before.as_deref(),
        };
        let entry = Entry::new(&change, config_version);
        let version = write_flag(&mut tx, &write, &entry).await?;
        tx.commit().await?;
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
        let (_guard, mut tx) = self.begin_write().await?;
        let stored = stored_flag(&mut tx, key).await?;
        rules::check_delete(FLAG, key, stored.as_ref().map(|s| s.current), expect)?;
        let config_version = bump(&mut tx).await?;
        let before = stored.map(|s| s.body);
        let write = FlagWrite {
            key,
            body: None,
            archived: false,
            before: before.as_deref(),
        };
        let entry = Entry::new(&change, config_version);
        write_flag(&mut tx, &write, &entry).await?;
        tx.commit().await?;
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
        let (_guard, mut tx) = self.begin_write().await?;
        let stored = stored_segment(&mut tx, name).await?;
        rules::check_put(SEGMENT, name, stored.as_ref().map(|s| s.current), expect)?;
        let config_version = bump(&mut tx).await?;
        let before = stored.map(|s| s.body);
        let entry = Entry::new(&change, config_version);
        let version = write_segment(&mut tx, name, &body, before.as_deref(), &entry).await?;
        tx.commit().await?;
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
        let (_guard, mut tx) = self.begin_write().await?;
        let stored = stored_segment(&mut tx, name).await?;
        rules::check_delete(SEGMENT, name, stored.as_ref().map(|s| s.current), expect)?;
        let config_version = bump(&mut tx).await?;
        sqlx::query("DELETE FROM segments WHERE name = ?1")
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
        tx.commit().await?;
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
        let (_guard, mut tx) = self.begin_write().await?;
        let config_version = bump(&mut tx).await?;
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
        tx.commit().await?;
        Ok(Written {
            version: 0,
            config_version,
            at: entry.at,
        })
    }

    async fn flag_versions(&self, key: &str) -> Result<Vec<FlagVersion>, Error> {
        sqlx::query(
            "SELECT key, version, body, archived, actor, at FROM flag_versions WHERE key = ?1 ORDER BY version",
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
            "SELECT key, version, body, archived, actor, at FROM flag_versions WHERE key = ?1 AND version = ?2",
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
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT id, at, actor, action, flag, segment, environment, before, after, config_version, address \
             FROM audit WHERE 1 = 1",
        );
        if let Some(flag) = &filter.flag {
            query.push(" AND flag = ").push_bind(flag.clone());
        }
        if let Some(environment) = &filter.environment {
            query
                .push(" AND environment = ")
                .push_bind(environment.clone());
        }
        if let Some(since) = &filter.since {
            query.push(" AND at >= ").push_bind(timestamp(since));
        }
        if let Some(until) = &filter.until {
            query.push(" AND at < ").push_bind(timestamp(until));
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
        let bucket = timestamp(&bucket);
        // Not a configuration change (no version, no audit entry), but a read-modify-write
        // all the same: serialized with every other write.
        let (_guard, mut tx) = self.begin_write().await?;
        for count in &counts {
            add_usage(&mut tx, environment, &bucket, count).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn usage(&self, filter: &UsageFilter) -> Result<Vec<UsageRecord>, Error> {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT environment, bucket, flag, yes, no, variants FROM usage WHERE 1 = 1",
        );
        if let Some(flag) = &filter.flag {
            query.push(" AND flag = ").push_bind(flag.clone());
        }
        if let Some(environment) = &filter.environment {
            query
                .push(" AND environment = ")
                .push_bind(environment.clone());
        }
        if let Some(since) = &filter.since {
            query.push(" AND bucket >= ").push_bind(timestamp(since));
        }
        if let Some(until) = &filter.until {
            query.push(" AND bucket < ").push_bind(timestamp(until));
        }
        query.push(" ORDER BY bucket, environment, flag");
        query
            .build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(usage_record)
            .collect()
    }

    async fn check_writable(&self) -> Result<(), Error> {
        let (_guard, mut tx) = self.begin_write().await?;
        sqlx::query("UPDATE meta SET config_version = config_version")
            .execute(&mut *tx)
            .await?;
        tx.rollback().await?;
        Ok(())
    }

    async fn check_integrity(&self) -> Result<(), Error> {
        let report: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await?;
        if report != ["ok"] {
            return Err(Error::Integrity {
                detail: report.join("; "),
            });
        }
        let broken: Vec<String> = sqlx::query_scalar(rules::FLAGS_WITHOUT_CURRENT_VERSION)
            .fetch_all(&self.pool)
            .await?;
        rules::check_flags_have_versions(&broken)
    }
}
