//! The SQL of each table for [`super::SqliteStore`]: the steps of a write and the
//! decoding of rows into records.

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::Row;

use crate::rules::{self, Current};
use crate::write::{Entry, FlagWrite, Stored};
use crate::{
    AuditEntry, Environment, Error, FlagRecord, FlagVersion, SegmentRecord, UsageCount, UsageRecord,
};

const FLAG: &str = super::FLAG;
const SEGMENT: &str = super::SEGMENT;
const USAGE: &str = super::USAGE;

/// Raises the configuration version; the first write of every write transaction.
pub(super) async fn bump(conn: &mut SqliteConnection) -> Result<i64, Error> {
    let version = sqlx::query_scalar(
        "UPDATE meta SET config_version = config_version + 1 RETURNING config_version",
    )
    .fetch_one(conn)
    .await?;
    Ok(version)
}

pub(super) async fn config_version(conn: &mut SqliteConnection) -> Result<i64, Error> {
    Ok(sqlx::query_scalar("SELECT config_version FROM meta")
        .fetch_one(conn)
        .await?)
}

pub(super) async fn stored_flag(
    conn: &mut SqliteConnection,
    key: &str,
) -> Result<Option<Stored>, Error> {
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

pub(super) async fn stored_segment(
    conn: &mut SqliteConnection,
    name: &str,
) -> Result<Option<Stored>, Error> {
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
pub(super) async fn write_flag(
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
        .bind(timestamp(&entry.at)),
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
        .bind(timestamp(&entry.at))
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
pub(super) async fn write_segment(
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
    .bind(timestamp(&entry.at))
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

pub(super) async fn insert_audit(
    conn: &mut SqliteConnection,
    entry: &Entry<'_>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO audit (at, actor, action, flag, segment, environment, before, after, config_version, address) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .bind(timestamp(&entry.at))
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.flag)
    .bind(entry.segment)
    .bind(entry.environment)
    .bind(entry.before)
    .bind(entry.after)
    .bind(entry.config_version)
    .bind(entry.address)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds one flag's counts to its row in `bucket` (a stored timestamp), creating the row if
/// there is none. Reads then writes: only correct under the write lock.
pub(super) async fn add_usage(
    conn: &mut SqliteConnection,
    environment: &str,
    bucket: &str,
    count: &UsageCount,
) -> Result<(), Error> {
    let row = sqlx::query(
        "SELECT yes, no, variants FROM usage WHERE environment = ?1 AND bucket = ?2 AND flag = ?3",
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
        "INSERT INTO usage (environment, bucket, flag, yes, no, variants) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (environment, bucket, flag) DO UPDATE SET yes = excluded.yes, no = excluded.no, \
         variants = excluded.variants",
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

/// A timestamp as stored: UTC, microseconds, always the same width.
pub(super) fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(super) fn environment(row: &SqliteRow) -> Result<Environment, Error> {
    Ok(Environment {
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        protected: row.try_get("protected")?,
        requires_approval: row.try_get("requires_approval")?,
    })
}

pub(super) fn flag_record(row: &SqliteRow) -> Result<FlagRecord, Error> {
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

pub(super) fn segment_record(row: &SqliteRow) -> Result<SegmentRecord, Error> {
    let name: String = row.try_get("name")?;
    Ok(SegmentRecord {
        segment: rules::parse(SEGMENT, &name, row.try_get("body")?)?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        name,
    })
}

pub(super) fn flag_version(row: &SqliteRow) -> Result<FlagVersion, Error> {
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

pub(super) fn audit_entry(row: &SqliteRow) -> Result<AuditEntry, Error> {
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
        address: row.try_get("address")?,
    })
}

pub(super) fn usage_record(row: &SqliteRow) -> Result<UsageRecord, Error> {
    let flag: String = row.try_get("flag")?;
    Ok(UsageRecord {
        environment: row.try_get("environment")?,
        bucket: row.try_get("bucket")?,
        yes: row.try_get("yes")?,
        no: row.try_get("no")?,
        variants: rules::parse(USAGE, &flag, row.try_get("variants")?)?,
        flag,
    })
}
