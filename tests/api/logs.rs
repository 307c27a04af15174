//! Live app logs over HTTP: `GET /admin/apps/{name}/logs?follow=1` as server-sent events against a real app (level
//! filter, `since` replay, the rate bound, unknown apps, admin auth), and `nano tail` as a real process.

use crate::support::{client, fresh_name, TestNano};
use futures::StreamExt;
use nano::app::config::{AppConfig, Secret};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// Logs what its query asks: `?n=<count>` info lines `line <i>`, or one line per level tagged with `?tag=`.
const LOGGER: &str = r#"export default { fetch(req) {
  const u = new URL(req.url);
  const n = u.searchParams.get('n');
  if (n) { for (let i = 0; i < Number(n); i++) console.log('line ' + i); return new Response('ok'); }
  const tag = u.searchParams.get('tag');
  console.log('info ' + tag); console.warn('warn ' + tag); console.error('error ' + tag);
  return new Response('ok');
} };"#;

/// An app `name` serving [`LOGGER`] at `<name>.test`.
pub fn logger_app(dir: &Path, name: &str) -> AppConfig {
    let entry = dir.join(format!("{name}.js"));
    std::fs::write(&entry, LOGGER).unwrap();
    toml::from_str(&format!(
        "name = '{name}'\ntenant = 'logs'\nhostnames = ['{name}.test']\nentry = '{}'\n",
        entry.display()
    ))
    .unwrap()
}

/// A nano with the logger app `name`, admin API behind `token`.
pub async fn nano_with_logger(dir: &Path, name: &str, token: &str) -> TestNano {
    crate::install_app_logs();
    let app = logger_app(dir, name);
    let token = token.to_string();
    TestNano::start_with(move |c| {
        c.apps.push(app);
        c.tenants = vec!["logs".into()];
        c.admin_token = Some(Secret::new(token));
    })
    .await
}

/// One server-sent event: its id and its data as JSON.
#[derive(Debug)]
struct Event {
    id: u64,
    data: Value,
}

/// An open event stream, read event by event.
struct Events {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    text: String,
}

