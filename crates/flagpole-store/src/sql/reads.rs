//! The reads of [`crate::Store`]: the whole state in one snapshot, what changed after a
//! configuration version (the audit entries after it name what changed, see
//! [`crate::feed`]; the changed flags and segments are read as they are now, in the same
//! snapshot), flag versions, the audit log and usage; and their rows decoded.

/// Expands to the reads, as a module of [`super::store`]'s expansion.
macro_rules! expand {
    () => {
        use chrono::{DateTime, Utc};
        use futures_util::TryStreamExt;
        use sqlx::{QueryBuilder, Row as _};

        use super::fetch::{all, narrowed, optional, Decode};
        use super::projects::load_projects;
        use super::steps::config_version;
        use super::{Db, Engine, Row, BYTE_ORDER};
        use crate::backend::Backend;
        use crate::feed::{Changes, Touched, MAX_CHANGED_ITEMS};
        use crate::rules::{self, FLAG, SEGMENT, USAGE};
        use crate::error::Error;
        use crate::sql::decode;
use crate::records::{AuditEntry, AuditFilter, Environment, FlagRecord, FlagVersion, SegmentRecord, UsageFilter, UsageRecord};
use crate::store::State;

        /// Every flag, as [`flag_record`] decodes it.
        const FLAGS: &str = "SELECT key, CAST(body AS TEXT) AS body, version, archived, \
             created_at, updated_at FROM flags";
        /// Every segment, as [`segment_record`] decodes it.
        const SEGMENTS: &str = "SELECT name, CAST(body AS TEXT) AS body, version, created_at, \
             updated_at FROM segments";

        /// [`crate::Store::load_each`].
        pub(super) async fn load_each(
            store: &Engine,
            each: &mut (dyn FnMut(FlagRecord) -> Result<(), Error> + Send),
        ) -> Result<State, Error> {
            let mut tx = store.begin_read().await?;
            let version = config_version(&mut *tx).await?;
            let environments = sqlx::query(
                "SELECT name, created_at, protected, requires_approval FROM environments \
                 ORDER BY name",
            );
            let environments = all(&mut *tx, environments).await?;
            let projects = load_projects(&mut tx).await?;
            let mut rows =
                sqlx::query(sqlx::AssertSqlSafe(format!("{FLAGS} ORDER BY key"))).fetch(&mut *tx);
            while let Some(row) = rows.try_next().await? {
                each(FlagRecord::decode(&row)?)?;
            }
            drop(rows);
            let segments = sqlx::query(sqlx::AssertSqlSafe(format!("{SEGMENTS} ORDER BY name")));
            let segments = all(&mut *tx, segments).await?;
            tx.rollback().await?;
            Ok(State {
                version,
                environments,
                projects,
                flags: Vec::new(),
                segments,
            })
        }

        /// [`crate::Store::changes_since`], read in one snapshot.
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
                let sql = format!("{FLAGS} WHERE key = $1");
                let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&key);
                let flag = optional(&mut *tx, query).await?;
                changes.flags.push((key, flag));
            }
            for name in touched.segments {
                let sql = format!("{SEGMENTS} WHERE name = $1");
                let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&name);
                let segment = optional(&mut *tx, query).await?;
                changes.segments.push((name, segment));
            }
            tx.rollback().await?;
            Ok(changes)
        }

        /// The stored versions of flag `key`, oldest first: all of them, or only `version`.
        pub(super) async fn flag_versions(
            store: &Engine,
            key: &str,
            version: Option<i64>,
        ) -> Result<Vec<FlagVersion>, Error> {
            let query = sqlx::query(
                "SELECT key, version, CAST(body AS TEXT) AS body, archived, actor, at \
                 FROM flag_versions WHERE key = $1 AND ($2 IS NULL OR version = $2) \
                 ORDER BY version",
            )
            .bind(key)
            .bind(version);
            all(store.pool(), query).await
        }

        pub(super) async fn audit(
            store: &Engine,
            filter: &AuditFilter,
        ) -> Result<Vec<AuditEntry>, Error> {
            let select = "SELECT id, at, actor, action, flag, segment, environment, project, \
                 CAST(before AS TEXT) AS before, CAST(after AS TEXT) AS after, config_version, \
                 address FROM audit WHERE 1 = 1";
            // Each of these columns has an index on (column, id), which serves the filter
            // and the order by id. A flag's entries are few: where a flag is given, its
            // index finds them and the other columns are checked on those rows (`|| ''`
            // keeps SQLite, which has no statistics to tell, from reading a wider index).
            let (environment, project) = match filter.flag {
                Some(_) => ("environment || ''", "project || ''"),
                None => ("environment", "project"),
            };
            let equal = [
                ("flag", filter.flag.as_deref()),
                (environment, filter.environment.as_deref()),
                (project, filter.project.as_deref()),
            ];
            let mut query = narrowed_in_time(select, &equal, "at", filter.since, filter.until);
            query
                .push(" ORDER BY id DESC LIMIT ")
                .push_bind(rules::audit_limit(filter));
            all(store.pool(), query.build()).await
        }

        pub(super) async fn usage(
            store: &Engine,
            filter: &UsageFilter,
        ) -> Result<Vec<UsageRecord>, Error> {
            let select = "SELECT environment, bucket, flag, yes, no, \
                 CAST(variants AS TEXT) AS variants FROM usage WHERE 1 = 1";
            let equal = [
                ("flag", filter.flag.as_deref()),
                ("environment", filter.environment.as_deref()),
            ];
            let mut query = narrowed_in_time(select, &equal, "bucket", filter.since, filter.until);
            // Byte order on every backend, whatever the database's collation.
            query.push(format!(
                " ORDER BY bucket, environment{BYTE_ORDER}, flag{BYTE_ORDER}"
            ));
            all(store.pool(), query.build()).await
        }

        /// `select` (ending in a condition) narrowed to the rows whose column holds the
        /// value, for each value of `equal` given, and to `time` at or after `since` and
        /// before `until`, where given.
        fn narrowed_in_time(
            select: &str,
            equal: &[(&str, Option<&str>)],
            time: &str,
            since: Option<DateTime<Utc>>,
            until: Option<DateTime<Utc>>,
        ) -> QueryBuilder<Db> {
            let mut query = narrowed(select, equal);
            if let Some(since) = since {
                query
                    .push(format!(" AND {time} >= "))
                    .push_bind(Engine::timestamp(&since));
            }
            if let Some(until) = until {
                query
                    .push(format!(" AND {time} < "))
                    .push_bind(Engine::timestamp(&until));
            }
            query
        }

        decode!(Environment from row {
            columns: name, created_at, protected, requires_approval;
        });

        decode!(FlagRecord from row {
            let key: String = row.try_get("key")?;
            columns: version, archived, created_at, updated_at;
            flag: rules::parse(FLAG, &key, row.try_get("body")?)?,
            key,
        });

        decode!(SegmentRecord from row {
            let name: String = row.try_get("name")?;
            columns: version, created_at, updated_at;
            segment: rules::parse(SEGMENT, &name, row.try_get("body")?)?,
            name,
        });

        decode!(FlagVersion from row {
            let key: String = row.try_get("key")?;
            let body: Option<&str> = row.try_get("body")?;
            columns: version, archived, actor, at;
            flag: body.map(|body| rules::parse(FLAG, &key, body)).transpose()?,
            key,
        });

        impl Decode for AuditEntry {
            fn decode(row: &Row) -> Result<AuditEntry, Error> {
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
                    project: row.try_get("project")?,
                    before: json("before")?,
                    after: json("after")?,
                    config_version: row.try_get("config_version")?,
                    address: row.try_get("address")?,
                })
            }
        }

        decode!(UsageRecord from row {
            let flag: String = row.try_get("flag")?;
            columns: environment, bucket, yes, no;
            variants: rules::parse(USAGE, &flag, row.try_get("variants")?)?,
            flag,
        });
    };
}
pub(crate) use expand;
