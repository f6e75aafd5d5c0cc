//! `flagpole project …` and `--project` end to end: projects, members and settings
//! through a running server, flags created, listed and imported into a project, a token
//! of one project that reaches only it; and the same project commands offline against a
//! database file.

mod common;

use std::path::Path;
use std::process::Output;

use common::{failed, flagpole_as, ok, Server};
use serde_json::Value;

const ADMIN_TOKEN: &str = "cli-projects-admin-token";

/// Runs `flagpole ARGS --server URL` in `dir` with the admin token.
fn online(server: &Server, dir: &Path, args: &[&str]) -> Output {
    online_as(server, dir, ADMIN_TOKEN, args)
}

fn online_as(server: &Server, dir: &Path, token: &str, args: &[&str]) -> Output {
    let args = [args, &["--server", &server.url]].concat();
    flagpole_as(&args, dir, Some(token))
}

/// Runs `flagpole ARGS --database p.db` in `dir`, without a token.
fn offline(dir: &Path, args: &[&str]) -> Output {
    let args = [args, &["--database", "p.db"]].concat();
    flagpole_as(&args, dir, None)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

const FLAG: &str = "environments: {production: {enabled: true}}\n";

const DOCUMENT: &str = "segments: {staff: {conditions: []}}\n\
     flags:\n  \
       imported: {environments: {production: {enabled: true, rules: [{segments: [staff]}]}}}\n  \
       elsewhere: {project: default, environments: {production: {enabled: true}}}\n";

#[test]
fn projects_members_and_settings_through_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = Server::start(&d.join("s.db"), ADMIN_TOKEN);
    let run = |args: &[&str]| ok(&online(&server, d, args));

    let out = run(&[
        "project",
        "create",
        "alpha",
        "--name",
        "Alpha",
        "--description",
        "The first",
        "--environment",
        "production",
    ]);
    assert_eq!(out.trim(), "created project alpha");
    run(&["project", "create", "beta"]);
    let list = run(&["project", "list"]);
    assert!(list.contains("alpha\tAlpha\t0 flags\tproduction"), "{list}");
    assert!(
        list.contains("beta\tbeta\t0 flags\tevery environment"),
        "{list}"
    );
    let shown = json(&run(&["project", "show", "alpha"]));
    assert_eq!(shown["description"], "The first");

    // Settings per environment, on and off.
    let out = run(&["project", "protect", "alpha", "production"]);
    assert_eq!(out.trim(), "production is protected for project alpha");
    run(&["project", "require-approval", "alpha", "production"]);
    let settings = &json(&run(&["project", "show", "alpha"]))["settings"]["production"];
    assert_eq!(
        (
            settings["protected"].clone(),
            settings["requires_approval"].clone()
        ),
        (true.into(), true.into())
    );
    run(&[
        "project",
        "require-approval",
        "alpha",
        "production",
        "--off",
    ]);
    let settings = &json(&run(&["project", "show", "alpha"]))["settings"]["production"];
    assert_eq!(settings["requires_approval"], false);
    assert_eq!(settings["protected"], true);
    let err = failed(&online(
        &server,
        d,
        &["project", "protect", "alpha", "nowhere"],
    ));
    assert!(err.contains("nowhere"), "{err}");

    // Members: a user of role member, made an editor of alpha, then removed.
    run(&["user", "create", "mia", "--role", "member"]);
    let out = run(&["project", "member-set", "alpha", "mia", "--role", "editor"]);
    assert_eq!(out.trim(), "mia is editor in alpha");
    assert_eq!(run(&["project", "members", "alpha"]).trim(), "mia\teditor");
    let err = failed(&online(
        &server,
        d,
        &["project", "member-set", "alpha", "mia", "--role", "owner"],
    ));
    assert!(err.contains("owner"), "{err}");
    run(&["project", "member-remove", "alpha", "mia"]);
    assert_eq!(run(&["project", "members", "alpha"]).trim(), "");

    // Flags in a project: created there, listed by project, replaced where they are.
    std::fs::write(d.join("flag.yaml"), FLAG).unwrap();
    let set = ["flag", "set", "a1", "--file", "flag.yaml"];
    run(&[&set[..], &["--project", "alpha"]].concat());
    run(&["flag", "set", "d1", "--file", "flag.yaml"]);
    let listed = run(&["flag", "list", "--project", "alpha"]);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.starts_with("a1\t"), "{listed}");
    run(&set);
    let a1 = json(&run(&["flag", "get", "a1"]));
    assert_eq!(
        (a1["project"].clone(), a1["version"].clone()),
        ("alpha".into(), 2.into())
    );

    // An import into beta: what names no project goes there, what names one stays.
    std::fs::write(d.join("doc.yaml"), DOCUMENT).unwrap();
    run(&["import", "doc.yaml", "--project", "beta"]);
    assert_eq!(json(&run(&["flag", "get", "imported"]))["project"], "beta");
    assert_ne!(json(&run(&["flag", "get", "elsewhere"]))["project"], "beta");
    let beta = json(&run(&["export", "--project", "beta"]));
    let keys: Vec<&String> = beta["flags"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["imported"]);
    assert_eq!(beta["segments"]["staff"]["project"], "beta");
    let err = failed(&online(&server, d, &["export", "--project", "nope"]));
    assert!(err.contains("nope"), "{err}");

    // A token of alpha reaches only alpha.
    let token = run(&[
        "token",
        "create",
        "--name",
        "alpha-reader",
        "--kind",
        "admin",
        "--role",
        "viewer",
        "--project",
        "alpha",
        "--service-account",
    ]);
    let as_alpha = |args: &[&str]| ok(&online_as(&server, d, token.trim(), args));
    let flags = as_alpha(&["flag", "list"]);
    assert_eq!(
        flags
            .lines()
            .map(|l| l.split('\t').next().unwrap())
            .collect::<Vec<_>>(),
        ["a1"]
    );
    let projects = as_alpha(&["project", "list"]);
    assert_eq!(projects.lines().count(), 1, "{projects}");
    let err = failed(&online_as(
        &server,
        d,
        token.trim(),
        &["project", "show", "beta"],
    ));
    assert!(err.contains("404"), "{err}");

    // Only an empty project can go.
    let err = failed(&online(&server, d, &["project", "delete", "alpha"]));
    assert!(err.contains("409"), "{err}");
    run(&["project", "create", "empty"]);
    assert_eq!(
        run(&["project", "delete", "empty"]).trim(),
        "deleted project empty"
    );
    assert!(!run(&["project", "list"]).contains("empty"));
}

