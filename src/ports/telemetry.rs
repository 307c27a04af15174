//! `Telemetry`: where finished spans and app log records go to be exported (OpenTelemetry's OTLP in
//! `adapters::otel`). Nothing of a request ever waits on it.

use crate::core::trace::{LogRecord, Span};

/// A sink of spans and log records.
///
/// Contract: `span` and `log` return at once, never blocking or awaiting; when the exporter cannot keep up (a slow
/// or unreachable collector) records are dropped and counted in `dropped`, never queued without bound.
pub trait Telemetry: std::fmt::Debug + Send + Sync + 'static {
    fn span(&self, span: Span);
    fn log(&self, record: LogRecord);
    /// Spans and log records dropped so far because the export queue was full.
    fn dropped(&self) -> u64;
}
