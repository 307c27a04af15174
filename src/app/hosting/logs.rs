//! Recent log lines per app: a bounded ring buffer fed by a `tracing` layer from the runtime's `nano::app`
//! records (console output, errors, terminations), read by `GET /admin/apps/{name}/logs`, and followed live by
//! `?follow=1`.
//!
//! Every line gets a sequence number, increasing across all apps of this node. Following an app subscribes to
//! its broadcast channel (made on the first follower, [`FOLLOW_BUFFER`] lines deep) under the same lock that
//! records lines, so a `since` replay of the buffer and the live lines after it neither overlap nor leave a gap.
//! Recording never waits for a follower: a follower that falls behind by more than the channel holds skips
//! the lines it missed, and a follower sent more than [`FOLLOW_RATE`] lines in a second gets the rest dropped;
//! either way it then receives one `warn` line counting them.

use futures::stream::{BoxStream, StreamExt};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Lines kept per app, and bytes of their messages; the oldest lines are dropped past either.
pub const LINES_PER_APP: usize = 200;
pub const BYTES_PER_APP: usize = 256 * 1024;

/// Lines a follower may fall behind by before it skips them.
pub const FOLLOW_BUFFER: usize = 256;
/// Lines one follower receives per second; the rest are dropped and counted.
pub const FOLLOW_RATE: u32 = 100;

/// One line as followers get it: its sequence number and the line.
type Live = (u64, Arc<Value>);

/// One app's recent lines with their sequence numbers and message sizes, the sum of those sizes, and the
/// channel of its followers once it has had one.
#[derive(Default)]
struct Buffer {
    lines: VecDeque<(u64, Value, usize)>,
    bytes: usize,
    live: Option<broadcast::Sender<Live>>,
}

/// The last sequence number given to a line.
static SEQ: AtomicU64 = AtomicU64::new(0);

fn buffers() -> &'static Mutex<HashMap<String, Buffer>> {
    static LOGS: OnceLock<Mutex<HashMap<String, Buffer>>> = OnceLock::new();
    LOGS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Keeps one line for `app`.
pub fn record(app: &str, line: Value) {
    let size = line["msg"].as_str().map_or(0, str::len);
    let mut logs = buffers().lock().unwrap_or_else(|p| p.into_inner());
    let seq = SEQ.fetch_add(1, Ordering::Relaxed) + 1;
    let buf = logs.entry(app.to_string()).or_default();
    match &buf.live {
        Some(live) if live.receiver_count() > 0 => {
            let _ = live.send((seq, Arc::new(line.clone())));
        }
        // The last follower left: the channel and the lines it still holds go.
        Some(_) => buf.live = None,
        None => {}
    }
    buf.lines.push_back((seq, line, size));
    buf.bytes += size;
    while buf.lines.len() > LINES_PER_APP || (buf.bytes > BYTES_PER_APP && buf.lines.len() > 1) {
        if let Some((_, _, n)) = buf.lines.pop_front() {
            buf.bytes -= n;
        }
    }
}

/// The recent lines of `app`, oldest first.
pub fn recent(app: &str) -> Vec<Value> {
    let logs = buffers().lock().unwrap_or_else(|p| p.into_inner());
    logs.get(app)
        .map(|b| b.lines.iter().map(|(_, l, _)| l.clone()).collect())
        .unwrap_or_default()
}

/// The rank of a log level name, `debug` lowest; `None` for an unknown name.
pub fn level_rank(level: &str) -> Option<u8> {
    match level {
        "trace" | "debug" => Some(0),
        "info" => Some(1),
        "warn" => Some(2),
        "error" => Some(3),
        _ => None,
    }
}

fn line_rank(line: &Value) -> u8 {
    line["level"].as_str().and_then(level_rank).unwrap_or(1)
}

/// The lines of `app` from now on, each with its sequence number, at `min_level` and above: first the buffered
/// lines newer than `since_ms` when given, then the live ones as they are recorded. Never ends.
pub fn follow(app: &str, since_ms: Option<i64>, min_level: u8) -> BoxStream<'static, (u64, Value)> {
    let (replay, rx) = {
        let mut logs = buffers().lock().unwrap_or_else(|p| p.into_inner());
        let buf = logs.entry(app.to_string()).or_default();
        let rx = buf
            .live
            .get_or_insert_with(|| broadcast::channel(FOLLOW_BUFFER).0)
            .subscribe();
        let replay: VecDeque<(u64, Value)> = match since_ms {
            Some(since) => buf
                .lines
                .iter()
                .filter(|(_, l, _)| l["ts_ms"].as_i64().is_some_and(|t| t > since))
                .filter(|(_, l, _)| line_rank(l) >= min_level)
                .map(|(seq, l, _)| (*seq, l.clone()))
                .collect(),
            None => VecDeque::new(),
        };
        (replay, rx)
    };
    let follower = Follower {
        rx,
        min_level,
        pending: replay,
        window: Instant::now(),
        sent: 0,
        dropped: 0,
        drop_id: 0,
        lagged: false,
    };
    futures::stream::unfold(follower, Follower::next).boxed()
}

/// One follower's place in its app's channel, and its rate window.
struct Follower {
    rx: broadcast::Receiver<Live>,
    min_level: u8,
    pending: VecDeque<(u64, Value)>,
    /// When the current one-second window began, and the lines sent in it.
    window: Instant,
    sent: u32,
    /// Lines dropped (skipped or over the rate) not yet reported, and the sequence number of the report.
    dropped: u64,
    drop_id: u64,
    /// Whether the channel skipped lines since the last one received.
    lagged: bool,
}

