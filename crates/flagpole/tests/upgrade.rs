//! A database an earlier build wrote opens with this build with nothing lost.
//!
//! `tests/fixtures/upgrade/flagpole.sqlite` was written by `scripts/make_upgrade_fixture.py`
//! by the last build before projects (2026-12-07): a record of every kind
//! (environments, flags with history, an archived and a deleted flag, segments, tokens of
//! every kind, users, a login session, a cancelled schedule, an open change request, SDK
//! usage, the audit log). `expected.json` holds what that build's API answered for it.
//! This build migrates a copy and must answer the same, field for field (but for the
//! fields that change with every use). A new migration that loses, renames or changes
//! anything fails here.

mod common;

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;

use common::{agent, Server};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/upgrade");

fn expected() -> Value {
    let path = Path::new(FIXTURE).join("expected.json");
    let text = std::fs::read_to_string(&path).expect("the fixture's expected.json");
    serde_json::from_str(&text).expect("expected.json is JSON")
}

/// `value` without the fields named in `volatile`, at any depth.
fn strip(value: &Value, volatile: &[Value]) -> Value {
    match value {
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| !volatile.iter().any(|v| v == k.as_str()))
            .map(|(k, v)| (k.clone(), strip(v, volatile)))
            .collect(),
        Value::Array(items) => items.iter().map(|v| strip(v, volatile)).collect(),
        other => other.clone(),
    }
}

#[test]
fn a_database_an_earlier_build_wrote_opens_with_everything_in_it() {
    let expected = expected();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flagpole.db");
    std::fs::copy(Path::new(FIXTURE).join("flagpole.sqlite"), &db).expect("the fixture database");

    // Through the store first: it migrates the copy, which must stay whole, and the
    // sessions (which no API lists, and which a server would expire) must be there.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = flagpole_store::open(db.to_str().unwrap()).await.unwrap();
        store.check_integrity().await.unwrap();
        for session in expected["sessions"].as_array().unwrap() {
            let id_hash = session["id_hash"].as_str().unwrap();
            let found = store.session(id_hash).await.unwrap().expect("the session");
            assert_eq!(found.user, session["user"].as_str().unwrap());
            let at = |field: &str| session[field].as_str().unwrap().parse::<DateTime<Utc>>();
            assert_eq!(Ok(found.created_at), at("created_at"));
            assert_eq!(Ok(found.expires_at), at("expires_at"));
        }
    });

    // Then through a server of this build: every answer as the earlier build gave it.
    let admin = expected["admin_token"].as_str().unwrap();
    let server = Server::start(&db, admin);
    let agent = agent(None);
    let volatile = expected["volatile"].as_array().unwrap();
    let get = |path: &str, token: &str| {
        let mut response = agent
            .get(&format!("{}{path}", server.url))
            .header("authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        assert_eq!(status, 200, "GET {path}: {text}");
        serde_json::from_str::<Value>(&text).unwrap()
    };
    let answers = expected["answers"].as_object().unwrap();
    assert!(answers.len() >= 10, "only {} answers", answers.len());
    for (path, answer) in answers {
        assert_eq!(&strip(&get(path, admin), volatile), answer, "GET {path}");
    }
    // The client token still reads the seed API, and every user gets what they got.
    let client = expected["client_token"].as_str().unwrap();
    let seed = expected["seed"].as_object().unwrap();
    assert!(
        seed.values().any(|a| a["enabled"] == true) && seed.values().any(|a| a["enabled"] == false)
    );
    for (path, answer) in seed {
        assert_eq!(&get(path, client), answer, "GET {path}");
    }
}
