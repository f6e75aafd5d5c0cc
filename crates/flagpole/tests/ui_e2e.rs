//! The web UI in real headless Chromium: runs the Selenium suite in `tests/ui` against
//! `flagpole serve` (log in, create and edit flags, switch production off, history and
//! rollback, try it, tokens, a viewer refused, a stale save; each checked through the
//! API), which also writes the screenshots in `docs/screenshots/` and runs axe-core.
//!
//! It needs Debian's `chromium` and `chromium-driver` and the packages in
//! `tests/ui/requirements.txt`; `.ci/run` installs them. Without them the test says it
//! is skipped, except under CI (`CI` set), where it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const REQUIREMENTS: &str = "tests/ui/requirements.txt";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python(args: &[&str]) -> std::io::Result<Output> {
    Command::new("python3")
        .args(args)
        .current_dir(repo_root())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("FLAGPOLE_BIN", env!("CARGO_BIN_EXE_flagpole"))
        .output()
}

/// Why the suite cannot run here, if it cannot.
fn missing() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let driver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    for path in [&chromium, &driver] {
        if !Path::new(path).exists() {
            return Some(format!(
                "{path} is not installed (apt-get install chromium chromium-driver)"
            ));
        }
    }
    match python(&["-c", "import selenium, pytest, requests"]) {
        Err(e) => Some(format!("python3 cannot be run: {e}")),
        Ok(o) if !o.status.success() => Some(format!(
            "the Python packages do not import ({})",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .trim()
        )),
        Ok(_) => None,
    }
}

#[test]
fn the_web_ui_works_in_chromium() {
    if let Some(why) = missing() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{why}\n.ci/run should have installed it (and pip install -r {REQUIREMENTS})"
        );
        println!("skipped: the browser suite cannot run here: {why}");
        return;
    }
    let output =
        python(&["-m", "pytest", "tests/ui", "-q", "-p", "no:cacheprovider"]).expect("run pytest");
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the browser suite failed ({}); its output is above",
        output.status
    );
}