#[test]
fn projects_offline_against_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| ok(&offline(d, args));

    run(&["project", "create", "gamma", "--environment", "development"]);
    assert!(run(&["project", "list"]).contains("gamma\tgamma\t0 flags\tdevelopment"));
    run(&["project", "protect", "gamma", "development"]);
    let gamma = json(&run(&["project", "show", "gamma"]));
    assert_eq!(gamma["settings"]["development"]["protected"], true);

    run(&["user", "create", "gus", "--role", "member"]);
    run(&["project", "member-set", "gamma", "gus", "--role", "admin"]);
    assert_eq!(run(&["project", "members", "gamma"]).trim(), "gus\tadmin");

    // Imported into gamma, which uses only development.
    std::fs::write(
        d.join("doc.yaml"),
        "flags: {g1: {environments: {development: {enabled: true}}}}\n",
    )
    .unwrap();
    run(&["import", "doc.yaml", "--project", "gamma"]);
    let exported = json(&run(&["export", "--project", "gamma"]));
    assert_eq!(exported["flags"]["g1"]["project"], "gamma");
    assert!(run(&["project", "list"]).contains("gamma\tgamma\t1 flags"));
    let err = failed(&offline(d, &["project", "delete", "gamma"]));
    assert!(err.contains("gamma"), "{err}");
    run(&["project", "member-remove", "gamma", "gus"]);
    assert_eq!(run(&["project", "members", "gamma"]).trim(), "");
}
