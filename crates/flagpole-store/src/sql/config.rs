//! [`crate::Store`]: environments, flags, segments and imports, each a configuration
//! write made of [`super::steps`]; usage reports and the start-up checks. Projects are in
//! [`super::projects`], reads in [`super::reads`].

/// Expands to the `Store` implementation, as a module of [`super::store`]'s expansion.
macro_rules! expand {
    () => {
        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use flagpole_core::{Flag, Segment};

        use super::steps::{
            abort, commit, commit_entry, config_version, stored_flag, stored_segment, write_flag,
            write_segment, written,
        };
        use super::{projects, reads, Engine};
        use crate::backend::Backend;
        use crate::rules::{self, ENVIRONMENT, FLAG, SEGMENT};
        use crate::write::{Body, Entry, EnvironmentSwitch, ItemWrite};
        use crate::error::Error;
use crate::feed::{Changes, Notifications};
use crate::records::{AuditEntry, AuditFilter, Change, Expect, FlagRecord, FlagVersion, ProjectRecord, UsageCount, UsageFilter, UsageRecord, Written};
use crate::store::{State, Store};

        impl Engine {
            /// Sets a yes/no setting of an environment (raising the configuration version),
            /// with its audit entry; `NotFound` if there is no such environment.
            pub(super) async fn set_environment_switch(
                &self,
                name: &str,
                switch: EnvironmentSwitch,
                value: bool,
                change: Change<'_>,
            ) -> Result<Written, Error> {
                let (_lock, mut tx, config_version) = self.begin_change().await?;
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
                commit_entry(tx, &entry).await
            }

            /// Creates or overwrites (`body`) or deletes (`None`) one flag or segment
            /// (`kind`), if what is stored is what `expect` says.
            async fn write_one(
                &self,
                kind: &'static str,
                name: &str,
                body: Option<Body<'_>>,
                archived: bool,
                expect: Expect,
                change: Change<'_>,
            ) -> Result<Written, Error> {
                let (_lock, mut tx, config_version) = self.begin_change().await?;
                let stored = match kind {
                    FLAG => stored_flag(&mut tx, name).await?,
                    _ => stored_segment(&mut tx, name).await?,
                };
                let current = stored.as_ref().map(|s| s.current);
                let checked = match body {
                    Some(_) => rules::check_put(kind, name, current, expect),
                    None => rules::check_delete(kind, name, current, expect),
                };
                if let Err(error) = checked {
                    return abort(tx, error).await;
                }
                let entry = Entry::new(&change, config_version);
                let write = ItemWrite::new(name, body, archived, stored.as_ref());
                let version = match kind {
                    FLAG => write_flag(&mut tx, &write, &entry).await?,
                    _ => write_segment(&mut tx, &write, &entry).await?,
                };
                commit(tx, config_version).await?;
                Ok(written(if body.is_some() { version } else { 0 }, &entry))
            }
        }

        /// An environment as its audit entries record it: its name.
        fn named(name: &str) -> Result<String, Error> {
            rules::to_text(ENVIRONMENT, name, &serde_json::json!({ "name": name }))
        }

        #[async_trait]
        impl Store for Engine {
            async fn load_each(
                &self,
                each: &mut (dyn FnMut(FlagRecord) -> Result<(), Error> + Send),
            ) -> Result<State, Error> {
                reads::load_each(self, each).await
            }

            async fn changes_since(&self, version: i64) -> Result<Changes, Error> {
                reads::changes_since(self, version).await
            }

            async fn notifications(&self) -> Result<Option<Notifications>, Error> {
                self.listen().await
            }

            async fn version(&self) -> Result<i64, Error> {
                config_version(self.pool()).await
            }

            async fn create_environment(
                &self,
                name: &str,
                change: Change<'_>,
            ) -> Result<Written, Error> {
                let (_lock, mut tx, config_version) = self.begin_change().await?;
                let entry = Entry::new(&change, config_version);
                let inserted = sqlx::query(
                    "INSERT INTO environments (name, created_at) VALUES ($1, $2) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(Engine::timestamp(&entry.at))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    return abort(tx, rules::conflict(ENVIRONMENT, name, "already exists")).await;
                }
                let after = named(name)?;
                let entry = Entry {
                    environment: Some(name),
                    after: Some(&after),
                    ..entry
                };
                commit_entry(tx, &entry).await
            }

            async fn delete_environment(
                &self,
                name: &str,
                flags: &[(String, Flag)],
                change: Change<'_>,
            ) -> Result<Written, Error> {
                let (_lock, mut tx, config_version) = self.begin_change().await?;
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
                    let json = rules::to_text(FLAG, key, flag)?;
                    let Some(stored) = stored_flag(&mut tx, key).await? else {
                        continue;
                    };
                    let body = Body { json: &json, project: flag.project() };
                    let archived = stored.current.archived;
                    let write = ItemWrite::new(key, Some(body), archived, Some(&stored));
                    write_flag(&mut tx, &write, &entry).await?;
                }
                let before = named(name)?;
                let entry = Entry {
                    before: Some(&before),
                    ..entry
                };
                commit_entry(tx, &entry).await
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

            async fn put_project(
                &self,
                project: &ProjectRecord,
                expect: Expect,
                change: Change<'_>,
            ) -> Result<Written, Error> {
                projects::put_project(self, project, expect, change).await
            }

            async fn delete_project(
                &self,
                key: &str,
                expect: Expect,
                change: Change<'_>,
            ) -> Result<Written, Error> {
                projects::delete_project(self, key, expect, change).await
            }

            async fn put_flag(
                &self,
                key: &str,
                flag: &Flag,
                archived: bool,
                expect: Expect,
                change: Change<'_>,
            ) -> Result<Written, Error> {
                let json = rules::to_text(FLAG, key, flag)?;
                let body = Body { json: &json, project: flag.project() };
                self.write_one(FLAG, key, Some(body), archived, expect, change)
                    .await
            }

            async fn delete_flag(
                &self,
                key: &str,
                expect: Expect,
                change: Change<'_>,
            ) -> Result<Written, Error> {
                self.write_one(FLAG, key, None, false, expect, change).await
            }

            async fn put_segment(
                &self,
                name: &str,
                segment: &Segment,
                expect: Expect,
                change: Change<'_>,
            ) -> Result<Written, Error> {
                let json = rules::to_text(SEGMENT, name, segment)?;
                let body = Body { json: &json, project: segment.project() };
                self.write_one(SEGMENT, name, Some(body), false, expect, change)
                    .await
            }

            async fn delete_segment(
                &self,
                name: &str,
                expect: Expect,
                change: Change<'_>,
            ) -> Result<Written, Error> {
                self.write_one(SEGMENT, name, None, false, expect, change)
                    .await
            }

            async fn import(
                &self,
                flags: &[(String, Flag)],
                segments: &[(String, Segment)],
                change: Change<'_>,
            ) -> Result<Written, Error> {
                let (_lock, mut tx, config_version) = self.begin_change().await?;
                let entry = Entry::new(&change, config_version);
                for (name, segment) in segments {
                    let json = rules::to_text(SEGMENT, name, segment)?;
                    let stored = stored_segment(&mut tx, name).await?;
                    let body = Body { json: &json, project: segment.project() };
                    let write = ItemWrite::new(name, Some(body), false, stored.as_ref());
                    write_segment(&mut tx, &write, &entry).await?;
                }
                for (key, flag) in flags {
                    let json = rules::to_text(FLAG, key, flag)?;
                    let stored = stored_flag(&mut tx, key).await?;
                    let body = Body { json: &json, project: flag.project() };
                    let write = ItemWrite::new(key, Some(body), false, stored.as_ref());
                    write_flag(&mut tx, &write, &entry).await?;
                }
                commit(tx, config_version).await?;
                Ok(written(0, &entry))
            }

            async fn flag_versions(&self, key: &str) -> Result<Vec<FlagVersion>, Error> {
                reads::flag_versions(self, key, None).await
            }

            async fn flag_version(
                &self,
                key: &str,
                version: i64,
            ) -> Result<Option<FlagVersion>, Error> {
                let mut found = reads::flag_versions(self, key, Some(version)).await?;
                Ok(found.pop())
            }

            async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, Error> {
                reads::audit(self, filter).await
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
                // Not a configuration change: no configuration version, audit entry or
                // notification.
                let (_lock, mut tx) = self.begin_write().await?;
                Engine::add_usage(&mut tx, environment, bucket, &counts).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn usage(&self, filter: &UsageFilter) -> Result<Vec<UsageRecord>, Error> {
                reads::usage(self, filter).await
            }

            async fn check_writable(&self) -> Result<(), Error> {
                let (_lock, mut tx) = self.begin_write().await?;
                sqlx::query("UPDATE meta SET config_version = config_version WHERE id = 1")
                    .execute(&mut *tx)
                    .await?;
                tx.rollback().await?;
                Ok(())
            }

            async fn check_integrity(&self) -> Result<(), Error> {
                self.check_database().await?;
                let broken: Vec<String> = sqlx::query_scalar(rules::FLAGS_WITHOUT_CURRENT_VERSION)
                    .fetch_all(self.pool())
                    .await?;
                rules::check_flags_have_versions(&broken)
            }
        }
    };
}
pub(crate) use expand;