impl Events {
    async fn open(nano: &TestNano, path: &str, token: &str) -> Self {
        let res = client()
            .get(nano.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        assert!(res.headers().contains_key("x-nano-node"));
        Self {
            body: res.bytes_stream().boxed(),
            text: String::new(),
        }
    }

    /// The next event, skipping comments; panics after 20 s.
    async fn next(&mut self) -> Event {
        loop {
            if let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let (mut id, mut data) = (None, None);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.parse().unwrap());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = Some(serde_json::from_str(v).unwrap());
                    }
                }
                match (id, data) {
                    (Some(id), Some(data)) => return Event { id, data },
                    _ => continue,
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.body.next())
                .await
                .expect("an event within 20 s")
                .expect("the stream stays open")
                .unwrap();
            self.text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

async fn hit(nano: &TestNano, app: &str, query: &str) {
    let res = client()
        .get(nano.url(&format!("/?{query}")))
        .header("host", format!("{app}.test"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_logs_streams_an_apps_console_lines_as_server_sent_events() {
    let files = tempfile::tempdir().unwrap();
    let app = fresh_name("tail");
    let nano = nano_with_logger(files.path(), &app, "tok-logs").await;
    let c = client();

    // Auth as every admin route, and 404 for an unknown app.
    let path = format!("/admin/apps/{app}/logs?follow=1");
    assert_eq!(c.get(nano.url(&path)).send().await.unwrap().status(), 401);
    let missing = c
        .get(nano.url("/admin/apps/no-such-app/logs?follow=1"))
        .bearer_auth("tok-logs")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let bad_level = c
        .get(nano.url(&format!("{path}&level=loud")))
        .bearer_auth("tok-logs")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_level.status(), 400);

    // A request's console lines arrive on the stream, warn and above only.
    let before = nano::core::clock::now_ms() - 1;
    let mut warn = Events::open(&nano, &format!("{path}&level=warn"), "tok-logs").await;
    let mut all = Events::open(&nano, &path, "tok-logs").await;
    hit(&nano, &app, "tag=a").await;
    let first = warn.next().await;
    assert_eq!(first.data["msg"], "warn a", "{first:?}");
    assert_eq!(first.data["level"], "warn");
    assert!(first.data["request_id"].as_str().is_some_and(|r| r != "-"));
    let second = warn.next().await;
    assert_eq!(second.data["msg"], "error a");
    assert!(second.id > first.id, "ids increase");
    let info = all.next().await;
    assert_eq!(info.data["msg"], "info a");
    assert!(info.id < first.id);

    // Each event's data is the line GET …/logs returns.
    let logs: Value = c
        .get(nano.url(&format!("/admin/apps/{app}/logs")))
        .bearer_auth("tok-logs")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(logs["logs"][1], first.data);

    // `since` replays the buffered lines newer than it first, then goes on live.
    let mut replay = Events::open(
        &nano,
        &format!("{path}&since={before}&level=info"),
        "tok-logs",
    )
    .await;
    for msg in ["info a", "warn a", "error a"] {
        assert_eq!(replay.next().await.data["msg"], msg);
    }
    hit(&nano, &app, "tag=b").await;
    assert_eq!(replay.next().await.data["msg"], "info b");
    assert_eq!(warn.next().await.data["msg"], "warn b");

    // Stopping nano ends the streams at once rather than waiting out the drain timeout for them.
    let started = std::time::Instant::now();
    nano.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    for mut stream in [warn, all, replay] {
        while let Some(chunk) = stream.body.next().await {
            chunk.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_gets_a_bounded_rate_and_a_count_of_what_it_missed() {
    let files = tempfile::tempdir().unwrap();
    let app = fresh_name("flood");
    let nano = nano_with_logger(files.path(), &app, "tok").await;
    let rate = nano::app::hosting::logs::FOLLOW_RATE as usize;
    let mut events = Events::open(&nano, &format!("/admin/apps/{app}/logs?follow=1"), "tok").await;
    hit(&nano, &app, &format!("n={}", rate + 50)).await;
    let mut last = 0;
    for i in 0..rate {
        let e = events.next().await;
        assert_eq!(e.data["msg"], format!("line {i}"));
        assert!(e.id > last);
        last = e.id;
    }
    let report = events.next().await;
    assert_eq!(report.data["level"], "warn");
    let msg = report.data["msg"].as_str().unwrap();
    assert!(msg.starts_with("50 log records dropped"), "{msg}");
    assert!(report.id > last);
    // The app was never held up: it still answers, and the next second's lines arrive.
    hit(&nano, &app, "tag=after").await;
    assert_eq!(events.next().await.data["msg"], "info after");
    nano.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nano_tail_prints_an_apps_lines_from_a_real_node() {
    use tokio::io::AsyncBufReadExt;
    let files = tempfile::tempdir().unwrap();
    let app = fresh_name("tailcli");
    let nano = nano_with_logger(files.path(), &app, "tok-tail").await;
    let mut tail = tokio::process::Command::new(crate::support::nano_bin())
        .args(["tail", &app, "--url", &nano.url(""), "--token", "tok-tail"])
        .args(["--level", "warn", "--tenant", "logs"])
        .current_dir(files.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = tokio::io::BufReader::new(tail.stderr.take().unwrap()).lines();
    let connected = tokio::time::timeout(Duration::from_secs(20), stderr.next_line())
        .await
        .expect("nano tail connects within 20 s")
        .unwrap()
        .unwrap();
    assert!(
        connected.contains(&format!("following {app} on node")),
        "{connected}"
    );
    hit(&nano, &app, "tag=cli").await;
    let mut stdout = tokio::io::BufReader::new(tail.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for _ in 0..2 {
        let line = tokio::time::timeout(Duration::from_secs(20), stdout.next_line())
            .await
            .expect("a line within 20 s")
            .unwrap()
            .unwrap();
        printed.push(line);
    }
    let time = regex::Regex::new(r"^\d\d:\d\d:\d\d\.\d{3} ").unwrap();
    assert!(time.is_match(&printed[0]), "{printed:?}");
    assert!(
        printed[0].contains(" WARN  warn cli (request "),
        "{printed:?}"
    );
    assert!(
        printed[1].contains(" ERROR error cli (request "),
        "{printed:?}"
    );

    // The node restarts on the same address: `nano tail` reconnects and goes on printing.
    let addr = nano.addr;
    nano.stop().await;
    let ended = tokio::time::timeout(Duration::from_secs(20), stderr.next_line())
        .await
        .expect("nano tail notices the end within 20 s")
        .unwrap()
        .unwrap();
    assert!(ended.contains("ended; reconnecting"), "{ended}");
    let app_config = logger_app(files.path(), &app);
    let nano = TestNano::start_with(move |c| {
        c.listen = addr;
        c.apps.push(app_config);
        c.tenants = vec!["logs".into()];
        c.admin_token = Some(Secret::new("tok-tail"));
    })
    .await;
    let again = tokio::time::timeout(Duration::from_secs(20), stderr.next_line())
        .await
        .expect("nano tail reconnects within 20 s")
        .unwrap()
        .unwrap();
    assert!(
        again.contains(&format!("following {app} on node")),
        "{again}"
    );
    hit(&nano, &app, "tag=again").await;
    let line = tokio::time::timeout(Duration::from_secs(20), stdout.next_line())
        .await
        .expect("a line after reconnecting within 20 s")
        .unwrap()
        .unwrap();
    assert!(line.contains(" WARN  warn again (request "), "{line}");
    tail.kill().await.unwrap();

    // Another tenant's app, or an unknown one, is refused with exit status 1.
    for args in [vec![app.as_str(), "--tenant", "other"], vec!["no-such-app"]] {
        let out = tokio::process::Command::new(crate::support::nano_bin())
            .arg("tail")
            .args(&args)
            .args(["--url", &nano.url(""), "--token", "tok-tail"])
            .current_dir(files.path())
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("nano tail: "));
    }
    nano.stop().await;
}
