//! The repository stands on its own: no file in it (code, tests, scripts, `.ci/run`,
//! documentation) names a path outside the checkout, so a clone into an empty folder
//! passes its own tests. It fails on a relative path that climbs out of the repository
//! (counted from the crate for Rust files, whose paths start at `CARGO_MANIFEST_DIR`, and
//! from the file's own folder for any other), on the folder the project's reference
//! material sits in beside a developer's checkout, and on this workplace's absolute paths.

use std::path::{Path, PathBuf};

/// Folders that are not the project's text: build output, installed packages, git.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules", ".git", "__pycache__"];

#[test]
fn no_file_names_a_path_outside_the_checkout() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().expect("repository root");
    // Written in pieces, so this file does not find itself.
    let forbidden = [
        ["..", "/shared"].concat(),
        ["shared", "/reference"].concat(),
        ["/work", "/main"].concat(),
        ["/work", "/shared"].concat(),
        ["..", "/.library"].concat(),
    ];
    let mut files = Vec::new();
    walk(&root, &mut files);
    assert!(
        files.len() > 100,
        "found only {} files under {}",
        files.len(),
        root.display()
    );
    let mut problems = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue; // not text
        };
        let rel = file.strip_prefix(&root).expect("under the root");
        for (n, line) in text.lines().enumerate() {
            for needle in &forbidden {
                if line.contains(needle.as_str()) {
                    problems.push(format!("{}:{}: names `{needle}`", rel.display(), n + 1));
                }
            }
            let depth = base_depth(&root, file);
            for climb in climbs(line) {
                if climb > depth {
                    problems.push(format!(
                        "{}:{}: climbs {climb} folders up from a base {depth} deep: {}",
                        rel.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    println!("self_contained: {} files read", files.len());
    assert!(
        problems.is_empty(),
        "paths outside the checkout:\n{}",
        problems.join("\n")
    );
}

#[test]
fn climbs_are_counted() {
    assert_eq!(
        climbs(r#"concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/x.md")"#),
        [2]
    );
    let out = [r#".join(""#, ".", "./../../elsewhere/x\")"].concat();
    assert_eq!(climbs(&out), [3]);
    assert_eq!(climbs("see [it](../../README.md) and ../x"), [2, 1]);
    assert_eq!(climbs("PUT .../rules, and so on..."), Vec::<usize>::new());
    assert_eq!(climbs(r#"cd "$(dirname "$0")/..""#), Vec::<usize>::new());
}

/// How many folders deep the base of a file's relative paths is: its crate for a Rust
/// file (`CARGO_MANIFEST_DIR`; `include_str!` starts deeper, at the file), its own folder
/// for any other.
fn base_depth(root: &Path, file: &Path) -> usize {
    let dir = file.parent().expect("a file has a folder");
    let base = if file.extension().is_some_and(|e| e == "rs") {
        dir.ancestors()
            .take_while(|d| d.starts_with(root))
            .find(|d| d.join("Cargo.toml").is_file())
            .unwrap_or(dir)
    } else {
        dir
    };
    base.strip_prefix(root)
        .expect("under the root")
        .components()
        .count()
}

/// The relative paths in a line that start by climbing (`../`, `"/../`), each as the
/// number of folders it climbs. A path after a variable or a command substitution
/// (`$DIR/..`) is not relative to the file, and an ellipsis is not a path.
fn climbs(line: &str) -> Vec<usize> {
    let bytes = line.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        let starts = bytes[i] == b'.'
            && bytes[i + 1] == b'.'
            && (i == 0
                || matches!(
                    bytes[i - 1],
                    b'"' | b'\'' | b'(' | b' ' | b'=' | b'/' | b'`'
                ))
            && !(i >= 2 && bytes[i - 1] == b'/' && !matches!(bytes[i - 2], b'"' | b'\''))
            && bytes
                .get(i + 2)
                .is_some_and(|&c| c == b'/' || c == b'"' || c == b'\'');
        if !starts {
            i += 1;
            continue;
        }
        let mut n = 0;
        while bytes.get(i) == Some(&b'.')
            && bytes.get(i + 1) == Some(&b'.')
            && bytes.get(i + 2).is_none_or(|&c| c != b'.')
        {
            n += 1;
            i += 2;
            if bytes.get(i) == Some(&b'/') {
                i += 1;
            } else {
                break;
            }
        }
        found.push(n);
    }
    found
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            let hidden = name.starts_with('.') && name != ".ci";
            if !hidden && !SKIPPED_DIRS.contains(&name.as_ref()) {
                walk(&path, files);
            }
        } else if kind.is_file()
            && entry.metadata().is_ok_and(|m| m.len() < 4 << 20)
            && !name.ends_with(".png")
        {
            files.push(path);
        }
    }
}
