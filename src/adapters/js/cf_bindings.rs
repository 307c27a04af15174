//! Cloudflare's binding APIs on hyper's services: Workers KV (`kv`) on the cache, R2 (`r2`) on storage and Queues
//! producers (`queues`) on the queue, each method translated into the `services` call that holds its rules
//! (`services::kv`, `services::r2`, `services::queue`). Results are JSON `{ ok: true, ... }`; a refusal is hyper's
//! `{ ok: false, status, msg }`, which the glue (`web/cloudflare.js`) throws.

use super::bindings::Outcome;
use crate::core::TenantScope;
use crate::services::{self, Answer, ApiError};
use serde_json::Value;

fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&Value::Null)
}

/// A key argument: text (KV and R2 keys are strings; anything else is coerced by the glue first).
fn key(args: &[Value]) -> Result<&str, ApiError> {
    arg(args, 0)
        .as_str()
        .ok_or_else(|| ApiError::bad_request("key must be a string"))
}

fn unknown(binding: &str, method: &str) -> Answer {
    Err(ApiError::bad_request(format!(
        "{binding} has no method {method}"
    )))
}

/// KV's `get(key)`, `put(key, value, options)`, `delete(key)`, `list(options)` on a cache store.
pub async fn kv(
    p: &dyn crate::ports::CacheStore,
    scope: &TenantScope,
    namespace: &str,
    method: &str,
    args: &[Value],
) -> Answer {
    use services::kv as s;
    match method {
        "get" => s::get(p, scope, namespace, key(args)?).await,
        "put" => s::put(p, scope, namespace, key(args)?, arg(args, 1), arg(args, 2)).await,
        "delete" => s::delete(p, scope, namespace, key(args)?).await,
        "list" => s::list(p, scope, namespace, arg(args, 0)).await,
        other => unknown("KVNamespace", other),
    }
}

/// The answer of a call as the glue reads it.
pub fn answered(answer: Answer) -> Outcome {
    Outcome::Json(match answer {
        Ok(reply) => reply.body,
        Err(e) => e.to_json(),
    })
}

/// R2's `put(key, body, options)` (the body streamed as a storage upload), `get(key, options)`, `head(key)`,
/// `delete(keys)` and `list(options)` on a storage bucket. `get` of an object completes as a download whose
/// head carries the R2Object.
pub async fn r2(
    p: &dyn crate::ports::Storage,
    scope: &TenantScope,
    bucket: &str,
    method: &str,
    args: &[Value],
    upload: Option<crate::ports::storage::ByteStream>,
) -> Outcome {
    use services::r2 as s;
    let answer = match method {
        "put" => match (key(args), upload) {
            (Ok(k), Some(body)) => s::put(p, scope, bucket, k, arg(args, 1), body).await,
            (Err(e), _) => Err(e),
            (_, None) => Err(ApiError::bad_request("put needs a body")),
        },
        "get" => {
            let got = match key(args) {
                Ok(k) => s::get(p, scope, bucket, k, arg(args, 1)).await,
                Err(e) => Err(e),
            };
            return match got {
                Ok(Some((object, body))) => Outcome::Download {
                    size: body.range.map_or(body.size, |(a, b)| b + 1 - a),
                    stream: body.stream,
                    head: Some(object),
                },
                Ok(None) => Outcome::Json(serde_json::json!({ "ok": true, "object": null })),
                Err(e) => Outcome::Json(e.to_json()),
            };
        }
        "head" => match key(args) {
            Ok(k) => s::head(p, scope, bucket, k).await,
            Err(e) => Err(e),
        },
        "delete" => s::delete(p, scope, bucket, arg(args, 0)).await,
        "list" => s::list(p, scope, bucket, arg(args, 0)).await,
        other => unknown("R2Bucket", other),
    };
    answered(answer)
}

/// Queues' `sendBatch(messages)` (`send` is a batch of one) on a queue.
pub async fn queues(
    p: &dyn crate::ports::QueueStore,
    scope: &TenantScope,
    queue: &str,
    method: &str,
    args: &[Value],
) -> Answer {
    match method {
        "sendBatch" => services::queue::send_batch(p, scope, queue, arg(args, 0)).await,
        other => unknown("Queue", other),
    }
}
