//! Hosting benchmark (not a test): requests/second through a release nano with 1, 100 and 1,000 app folders routed
//! by `Host`, and resident memory per idle app. Run with `cargo bench --bench hosting`; prints a markdown table.

#[path = "common/mod.rs"]
mod common;

use common::{client, rss_kib};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

const HELLO: &str = "export default { fetch(req) { return new Response('hello world'); } };";
const CONCURRENCY: usize = 32;
const SECONDS: f64 = 5.0;

struct Nano {
    _child: tokio::process::Child,
    base: String,
    pid: u32,
}

async fn start(apps: &Path, data: &Path) -> Nano {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_nano"))
        .args([
            "run",
            "--profile",
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--apps",
        ])
        .arg(apps)
        .arg("--data-dir")
        .arg(data)
        .env("NANO_LOG_FORMAT", "json")
        .env(
            "NANO_LOG_LEVEL",
            "warn,nano::app::run=info,nano=info,nano::request=warn",
        )
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
            return Nano {
                _child: child,
                base,
                pid,
            };
        }
    }
    panic!("nano exited without listening");
}

fn app_folders(dir: &Path, n: usize) {
    for i in 0..n {
        let d = dir.join(format!("app{i}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("index.js"), HELLO).unwrap();
    }
}

/// Requests/second over `SECONDS` with `CONCURRENCY` requests in flight, Hosts spread over `n` apps.
async fn throughput(base: &str, n: usize) -> f64 {
    let deadline = Instant::now() + Duration::from_secs_f64(SECONDS);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let (base, c) = (base.to_string(), client());
        tasks.push(tokio::spawn(async move {
            let mut count = 0u64;
            let mut i = t;
            while Instant::now() < deadline {
                let host = format!("app{}.localhost", i % n);
                let res = c.get(&base).header("host", host).send().await.unwrap();
                assert_eq!(res.status(), 200);
                let _ = res.bytes().await.unwrap();
                count += 1;
                i += CONCURRENCY;
            }
            count
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let mut rows = Vec::new();
    let mut rss_by_n = Vec::new();
    for n in [1usize, 100, 1000] {
        let apps = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        app_folders(apps.path(), n);
        let t0 = Instant::now();
        let nano = start(apps.path(), data.path()).await;
        let startup = t0.elapsed();
        // Touch every app once so each has an isolate, then let it settle.
        let c = client();
        for i in 0..n {
            let res = c
                .get(&nano.base)
                .header("host", format!("app{i}.localhost"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let idle_rss = rss_kib(nano.pid);
        rss_by_n.push((n, idle_rss));
        let rps = throughput(&nano.base, n).await;
        rows.push((n, startup, idle_rss, rps));
    }
    let one = rows[0].3;
    println!("| apps | start-up | idle RSS | requests/s | vs 1 app |");
    println!("| ---: | ---: | ---: | ---: | ---: |");
    for (n, startup, rss, rps) in &rows {
        println!(
            "| {n} | {:.2} s | {:.1} MiB | {rps:.0} | {:+.1}% |",
            startup.as_secs_f64(),
            *rss as f64 / 1024.0,
            (rps / one - 1.0) * 100.0
        );
    }
    let (n0, r0) = rss_by_n[0];
    let (n1, r1) = rss_by_n[rss_by_n.len() - 1];
    println!(
        "\nRSS per idle app: {:.0} KiB (({} apps - {} app) / {})",
        (r1 as f64 - r0 as f64) / (n1 - n0) as f64,
        n1,
        n0,
        n1 - n0
    );
    println!("Concurrency {CONCURRENCY}, {SECONDS} s per row, hello-world app, loopback HTTP/1.1.");
}
