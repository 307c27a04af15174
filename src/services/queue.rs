//! The queue service's rules: queue names, the create body (target, secret, retries, backoff, concurrency), jobs
//! stored as `JSON.stringify` writes them (so hyper's signatures verify), and the job listing shape.

use super::{invalid, type_name, Answer, ApiError, Reply};
use crate::core::clock::now_ms;
use crate::core::js_json::stringify;
use crate::core::{DomainName, TenantScope};
use crate::ports::{Job, JobStatus, QueueConfig, QueueError, QueueStore};
use bytes::Bytes;
use http::StatusCode;
use serde_json::{json, Map, Value};

const MAX_SECRET_CHARS: usize = 100;
const MAX_ATTEMPTS: u64 = 100;
const MAX_CONCURRENCY: u64 = 64;
const MAX_BACKOFF_MS: u64 = 24 * 60 * 60 * 1000;

fn created() -> Answer {
    Ok(Reply::ok(StatusCode::CREATED))
}

/// The tenant's queues, hyper's service description.
pub async fn list(queue: &dyn QueueStore, scope: &TenantScope) -> Answer {
    let queues = queue.list_queues(scope).await?;
    Ok(Reply::new(
        StatusCode::OK,
        json!({ "name": "queue", "version": "0.0.4", "queues": queues }),
    ))
}

/// Creates queue `name` (lower-cased) from hyper's `{ target, secret?, maxAttempts?, backoffMs?, concurrency? }`.
pub async fn create(
    queue: &dyn QueueStore,
    scope: &TenantScope,
    name: &str,
    body: Value,
) -> Answer {
    let name = queue_name(&name.to_lowercase())?;
    let config = create_args(body)?;
    queue.create_queue(scope, &name, &config).await?;
    created()
}

pub async fn delete(queue: &dyn QueueStore, scope: &TenantScope, name: &str) -> Answer {
    queue.delete_queue(scope, &existing(name)?).await?;
    created()
}

/// Most messages in one Cloudflare Queues `sendBatch`, and most bytes of one message's body as JSON.
pub const MAX_BATCH_MESSAGES: usize = 100;
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;
/// The one key of a job a Cloudflare Queues producer wrote: its value is the message body the consumer gets.
pub const QUEUES_BODY: &str = "queues:body";

/// Cloudflare Queues' `send`/`sendBatch`: each `{ body, delaySeconds? }` is enqueued as the job
/// `{ "queues:body": body }`, due after its delay; `{ ok, ids }`.
pub async fn send_batch(
    queue: &dyn QueueStore,
    scope: &TenantScope,
    name: &str,
    messages: &Value,
) -> Answer {
    let name = existing(name)?;
    let Some(messages) = messages.as_array() else {
        return Err(ApiError::bad_request(
            "sendBatch needs an array of messages",
        ));
    };
    if messages.len() > MAX_BATCH_MESSAGES {
        return Err(ApiError::bad_request(format!(
            "a batch holds at most {MAX_BATCH_MESSAGES} messages, not {}",
            messages.len()
        )));
    }
    let mut jobs = Vec::with_capacity(messages.len());
    for m in messages {
        let body = m.get("body").cloned().unwrap_or(Value::Null);
        let job = stringify(&json!({ QUEUES_BODY: body }));
        if job.len() > MAX_MESSAGE_BYTES {
            return Err(ApiError::bad_request(format!(
                "a message is at most {MAX_MESSAGE_BYTES} bytes as JSON, this one {}",
                job.len()
            )));
        }
        let delay = match m.get("delaySeconds") {
            None | Some(Value::Null) => 0,
            Some(v) => v.as_u64().filter(|d| *d <= 43_200).ok_or_else(|| {
                ApiError::bad_request(format!("delaySeconds must be 0 to 43200, not {v}"))
            })?,
        };
        jobs.push((job, delay));
    }
    let mut ids = Vec::with_capacity(jobs.len());
    for (job, delay) in jobs {
        let due = now_ms() + (delay * 1000) as i64;
        ids.push(queue.enqueue(scope, &name, Bytes::from(job), due).await?);
    }
    Ok(Reply::new(
        StatusCode::OK,
        json!({ "ok": true, "ids": ids }),
    ))
}

