//! The reads of [`crate::Store`]: the whole state in one snapshot, flag versions, the
//! audit log and usage, decoded by [`super::rows`].

/// Expands to the reads, as a module of [`super::store`]'s expansion.
macro_rules! expand {
    () => {
        use chrono::{DateTime, Utc};
        use futures_util::TryStreamExt;
        use sqlx::QueryBuilder;

        use super::rows::{
            audit_entry, environment, flag_record, flag_version, segment_record, usage_record,
        };
        use super::steps::config_version;
        use super::{Db, Engine, BYTE_ORDER};
        use crate::backend::Backend;
        use crate::rules;
        use crate::{
            AuditEntry, AuditFilter, Error, FlagRecord, FlagVersion, State, UsageFilter,
            UsageRecord,
        };

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
            )
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(environment)
            .collect::<Result<_, _>>()?;
            let mut rows = sqlx::query(
                "SELECT key, CAST(body AS TEXT) AS body, version, archived, created_at, \
                 updated_at FROM flags ORDER BY key",
            )
            .fetch(&mut *tx);
            while let Some(row) = rows.try_next().await? {
                each(flag_record(&row)?)?;
            }
            drop(rows);
            let segments = sqlx::query(
                "SELECT name, CAST(body AS TEXT) AS body, version, created_at, updated_at \
                 FROM segments ORDER BY name",
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

        /// The stored versions of flag `key`, oldest first: all of them, or only `version`.
        pub(super) async fn flag_versions(
            store: &Engine,
            key: &str,
            version: Option<i64>,
        ) -> Result<Vec<FlagVersion>, Error> {
            sqlx::query(
                "SELECT key, version, CAST(body AS TEXT) AS body, archived, actor, at \
                 FROM flag_versions WHERE key = $1 AND ($2 IS NULL OR version = $2) \
                 ORDER BY version",
            )
            .bind(key)
            .bind(version)
            .fetch_all(store.pool())
            .await?
            .iter()
            .map(flag_version)
            .collect()
        }

        pub(super) async fn audit(
            store: &Engine,
            filter: &AuditFilter,
        ) -> Result<Vec<AuditEntry>, Error> {
            let select = "SELECT id, at, actor, action, flag, segment, environment, \
                 CAST(before AS TEXT) AS before, CAST(after AS TEXT) AS after, config_version, \
                 address FROM audit WHERE 1 = 1";
            let (flag, environment) = (&filter.flag, &filter.environment);
            let mut query = narrowed(select, flag, environment, "at", filter.since, filter.until);
            query
                .push(" ORDER BY id DESC LIMIT ")
                .push_bind(rules::audit_limit(filter));
            query
                .build()
                .fetch_all(store.pool())
                .await?
                .iter()
                .map(audit_entry)
                .collect()
        }

        pub(super) async fn usage(
            store: &Engine,
            filter: &UsageFilter,
        ) -> Result<Vec<UsageRecord>, Error> {
            let select = "SELECT environment, bucket, flag, yes, no, \
                 CAST(variants AS TEXT) AS variants FROM usage WHERE 1 = 1";
            let (flag, environment) = (&filter.flag, &filter.environment);
            let mut query = narrowed(
                select,
                flag,
                environment,
                "bucket",
                filter.since,
                filter.until,
            );
            // Byte order on every backend, whatever the database's collation.
            query.push(format!(
                " ORDER BY bucket, environment{BYTE_ORDER}, flag{BYTE_ORDER}"
            ));
            query
                .build()
                .fetch_all(store.pool())
                .await?
                .iter()
                .map(usage_record)
                .collect()
        }

        /// `select` (ending in a condition) narrowed to one flag and one environment, and
        /// to `time` at or after `since` and before `until`, where given.
        fn narrowed(
            select: &str,
            flag: &Option<String>,
            environment: &Option<String>,
            time: &str,
            since: Option<DateTime<Utc>>,
            until: Option<DateTime<Utc>>,
        ) -> QueryBuilder<Db> {
            let mut query = QueryBuilder::new(select);
            if let Some(flag) = flag {
                query.push(" AND flag = ").push_bind(flag.clone());
            }
            if let Some(environment) = environment {
                query
                    .push(" AND environment = ")
                    .push_bind(environment.clone());
            }
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
    };
}
pub(crate) use expand;
