//! OpenTelemetry export: the `Telemetry` port as OTLP over HTTP with JSON bodies (`POST <endpoint>/v1/traces` and
//! `<endpoint>/v1/logs`, `Content-Type: application/json`), which needs no protobuf code.
//!
//! Spans and log records go into one bounded queue ([`QUEUE`] deep) that a background task drains in batches of
//! up to [`BATCH`], at least every [`FLUSH_EVERY`]. Requests only ever try to enqueue: when a slow or unreachable
//! collector lets the queue fill, records are dropped and counted (`nano_otel_dropped_total`). A failed export is
//! not retried.

mod json;

use crate::core::trace::{LogRecord, Span};
use crate::ports::Telemetry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Records waiting for export, at most.
pub const QUEUE: usize = 4096;
/// Records sent in one export request, at most.
pub const BATCH: usize = 512;
/// How often a partial batch is sent.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How long one export request may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

enum Item {
    Span(Span),
    Log(LogRecord),
}

/// Exports to one OTLP/HTTP collector.
pub struct OtlpExporter {
    queue: mpsc::Sender<Item>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpExporter").finish_non_exhaustive()
    }
}

impl OtlpExporter {
    /// Starts exporting to `endpoint` (its base URL) as `service_name`, on the current tokio runtime.
    pub fn start(endpoint: &str, service_name: &str) -> Result<Arc<Self>, String> {
        let client = reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .user_agent("nano")
            .build()
            .map_err(|e| format!("OTLP HTTP client: {e}"))?;
        let base = endpoint.trim_end_matches('/');
        url::Url::parse(base).map_err(|e| format!("otel.endpoint {endpoint}: {e}"))?;
        let (queue, rx) = mpsc::channel(QUEUE);
        let export = Export {
            client,
            traces: format!("{base}/v1/traces"),
            logs: format!("{base}/v1/logs"),
            service_name: service_name.to_string(),
        };
        tokio::spawn(export.run(rx));
        Ok(Arc::new(Self {
            queue,
            dropped: AtomicU64::new(0),
        }))
    }

    fn push(&self, item: Item) {
        if self.queue.try_send(item).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Telemetry for OtlpExporter {
    fn span(&self, span: Span) {
        self.push(Item::Span(span));
    }

    fn log(&self, record: LogRecord) {
        self.push(Item::Log(record));
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The background task's side: where batches go.
struct Export {
    client: reqwest::Client,
    traces: String,
    logs: String,
    service_name: String,
}

impl Export {
    async fn run(self, mut rx: mpsc::Receiver<Item>) {
        let (mut spans, mut logs) = (Vec::new(), Vec::new());
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        loop {
            tokio::select! {
                item = rx.recv() => match item {
                    Some(Item::Span(s)) => spans.push(s),
                    Some(Item::Log(l)) => logs.push(l),
                    None => {
                        self.flush(&mut spans, &mut logs).await;
                        return;
                    }
                },
                _ = tick.tick() => {
                    self.flush(&mut spans, &mut logs).await;
                    continue;
                }
            }
            if spans.len() + logs.len() >= BATCH {
                self.flush(&mut spans, &mut logs).await;
            }
        }
    }

    async fn flush(&self, spans: &mut Vec<Span>, logs: &mut Vec<LogRecord>) {
        if !spans.is_empty() {
            let body = json::traces(&self.service_name, &std::mem::take(spans));
            self.post(&self.traces, body).await;
        }
        if !logs.is_empty() {
            let body = json::logs(&self.service_name, &std::mem::take(logs));
            self.post(&self.logs, body).await;
        }
    }

    async fn post(&self, url: &str, body: serde_json::Value) {
        let sent = self
            .client
            .post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await;
        match sent {
            Ok(res) if res.status().is_success() => {}
            Ok(res) => tracing::debug!(url, status = res.status().as_u16(), "OTLP export refused"),
            Err(e) => tracing::debug!(url, error = %e, "OTLP export failed"),
        }
    }
}
