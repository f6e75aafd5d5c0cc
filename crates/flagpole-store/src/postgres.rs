//! The PostgreSQL backend: one database shared by several Flagpole replicas.
//!
//! Every write transaction starts by updating the one-row `meta` table, which raises the
//! configuration version and holds that row's lock until commit: writers from every
//! replica run one after another, so a version check cannot be won twice and
//! configuration versions have no gaps. Reads never take that lock. Just before commit
//! a write sends `NOTIFY` on [`CHANGES_CHANNEL`] with the new configuration version;
//! PostgreSQL delivers it only if the transaction commits.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flagpole_core::{Flag, Segment};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder, Row, Transaction};

use crate::rules::{self, Current};
use crate::{
    AuditEntry, AuditFilter, Change, Environment, Error, Expect, FlagRecord, FlagVersion,
    SegmentRecord, State, Store, Written,
};

/// The channel every committed write notifies, with the new configuration version as
/// its payload (decimal text). Replicas `LISTEN` on it to reload.
pub const CHANGES_CHANNEL: &str = "flagpole_changes";

/// Connections in a pool this module creates.
const MAX_CONNECTIONS: u32 = 8;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

const FLAG: &str = "flag";
const SEGMENT: &str = "segment";
const ENVIRONMENT: &str = "environment";

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

#[async_trait]
impl Store for PostgresStore {
    async fn load(&self) -> Result<State, Error> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
        let version = config_version(&mut tx).await?;
        let environments = sqlx::query("SELECT name, created_at FROM environments ORDER BY name")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(environment)
            .collect::<Result<_, _>>()?;
        let flags = sqlx::query(
            "SELECT key, body::text AS body, version, archived, created_at, updated_at FROM flags ORDER BY key",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(flag_record)
        .collect::<Result<_, _>>()?;
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
            flags,
            segments,
        })
    }

    async fn version(&self) -> Result<i64, Error> {
        let mut conn = self.pool.acquire().await?;
        config_version(&mut conn).await
    }

    async fn create_environment(&self, name: &str, change: Change<'_>) -> Result<Written, Error> {
        let (mut tx, config_version) = self.begin_write().await?;
        let now = rules::now();
        let inserted = sqlx::query(
            "INSERT INTO environments (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(now)
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
            ..Entry::new(&change, now, config_version)
        };
        insert_audit(&mut tx, &entry).await?;
        commit(tx, config_version).await?;
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
        let version = write_flag(
            &mut tx,
            &write,
            &Entry::new(&change, rules::now(), config_version),
        )
        .await?;
        commit(tx, config_version).await?;
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
        write_flag(
            &mut tx,
            &write,
            &Entry::new(&change, rules::now(), config_version),
        )
        .await?;
        commit(tx, config_version).await?;
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
        let (mut tx, config_version) = self.begin_write().await?;
        let stored = stored_segment(&mut tx, name).await?;
        if let Err(error) =
            rules::check_put(SEGMENT, name, stored.as_ref().map(|s| s.current), expect)
        {
            return abort(tx, error).await;
        }
        let before = stored.map(|s| s.body);
        let entry = Entry::new(&change, rules::now(), config_version);
        let version = write_segment(&mut tx, name, &body, before.as_deref(), &entry).await?;
        commit(tx, config_version).await?;
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
            ..Entry::new(&change, rules::now(), config_version)
        };
        insert_audit(&mut tx, &entry).await?;
        commit(tx, config_version).await?;
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
        let (mut tx, config_version) = self.begin_write().await?;
        let entry = Entry::new(&change, rules::now(), config_version);
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
             after::text AS after, config_version FROM audit WHERE true",
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

/// A flag or segment row as a write finds it (locked until the write commits).
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
    at: DateTime<Utc>,
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
    fn new(change: &Change<'a>, at: DateTime<Utc>, config_version: i64) -> Entry<'a> {
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

async fn config_version(conn: &mut PgConnection) -> Result<i64, Error> {
    Ok(
        sqlx::query_scalar("SELECT config_version FROM meta WHERE id = 1")
            .fetch_one(conn)
            .await?,
    )
}

async fn stored_flag(conn: &mut PgConnection, key: &str) -> Result<Option<Stored>, Error> {
    let row = sqlx::query(
        "SELECT version, archived, body::text AS body FROM flags WHERE key = $1 FOR UPDATE",
    )
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

async fn stored_segment(conn: &mut PgConnection, name: &str) -> Result<Option<Stored>, Error> {
    let row =
        sqlx::query("SELECT version, body::text AS body FROM segments WHERE name = $1 FOR UPDATE")
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
    conn: &mut PgConnection,
    write: &FlagWrite<'_>,
    entry: &Entry<'_>,
) -> Result<i64, Error> {
    let version: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM flag_versions WHERE key = $1",
    )
    .bind(write.key)
    .fetch_one(&mut *conn)
    .await?;
    match write.body {
        Some(body) => sqlx::query(
            "INSERT INTO flags (key, body, version, archived, created_at, updated_at) \
             VALUES ($1, $2::json, $3, $4, $5, $5) \
             ON CONFLICT (key) DO UPDATE SET body = excluded.body, version = excluded.version, \
             archived = excluded.archived, updated_at = excluded.updated_at",
        )
        .bind(write.key)
        .bind(body)
        .bind(version)
        .bind(write.archived)
        .bind(entry.at),
        None => sqlx::query("DELETE FROM flags WHERE key = $1").bind(write.key),
    }
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO flag_versions (key, version, body, archived, actor, at) VALUES ($1, $2, $3::json, $4, $5, $6)",
    )
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
    conn: &mut PgConnection,
    name: &str,
    body: &str,
    before: Option<&str>,
    entry: &Entry<'_>,
) -> Result<i64, Error> {
    let version: i64 = sqlx::query_scalar(
        "INSERT INTO segments (name, body, version, created_at, updated_at) VALUES ($1, $2::json, 1, $3, $3) \
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

async fn insert_audit(conn: &mut PgConnection, entry: &Entry<'_>) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO audit (at, actor, action, flag, segment, environment, before, after, config_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8::json, $9)",
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

fn environment(row: &PgRow) -> Result<Environment, Error> {
    Ok(Environment {
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

fn flag_record(row: &PgRow) -> Result<FlagRecord, Error> {
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

fn segment_record(row: &PgRow) -> Result<SegmentRecord, Error> {
    let name: String = row.try_get("name")?;
    Ok(SegmentRecord {
        segment: rules::parse(SEGMENT, &name, row.try_get("body")?)?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        name,
    })
}

fn flag_version(row: &PgRow) -> Result<FlagVersion, Error> {
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

fn audit_entry(row: &PgRow) -> Result<AuditEntry, Error> {
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
