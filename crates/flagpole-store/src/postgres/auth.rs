//! [`AuthStore`] for [`PostgresStore`]: tokens, users and sessions. Changes to tokens and
//! users lock the `meta` row (raising the auth version), so they serialize with every
//! other write.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::tables::insert_audit;
use super::PostgresStore;
use crate::auth::{AuthState, AuthStore, SessionRecord, TokenRecord, UserRecord};
use crate::rules;
use crate::write::Entry;
use crate::{Change, Error};

const TOKEN: &str = "token";
const USER: &str = "user";

const TOKEN_COLUMNS: &str = "id, name, kind, environment, role, origins, grants, verifier, \
     created_by, created_at, expires_at, last_used_at, revoked_at";
const TOKEN_SELECT: &str = "id, name, kind, environment, role, origins::text AS origins, \
     grants::text AS grants, verifier, created_by, created_at, expires_at, last_used_at, revoked_at";

#[async_trait]
impl AuthStore for PostgresStore {
    async fn load_auth(&self) -> Result<AuthState, Error> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
        let version = auth_version(&mut tx).await?;
        let tokens = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_SELECT} FROM tokens ORDER BY created_at, id"
        )))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(token_record)
        .collect::<Result<_, _>>()?;
        let users = sqlx::query(
            "SELECT name, password_hash, role, grants::text AS grants, created_at, updated_at FROM users ORDER BY name",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(user_record)
        .collect::<Result<_, _>>()?;
        tx.rollback().await?;
        Ok(AuthState {
            version,
            tokens,
            users,
        })
    }

    async fn auth_version(&self) -> Result<i64, Error> {
        let mut conn = self.pool.acquire().await?;
        auth_version(&mut conn).await
    }

    async fn create_token(&self, token: &TokenRecord, change: Change<'_>) -> Result<(), Error> {
        let mut tx = begin_write(self).await?;
        insert_token(&mut tx, token).await?;
        audit(&mut tx, &change, TOKEN, token).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_token(
        &self,
        id: &str,
        at: DateTime<Utc>,
        change: Change<'_>,
    ) -> Result<TokenRecord, Error> {
        let mut tx = begin_write(self).await?;
        sqlx::query("UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let token = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_SELECT} FROM tokens WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(token_record)
        .transpose()?
        .ok_or_else(|| rules::not_found(TOKEN, id))?;
        audit(&mut tx, &change, TOKEN, &token).await?;
        tx.commit().await?;
        Ok(token)
    }

    async fn touch_token(&self, id: &str, at: DateTime<Utc>) -> Result<(), Error> {
        sqlx::query("UPDATE tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_user(&self, user: &UserRecord, change: Change<'_>) -> Result<(), Error> {
        let mut tx = begin_write(self).await?;
        insert_user(&mut tx, user).await?;
        audit(&mut tx, &change, USER, user).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_user(
        &self,
        user: &UserRecord,
        end_sessions_except: Option<Option<&str>>,
        change: Change<'_>,
    ) -> Result<(), Error> {
        let mut tx = begin_write(self).await?;
        let updated = sqlx::query(
            "UPDATE users SET password_hash = $2, role = $3, grants = $4::json, updated_at = $5 WHERE name = $1",
        )
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(&user.role)
        .bind(rules::to_text(USER, &user.name, &user.grants)?)
        .bind(user.updated_at)
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
        audit(&mut tx, &change, USER, user).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_user(&self, name: &str, change: Change<'_>) -> Result<(), Error> {
        let mut tx = begin_write(self).await?;
        let deleted = sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(rules::not_found(USER, name));
        }
        audit(&mut tx, &change, USER, &serde_json::json!({ "name": name })).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_name, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.id_hash)
        .bind(&session.user)
        .bind(session.created_at)
        .bind(session.last_seen_at)
        .bind(session.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, Error> {
        let row = sqlx::query(
            "SELECT id_hash, user_name, created_at, last_seen_at, expires_at FROM sessions WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SessionRecord {
                id_hash: row.try_get("id_hash")?,
                user: row.try_get("user_name")?,
                created_at: row.try_get("created_at")?,
                last_seen_at: row.try_get("last_seen_at")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> Result<(), Error> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn bootstrap(
        &self,
        user: &UserRecord,
        token: &TokenRecord,
        change: Change<'_>,
    ) -> Result<bool, Error> {
        let mut tx = begin_write(self).await?;
        let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&mut *tx)
            .await?;
        let tokens: i64 = sqlx::query_scalar("SELECT count(*) FROM tokens")
            .fetch_one(&mut *tx)
            .await?;
        if users > 0 || tokens > 0 {
            return Ok(false);
        }
        insert_user(&mut tx, user).await?;
        audit(&mut tx, &change, USER, user).await?;
        insert_token(&mut tx, token).await?;
        audit(&mut tx, &change, TOKEN, token).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Starts a write to tokens or users: takes the `meta` row's lock first, as every write
/// does, so that check-then-insert cannot race across replicas.
async fn begin_write(
    store: &PostgresStore,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, Error> {
    let mut tx = store.pool.begin().await?;
    sqlx::query("SELECT 1 FROM meta WHERE id = 1 FOR UPDATE")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

async fn auth_version(conn: &mut PgConnection) -> Result<i64, Error> {
    Ok(
        sqlx::query_scalar("SELECT auth_version FROM meta WHERE id = 1")
            .fetch_one(conn)
            .await?,
    )
}

/// Raises the auth version and records the change with the record as `after`.
async fn audit<T: serde::Serialize>(
    conn: &mut PgConnection,
    change: &Change<'_>,
    kind: &'static str,
    record: &T,
) -> Result<(), Error> {
    let version: i64 = sqlx::query_scalar(
        "UPDATE meta SET auth_version = auth_version + 1 WHERE id = 1 RETURNING config_version",
    )
    .fetch_one(&mut *conn)
    .await?;
    let after = rules::to_text(kind, change.action, record)?;
    let entry = Entry {
        after: Some(&after),
        ..Entry::new(change, version)
    };
    insert_audit(conn, &entry).await
}

async fn insert_token(conn: &mut PgConnection, token: &TokenRecord) -> Result<(), Error> {
    let exists = sqlx::query("SELECT 1 FROM tokens WHERE id = $1")
        .bind(&token.id)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    if exists {
        return Err(rules::conflict(TOKEN, &token.id, "already exists"));
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6::json, $7::json, $8, $9, $10, $11, $12, $13)"
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
    .bind(token.created_at)
    .bind(token.expires_at)
    .bind(token.last_used_at)
    .bind(token.revoked_at)
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_user(conn: &mut PgConnection, user: &UserRecord) -> Result<(), Error> {
    let exists = sqlx::query("SELECT 1 FROM users WHERE name = $1")
        .bind(&user.name)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    if exists {
        return Err(rules::conflict(USER, &user.name, "already exists"));
    }
    sqlx::query(
        "INSERT INTO users (name, password_hash, role, grants, created_at, updated_at) \
         VALUES ($1, $2, $3, $4::json, $5, $6)",
    )
    .bind(&user.name)
    .bind(&user.password_hash)
    .bind(&user.role)
    .bind(rules::to_text(USER, &user.name, &user.grants)?)
    .bind(user.created_at)
    .bind(user.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

fn token_record(row: &PgRow) -> Result<TokenRecord, Error> {
    let id: String = row.try_get("id")?;
    Ok(TokenRecord {
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        environment: row.try_get("environment")?,
        role: row.try_get("role")?,
        origins: rules::parse(TOKEN, &id, row.try_get("origins")?)?,
        grants: rules::parse(TOKEN, &id, row.try_get("grants")?)?,
        verifier: row.try_get("verifier")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
        id,
    })
}

fn user_record(row: &PgRow) -> Result<UserRecord, Error> {
    let name: String = row.try_get("name")?;
    Ok(UserRecord {
        password_hash: row.try_get("password_hash")?,
        role: row.try_get("role")?,
        grants: rules::parse(USER, &name, row.try_get("grants")?)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        name,
    })
}
