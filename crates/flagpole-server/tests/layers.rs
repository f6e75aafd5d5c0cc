//! The server's layers, as ARCHITECTURE.md states them, checked against the code's own
//! imports: every `crate::…` path a module names must lead to a module of a lower layer
//! (or to itself). It fails on an import that runs back up, on an unknown top-level
//! module (add it to [`LAYERS`] and to ARCHITECTURE.md), and on `AppState` named outside
//! the HTTP layer and the routes and UI above it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Bottom to top; a module may import the modules of the layers below its own. Modules
/// of one layer do not import each other, except as [`SIDEWAYS`] allows.
const LAYERS: &[&[&str]] = &[
    &["config", "error", "telemetry", "diff"],
    &["identity", "published", "usage"],
    &["sample"],
    &["core"],
    &["preview"],
    &["write"],
    &["review", "release"],
    &["stream", "follow"],
    &["relay"],
    &["http"],
    &["ui"],
    &["routes"],
];

/// Imports between modules of one layer that are allowed: (from, to).
const SIDEWAYS: &[(&str, &str)] = &[];

/// The modules that may name `AppState`.
const STATE_USERS: &[&str] = &["http", "ui", "routes"];

#[test]
fn imports_run_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 50, "only {} files under src/", files.len());
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let Some(module) = top_module(rel) else {
            continue; // lib.rs: the crate's face, above every layer
        };
        let Some(own) = layer_of(&module) else {
            problems.push(format!(
                "{}: module `{module}` is in no layer",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("readable source");
        let code = without_comments(&text);
        for named in crate_paths(&code) {
            if named == module {
                continue;
            }
            match layer_of(&named) {
                None => problems.push(format!(
                    "{}: names `crate::{named}`, which is in no layer",
                    rel.display()
                )),
                Some(layer) if layer < own => {}
                Some(layer) if layer == own && SIDEWAYS.contains(&(&module, &named)) => {}
                Some(_) => problems.push(format!(
                    "{}: `{module}` imports `crate::{named}`, which is not below it",
                    rel.display()
                )),
            }
        }
        if !STATE_USERS.contains(&module.as_str()) && mentions(&code, "AppState") {
            problems.push(format!(
                "{}: names `AppState` below the HTTP layer",
                rel.display()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "imports against the layers:\n{}",
        problems.join("\n")
    );
}

#[test]
fn paths_are_read_from_the_code() {
    let code = "use crate::write::{self, Mode};\nuse crate::{core::Core, error::ApiError};\nlet x = crate::preview::preview(a);";
    let found: Vec<String> = crate_paths(code).into_iter().collect();
    assert_eq!(found, ["core", "error", "preview", "write"]);
    assert_eq!(
        without_comments("a // crate::x\n/// crate::y\nb"),
        "a \n\nb"
    );
    assert!(mentions("fn f(s: &AppState)", "AppState"));
    assert!(!mentions("fn f(s: &AppStateful)", "AppState"));
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a file belongs to (`write/check.rs` → `write`, `config.rs` →
/// `config`); `None` for `lib.rs`.
fn top_module(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    if first == "lib.rs" {
        return None;
    }
    Some(first.trim_end_matches(".rs").to_string())
}

/// The top-level modules named by `crate::…` paths, grouped imports included.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `flagpole_crate::` and the like
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name = ident(item.trim());
                if !name.is_empty() && name != "self" {
                    found.insert(name.to_string());
                }
            }
        } else {
            let name = ident(rest);
            // `crate::Name` is an item of the crate root (lib.rs re-exports): no layer.
            if !name.is_empty() {
                found.insert(name.to_string());
            }
        }
    }
    found
}

fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The code without line comments (doc comments name paths in prose).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `word` stands in `code` as a whole identifier.
fn mentions(code: &str, word: &str) -> bool {
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        let part = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !part(before) && !part(after)
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("readable directory")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}
