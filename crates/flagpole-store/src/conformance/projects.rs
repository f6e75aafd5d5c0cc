//! Projects: their lifecycle, the flags and segments in them (a project is deleted only
//! when empty), and the audit log's project column and filter.

use std::collections::BTreeMap;

use super::asserts::Refusal::{Conflict, NotFound};
use super::asserts::{assert_written, audit, each_refused_as, refused, refused_as};
use super::fixtures::{
    change, create_environment, create_flag, create_project, create_segment, flag, flag_in,
    project, segment_in,
};
use crate::error::Error;
use crate::records::{AuditFilter, Expect, ProjectEnvironment, ProjectRecord};
use crate::store::Store;

/// Project `key` as [`Store::load`] returns it.
async fn loaded(store: &dyn Store, key: &str) -> Option<ProjectRecord> {
    let state = store.load().await.expect("load");
    state.projects.into_iter().find(|p| p.key == key)
}

/// The action and project of each audit entry `filter` selects, newest first.
async fn audited(store: &dyn Store, filter: AuditFilter) -> Vec<(String, Option<String>)> {
    let entries = audit(store, filter).await;
    entries.into_iter().map(|e| (e.action, e.project)).collect()
}

/// `(action, project)` pairs as [`audited`] returns them.
fn pairs(expected: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    let pair =
        |&(action, project): &(&str, Option<&str>)| (action.to_owned(), project.map(str::to_owned));
    expected.iter().map(pair).collect()
}

/// Projects: create, read back in key order with the store's version and times, update
/// with the expected version, conflicts, an invalid key, delete; each audited with its
/// record and its project.
pub async fn projects(store: &dyn Store) {
    let start = store.version().await.expect("version");
    let mut web = project("proj-web", "Web");
    web.description = Some("The web shop".into());
    web.environments = Some(vec!["production".into()]);
    let strict = ProjectEnvironment {
        protected: true,
        requires_approval: true,
    };
    web.settings.insert("production".into(), strict);
    let put = |p, expect, action| store.put_project(p, expect, change(action));
    let created = put(&web, Expect::Absent, "project.created")
        .await
        .expect("create a project");
    assert_written(created, 1, start + 1, "creating a project");
    let v1 = ProjectRecord {
        version: 1,
        created_at: created.at,
        updated_at: created.at,
        ..web.clone()
    };
    assert_eq!(
        loaded(store, "proj-web").await,
        Some(v1.clone()),
        "read back"
    );
    create_project(store, "proj-api").await;
    let keys: Vec<String> = store
        .load()
        .await
        .expect("load")
        .projects
        .into_iter()
        .map(|p| p.key)
        .collect();
    let web_at = keys.iter().position(|k| k == "proj-web");
    let api_at = keys.iter().position(|k| k == "proj-api");
    assert!(api_at < web_at && api_at.is_some(), "key order: {keys:?}");

    let none = project("proj-none", "None");
    each_refused_as(
        store,
        [
            (
                Conflict,
                "creating an existing project",
                put(&web, Expect::Absent, "project.created"),
            ),
            (
                Conflict,
                "updating from a stale version",
                put(&web, Expect::Version(7), "project.updated"),
            ),
            (
                NotFound,
                "updating a missing project",
                put(&none, Expect::Version(1), "project.updated"),
            ),
        ],
    )
    .await;
    let global = project("*", "Everything");
    let invalid = refused(
        store,
        "a project called *",
        put(&global, Expect::Absent, "project.created"),
    )
    .await;
    assert!(matches!(invalid, Error::Invalid { .. }), "{invalid:?}");

    let renamed = ProjectRecord {
        name: "Web shop".into(),
        settings: BTreeMap::new(),
        ..web.clone()
    };
    let updated = put(&renamed, Expect::Version(1), "project.updated")
        .await
        .expect("update a project");
    assert_written(updated, 2, created.config_version + 2, "updating a project");
    let v2 = ProjectRecord {
        version: 2,
        created_at: created.at,
        updated_at: updated.at,
        ..renamed
    };
    assert_eq!(loaded(store, "proj-web").await, Some(v2.clone()), "updated");

    let delete = |expect| store.delete_project("proj-web", expect, change("project.deleted"));
    let stale = "deleting a project from a stale version";
    refused_as(store, Conflict, stale, delete(Expect::Version(1))).await;
    let deleted = delete(Expect::Version(2)).await.expect("delete a project");
    assert_written(deleted, 0, updated.config_version + 1, "deleting a project");
    assert_eq!(loaded(store, "proj-web").await, None, "deleted");
    refused_as(store, NotFound, "deleting it again", delete(Expect::Any)).await;

    let as_json = |p: &ProjectRecord| Some(serde_json::to_value(p).expect("serializes"));
    let of_web = AuditFilter {
        project: Some("proj-web".into()),
        ..AuditFilter::default()
    };
    let entries = audit(store, of_web).await;
    let summary: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.project.as_deref(),
                e.before.clone(),
                e.after.clone(),
            )
        })
        .collect();
    let web_key = Some("proj-web");
    assert_eq!(
        summary,
        [
            ("project.deleted", web_key, as_json(&v2), None),
            ("project.updated", web_key, as_json(&v1), as_json(&v2)),
            ("project.created", web_key, None, as_json(&v1)),
        ],
        "a project's audit entries, newest first"
    );
}

