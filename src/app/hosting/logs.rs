//! Recent log lines per app: a bounded ring buffer fed by a `tracing` layer from the runtime's `nano::app`
//! records (console output, errors, terminations), read by `GET /admin/apps/{name}/logs`.

use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Lines kept per app, and bytes of their messages; the oldest lines are dropped past either.
pub const LINES_PER_APP: usize = 200;
pub const BYTES_PER_APP: usize = 256 * 1024;

/// One app's recent lines with their message sizes, and the sum of those.
#[derive(Default)]
struct Buffer {
    lines: VecDeque<(Value, usize)>,
    bytes: usize,
}

fn buffers() -> &'static Mutex<HashMap<String, Buffer>> {
    static LOGS: OnceLock<Mutex<HashMap<String, Buffer>>> = OnceLock::new();
    LOGS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Keeps one line for `app`.
pub fn record(app: &str, line: Value) {
    let size = line["msg"].as_str().map_or(0, str::len);
    let mut logs = buffers().lock().unwrap_or_else(|p| p.into_inner());
    let buf = logs.entry(app.to_string()).or_default();
    buf.lines.push_back((line, size));
    buf.bytes += size;
    while buf.lines.len() > LINES_PER_APP || (buf.bytes > BYTES_PER_APP && buf.lines.len() > 1) {
        if let Some((_, n)) = buf.lines.pop_front() {
            buf.bytes -= n;
        }
    }
}

/// The recent lines of `app`, oldest first.
pub fn recent(app: &str) -> Vec<Value> {
    let logs = buffers().lock().unwrap_or_else(|p| p.into_inner());
    logs.get(app)
        .map(|b| b.lines.iter().map(|(l, _)| l.clone()).collect())
        .unwrap_or_default()
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
