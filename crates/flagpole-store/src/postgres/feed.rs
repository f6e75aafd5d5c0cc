//! [`crate::Store::changes_since`] for PostgreSQL.

use sqlx::{PgPool, Row};

use super::tables::{config_version, flag_record, segment_record};
use crate::feed::{Changes, Touched, MAX_CHANGED_ITEMS};
use crate::Error;

pub(super) async fn changes_since(pool: &PgPool, after: i64) -> Result<Changes, Error> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let version = config_version(&mut tx).await?;
    let mut changes = Changes {
        version,
        ..Changes::default()
    };
    if version <= after {
        tx.rollback().await?;
        return Ok(changes);
    }
    let rows = sqlx::query(
        "SELECT action, flag, segment FROM audit WHERE config_version > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(MAX_CHANGED_ITEMS as i64 + 1)
    .fetch_all(&mut *tx)
    .await?;
    let mut touched = Touched::default();
    for row in &rows {
        touched.add(
            row.try_get("action")?,
            row.try_get("flag")?,
            row.try_get("segment")?,
        );
    }
    if touched.reload() {
        changes.reload = true;
        tx.rollback().await?;
        return Ok(changes);
    }
    for key in touched.flags {
        let row = sqlx::query(
            "SELECT key, body::text AS body, version, archived, created_at, updated_at FROM flags WHERE key = $1",
        )
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await?;
        changes
            .flags
            .push((key, row.as_ref().map(flag_record).transpose()?));
    }
    for name in touched.segments {
        let row = sqlx::query(
            "SELECT name, body::text AS body, version, created_at, updated_at FROM segments WHERE name = $1",
        )
        .bind(&name)
        .fetch_optional(&mut *tx)
        .await?;
        changes
            .segments
            .push((name, row.as_ref().map(segment_record).transpose()?));
    }
    tx.rollback().await?;
    Ok(changes)
}