impl Follower {
    async fn next(mut self) -> Option<((u64, Value), Self)> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some((item, self));
            }
            let received = if self.dropped > 0 && !self.lagged {
                let end = self.window + Duration::from_secs(1);
                match tokio::time::timeout_at(end, self.rx.recv()).await {
                    Ok(received) => received,
                    Err(_) => {
                        self.report_drops();
                        continue;
                    }
                }
            } else {
                self.rx.recv().await
            };
            match received {
                Ok((seq, line)) => {
                    if std::mem::take(&mut self.lagged) {
                        // The first line after a skip: its number less one is above every skipped one.
                        self.drop_id = self.drop_id.max(seq - 1);
                        self.report_drops();
                    }
                    self.admit(seq, &line)
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    self.dropped += n;
                    self.lagged = true;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    fn admit(&mut self, seq: u64, line: &Value) {
        if self.window.elapsed() >= Duration::from_secs(1) {
            self.report_drops();
            self.window = Instant::now();
            self.sent = 0;
        }
        if line_rank(line) < self.min_level {
            return;
        }
        if self.sent < FOLLOW_RATE {
            self.sent += 1;
            self.pending.push_back((seq, line.clone()));
        } else {
            self.dropped += 1;
            self.drop_id = seq;
        }
    }

    /// Queues the line counting the dropped lines, if any were.
    fn report_drops(&mut self) {
        if self.dropped == 0 {
            return;
        }
        let n = std::mem::take(&mut self.dropped);
        let line = json!({
            "ts_ms": crate::core::clock::now_ms(),
            "level": "warn",
            "msg": format!(
                "{n} log records dropped: this stream fell behind or passed {FOLLOW_RATE} records a second"
            ),
        });
        self.pending.push_back((self.drop_id, line));
    }
}

/// The layer that copies `nano::app` events into the ring buffers.
pub struct AppLogLayer;

#[derive(Default)]
struct Fields {
    app: Option<String>,
    message: String,
    extra: serde_json::Map<String, Value>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "app" => self.app = Some(value.to_string()),
            "message" => self.message = value.to_string(),
            name => {
                self.extra.insert(name.to_string(), value.into());
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "app" => self.app = Some(text.trim_matches('"').to_string()),
            "message" => self.message = text,
            name => {
                self.extra.insert(name.to_string(), text.into());
            }
        }
    }
}

impl<S: Subscriber> Layer<S> for AppLogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != "nano::app" {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let Some(app) = fields.app else { return };
        let ms = crate::core::clock::now_ms();
        let mut line = json!({
            "ts_ms": ms,
            "level": event.metadata().level().as_str().to_ascii_lowercase(),
            "msg": fields.message,
        });
        for (k, v) in fields.extra {
            line[k] = v;
        }
        record(&app, line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_follower_that_falls_behind_skips_lines_and_is_told_how_many() {
        let app = "log-follow-test";
        record(app, json!({ "ts_ms": 1, "level": "info", "msg": "before" }));
        let mut lines = follow(app, Some(0), 0);
        let total = FOLLOW_BUFFER + 44;
        for i in 0..total {
            record(
                app,
                json!({ "ts_ms": 2, "level": "info", "msg": i.to_string() }),
            );
        }
        // The replay comes first, then what the channel still holds after the report of what it skipped.
        let (first, replayed) = lines.next().await.unwrap();
        assert_eq!(replayed["msg"], "before");
        let (report_id, report) = lines.next().await.unwrap();
        assert_eq!(report["level"], "warn");
        assert!(
            report["msg"]
                .as_str()
                .unwrap()
                .starts_with("44 log records dropped"),
            "{report}"
        );
        let mut last = report_id;
        assert!(last > first);
        for i in 0..FOLLOW_RATE as usize {
            let (id, line) = lines.next().await.unwrap();
            assert_eq!(line["msg"], (44 + i).to_string());
            assert!(id > last);
            last = id;
        }
        // Past the rate, the rest of the second is dropped and counted once the second is over.
        let (id, report) = lines.next().await.unwrap();
        let rest = FOLLOW_BUFFER - FOLLOW_RATE as usize;
        assert!(
            report["msg"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{rest} log records dropped")),
            "{report}"
        );
        assert!(id > last);
        // The follower gone, recording drops the channel.
        drop(lines);
        record(app, json!({ "msg": "after" }));
        assert!(buffers().lock().unwrap()[app].live.is_none());
    }

    #[test]
    fn an_apps_buffer_is_bounded_by_bytes_and_lines() {
        let app = "log-bytes-test";
        let big = "x".repeat(16 * 1024);
        for i in 0..100 {
            record(app, json!({ "msg": format!("{i} {big}") }));
        }
        let lines = recent(app);
        let bytes: usize = lines.iter().map(|l| l["msg"].as_str().unwrap().len()).sum();
        assert!(bytes <= BYTES_PER_APP, "{bytes} bytes kept");
        assert!(
            lines.len() >= BYTES_PER_APP / (17 * 1024),
            "{} lines kept",
            lines.len()
        );
        assert!(lines.last().unwrap()["msg"]
            .as_str()
            .unwrap()
            .starts_with("99 "));
        for i in 0..(LINES_PER_APP + 10) {
            record(app, json!({ "msg": i.to_string() }));
        }
        assert_eq!(recent(app).len(), LINES_PER_APP);
    }
}