/// A project is deleted only when no flag (archived or not) and no segment is in it; the
/// project a flag or segment is in follows its document through every kind of write, and
/// so does its audit entries' project.
pub async fn project_contents(store: &dyn Store) {
    let p = "proj-contents";
    let inside = Some(p);
    create_project(store, p).await;
    create_flag(store, "pc-flag", &flag_in(inside, "a")).await;
    let archived = flag_in(inside, "archived");
    store
        .put_flag(
            "pc-archived",
            &archived,
            true,
            Expect::Absent,
            change("flag.archived"),
        )
        .await
        .expect("create an archived flag");
    create_segment(store, "pc-segment", &segment_in(inside, "s")).await;
    let delete = || store.delete_project(p, Expect::Any, change("project.deleted"));
    let refused_while = async |what: &str, holds: &str| {
        let error = refused_as(store, Conflict, what, delete()).await;
        assert!(error.to_string().contains(holds), "{what}: {error}");
    };
    refused_while(
        "a project with flags and a segment",
        "2 flags and 1 segment",
    )
    .await;

    let moved = flag_in(None, "a");
    let put = store.put_flag(
        "pc-flag",
        &moved,
        false,
        Expect::Version(1),
        change("flag.updated"),
    );
    put.await.expect("move a flag to default");
    let deleted = store.delete_flag("pc-archived", Expect::Any, change("flag.deleted"));
    deleted.await.expect("delete the archived flag");
    refused_while("a project with a segment", "0 flags and 1 segment").await;
    let global = segment_in(Some(flagpole_core::GLOBAL_PROJECT), "s");
    let put = store.put_segment(
        "pc-segment",
        &global,
        Expect::Version(1),
        change("segment.updated"),
    );
    put.await.expect("make the segment global");

    let import = |project| {
        let flags = [("pc-imported".to_owned(), flag_in(project, "imported"))];
        async move { store.import(&flags, &[], change("import")).await }
    };
    import(inside)
        .await
        .expect("import a flag into the project");
    refused_while("a project with an imported flag", "1 flag and 0 segments").await;
    import(None).await.expect("import it into default");

    // Deleting an environment rewrites its flags, in the project they name.
    create_environment(store, "pc-env").await;
    let mut configured = flag_in(inside, "configured");
    configured
        .environments
        .insert("pc-env".into(), Default::default());
    create_flag(store, "pc-env-flag", &configured).await;
    let without = [("pc-env-flag".to_owned(), flag_in(inside, "configured"))];
    let env_change = change("environment.deleted");
    store
        .delete_environment("pc-env", &without, env_change)
        .await
        .expect("delete the environment");
    refused_while("a project with a rewritten flag", "1 flag and 0 segments").await;
    let gone = store.delete_flag("pc-env-flag", Expect::Any, change("flag.deleted"));
    gone.await.expect("delete the flag");
    delete().await.expect("delete the emptied project");

    let default = Some(flagpole_core::DEFAULT_PROJECT);
    let of_flag = |key: &str| AuditFilter {
        flag: Some(key.to_owned()),
        ..AuditFilter::default()
    };
    let expected = pairs(&[("flag.updated", default), ("flag.created", inside)]);
    assert_eq!(
        audited(store, of_flag("pc-flag")).await,
        expected,
        "a moved flag's entries"
    );
    let expected = pairs(&[("flag.deleted", inside), ("flag.archived", inside)]);
    let what = "a deletion records the project the flag was in";
    assert_eq!(
        audited(store, of_flag("pc-archived")).await,
        expected,
        "{what}"
    );
    let expected = pairs(&[
        ("flag.deleted", inside),
        ("environment.deleted", inside),
        ("flag.created", inside),
    ]);
    let what = "an environment's deletion rewrites a flag in its project";
    assert_eq!(
        audited(store, of_flag("pc-env-flag")).await,
        expected,
        "{what}"
    );
    let expected = pairs(&[("import", default), ("import", inside)]);
    assert_eq!(
        audited(store, of_flag("pc-imported")).await,
        expected,
        "imports"
    );
    let of_environment = AuditFilter {
        environment: Some("pc-env".into()),
        ..AuditFilter::default()
    };
    let expected = pairs(&[
        ("environment.deleted", None),
        ("environment.deleted", inside),
        ("environment.created", None),
    ]);
    let what = "an environment's own entries name no project";
    assert_eq!(audited(store, of_environment).await, expected, "{what}");
    let in_project = |project: &str| AuditFilter {
        project: Some(project.to_owned()),
        ..AuditFilter::default()
    };
    let entries = audit(store, in_project(p)).await;
    let segment_entries: Vec<&str> = entries
        .iter()
        .filter(|e| e.segment.as_deref() == Some("pc-segment"))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(segment_entries, ["segment.created"], "a segment's entries");
    let expected = pairs(&[("segment.updated", Some(flagpole_core::GLOBAL_PROJECT))]);
    let global = audited(store, in_project(flagpole_core::GLOBAL_PROJECT)).await;
    assert_eq!(global, expected, "a global segment's entries name `*`");
}

