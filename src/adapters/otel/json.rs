//! OTLP's JSON encoding of spans and log records (the protobuf messages' JSON mapping: ids as lower-case hex,
//! 64-bit integers as strings, enums as numbers).

use crate::core::trace::{AttrValue, LogRecord, Span, SpanKind};
use serde_json::{json, Value};

fn attributes(attrs: &[(&'static str, AttrValue)]) -> Value {
    attrs
        .iter()
        .map(|(key, value)| {
            let value = match value {
                AttrValue::Str(s) => json!({ "stringValue": s }),
                AttrValue::Int(i) => json!({ "intValue": i.to_string() }),
                AttrValue::Float(f) => json!({ "doubleValue": f }),
                AttrValue::Bool(b) => json!({ "boolValue": b }),
            };
            json!({ "key": key, "value": value })
        })
        .collect()
}

fn resource(service_name: &str) -> Value {
    json!({ "attributes": attributes(&[("service.name", AttrValue::Str(service_name.to_string()))]) })
}

/// An `ExportTraceServiceRequest`.
pub fn traces(service_name: &str, spans: &[Span]) -> Value {
    let spans: Vec<Value> = spans
        .iter()
        .map(|s| {
            let mut span = json!({
                "traceId": hex::encode(s.context.trace_id),
                "spanId": hex::encode(s.context.span_id),
                "name": s.name,
                "kind": match s.kind { SpanKind::Internal => 1, SpanKind::Server => 2, SpanKind::Client => 3 },
                "startTimeUnixNano": s.start_nanos.to_string(),
                "endTimeUnixNano": s.end_nanos.to_string(),
                "attributes": attributes(&s.attributes),
                "status": { "code": if s.error { 2 } else { 0 } },
            });
            if let Some(parent) = s.parent_span_id {
                span["parentSpanId"] = hex::encode(parent).into();
            }
            span
        })
        .collect();
    json!({ "resourceSpans": [{
        "resource": resource(service_name),
        "scopeSpans": [{ "scope": { "name": "nano" }, "spans": spans }],
    }] })
}

/// An `ExportLogsServiceRequest`.
pub fn logs(service_name: &str, records: &[LogRecord]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|r| {
            let severity = match r.level.as_str() {
                "debug" | "trace" => 5,
                "warn" => 13,
                "error" => 17,
                _ => 9,
            };
            let mut record = json!({
                "timeUnixNano": r.time_nanos.to_string(),
                "observedTimeUnixNano": r.time_nanos.to_string(),
                "severityNumber": severity,
                "severityText": r.level.to_ascii_uppercase(),
                "body": { "stringValue": r.body },
                "attributes": attributes(&r.attributes),
            });
            if let Some(ctx) = &r.context {
                record["traceId"] = hex::encode(ctx.trace_id).into();
                record["spanId"] = hex::encode(ctx.span_id).into();
            }
            record
        })
        .collect();
    json!({ "resourceLogs": [{
        "resource": resource(service_name),
        "scopeLogs": [{ "scope": { "name": "nano" }, "logRecords": records }],
    }] })
}
