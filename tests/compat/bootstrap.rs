//! hyper-nano's start command with `nano` in its place: `nano run --domain test --data --cache --storage` and a
//! hyper-connect client works at once, with no create calls; `--purge` empties what was there.

use crate::harness::node;
use crate::support::nano_bin;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Starts the real binary with `args` on a port the OS picks; returns the child and its base URL.
fn start(dir: &std::path::Path, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(nano_bin())
        .args([
            "run",
            "--profile",
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.join("data"))
        .args(args)
        .env("NANO_LOG_FORMAT", "json")
        .current_dir(dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines.next().expect("nano logs before it exits").unwrap();
        if let Some(at) = line.find("listening on http://") {
            let rest = &line[at + "listening on ".len()..];
            break rest.split('"').next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[test]
fn hyper_nano_start_command_then_hyper_connect() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--experimental",
        "--domain",
        "test",
        "--data",
        "--cache",
        "--storage",
        "--search",
    ];
    let (child, url) = start(dir.path(), &flags);
    node("bootstrap.mjs", &format!("{url}/test"));
    stop(child);
    // Restarted with the same flags, the services (and their data) are kept.
    let (child, url) = start(dir.path(), &flags);
    let res = reqwest::blocking::get(format!("{url}/data/test/boot-1")).unwrap();
    assert_eq!(res.status(), 200);
    stop(child);
    // With --purge=data the database is emptied and created again; the cache is kept.
    let mut purge = flags.to_vec();
    purge.push("--purge=data");
    let (child, url) = start(dir.path(), &purge);
    let res = reqwest::blocking::get(format!("{url}/data/test/boot-1")).unwrap();
    assert_eq!(res.status(), 404);
    let res = reqwest::blocking::get(format!("{url}/cache/test/boot-key")).unwrap();
    assert_eq!(res.status(), 200);
    stop(child);
}
