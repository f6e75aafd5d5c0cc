//! [`crate::AuthStore`]: tokens, users and sessions (memberships are in
//! [`super::projects`]). A change to tokens or users raises the auth version and is
//! ordered after every configuration and access write (where writes run concurrently, by
//! the `meta` row's lock), so that check-then-insert cannot race across processes;
//! sessions and last-use times are single statements.

/// Expands to the `AuthStore` implementation, as a module of [`super::store`]'s expansion.
macro_rules! expand {
    () => {
        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use sqlx::Row as _;

        use super::fetch::{all, optional, Decode};
        use super::projects;
        use super::steps::{audit_access, exists};
        use super::{Conn, Db, Engine, Row, JSON};
        use crate::auth::{AuthState, AuthStore, SessionRecord, TokenRecord, UserRecord};
        use crate::backend::Backend;
        use crate::rules::{self, USER};
        use crate::error::Error;
        use crate::sql::decode;
use crate::records::Change;

        const TOKEN: &str = "token";

        const TOKEN_COLUMNS: &str = "id, name, kind, environment, role, origins, grants, \
             verifier, created_by, created_at, expires_at, last_used_at, revoked_at, projects, \
             owner";
        const TOKEN_SELECT: &str = "id, name, kind, environment, role, \
             CAST(origins AS TEXT) AS origins, CAST(grants AS TEXT) AS grants, verifier, \
             created_by, created_at, expires_at, last_used_at, revoked_at, \
             CAST(projects AS TEXT) AS projects, owner";

        impl Engine {
            /// Sets the last-use time (`at`) that `sql` updates in the row `id`: not audited.
            async fn stamp(
                &self,
                sql: &'static str,
                id: &str,
                at: DateTime<Utc>,
            ) -> Result<(), Error> {
                sqlx::query(sql)
                    .bind(id)
                    .bind(Engine::timestamp(&at))
                    .execute(self.pool())
                    .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl AuthStore for Engine {
            async fn load_auth(&self) -> Result<AuthState, Error> {
                let mut tx = self.begin_read().await?;
                let version = auth_version(&mut *tx).await?;
                let tokens = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {TOKEN_SELECT} FROM tokens ORDER BY created_at, id"
                )));
                let tokens = all(&mut *tx, tokens).await?;
                let users = sqlx::query(
                    "SELECT name, password_hash, role, CAST(grants AS TEXT) AS grants, \
                     created_at, updated_at FROM users ORDER BY name",
                );
                let users = all(&mut *tx, users).await?;
                let members = projects::load_members(&mut tx).await?;
                tx.rollback().await?;
                Ok(AuthState {
                    version,
                    tokens,
                    users,
                    members,
                })
            }

            async fn auth_version(&self) -> Result<i64, Error> {
                auth_version(self.pool()).await
            }

            async fn create_token(
                &self,
                token: &TokenRecord,
                change: Change<'_>,
            ) -> Result<(), Error> {
                let (_lock, mut tx) = self.begin_access().await?;
                add_token(&mut tx, token, &change).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn revoke_token(
                &self,
                id: &str,
                at: DateTime<Utc>,
                change: Change<'_>,
            ) -> Result<TokenRecord, Error> {
                let (_lock, mut tx) = self.begin_access().await?;
                sqlx::query(
                    "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                )
                .bind(id)
                .bind(Engine::timestamp(&at))
                .execute(&mut *tx)
                .await?;
                let sql = format!("SELECT {TOKEN_SELECT} FROM tokens WHERE id = $1");
                let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id);
                let token = optional(&mut *tx, query)
                    .await?
                    .ok_or_else(|| rules::not_found(TOKEN, id))?;
                audit_access(&mut tx, &change, TOKEN, &token, None).await?;
                tx.commit().await?;
                Ok(token)
            }

            async fn touch_token(&self, id: &str, at: DateTime<Utc>) -> Result<(), Error> {
                let sql = "UPDATE tokens SET last_used_at = $2 WHERE id = $1";
                self.stamp(sql, id, at).await
            }

            async fn create_user(
                &self,
                user: &UserRecord,
                change: Change<'_>,
            ) -> Result<(), Error> {
                let (_lock, mut tx) = self.begin_access().await?;
                add_user(&mut tx, user, &change).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn update_user(
                &self,
                user: &UserRecord,
                end_sessions_except: Option<Option<&str>>,
                change: Change<'_>,
            ) -> Result<(), Error> {
                let (_lock, mut tx) = self.begin_access().await?;
                let updated = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE users SET password_hash = $2, role = $3, grants = $4{JSON}, \
                     updated_at = $5 WHERE name = $1"
                )))
                .bind(&user.name)
                .bind(&user.password_hash)
                .bind(&user.role)
                .bind(rules::to_text(USER, &user.name, &user.grants)?)
                .bind(Engine::timestamp(&user.updated_at))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    return Err(rules::not_found(USER, &user.name));
                }
                if let Some(keep) = end_sessions_except {
                    sqlx::query(
                        "DELETE FROM sessions WHERE user_name = $1 AND id_hash IS DISTINCT FROM $2",
                    )
                    .bind(&user.name)
                    .bind(keep)
                    .execute(&mut *tx)
                    .await?;
                }
                audit_access(&mut tx, &change, USER, user, None).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_user(&self, name: &str, change: Change<'_>) -> Result<(), Error> {
                let (_lock, mut tx) = self.begin_access().await?;
                let deleted = sqlx::query("DELETE FROM users WHERE name = $1")
                    .bind(name)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if deleted == 0 {
                    return Err(rules::not_found(USER, name));
                }
                let name = serde_json::json!({ "name": name });
                audit_access(&mut tx, &change, USER, &name, None).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn set_member(
                &self,
                project: &str,
                user: &str,
                role: Option<&str>,
                change: Change<'_>,
            ) -> Result<(), Error> {
                projects::set_member(self, project, user, role, change).await
            }

            async fn create_session(&self, session: &SessionRecord) -> Result<(), Error> {
                sqlx::query(
                    "INSERT INTO sessions (id_hash, user_name, created_at, last_seen_at, \
                     expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&session.id_hash)
                .bind(&session.user)
                .bind(Engine::timestamp(&session.created_at))
                .bind(Engine::timestamp(&session.last_seen_at))
                .bind(Engine::timestamp(&session.expires_at))
                .execute(self.pool())
                .await?;
                Ok(())
            }

            async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, Error> {
                let query = sqlx::query(
                    "SELECT id_hash, user_name, created_at, last_seen_at, expires_at \
                     FROM sessions WHERE id_hash = $1",
                )
                .bind(id_hash);
                optional(self.pool(), query).await
            }

            async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> Result<(), Error> {
                let sql = "UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1";
                self.stamp(sql, id_hash, at).await
            }

            async fn delete_session(&self, id_hash: &str) -> Result<(), Error> {
                sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(self.pool())
                    .await?;
                Ok(())
            }

            async fn bootstrap(
                &self,
                user: &UserRecord,
                token: &TokenRecord,
                change: Change<'_>,
            ) -> Result<bool, Error> {
                let (_lock, mut tx) = self.begin_access().await?;
                let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
                    .fetch_one(&mut *tx)
                    .await?;
                let tokens: i64 = sqlx::query_scalar("SELECT count(*) FROM tokens")
                    .fetch_one(&mut *tx)
                    .await?;
                if users > 0 || tokens > 0 {
                    return Ok(false);
                }
                add_user(&mut tx, user, &change).await?;
                add_token(&mut tx, token, &change).await?;
                tx.commit().await?;
                Ok(true)
            }
        }

        async fn auth_version<'c>(
            executor: impl sqlx::Executor<'c, Database = Db>,
        ) -> Result<i64, Error> {
            let sql = "SELECT auth_version FROM meta WHERE id = 1";
            Ok(sqlx::query_scalar(sql).fetch_one(executor).await?)
        }

        /// Refuses a second `kind` called `name`: `sql` selects the one there is.
        async fn refuse_existing(
            conn: &mut Conn,
            kind: &'static str,
            name: &str,
            sql: &'static str,
        ) -> Result<(), Error> {
            if exists(conn, sql, name).await? {
                return Err(rules::conflict(kind, name, "already exists"));
            }
            Ok(())
        }

        /// Stores a new token, audited; `Conflict` if its id exists.
        async fn add_token(
            conn: &mut Conn,
            token: &TokenRecord,
            change: &Change<'_>,
        ) -> Result<(), Error> {
            let sql = "SELECT 1 FROM tokens WHERE id = $1";
            refuse_existing(&mut *conn, TOKEN, &token.id, sql).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6{JSON}, \
                 $7{JSON}, $8, $9, $10, $11, $12, $13, $14{JSON}, $15)"
            )))
            .bind(&token.id)
            .bind(&token.name)
            .bind(&token.kind)
            .bind(&token.environment)
            .bind(&token.role)
            .bind(rules::to_text(TOKEN, &token.id, &token.origins)?)
            .bind(rules::to_text(TOKEN, &token.id, &token.grants)?)
            .bind(&token.verifier)
            .bind(&token.created_by)
            .bind(Engine::timestamp(&token.created_at))
            .bind(token.expires_at.as_ref().map(Engine::timestamp))
            .bind(token.last_used_at.as_ref().map(Engine::timestamp))
            .bind(token.revoked_at.as_ref().map(Engine::timestamp))
            .bind(rules::to_text(TOKEN, &token.id, &token.projects)?)
            .bind(&token.owner)
            .execute(&mut *conn)
            .await?;
            audit_access(conn, change, TOKEN, token, None).await
        }

        /// Stores a new user, audited; `Conflict` if the name exists.
        async fn add_user(
            conn: &mut Conn,
            user: &UserRecord,
            change: &Change<'_>,
        ) -> Result<(), Error> {
            let sql = "SELECT 1 FROM users WHERE name = $1";
            refuse_existing(&mut *conn, USER, &user.name, sql).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO users (name, password_hash, role, grants, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4{JSON}, $5, $6)"
            )))
            .bind(&user.name)
            .bind(&user.password_hash)
            .bind(&user.role)
            .bind(rules::to_text(USER, &user.name, &user.grants)?)
            .bind(Engine::timestamp(&user.created_at))
            .bind(Engine::timestamp(&user.updated_at))
            .execute(&mut *conn)
            .await?;
            audit_access(conn, change, USER, user, None).await
        }

        decode!(TokenRecord from row {
            let id: String = row.try_get("id")?;
            columns: name, kind, environment, role, verifier, created_by, created_at, expires_at,
                last_used_at, revoked_at, owner;
            origins: rules::parse(TOKEN, &id, row.try_get("origins")?)?,
            grants: rules::parse(TOKEN, &id, row.try_get("grants")?)?,
            projects: rules::parse(TOKEN, &id, row.try_get("projects")?)?,
            id,
        });

        decode!(UserRecord from row {
            let name: String = row.try_get("name")?;
            columns: password_hash, role, created_at, updated_at;
            grants: rules::parse(USER, &name, row.try_get("grants")?)?,
            name,
        });

        decode!(SessionRecord from row {
            columns: id_hash, created_at, last_seen_at, expires_at;
            user: row.try_get("user_name")?,
        });
    };
}
pub(crate) use expand;
