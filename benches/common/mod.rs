//! Shared by the benchmarks: start the nano binary cargo built for this bench (release profile) on a port the OS
//! picks, and read a process's resident memory.
#![allow(dead_code)]

use std::path::Path;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A running nano: the child (killed on drop), its base URL and pid.
pub struct Nano {
    pub child: tokio::process::Child,
    pub base: String,
    pub pid: u32,
}

pub async fn start_nano(data: &Path) -> Nano {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_nano"))
        .args([
            "run",
            "--profile",
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data)
        .env("NANO_LOG_FORMAT", "json")
        .env("NANO_LOG_LEVEL", "info,nano::request=warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("nano starts");
    let pid = child.id().expect("pid");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let found = regex::Regex::new(r"listening on (http://127\.0\.0\.1:\d+)").unwrap();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(m) = found.captures(&line) {
            let base = m[1].to_string();
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Nano { child, base, pid };
        }
    }
    panic!("nano exited without listening");
}

/// Resident set size of a process in KiB, from /proc.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Samples the RSS of `pid` every 10 ms until `stop` is set; returns the peak in KiB.
pub fn sample_peak_rss(
    pid: u32,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            peak = peak.max(rss_kib(pid));
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        peak.max(rss_kib(pid))
    })
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}
