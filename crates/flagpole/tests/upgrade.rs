//! A database an earlier build wrote opens with this build with nothing lost.
//!
//! `tests/fixtures/upgrade/flagpole.sqlite` was written by `scripts/make_upgrade_fixture.py`
//! by the last build before projects (2026-12-07): a record of every kind
//! (environments, flags with history, an archived and a deleted flag, segments, tokens of
//! every kind, users, a login session, a cancelled schedule, an open change request, SDK
//! usage, the audit log). `expected.json` holds what that build's API answered for it.
//! This build migrates a copy and must answer the same, field for field (but for the
//! fields that change with every use, and those a later build added, whose values for old
//! data are checked through the store). A new migration that loses, renames or changes
//! anything fails here.

mod common;

use std::path::Path;

use chrono::{DateTime, Utc};
use flagpole_store::{AuditFilter, Change, Expect, Store};
use serde_json::Value;

use common::{agent, Server};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/upgrade");

/// Fields of the answers that builds after the fixture's added, checked through the store
/// ([`projects_filled_in`]): audit entries' `project`, tokens' `projects` and `owner`.
const ADDED: [&str; 3] = ["project", "projects", "owner"];

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
        projects_filled_in(&*store, &expected).await;
    });

    // Then through a server of this build: every answer as the earlier build gave it.
    let admin = expected["admin_token"].as_str().unwrap();
    let server = Server::start(&db, admin);
    let agent = agent(None);
    let added = ADDED.iter().map(|&field| Value::from(field));
    let volatile = expected["volatile"].as_array().unwrap().iter().cloned();
    let volatile: Vec<Value> = volatile.chain(added).collect();
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
        assert_eq!(&strip(&get(path, admin), &volatile), answer, "GET {path}");
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

/// What projects brought, filled in for the earlier build's data: the `default` project
/// holds every flag (archived too) and segment, their audit entries name it (and no other
/// entry names a project), every token reaches every project and is a service account's,
/// no one is a member of a project, and the users are as they were.
async fn projects_filled_in(store: &dyn Store, expected: &Value) {
    let state = store.load().await.expect("load");
    let projects: Vec<_> = state
        .projects
        .iter()
        .map(|p| (p.key.as_str(), &p.name))
        .collect();
    assert_eq!(projects, [("default", &"Default".to_string())]);
    let default = &state.projects[0];
    assert!(default.environments.is_none() && default.settings.is_empty());
    // The flags' and segments' project column, seen through the refusal to delete it.
    let change = Change {
        actor: "test",
        action: "project.deleted",
        environment: None,
        address: None,
    };
    let refused = store.delete_project("default", Expect::Any, change).await;
    let (flags, segments) = (state.flags.len(), state.segments.len());
    assert!(state.flags.iter().any(|f| f.archived) && segments > 0);
    let holds = format!("still holds {flags} flags and {segments} segment");
    let refusal = refused.expect_err("the default project holds everything");
    assert!(refusal.to_string().contains(&holds), "{refusal}");

    let filter = AuditFilter {
        limit: Some(1000),
        ..AuditFilter::default()
    };
    let entries = store.audit(&filter).await.expect("read the audit log");
    assert!(
        entries.iter().any(|e| e.flag.is_some()) && entries.iter().any(|e| e.segment.is_some())
    );
    assert!(entries
        .iter()
        .any(|e| e.flag.is_none() && e.segment.is_none()));
    for entry in &entries {
        let of_item = entry.flag.is_some() || entry.segment.is_some();
        let project = of_item.then_some("default");
        assert_eq!(
            entry.project.as_deref(),
            project,
            "{} {}",
            entry.id,
            entry.action
        );
    }

    let auth = store.load_auth().await.expect("load auth");
    assert!(!auth.tokens.is_empty());
    for token in &auth.tokens {
        assert_eq!(token.projects, ["*"], "{}", token.id);
        assert_eq!(token.owner, None, "{}", token.id);
    }
    assert!(auth.members.is_empty());
    let users = serde_json::to_value(&auth.users).expect("users serialize");
    assert_eq!(users, expected["answers"]["/api/v1/users"]["users"]);
    for user in &auth.users {
        assert!(
            user.password_hash.starts_with("$argon2id$"),
            "{}",
            user.name
        );
    }
}
