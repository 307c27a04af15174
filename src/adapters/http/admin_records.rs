//! The fields of tenant-archive records (see `admin_export.rs`) read back into port values: names, index
//! mappings, queue settings and jobs. Each error names the field at fault.

use crate::core::DomainName;
use crate::ports::search::IndexMapping;
use crate::ports::{Job, JobStatus, QueueConfig};
use bytes::Bytes;
use serde_json::Value;
use std::collections::BTreeMap;

/// The record's string `field`.
pub fn text<'v>(record: &'v Value, field: &str) -> Result<&'v str, String> {
    record
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("needs a string \"{field}\""))
}

/// The record's `field` as a domain name.
pub fn name_of(record: &Value, field: &str) -> Result<DomainName, String> {
    let name = text(record, field)?;
    DomainName::parse(name).map_err(|e| format!("\"{field}\" {name:?}: {e}"))
}

/// A mapping record's `{fields, storeFields, boost}`.
pub fn index_mapping(v: &Value) -> Result<IndexMapping, String> {
    let strings = |field: &str| -> Result<Vec<String>, String> {
        match v.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("mapping \"{field}\" must be strings"))
                })
                .collect(),
            Some(_) => Err(format!("mapping \"{field}\" must be an array")),
        }
    };
    let mut boost = BTreeMap::new();
    if let Some(Value::Object(b)) = v.get("boost") {
        for (k, n) in b {
            let n = n
                .as_f64()
                .ok_or_else(|| format!("boost of {k} must be a number"))?;
            boost.insert(k.clone(), n as f32);
        }
    }
    Ok(IndexMapping {
        fields: strings("fields")?,
        store_fields: strings("storeFields")?,
        boost,
    })
}

/// A job record as a job to restore (its id and queue are given by the store).
pub fn job_of(r: &Value, body: &str) -> Result<Job, String> {
    let status = text(r, "status")?;
    let status = JobStatus::parse(status)
        .ok_or_else(|| format!("job status {status:?} is not READY or ERROR"))?;
    let now = crate::core::clock::now_ms();
    let int = |field: &str| r.get(field).and_then(Value::as_i64);
    Ok(Job {
        id: 0,
        queue: String::new(),
        body: Bytes::from(body.to_string()),
        status,
        enqueued_ms: int("enqueued_ms").unwrap_or(now),
        attempts: int("attempts")
            .and_then(|a| u32::try_from(a).ok())
            .unwrap_or(0),
        next_attempt_ms: int("next_attempt_ms").unwrap_or(now),
        last_status: int("last_status").and_then(|s| u16::try_from(s).ok()),
        last_error: r
            .get("last_error")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// A queue record's delivery settings.
pub fn queue_config(r: &Value) -> Result<QueueConfig, String> {
    let number = |field: &str, min: u64| -> Result<u64, String> {
        r.get(field)
            .and_then(Value::as_u64)
            .filter(|n| *n >= min)
            .ok_or_else(|| {
                format!("a queue record needs a whole number \"{field}\" of at least {min}")
            })
    };
    let target = text(r, "target")?;
    let url = url::Url::parse(target).map_err(|e| format!("queue target {target:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("queue target {target:?} is not an http(s) URL"));
    }
    Ok(QueueConfig {
        target: target.to_string(),
        secret: r.get("secret").and_then(Value::as_str).map(str::to_string),
        max_attempts: u32::try_from(number("max_attempts", 1)?).map_err(|e| e.to_string())?,
        backoff_ms: number("backoff_ms", 0)?,
        concurrency: u32::try_from(number("concurrency", 1)?).map_err(|e| e.to_string())?,
    })
}
