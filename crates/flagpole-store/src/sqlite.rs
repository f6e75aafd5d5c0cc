//! The SQLite backend: Flagpole's embedded default, one file beside the binary.
//!
//! The file is in WAL mode, so readers never block the writer, with `synchronous = FULL`,
//! so a write acknowledged to the caller survives `kill -9` and power loss. Writers are
//! serialized twice: by a mutex inside this process (so waiting writers hold no
//! connection and never starve readers) and by `BEGIN IMMEDIATE` (so another process on
//! the same file cannot interleave). Timestamps are stored as fixed-width RFC 3339 text
//! in UTC, whose text order is time order.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use flagpole_core::{Flag, Segment};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::rules::{self, Current};
use crate::{
    AuditEntry, AuditFilter, Change, Environment, Error, Expect, FlagRecord, FlagVersion,
    SegmentRecord, State, Store, Written,
};

/// Connections in a file-backed pool: one writer at a time, the rest for readers.
const MAX_CONNECTIONS: u32 = 4;
/// How long a connection waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const FLAG: &str = "flag";
const SEGMENT: &str = "segment";
const ENVIRONMENT: &str = "environment";

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
        let guard = self.write.try_lock().unwrap_or_else(|_| Box::leak(Box::new(Mutex::new(()))).try_lock().expect("x"));
        let tx = self.pool.begin().await?;
        Ok((guard, tx))
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn load(&self) -> Result<State, Error> {
        // A deferred transaction reads one WAL snapshot from its first statement on.
        let mut tx = self.pool.begin().await?;
        let version = config_version(&mut tx).await?;
        let environments = sqlx::query("SELECT name, created_at FROM environments ORDER BY name")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(environment)
            .collect::<Result<_, _>>()?;
        let flags = sqlx::query(
            "SELECT key, body, version, archived, created_at, updated_at FROM flags ORDER BY key",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(flag_record)
        .collect::<Result<_, _>>()?;
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
            flags,
            segments,
        })
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
        let now = timestamp(&rules::now());
        sqlx::query("INSERT INTO environments (name, created_at) VALUES (?1, ?2)")
            .bind(name)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        let after = rules::to_text(ENVIRONMENT, name, &serde_json::json!({ "name": name }))?;
        let entry = Entry {
            environment: Some(name),
            after: Some(&after),
            ..Entry::new(&change, &now, config_version)
        };
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Written {
            version: 0,
            config_version,
        })
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
        let now = timestamp(&rules::now());
        let before = stored.map(|s| s.body);
        let write = FlagWrite {
            key,
            body: Some(&body),
            archived,
            before: before.as_deref(),
        };
        let version =
            write_flag(&mut tx, &write, &Entry::new(&change, &now, config_version)).await?;
        tx.commit().await?;
        Ok(Written {
            version,
            config_version,
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
        let now = timestamp(&rules::now());
        let before = stored.map(|s| s.body);
        let write = FlagWrite {
            key,
            body: None,
            archived: false,
            before: before.as_deref(),
        };
        write_flag(&mut tx, &write, &Entry::new(&change, &now, config_version)).await?;
        tx.commit().await?;
        Ok(Written {
            version: 0,
            config_version,
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
        let now = timestamp(&rules::now());
        let before = stored.map(|s| s.body);
        let version = write_segment(
            &mut tx,
            name,
            &body,
            before.as_deref(),
            &Entry::new(&change, &now, config_version),
        )
        .await?;
        tx.commit().await?;
        Ok(Written {
            version,
            config_version,
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
        let now = timestamp(&rules::now());
        sqlx::query("DELETE FROM segments WHERE name = ?1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let before = stored.map(|s| s.body);
        let entry = Entry {
            segment: Some(name),
            before: before.as_deref(),
            ..Entry::new(&change, &now, config_version)
        };
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Written {
            version: 0,
            config_version,
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
        let now = timestamp(&rules::now());
        let entry = Entry::new(&change, &now, config_version);
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
            "SELECT id, at, actor, action, flag, segment, environment, before, after, config_version \
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

/// A flag or segment row as a write finds it.
struct Stored {
    current: Current,
    body: String,
}

/// One flag change: its new body (`None` deletes it) and its body before.
struct FlagWrite<'a> {
    key: &'a str,
    body: Option<&'a str>,
    archived: bool,
    before: Option<&'a str>,
}

/// The audit entry a write records; `flag`, `segment`, `before` and `after` are filled
/// in per change.
#[derive(Clone, Copy)]
struct Entry<'a> {
    at: &'a str,
    actor: &'a str,
    action: &'a str,
    flag: Option<&'a str>,
    segment: Option<&'a str>,
    environment: Option<&'a str>,
    before: Option<&'a str>,
    after: Option<&'a str>,
    config_version: i64,
}

impl<'a> Entry<'a> {
    fn new(change: &Change<'a>, at: &'a str, config_version: i64) -> Entry<'a> {
        Entry {
            at,
            actor: change.actor,
            action: change.action,
            flag: None,
            segment: None,
            environment: change.environment,
            before: None,
            after: None,
            config_version,
        }
    }
}

/// Raises the configuration version; the first write of every write transaction.
async fn bump(conn: &mut SqliteConnection) -> Result<i64, Error> {
    let version = sqlx::query_scalar(
        "UPDATE meta SET config_version = config_version + 1 RETURNING config_version",
    )
    .fetch_one(conn)
    .await?;
    Ok(version)
}

async fn config_version(conn: &mut SqliteConnection) -> Result<i64, Error> {
    Ok(sqlx::query_scalar("SELECT config_version FROM meta")
        .fetch_one(conn)
        .await?)
}

async fn stored_flag(conn: &mut SqliteConnection, key: &str) -> Result<Option<Stored>, Error> {
    let row = sqlx::query("SELECT version, archived, body FROM flags WHERE key = ?1")
        .bind(key)
        .fetch_optional(conn)
        .await?;
    row.map(|row| {
        Ok(Stored {
            current: Current {
                version: row.try_get("version")?,
                archived: row.try_get("archived")?,
            },
            body: row.try_get("body")?,
        })
    })
    .transpose()
}

async fn stored_segment(conn: &mut SqliteConnection, name: &str) -> Result<Option<Stored>, Error> {
    let row = sqlx::query("SELECT version, body FROM segments WHERE name = ?1")
        .bind(name)
        .fetch_optional(conn)
        .await?;
    row.map(|row| {
        Ok(Stored {
            current: Current {
                version: row.try_get("version")?,
                archived: false,
            },
            body: row.try_get("body")?,
        })
    })
    .transpose()
}

/// Writes (or deletes) a flag, its next version and its audit entry; returns the version.
/// A flag deleted and created again continues its numbering, so versions never collide.
async fn write_flag(
    conn: &mut SqliteConnection,
    write: &FlagWrite<'_>,
    entry: &Entry<'_>,
) -> Result<i64, Error> {
    let version: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM flag_versions WHERE key = ?1",
    )
    .bind(write.key)
    .fetch_one(&mut *conn)
    .await?;
    match write.body {
        Some(body) => sqlx::query(
            "INSERT INTO flags (key, body, version, archived, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?5) \
             ON CONFLICT (key) DO UPDATE SET body = excluded.body, version = excluded.version, \
             archived = excluded.archived, updated_at = excluded.updated_at",
        )
        .bind(write.key)
        .bind(body)
        .bind(version)
        .bind(write.archived)
        .bind(entry.at),
        None => sqlx::query("DELETE FROM flags WHERE key = ?1").bind(write.key),
    }
    .execute(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO flag_versions (key, version, body, archived, actor, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .bind(write.key)
        .bind(version)
        .bind(write.body)
        .bind(write.archived)
        .bind(entry.actor)
        .bind(entry.at)
        .execute(&mut *conn)
        .await?;
    let entry = Entry {
        flag: Some(write.key),
        before: write.before,
        after: write.body,
        ..*entry
    };
    insert_audit(conn, &entry).await?;
    Ok(version)
}

/// Creates or overwrites a segment and records its audit entry; returns its version.
async fn write_segment(
    conn: &mut SqliteConnection,
    name: &str,
    body: &str,
    before: Option<&str>,
    entry: &Entry<'_>,
) -> Result<i64, Error> {
    let version: i64 = sqlx::query_scalar(
        "INSERT INTO segments (name, body, version, created_at, updated_at) VALUES (?1, ?2, 1, ?3, ?3) \
         ON CONFLICT (name) DO UPDATE SET body = excluded.body, version = segments.version + 1, \
         updated_at = excluded.updated_at \
         RETURNING version",
    )
    .bind(name)
    .bind(body)
    .bind(entry.at)
    .fetch_one(&mut *conn)
    .await?;
    let entry = Entry {
        segment: Some(name),
        before,
        after: Some(body),
        ..*entry
    };
    insert_audit(conn, &entry).await?;
    Ok(version)
}

async fn insert_audit(conn: &mut SqliteConnection, entry: &Entry<'_>) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO audit (at, actor, action, flag, segment, environment, before, after, config_version) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .bind(entry.at)
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.flag)
    .bind(entry.segment)
    .bind(entry.environment)
    .bind(entry.before)
    .bind(entry.after)
    .bind(entry.config_version)
    .execute(conn)
    .await?;
    Ok(())
}

/// A timestamp as stored: UTC, microseconds, always the same width.
fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn environment(row: &SqliteRow) -> Result<Environment, Error> {
    Ok(Environment {
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

fn flag_record(row: &SqliteRow) -> Result<FlagRecord, Error> {
    let key: String = row.try_get("key")?;
    Ok(FlagRecord {
        flag: rules::parse(FLAG, &key, row.try_get("body")?)?,
        version: row.try_get("version")?,
        archived: row.try_get("archived")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        key,
    })
}

fn segment_record(row: &SqliteRow) -> Result<SegmentRecord, Error> {
    let name: String = row.try_get("name")?;
    Ok(SegmentRecord {
        segment: rules::parse(SEGMENT, &name, row.try_get("body")?)?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        name,
    })
}

fn flag_version(row: &SqliteRow) -> Result<FlagVersion, Error> {
    let key: String = row.try_get("key")?;
    let body: Option<&str> = row.try_get("body")?;
    Ok(FlagVersion {
        flag: body
            .map(|body| rules::parse(FLAG, &key, body))
            .transpose()?,
        version: row.try_get("version")?,
        archived: row.try_get("archived")?,
        actor: row.try_get("actor")?,
        at: row.try_get("at")?,
        key,
    })
}

fn audit_entry(row: &SqliteRow) -> Result<AuditEntry, Error> {
    let id: i64 = row.try_get("id")?;
    let json = |column: &str| -> Result<Option<serde_json::Value>, Error> {
        let text: Option<&str> = row.try_get(column)?;
        text.map(|text| rules::parse("audit entry", &id.to_string(), text))
            .transpose()
    };
    Ok(AuditEntry {
        id,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        flag: row.try_get("flag")?,
        segment: row.try_get("segment")?,
        environment: row.try_get("environment")?,
        before: json("before")?,
        after: json("after")?,
        config_version: row.try_get("config_version")?,
    })
}
