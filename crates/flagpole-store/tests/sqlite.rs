//! The conformance suite on SQLite (a temporary file and in memory), and what only a
//! SQLite file can show: its pragmas, reopening, and detecting damage.

use std::path::Path;
use std::sync::Arc;

use flagpole_store::{conformance, Error, Expect, SqliteStore, Store};

async fn open_file(path: &Path) -> SqliteStore {
    SqliteStore::open(path).await.expect("open a SQLite file")
}

/// A new in-memory store holding one (default) flag, `key`.
async fn with_flag(key: &str) -> SqliteStore {
    let store = SqliteStore::open_in_memory().await.expect("open in memory");
    store
        .put_flag(key, &Default::default(), false, Expect::Absent, change())
        .await
        .expect("create");
    store
}

/// The value a pragma statement (`PRAGMA name`) reads.
async fn pragma<T>(store: &SqliteStore, statement: &'static str) -> T
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    sqlx::query_scalar(statement)
        .fetch_one(store.pool())
        .await
        .expect("pragma")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_a_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = open_file(&dir.path().join("flagpole.db")).await;
    conformance::run_all(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_in_memory() {
    let store = SqliteStore::open_in_memory().await.expect("open in memory");
    conformance::run_all(Arc::new(store)).await;
}

#[tokio::test]
async fn data_survives_closing_and_reopening() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("flagpole.db");
    let store = open_file(&path).await;
    let written = conformance::reopen_write(&store).await;
    store.close().await;
    drop(store);
    let reopened = open_file(&path).await;
    conformance::reopen_check(&reopened, &written).await;
}

#[tokio::test]
async fn a_file_is_created_durable_and_in_wal_mode() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("new.db");
    assert!(!path.exists());
    let store = open_file(&path).await;
    assert!(path.exists(), "open creates the file");
    let journal: String = pragma(&store, "PRAGMA journal_mode").await;
    assert_eq!(journal, "wal");
    let synchronous: i64 = pragma(&store, "PRAGMA synchronous").await;
    assert_eq!(synchronous, 2, "synchronous = FULL");
    let foreign_keys: i64 = pragma(&store, "PRAGMA foreign_keys").await;
    assert_eq!(foreign_keys, 1);
    let busy_timeout: i64 = pragma(&store, "PRAGMA busy_timeout").await;
    assert!(busy_timeout > 0, "a busy timeout is set");
}

#[tokio::test]
async fn open_picks_sqlite_from_the_url() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (url, file) in [
        (
            format!("sqlite:{}", dir.path().join("a.db").display()),
            "a.db",
        ),
        (
            format!("sqlite://{}", dir.path().join("b.db").display()),
            "b.db",
        ),
        (dir.path().join("c.db").display().to_string(), "c.db"),
    ] {
        let store = flagpole_store::open(&url).await.expect("open by URL");
        assert_eq!(store.version().await.expect("version"), 0, "{url}");
        assert!(dir.path().join(file).exists(), "{url} opens {file}");
    }
    let memory = flagpole_store::open("sqlite::memory:")
        .await
        .expect("open in memory");
    conformance::empty_store(&*memory).await;
}

#[tokio::test]
async fn a_stored_flag_that_does_not_parse_is_reported_as_corrupt() {
    let store = with_flag("broken").await;
    sqlx::query("UPDATE flags SET body = '{\"no_such_field\": 1}' WHERE key = 'broken'")
        .execute(store.pool())
        .await
        .expect("damage the row");
    match store.load().await {
        Err(Error::Corrupt {
            kind: "flag", name, ..
        }) => assert_eq!(name, "broken"),
        other => panic!("expected a corrupt flag, got {other:?}"),
    }
}

#[tokio::test]
async fn a_flag_without_its_version_row_fails_the_integrity_check() {
    let store = with_flag("orphan").await;
    store.check_integrity().await.expect("a healthy store");
    sqlx::query("DELETE FROM flag_versions WHERE key = 'orphan'")
        .execute(store.pool())
        .await
        .expect("damage the history");
    match store.check_integrity().await {
        Err(Error::Integrity { detail }) => assert!(detail.contains("orphan"), "{detail}"),
        other => panic!("expected an integrity error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_damaged_file_fails_the_integrity_check() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("damaged.db");
    let store = open_file(&path).await;
    let flags: Vec<_> = (0..300)
        .map(|i| (format!("flag-{i:03}"), Default::default()))
        .collect();
    store.import(&flags, &[], change()).await.expect("import");
    store.close().await;
    drop(store);

    // Overwrite the middle of the file (past the schema on page 1) with garbage.
    let mut bytes = std::fs::read(&path).expect("read the database");
    assert!(
        bytes.len() > 16 * 4096,
        "the database spans many pages: {}",
        bytes.len()
    );
    let middle = bytes.len() / 2;
    bytes[middle..middle + 4096].fill(0xA5);
    std::fs::write(&path, bytes).expect("write the damaged database");

    match SqliteStore::open(&path).await {
        Err(_) => {}
        Ok(store) => assert!(
            store.check_integrity().await.is_err(),
            "a damaged file must fail the check"
        ),
    }
}

fn change() -> flagpole_store::Change<'static> {
    flagpole_store::Change {
        address: None,
        actor: "test",
        action: "flag.created",
        environment: None,
    }
}
