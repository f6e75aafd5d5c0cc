//! Projects and their memberships: [`crate::Store::put_project`] and
//! [`crate::Store::delete_project`] (configuration writes), [`crate::AuthStore::set_member`]
//! (an access write), and the reads of both that [`crate::Store::load`] and
//! [`crate::AuthStore::load_auth`] make in their transactions.
//!
//! A project's flags and segments are the rows whose `project` column names it (every
//! flag and segment write sets it from the document), so that deleting a project can
//! count them; its memberships go with it (`ON DELETE CASCADE`), as they go with their
//! user.

/// Expands to the project reads and writes, as a module of [`super::store`]'s expansion.
macro_rules! expand {
    () => {
        use sqlx::Row as _;

        use super::fetch::{all, optional, Decode};
        use super::steps::{
            abort, audit_access, commit, commit_entry, exists, insert_audit, raise_auth_version,
            written,
        };
        use super::{Conn, Engine, Row, FOR_UPDATE, JSON};
        use crate::auth::MemberRecord;
        use crate::backend::Backend;
        use crate::error::Error;
        use crate::records::{Change, Expect, ProjectRecord, Written};
        use crate::rules::{self, Current, MEMBER, PROJECT, USER};
        use crate::sql::decode;
        use crate::write::Entry;

        /// Every project, as [`ProjectRecord`]'s decoder reads it.
        const PROJECTS: &str = "SELECT key, name, description, \
             CAST(environments AS TEXT) AS environments, CAST(settings AS TEXT) AS settings, \
             version, created_at, updated_at FROM projects";

        /// Every project, in key order.
        pub(super) async fn load_projects(conn: &mut Conn) -> Result<Vec<ProjectRecord>, Error> {
            let sql = format!("{PROJECTS} ORDER BY key");
            all(conn, sqlx::query(sqlx::AssertSqlSafe(sql))).await
        }

        /// Every membership, in project, then user order.
        pub(super) async fn load_members(conn: &mut Conn) -> Result<Vec<MemberRecord>, Error> {
            let query = sqlx::query(
                "SELECT project, user_name, role, created_at FROM members \
                 ORDER BY project, user_name",
            );
            all(conn, query).await
        }

        /// [`crate::Store::put_project`].
        pub(super) async fn put_project(
            store: &Engine,
            project: &ProjectRecord,
            expect: Expect,
            change: Change<'_>,
        ) -> Result<Written, Error> {
            let key = project.key.as_str();
            rules::check_project_key(key)?;
            let (_lock, mut tx, config_version) = store.begin_change().await?;
            let stored = stored_project(&mut tx, key).await?;
            if let Err(error) = rules::check_put(PROJECT, key, current(&stored), expect) {
                return abort(tx, error).await;
            }
            let entry = Entry::new(&change, config_version);
            let record = ProjectRecord {
                version: stored.as_ref().map_or(1, |s| s.version + 1),
                created_at: stored.as_ref().map_or(entry.at, |s| s.created_at),
                updated_at: entry.at,
                ..project.clone()
            };
            let environments = record.environments.as_ref();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO projects (key, name, description, environments, settings, version, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4{JSON}, $5{JSON}, $6, $7, $8) \
                 ON CONFLICT (key) DO UPDATE SET name = excluded.name, \
                 description = excluded.description, environments = excluded.environments, \
                 settings = excluded.settings, version = excluded.version, \
                 updated_at = excluded.updated_at"
            )))
            .bind(key)
            .bind(&record.name)
            .bind(&record.description)
            .bind(environments.map(|e| rules::to_text(PROJECT, key, e)).transpose()?)
            .bind(rules::to_text(PROJECT, key, &record.settings)?)
            .bind(record.version)
            .bind(Engine::timestamp(&record.created_at))
            .bind(Engine::timestamp(&record.updated_at))
            .execute(&mut *tx)
            .await?;
            let before = stored.map(|s| rules::to_text(PROJECT, key, &s)).transpose()?;
            let after = rules::to_text(PROJECT, key, &record)?;
            let entry = Entry {
                project: Some(key),
                before: before.as_deref(),
                after: Some(&after),
                ..entry
            };
            insert_audit(&mut tx, &entry).await?;
            commit(tx, config_version).await?;
            Ok(written(record.version, &entry))
        }

        /// [`crate::Store::delete_project`].
        pub(super) async fn delete_project(
            store: &Engine,
            key: &str,
            expect: Expect,
            change: Change<'_>,
        ) -> Result<Written, Error> {
            let (_lock, mut tx, config_version) = store.begin_change().await?;
            let stored = stored_project(&mut tx, key).await?;
            if let Err(error) = rules::check_delete(PROJECT, key, current(&stored), expect) {
                return abort(tx, error).await;
            }
            // Where writes run concurrently, the `meta` row's lock (taken by every flag and
            // segment write) keeps these counts true until commit.
            let (flags, segments): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM flags WHERE project = $1), \
                 (SELECT count(*) FROM segments WHERE project = $1)",
            )
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
            if let Err(error) = rules::check_project_empty(key, flags, segments) {
                return abort(tx, error).await;
            }
            // Its memberships go with it: every process reloads them.
            sqlx::query("DELETE FROM projects WHERE key = $1")
                .bind(key)
                .execute(&mut *tx)
                .await?;
            raise_auth_version(&mut tx).await?;
            let before = rules::to_text(PROJECT, key, &stored)?;
            let entry = Entry {
                project: Some(key),
                before: Some(&before),
                ..Entry::new(&change, config_version)
            };
            commit_entry(tx, &entry).await
        }

        /// [`crate::AuthStore::set_member`].
        pub(super) async fn set_member(
            store: &Engine,
            project: &str,
            user: &str,
            role: Option<&str>,
            change: Change<'_>,
        ) -> Result<(), Error> {
            let (_lock, mut tx) = store.begin_access().await?;
            if !exists(&mut tx, "SELECT 1 FROM users WHERE name = $1", user).await? {
                return Err(rules::not_found(USER, user));
            }
            if !exists(&mut tx, "SELECT 1 FROM projects WHERE key = $1", project).await? {
                return Err(rules::not_found(PROJECT, project));
            }
            let Some(role) = role else {
                end_membership(&mut tx, project, user).await?;
                let ended = serde_json::json!({ "project": project, "user": user });
                audit_access(&mut tx, &change, MEMBER, &ended, Some(project)).await?;
                tx.commit().await?;
                return Ok(());
            };
            // A new role keeps the membership's creation time.
            let query = sqlx::query(
                "INSERT INTO members (project, user_name, role, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (project, user_name) \
                 DO UPDATE SET role = excluded.role \
                 RETURNING project, user_name, role, created_at",
            )
            .bind(project)
            .bind(user)
            .bind(role)
            .bind(Engine::timestamp(&rules::now()));
            let member = MemberRecord::decode(&query.fetch_one(&mut *tx).await?)?;
            audit_access(&mut tx, &change, MEMBER, &member, Some(project)).await?;
            tx.commit().await?;
            Ok(())
        }

        /// Ends `user`'s membership of `project`; `NotFound` if there is none.
        async fn end_membership(conn: &mut Conn, project: &str, user: &str) -> Result<(), Error> {
            let ended = sqlx::query("DELETE FROM members WHERE project = $1 AND user_name = $2")
                .bind(project)
                .bind(user)
                .execute(conn)
                .await?
                .rows_affected();
            if ended == 0 {
                return Err(rules::not_found(MEMBER, &format!("{user} in {project}")));
            }
            Ok(())
        }

        /// Project `key` as a write finds it (in PostgreSQL, locked until commit).
        async fn stored_project(
            conn: &mut Conn,
            key: &str,
        ) -> Result<Option<ProjectRecord>, Error> {
            let sql = format!("{PROJECTS} WHERE key = $1{FOR_UPDATE}");
            optional(conn, sqlx::query(sqlx::AssertSqlSafe(sql)).bind(key)).await
        }

        /// What the optimistic check compares: the stored project's version.
        fn current(stored: &Option<ProjectRecord>) -> Option<Current> {
            stored.as_ref().map(|s| Current {
                version: s.version,
                archived: false,
            })
        }

        decode!(ProjectRecord from row {
            let key: String = row.try_get("key")?;
            let environments: Option<&str> = row.try_get("environments")?;
            columns: name, description, version, created_at, updated_at;
            environments: environments.map(|e| rules::parse(PROJECT, &key, e)).transpose()?,
            settings: rules::parse(PROJECT, &key, row.try_get("settings")?)?,
            key,
        });

        decode!(MemberRecord from row {
            columns: project, role, created_at;
            user: row.try_get("user_name")?,
        });
    };
}
pub(crate) use expand;