/// The body a queue consumer gets for a job: a Cloudflare producer's message body, or the job itself.
pub fn message_body(job: Value) -> Value {
    match job {
        Value::Object(mut o) if o.len() == 1 && o.contains_key(QUEUES_BODY) => {
            o.remove(QUEUES_BODY).unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// Enqueues a job, an object stored as `JSON.stringify(job)` writes it: `{ ok, id }`.
pub async fn enqueue(
    queue: &dyn QueueStore,
    scope: &TenantScope,
    name: &str,
    job: Value,
) -> Answer {
    let name = existing(name)?;
    if !job.is_object() {
        return Err(invalid(
            "job",
            format_args!("Expected object, received {}", type_name(&job)),
        ));
    }
    let bytes = Bytes::from(stringify(&job));
    let id = queue.enqueue(scope, &name, bytes, now_ms()).await?;
    Ok(Reply::new(
        StatusCode::CREATED,
        json!({ "ok": true, "id": id }),
    ))
}

/// The queue's jobs with `status` (`READY` or `ERROR`, required).
pub async fn jobs(
    queue: &dyn QueueStore,
    scope: &TenantScope,
    name: &str,
    status: Option<&str>,
) -> Answer {
    let name = existing(name)?;
    let status = match status {
        None => return Err(invalid("status", "Required")),
        Some(s) => JobStatus::parse(s).ok_or_else(|| {
            invalid(
                "status",
                format_args!("Invalid enum value. Expected 'READY' | 'ERROR', received '{s}'"),
            )
        })?,
    };
    let jobs: Vec<Value> = queue
        .list_jobs(scope, &name, status)
        .await?
        .iter()
        .map(job_json)
        .collect();
    Ok(Reply::new(
        StatusCode::OK,
        json!({ "ok": true, "jobs": jobs }),
    ))
}

pub async fn job(queue: &dyn QueueStore, scope: &TenantScope, name: &str, id: &str) -> Answer {
    let job = queue.get_job(scope, &existing(name)?, job_id(id)?).await?;
    Ok(Reply::new(
        StatusCode::OK,
        json!({ "ok": true, "job": job_json(&job) }),
    ))
}

pub async fn cancel(queue: &dyn QueueStore, scope: &TenantScope, name: &str, id: &str) -> Answer {
    queue.cancel(scope, &existing(name)?, job_id(id)?).await?;
    created()
}

pub async fn retry(queue: &dyn QueueStore, scope: &TenantScope, name: &str, id: &str) -> Answer {
    queue.retry(scope, &existing(name)?, job_id(id)?).await?;
    created()
}

/// hyper's queue name rule (after lower-casing on create): lower-case letters, digits, `-`, `~`, `_`.
pub fn is_valid_queue_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '~' | '_'))
}

fn queue_name(name: &str) -> Result<DomainName, ApiError> {
    let bad = || ApiError::unprocessable("queue name is not valid!");
    if !is_valid_queue_name(name) {
        return Err(bad());
    }
    DomainName::parse(name).map_err(|_| bad())
}

/// A queue name outside create: one that cannot exist is simply not found.
fn existing(name: &str) -> Result<DomainName, ApiError> {
    DomainName::parse(name).map_err(|_| QueueError::QueueNotFound.into())
}

fn job_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| QueueError::JobNotFound.into())
}

/// A target hyper's zod `url()` accepts and nano can deliver to: an absolute `http(s)` URL with a host, or
/// `app://<app name>` (a hosted app of the tenant, whose `queue` handler gets the jobs).
fn valid_target(target: &str) -> bool {
    if let Some(app) = crate::ports::queue::app_target(target) {
        return crate::core::AppName::parse(app).is_ok();
    }
    url::Url::parse(target).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    })
}

/// An optional positive integer setting of the create body, at most `max`.
fn setting(body: &Map<String, Value>, field: &str, max: u64) -> Result<Option<u64>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if (1..=max).contains(&v) => Ok(Some(v)),
            _ => Err(invalid(
                field,
                format_args!("Expected an integer from 1 to {max}"),
            )),
        },
        Some(other) => Err(invalid(
            field,
            format_args!("Expected number, received {}", type_name(other)),
        )),
    }
}

