//! What the checks build and start from: flags, segments, projects, tokens, users and
//! usage counts that differ by a word or a number, the changes they are written as, and
//! the plain creations (an environment, a flag, a segment, a project) a check sets up
//! with.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use flagpole_core::{Flag, Segment};

use super::ACTOR;
use crate::auth::{TokenRecord, UserRecord};
use crate::records::{Change, Expect, ProjectRecord, UsageCount, Written};
use crate::rules;
use crate::store::Store;

/// A flag that differs from others by its description.
pub(crate) fn flag(description: &str) -> Flag {
    Flag {
        description: Some(description.to_owned()),
        ..Flag::default()
    }
}

pub(crate) fn segment(description: &str) -> Segment {
    Segment {
        description: Some(description.to_owned()),
        ..Segment::default()
    }
}

/// `flag` in `project`.
pub(crate) fn flag_in(project: Option<&str>, description: &str) -> Flag {
    Flag {
        project: project.map(str::to_owned),
        ..flag(description)
    }
}

/// `segment` in `project`.
pub(crate) fn segment_in(project: Option<&str>, description: &str) -> Segment {
    Segment {
        project: project.map(str::to_owned),
        ..segment(description)
    }
}

/// A project to write: no description, every environment, no settings of its own (the
/// store sets the version and times).
pub(crate) fn project(key: &str, name: &str) -> ProjectRecord {
    ProjectRecord {
        key: key.to_owned(),
        name: name.to_owned(),
        description: None,
        environments: None,
        settings: BTreeMap::new(),
        version: 0,
        created_at: rules::now(),
        updated_at: rules::now(),
    }
}

/// Creates project `key`, which must not exist yet.
pub(crate) async fn create_project(store: &dyn Store, key: &str) {
    store
        .put_project(
            &project(key, key),
            Expect::Absent,
            change("project.created"),
        )
        .await
        .unwrap_or_else(|error| panic!("create project {key}: {error:?}"));
}

/// A client token for `production`, expiring in 30 days.
pub(crate) fn token(id: &str) -> TokenRecord {
    TokenRecord {
        id: id.to_owned(),
        name: format!("token {id}"),
        kind: "client".into(),
        environment: Some("production".into()),
        role: None,
        origins: vec!["https://app.example.com".into()],
        grants: vec![],
        projects: vec!["*".into()],
        owner: None,
        verifier: "ab".repeat(32),
        created_by: "conformance".into(),
        created_at: rules::now(),
        expires_at: Some(rules::now() + TimeDelta::days(30)),
        last_used_at: None,
        revoked_at: None,
    }
}

/// A user with `role`, granted `production`.
pub(crate) fn user(name: &str, role: &str) -> UserRecord {
    UserRecord {
        name: name.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        role: role.to_owned(),
        grants: vec!["production".into()],
        created_at: rules::now(),
        updated_at: rules::now(),
    }
}

/// A change made by [`ACTOR`], in no one environment.
pub(crate) fn change(action: &'static str) -> Change<'static> {
    Change {
        address: None,
        actor: ACTOR,
        action,
        environment: None,
    }
}

/// One flag's counts in a usage report.
pub(crate) fn count(flag: &str, yes: i64, no: i64, variants: &[(&str, i64)]) -> UsageCount {
    UsageCount {
        flag: flag.to_owned(),
        yes,
        no,
        variants: variants.iter().map(|&(v, n)| (v.to_owned(), n)).collect(),
    }
}

/// Creates environment `name`, which must not exist yet.
pub(crate) async fn create_environment(store: &dyn Store, name: &str) -> Written {
    store
        .create_environment(name, change("environment.created"))
        .await
        .unwrap_or_else(|error| panic!("create environment {name}: {error:?}"))
}

/// Creates flag `key`, live, which must not exist yet.
pub(crate) async fn create_flag(store: &dyn Store, key: &str, flag: &Flag) -> Written {
    store
        .put_flag(key, flag, false, Expect::Absent, change("flag.created"))
        .await
        .unwrap_or_else(|error| panic!("create flag {key}: {error:?}"))
}

/// Creates segment `name`, which must not exist yet.
pub(crate) async fn create_segment(store: &dyn Store, name: &str, segment: &Segment) -> Written {
    store
        .put_segment(name, segment, Expect::Absent, change("segment.created"))
        .await
        .unwrap_or_else(|error| panic!("create segment {name}: {error:?}"))
}
