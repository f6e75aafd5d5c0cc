//! The steps writes are made of: beginning a configuration write (raising the
//! configuration version) or an access write, reading a flag or segment as a write finds
//! it, writing a flag with its next version, a segment, an audit entry (an access change's
//! raising the auth version), and ending the transaction.

/// Expands to the steps, as a module of [`super::store`]'s expansion.
macro_rules! expand {
    () => {
        use sqlx::Row as _;

        use super::fetch::{optional, Decode};
        use super::{Conn, Db, Engine, Lock, Row, Tx, FOR_UPDATE, JSON};
        use crate::backend::Backend;
        use crate::error::Error;
        use crate::records::{Change, Written};
        use crate::rules::{self, Current};
        use crate::write::{Entry, ItemWrite, Stored};

        impl Engine {
            /// Begins a configuration write: this writer's turn, then the configuration
            /// version raised (which, where writes run concurrently, locks the `meta` row
            /// until the transaction ends: writers from every process run one after
            /// another, so a version check cannot be won twice and versions have no gaps).
            pub(super) async fn begin_change(&self) -> Result<(Lock<'_>, Tx, i64), Error> {
                let (lock, mut tx) = self.begin_write().await?;
                let config_version = sqlx::query_scalar(
                    "UPDATE meta SET config_version = config_version + 1 WHERE id = 1 \
                     RETURNING config_version",
                )
                .fetch_one(&mut *tx)
                .await?;
                Ok((lock, tx, config_version))
            }

            /// Begins a write to tokens, users or memberships: ordered after every
            /// configuration and access write, where writes run concurrently, by the
            /// `meta` row's lock.
            pub(super) async fn begin_access(&self) -> Result<(Lock<'_>, Tx), Error> {
                let (lock, mut tx) = self.begin_write().await?;
                if Engine::CONCURRENT_WRITES {
                    sqlx::query("SELECT 1 FROM meta WHERE id = 1 FOR UPDATE")
                        .execute(&mut *tx)
                        .await?;
                }
                Ok((lock, tx))
            }
        }

        /// Raises the auth version and records the access change with `record` as `after`
        /// (its `kind` names it in errors), in `project` if it is about one, at the current
        /// configuration version.
        pub(super) async fn audit_access<T: serde::Serialize>(
            conn: &mut Conn,
            change: &Change<'_>,
            kind: &'static str,
            record: &T,
            project: Option<&str>,
        ) -> Result<(), Error> {
            let version = raise_auth_version(&mut *conn).await?;
            let after = rules::to_text(kind, change.action, record)?;
            let entry = Entry {
                project,
                after: Some(&after),
                ..Entry::new(change, version)
            };
            insert_audit(conn, &entry).await
        }

        /// Raises the auth version (so every process reloads tokens, users and
        /// memberships); returns the configuration version.
        pub(super) async fn raise_auth_version(conn: &mut Conn) -> Result<i64, Error> {
            let sql = "UPDATE meta SET auth_version = auth_version + 1 WHERE id = 1 \
                 RETURNING config_version";
            Ok(sqlx::query_scalar(sql).fetch_one(conn).await?)
        }

        /// Ends a configuration write: announces its version, then commits.
        pub(super) async fn commit(mut tx: Tx, config_version: i64) -> Result<(), Error> {
            Engine::notify(&mut tx, config_version).await?;
            tx.commit().await?;
            Ok(())
        }

        /// Ends a configuration write whose one audit entry is `entry` and which writes
        /// no version of its own (an environment's): records the entry, then commits.
        pub(super) async fn commit_entry(mut tx: Tx, entry: &Entry<'_>) -> Result<Written, Error> {
            insert_audit(&mut tx, entry).await?;
            commit(tx, entry.config_version).await?;
            Ok(written(0, entry))
        }

        /// Rolls back at once (releasing the write's locks for the next writer) and fails
        /// with `error`.
        pub(super) async fn abort<T>(tx: Tx, error: Error) -> Result<T, Error> {
            tx.rollback().await?;
            Err(error)
        }

        /// What a configuration write returns: the `version` it wrote, and the
        /// configuration version and time of its audit `entry`.
        pub(super) fn written(version: i64, entry: &Entry<'_>) -> Written {
            Written {
                version,
                config_version: entry.config_version,
                at: entry.at,
            }
        }

        pub(super) async fn config_version<'c>(
            executor: impl sqlx::Executor<'c, Database = Db>,
        ) -> Result<i64, Error> {
            let sql = "SELECT config_version FROM meta WHERE id = 1";
            Ok(sqlx::query_scalar(sql).fetch_one(executor).await?)
        }

        pub(super) async fn stored_flag(
            conn: &mut Conn,
            key: &str,
        ) -> Result<Option<Stored>, Error> {
            let sql = format!(
                "SELECT version, archived, CAST(body AS TEXT) AS body, project FROM flags \
                 WHERE key = $1{FOR_UPDATE}"
            );
            stored(conn, sql, key).await
        }

        pub(super) async fn stored_segment(
            conn: &mut Conn,
            name: &str,
        ) -> Result<Option<Stored>, Error> {
            let sql = format!(
                "SELECT version, false AS archived, CAST(body AS TEXT) AS body, project \
                 FROM segments WHERE name = $1{FOR_UPDATE}"
            );
            stored(conn, sql, name).await
        }

        /// Writes (or deletes) a flag, its next version and its audit entry; returns the
        /// version. A flag deleted and created again continues its numbering, so versions
        /// never collide.
        pub(super) async fn write_flag(
            conn: &mut Conn,
            write: &ItemWrite<'_>,
            entry: &Entry<'_>,
        ) -> Result<i64, Error> {
            let version: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM flag_versions WHERE key = $1",
            )
            .bind(write.key)
            .fetch_one(&mut *conn)
            .await?;
            let at = Engine::timestamp(&entry.at);
            match write.body {
                Some(body) => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO flags (key, body, version, archived, created_at, updated_at, \
                     project) VALUES ($1, $2{JSON}, $3, $4, $5, $5, $6) ON CONFLICT (key) DO \
                     UPDATE SET body = excluded.body, version = excluded.version, \
                     archived = excluded.archived, updated_at = excluded.updated_at, \
                     project = excluded.project"
                )))
                .bind(write.key)
                .bind(body)
                .bind(version)
                .bind(write.archived)
                .bind(&at)
                .bind(write.project),
                None => sqlx::query("DELETE FROM flags WHERE key = $1").bind(write.key),
            }
            .execute(&mut *conn)
            .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO flag_versions (key, version, body, archived, actor, at) \
                 VALUES ($1, $2, $3{JSON}, $4, $5, $6)"
            )))
            .bind(write.key)
            .bind(version)
            .bind(write.body)
            .bind(write.archived)
            .bind(entry.actor)
            .bind(&at)
            .execute(&mut *conn)
            .await?;
            let entry = Entry {
                flag: Some(write.key),
                ..write.entry(entry)
            };
            insert_audit(conn, &entry).await?;
            Ok(version)
        }

        /// Creates or overwrites (`body`) or deletes (`None`) a segment and records its
        /// audit entry; returns its version (0 once deleted).
        pub(super) async fn write_segment(
            conn: &mut Conn,
            write: &ItemWrite<'_>,
            entry: &Entry<'_>,
        ) -> Result<i64, Error> {
            let version = match write.body {
                Some(body) => {
                    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO segments (name, body, version, created_at, updated_at, \
                         project) VALUES ($1, $2{JSON}, 1, $3, $3, $4) \
                         ON CONFLICT (name) DO UPDATE SET body = excluded.body, \
                         version = segments.version + 1, updated_at = excluded.updated_at, \
                         project = excluded.project RETURNING version"
                    )))
                    .bind(write.key)
                    .bind(body)
                    .bind(Engine::timestamp(&entry.at))
                    .bind(write.project)
                    .fetch_one(&mut *conn)
                    .await?
                }
                None => {
                    sqlx::query("DELETE FROM segments WHERE name = $1")
                        .bind(write.key)
                        .execute(&mut *conn)
                        .await?;
                    0
                }
            };
            let entry = Entry {
                segment: Some(write.key),
                ..write.entry(entry)
            };
            insert_audit(conn, &entry).await?;
            Ok(version)
        }

        pub(super) async fn insert_audit(conn: &mut Conn, entry: &Entry<'_>) -> Result<(), Error> {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO audit (at, actor, action, flag, segment, environment, before, after, \
                 config_version, address, project) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7{JSON}, $8{JSON}, $9, $10, $11)"
            )))
            .bind(Engine::timestamp(&entry.at))
            .bind(entry.actor)
            .bind(entry.action)
            .bind(entry.flag)
            .bind(entry.segment)
            .bind(entry.environment)
            .bind(entry.before)
            .bind(entry.after)
            .bind(entry.config_version)
            .bind(entry.address)
            .bind(entry.project)
            .execute(conn)
            .await?;
            Ok(())
        }

        /// Whether `sql` selects a row for `key`.
        pub(super) async fn exists(
            conn: &mut Conn,
            sql: &'static str,
            key: &str,
        ) -> Result<bool, Error> {
            Ok(sqlx::query(sql)
                .bind(key)
                .fetch_optional(conn)
                .await?
                .is_some())
        }

        /// The flag or segment row `sql` selects for `key`, as a write finds it.
        async fn stored(conn: &mut Conn, sql: String, key: &str) -> Result<Option<Stored>, Error> {
            optional(conn, sqlx::query(sqlx::AssertSqlSafe(sql)).bind(key)).await
        }

        impl Decode for Stored {
            fn decode(row: &Row) -> Result<Stored, Error> {
                Ok(Stored {
                    current: Current {
                        version: row.try_get("version")?,
                        archived: row.try_get("archived")?,
                    },
                    body: row.try_get("body")?,
                    project: row.try_get("project")?,
                })
            }
        }
    };
}
pub(crate) use expand;