/// The `{ target, secret?, maxAttempts?, backoffMs?, concurrency? }` body of a queue's create.
fn create_args(body: Value) -> Result<QueueConfig, ApiError> {
    let Value::Object(body) = body else {
        return Err(invalid("target", "Required"));
    };
    let target = match body.get("target") {
        None => return Err(invalid("target", "Required")),
        Some(Value::String(t)) if valid_target(t) => t.clone(),
        Some(Value::String(_)) => return Err(invalid("target", "Invalid url")),
        Some(other) => {
            return Err(invalid(
                "target",
                format_args!("Expected string, received {}", type_name(other)),
            ))
        }
    };
    let secret = match body.get("secret") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() > MAX_SECRET_CHARS => {
            return Err(invalid(
                "secret",
                format_args!("String must contain at most {MAX_SECRET_CHARS} character(s)"),
            ))
        }
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(invalid(
                "secret",
                format_args!("Expected string, received {}", type_name(other)),
            ))
        }
    };
    let mut config = QueueConfig::new(target, secret);
    if let Some(n) = setting(&body, "maxAttempts", MAX_ATTEMPTS)? {
        config.max_attempts = n as u32;
    }
    if let Some(n) = setting(&body, "backoffMs", MAX_BACKOFF_MS)? {
        config.backoff_ms = n;
    }
    if let Some(n) = setting(&body, "concurrency", MAX_CONCURRENCY)? {
        config.concurrency = n as u32;
    }
    Ok(config)
}

/// A job as listed: hyper's `{ id, job, status, queue, timestmp }` plus nano's delivery state.
fn job_json(job: &Job) -> Value {
    let body: Value = serde_json::from_slice(&job.body).unwrap_or(Value::Null);
    let mut out = json!({
        "id": job.id,
        "job": body,
        "status": job.status.as_str(),
        "queue": job.queue,
        "timestmp": job.enqueued_ms,
        "attempts": job.attempts,
    });
    if job.status == JobStatus::Ready {
        out["nextAttempt"] = json!(job.next_attempt_ms);
    }
    if let Some(status) = job.last_status {
        out["lastStatus"] = json!(status);
    }
    if let Some(error) = &job.last_error {
        out["lastError"] = json!(error);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names() {
        assert!(is_valid_queue_name("jobs-1~x_y"));
        for bad in ["", "Jobs", "a.b", "a b", "a/b"] {
            assert!(!is_valid_queue_name(bad), "{bad}");
        }
    }

    #[test]
    fn targets() {
        assert!(valid_target("http://localhost:8000/"));
        assert!(valid_target("https://example.com/hook?x=1"));
        assert!(valid_target("app://consumer"));
        assert!(!valid_target("app://"));
        assert!(!valid_target("app://Not An App"));
        for bad in ["", "localhost:8000", "not a url", "ftp://x/", "mailto:a@b"] {
            assert!(!valid_target(bad), "{bad}");
        }
    }

    #[test]
    fn create_bodies() {
        let c = create_args(
            json!({"target": "http://x/", "secret": "s", "maxAttempts": 3, "backoffMs": 10}),
        )
        .unwrap();
        assert_eq!(
            (c.max_attempts, c.backoff_ms, c.secret.as_deref()),
            (3, 10, Some("s"))
        );
        assert_eq!(
            create_args(json!({})).unwrap_err().msg,
            "Invalid Arguments 'target': Required."
        );
        assert_eq!(
            create_args(json!({"target": "nope"})).unwrap_err().msg,
            "Invalid Arguments 'target': Invalid url."
        );
        let long = "x".repeat(101);
        assert_eq!(
            create_args(json!({"target": "http://x/", "secret": long}))
                .unwrap_err()
                .status,
            422
        );
        assert_eq!(
            create_args(json!({"target": "http://x/", "maxAttempts": 0}))
                .unwrap_err()
                .status,
            422
        );
    }
}
