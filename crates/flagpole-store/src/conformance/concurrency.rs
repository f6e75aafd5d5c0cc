//! Concurrent writers: no lost updates, one winner per version, no gaps.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::task::JoinSet;

use super::asserts::record;
use super::fixtures::{change, create_flag, flag};
use crate::error::Error;
use crate::records::{Expect, Written};
use crate::store::Store;

const WRITERS: usize = 20;
/// Attempts a read-modify-write writer makes before the check gives up on the store.
const MAX_ATTEMPTS: usize = 500;

/// Twenty writers at once, three ways: on different keys (all succeed), on one key from
/// the same version (exactly one succeeds), and read-modify-write with retries on one key
/// (every change survives). Every success raises the configuration version by one.
pub async fn concurrent_writers(store: Arc<dyn Store>) {
    let start = store.version().await.expect("version");
    let mut successes: Vec<Written> = Vec::new();

    let mut tasks = JoinSet::new();
    for i in 0..WRITERS {
        let store = store.clone();
        tasks.spawn(async move {
            let key = format!("conc-{i:02}");
            store
                .put_flag(
                    &key,
                    &flag(&key),
                    false,
                    Expect::Any,
                    change("flag.created"),
                )
                .await
        });
    }
    for result in tasks.join_all().await {
        let written = result.expect("concurrent writes to different keys all succeed");
        assert_eq!(written.version, 1, "each new key starts at version 1");
        successes.push(written);
    }

    let key = "conc-shared";
    successes.push(create_flag(&*store, key, &flag("shared")).await);
    let mut tasks = JoinSet::new();
    for i in 0..WRITERS {
        let store = store.clone();
        tasks.spawn(async move {
            let flag = flag(&format!("writer {i}"));
            store
                .put_flag(
                    key,
                    &flag,
                    false,
                    Expect::Version(1),
                    change("flag.updated"),
                )
                .await
        });
    }
    let mut winners = Vec::new();
    for result in tasks.join_all().await {
        match result {
            Ok(written) => winners.push(written),
            Err(Error::Conflict { .. }) => {}
            Err(error) => panic!("a losing writer must get a conflict, got {error:?}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one writer wins version 1 -> 2: {winners:?}"
    );
    assert_eq!(winners[0].version, 2, "the winner wrote version 2");
    successes.extend(winners);

    let mut tasks = JoinSet::new();
    for i in 0..WRITERS {
        let store = store.clone();
        tasks.spawn(async move { add_tag(&*store, key, format!("t{i:02}")).await });
    }
    let mut versions = Vec::new();
    for written in tasks.join_all().await {
        versions.push(written.version);
        successes.push(written);
    }
    versions.sort_unstable();
    let expected: Vec<i64> = (3..3 + WRITERS as i64).collect();
    assert_eq!(
        versions, expected,
        "each read-modify-write won its own version"
    );

    let shared = record(&*store, key).await.expect("the shared flag");
    let mut tags = shared.flag.tags.clone();
    tags.sort_unstable();
    let all: Vec<String> = (0..WRITERS).map(|i| format!("t{i:02}")).collect();
    assert_eq!(tags, all, "no update was lost");
    assert_eq!(
        shared.version,
        2 + WRITERS as i64,
        "the shared flag's final version"
    );
    let stored: Vec<i64> = store
        .flag_versions(key)
        .await
        .expect("flag_versions")
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(
        stored,
        (1..=2 + WRITERS as i64).collect::<Vec<_>>(),
        "versions without gaps"
    );

    let end = store.version().await.expect("version");
    assert_eq!(
        end - start,
        successes.len() as i64,
        "the configuration version rose once per successful write"
    );
    let config_versions: BTreeSet<i64> = successes.iter().map(|w| w.config_version).collect();
    assert_eq!(
        config_versions,
        (start + 1..=end).collect::<BTreeSet<_>>(),
        "every successful write got its own configuration version"
    );
}

/// Adds a tag to a flag by reading it and writing it back at the version read, retrying
/// on conflicts.
async fn add_tag(store: &dyn Store, key: &str, tag: String) -> Written {
    for _ in 0..MAX_ATTEMPTS {
        let current = record(store, key).await.expect("the shared flag exists");
        let mut flag = current.flag;
        flag.tags.push(tag.clone());
        match store
            .put_flag(
                key,
                &flag,
                false,
                Expect::Version(current.version),
                change("flag.updated"),
            )
            .await
        {
            Ok(written) => return written,
            Err(Error::Conflict { .. }) => continue,
            Err(error) => panic!("a read-modify-write must succeed or conflict, got {error:?}"),
        }
    }
    panic!("tag {tag}: no success in {MAX_ATTEMPTS} attempts");
}
