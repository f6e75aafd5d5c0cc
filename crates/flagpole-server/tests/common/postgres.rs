//! The PostgreSQL tests' ground: a schema of their own on the server named by
//! `FLAGPOLE_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`), stores
//! connected to it (its name as `search_path` and as `application_name`), and its drop at
//! the end. Without the variable a test says it is skipped and returns.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use flagpole_store::{PostgresStore, Store};
use sqlx::postgres::{PgConnectOptions, PgPool};

use super::Harness;

pub const URL_VARIABLE: &str = "FLAGPOLE_TEST_POSTGRES_URL";

/// A schema created for one test.
pub struct Schema {
    /// A connection pool outside the schema, for what the test does as the server's admin.
    pub admin: PgPool,
    options: PgConnectOptions,
    /// The schema's name, also the `application_name` of every store connected to it.
    pub name: String,
}

impl Schema {
    /// Creates `flagpole_{purpose}_{process id}_{nanoseconds}`; `None`, after saying the
    /// test is skipped, when [`URL_VARIABLE`] is not set.
    pub async fn create(purpose: &str) -> Option<Schema> {
        let Ok(url) = std::env::var(URL_VARIABLE) else {
            println!("skipped: {URL_VARIABLE} not set");
            return None;
        };
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("flagpole_{purpose}_{}_{nanos}", std::process::id());
        let admin = PgPool::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&admin)
            .await
            .unwrap();
        let options: PgConnectOptions = url.parse().unwrap();
        let options = options
            .options([("search_path", name.as_str())])
            .application_name(&name);
        Some(Schema {
            admin,
            options,
            name,
        })
    }

    /// A new store on the schema.
    pub async fn open(&self) -> Arc<dyn Store> {
        Arc::new(
            PostgresStore::connect_with(self.options.clone())
                .await
                .unwrap(),
        )
    }

    /// Two servers on the schema, each with a store of its own: the first makes the
    /// schema ready ([`Harness::prepare`]) before it starts, the second starts after it.
    pub async fn two_replicas(&self) -> (Harness, Harness) {
        let store = self.open().await;
        Harness::prepare(&*store).await;
        let a = Harness::on(store).await;
        let b = Harness::on(self.open().await).await;
        (a, b)
    }

    /// Drops the schema and everything in it.
    pub async fn drop_schema(self) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.name
        )))
        .execute(&self.admin)
        .await
        .unwrap();
    }
}
