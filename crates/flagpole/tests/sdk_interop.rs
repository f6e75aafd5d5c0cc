//! Real SDKs against a real Flagpole: runs the Python suite in `tests/interop` (the
//! Unleash Python SDK and OpenFeature's OFREP provider against `flagpole serve`, and,
//! through Node, OpenFeature's JavaScript server and web SDKs with their OFREP providers),
//! so `cargo test --workspace` covers it.
//!
//! The suite needs the packages in `tests/interop/requirements.txt` and, for the
//! JavaScript SDKs, Node 20 with `npm ci --prefix tests/interop/js`; `.ci/run` installs
//! both. Without them the test (or its JavaScript part) says it is skipped, except under
//! CI (`CI` set), where it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const REQUIREMENTS: &str = "tests/interop/requirements.txt";
const IMPORTS: &str =
    "import UnleashClient, openfeature, openfeature.contrib.provider.ofrep, pytest, yaml";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python(args: &[&str]) -> std::io::Result<Output> {
    python_with(args, &[])
}

fn python_with(args: &[&str], env: &[(&str, &str)]) -> std::io::Result<Output> {
    Command::new("python3")
        .args(args)
        .envs(env.iter().copied())
        .current_dir(repo_root())
        // Leave no __pycache__ or .pytest_cache behind in the work tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("FLAGPOLE_BIN", env!("CARGO_BIN_EXE_flagpole"))
        .output()
}

/// Why the suite cannot run here, if it cannot.
fn missing_packages() -> Option<String> {
    match python(&["-c", IMPORTS]) {
        Err(e) => Some(format!("python3 cannot be run: {e}")),
        Ok(o) if !o.status.success() => {
            let stderr = String::from_utf8_lossy(&o.stderr);
            let error = stderr.lines().last().unwrap_or("").trim().to_string();
            Some(format!("the Python SDK packages do not import ({error})"))
        }
        Ok(_) => None,
    }
}

#[test]
fn python_sdks_agree_with_the_native_api() {
    run_suite(&["tests/interop"], &[]);
}

/// The Unleash Python SDK and the OFREP provider checks again, against `flagpole relay`
/// in front of the server (`FLAGPOLE_INTEROP_RELAY`).
#[test]
fn python_sdks_agree_through_a_relay() {
    run_suite(
        &[
            "tests/interop/test_sdks.py",
            "tests/interop/test_projects.py",
            "-k",
            "unleash or ofrep or matrix or refuse or project",
        ],
        &[("FLAGPOLE_INTEROP_RELAY", "1")],
    );
}

fn run_suite(selection: &[&str], env: &[(&str, &str)]) {
    if let Some(why) = missing_packages() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{why}\n.ci/run should have installed them (python3 -m pip install -r {REQUIREMENTS})"
        );
        println!(
            "skipped: Python SDK packages not installed (pip install -r {REQUIREMENTS}): {why}"
        );
        return;
    }
    let mut args = vec!["-m", "pytest"];
    args.extend_from_slice(selection);
    args.extend(["-q", "-p", "no:cacheprovider"]);
    let output = python_with(&args, env).expect("run pytest");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "the SDK interoperability suite failed ({}); its output is above",
        output.status
    );
}
