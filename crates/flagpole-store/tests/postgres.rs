//! The conformance suite on PostgreSQL, when `FLAGPOLE_TEST_POSTGRES_URL` names a server
//! (e.g. `postgres://postgres@127.0.0.1:5432/test`). Each test works in a schema of its
//! own, dropped at the end.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use flagpole_store::{conformance, PostgresStore, Store, CHANGES_CHANNEL};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool};

const URL_VARIABLE: &str = "FLAGPOLE_TEST_POSTGRES_URL";

/// A schema of its own on the test server, or `None` (test skipped) without one.
struct Schema {
    admin: PgPool,
    options: PgConnectOptions,
    name: String,
}

impl Schema {
    /// A schema of its own for `test`, and a store in it.
    async fn open(test: &str) -> Option<(Schema, PostgresStore)> {
        let schema = Schema::create(test).await?;
        let store = schema.store().await;
        Some((schema, store))
    }

    async fn create(test: &str) -> Option<Schema> {
        let Ok(url) = std::env::var(URL_VARIABLE) else {
            println!("skipped: {URL_VARIABLE} not set");
            return None;
        };
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_nanos();
        let name = format!("flagpole_test_{test}_{}_{nanos}", std::process::id());
        let admin = PgPool::connect(&url)
            .await
            .expect("connect to the test server");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&admin)
            .await
            .expect("create the test schema");
        let options: PgConnectOptions = url.parse().expect("a PostgreSQL URL");
        let options = options.options([("search_path", name.as_str())]);
        Some(Schema {
            admin,
            options,
            name,
        })
    }

    async fn store(&self) -> PostgresStore {
        PostgresStore::connect_with(self.options.clone())
            .await
            .expect("open the store")
    }

    /// Closes `store` and drops the schema.
    async fn finish(self, store: PostgresStore) {
        store.close().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.name
        )))
        .execute(&self.admin)
        .await
        .expect("drop the test schema");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance() {
    let Some((schema, store)) = Schema::open("conformance").await else {
        return;
    };
    conformance::run_all(Arc::new(store.clone())).await;
    schema.finish(store).await;
}

#[tokio::test]
async fn data_survives_closing_and_reopening() {
    let Some((schema, store)) = Schema::open("reopen").await else {
        return;
    };
    let written = conformance::reopen_write(&store).await;
    store.close().await;
    let reopened = schema.store().await;
    conformance::reopen_check(&reopened, &written).await;
    schema.finish(reopened).await;
}

#[tokio::test]
async fn a_committed_write_notifies_its_config_version() {
    let Some((schema, store)) = Schema::open("notify").await else {
        return;
    };
    let mut listener = PgListener::connect_with(store.pool())
        .await
        .expect("listener");
    listener.listen(CHANGES_CHANNEL).await.expect("listen");
    let written = store
        .create_environment(
            "production",
            flagpole_store::Change {
                address: None,
                actor: "test",
                action: "environment.created",
                environment: None,
            },
        )
        .await
        .expect("write");
    // Other test runs may write to other schemas of the same database meanwhile: the
    // channel is database-wide. Wait for this write's version.
    let expected = written.config_version.to_string();
    let received = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let notification = listener.recv().await.expect("receive a notification");
            assert_eq!(notification.channel(), CHANGES_CHANNEL);
            if notification.payload() == expected {
                return;
            }
        }
    })
    .await;
    assert!(
        received.is_ok(),
        "no notification with payload {expected} within 10 s"
    );
    drop(listener);
    schema.finish(store).await;
}
