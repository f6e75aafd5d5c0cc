//! [`crate::Store::changes_since`]: the audit entries after a configuration version name
//! what changed ([`crate::feed`]); the changed flags and segments are read as they are
//! now, all in one snapshot.

/// Expands to `changes_since`, as a module of [`super::store`]'s expansion.
macro_rules! expand {
    () => {
        use sqlx::Row as _;

        use super::rows::{flag_record, segment_record};
        use super::steps::config_version;
        use super::Engine;
        use crate::backend::Backend;
        use crate::feed::{Changes, Touched, MAX_CHANGED_ITEMS};
        use crate::Error;

        pub(super) async fn changes_since(store: &Engine, after: i64) -> Result<Changes, Error> {
            let mut tx = store.begin_read().await?;
            let version = config_version(&mut *tx).await?;
            let mut changes = Changes {
                version,
                ..Changes::default()
            };
            if version <= after {
                tx.rollback().await?;
                return Ok(changes);
            }
            let rows = sqlx::query(
                "SELECT action, flag, segment FROM audit WHERE config_version > $1 \
                 ORDER BY id LIMIT $2",
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
                    "SELECT key, CAST(body AS TEXT) AS body, version, archived, created_at, \
                     updated_at FROM flags WHERE key = $1",
                )
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await?;
                let flag = row.as_ref().map(flag_record).transpose()?;
                changes.flags.push((key, flag));
            }
            for name in touched.segments {
                let row = sqlx::query(
                    "SELECT name, CAST(body AS TEXT) AS body, version, created_at, updated_at \
                     FROM segments WHERE name = $1",
                )
                .bind(&name)
                .fetch_optional(&mut *tx)
                .await?;
                let segment = row.as_ref().map(segment_record).transpose()?;
                changes.segments.push((name, segment));
            }
            tx.rollback().await?;
            Ok(changes)
        }
    };
}
pub(crate) use expand;
