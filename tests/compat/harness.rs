//! Running a client script against a nano: `node js/<name>.mjs` or `python3 py/<name>.py`, with `HYPER` set to
//! the connection string. The script's output is shown when it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat")
}

fn run(mut cmd: Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    println!("{what}:\n{stdout}");
}

/// Runs `tests/compat/js/<script>` with Node, `HYPER=<connection>`; panics with its output when it fails.
pub fn node(script: &str, connection: &str) {
    let dir = compat_dir();
    assert!(
        dir.join("node_modules/hyper-connect").exists(),
        "hyper-connect is not installed: run `npm ci` in tests/compat (scripts/test.sh does)"
    );
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("js").join(script))
        .env("HYPER", connection)
        .current_dir(&dir);
    run(cmd, &format!("node {script}"));
}

/// Runs `tests/compat/py/<script>` with Python 3, `HYPER=<connection>`; panics with its output when it fails.
pub fn python(script: &str, connection: &str) {
    let dir = compat_dir();
    let mut cmd = Command::new("python3");
    cmd.arg(dir.join("py").join(script))
        .env("HYPER", connection)
        .current_dir(&dir);
    run(cmd, &format!("python3 {script}"));
}
