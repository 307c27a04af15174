//! Recent log lines per app: a bounded ring buffer fed by a `tracing` layer from the runtime's `nano::app`
//! records (console output, errors, terminations), read by `GET /admin/apps/{name}/logs`.

use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Lines kept per app; older ones are dropped.
pub const LINES_PER_APP: usize = 200;

fn buffers() -> &'static Mutex<HashMap<String, VecDeque<Value>>> {
    static LOGS: OnceLock<Mutex<HashMap<String, VecDeque<Value>>>> = OnceLock::new();
    LOGS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Keeps one line for `app`.
pub fn record(app: &str, line: Value) {
    let mut logs = buffers().lock().unwrap_or_else(|p| p.into_inner());
    let buf = logs.entry(app.to_string()).or_default();
    if buf.len() == LINES_PER_APP {
        buf.pop_front();
    }
    buf.push_back(line);
}

/// The recent lines of `app`, oldest first.
pub fn recent(app: &str) -> Vec<Value> {
    let logs = buffers().lock().unwrap_or_else(|p| p.into_inner());
    logs.get(app)
        .map(|b| b.iter().cloned().collect())
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
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
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