/// The audit filter by project combines with the others (AND); access changes name no
/// project but for memberships.
pub async fn project_audit(store: &dyn Store) {
    let p = "proj-audit";
    create_project(store, p).await;
    create_flag(store, "pa-flag", &flag_in(Some(p), "in")).await;
    create_segment(store, "pa-segment", &segment_in(Some(p), "in")).await;
    create_flag(store, "pa-other", &flag("elsewhere")).await;
    let filter = |project: &str, flag: Option<&str>| AuditFilter {
        project: Some(project.to_owned()),
        flag: flag.map(str::to_owned),
        ..AuditFilter::default()
    };
    let names = async |filter| {
        let entries = audit(store, filter).await;
        let name = |e: crate::records::AuditEntry| e.flag.or(e.segment).unwrap_or(e.action);
        entries.into_iter().map(name).collect::<Vec<_>>()
    };
    let all = ["pa-segment", "pa-flag", "project.created"];
    assert_eq!(names(filter(p, None)).await, all, "filtered by project");
    let what = "filtered by project and flag";
    assert_eq!(
        names(filter(p, Some("pa-flag"))).await,
        ["pa-flag"],
        "{what}"
    );
    let what = "a flag in another project";
    assert!(
        names(filter(p, Some("pa-other"))).await.is_empty(),
        "{what}"
    );
    let default = flagpole_core::DEFAULT_PROJECT;
    assert_eq!(names(filter(default, Some("pa-other"))).await, ["pa-other"]);

    let token = super::fixtures::token("tok-pa");
    let created = store.create_token(&token, change("token.created"));
    created.await.expect("create a token");
    let newest = audit(
        store,
        AuditFilter {
            limit: Some(1),
            ..AuditFilter::default()
        },
    )
    .await;
    let newest = newest
        .first()
        .map(|e| (e.action.as_str(), e.project.as_deref()));
    assert_eq!(
        newest,
        Some(("token.created", None)),
        "a token names no project"
    );
}
