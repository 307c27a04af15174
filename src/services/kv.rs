//! Workers KV on the cache service (Cloudflare's `KVNamespace`): KV's limits (key 512 bytes, value 25 MiB,
//! metadata 1024 bytes, `expirationTtl` at least 60 s, list `limit` at most 1000), and how a KV pair is kept in a
//! cache store.
//!
//! A KV namespace is a cache store of the tenant, under the cache's store-name rule. A KV key may be any non-empty
//! UTF-8 text, which the cache's key rule does not allow, so it is stored as `k` followed by the hex of its bytes:
//! that keeps byte order and prefixes, so `list` is an ordered prefix query. The value is a JSON envelope
//! `{ text | base64, metadata?, expiration? }` (`expiration` in seconds since the epoch), and the cache TTL ends
//! it at that time.

use super::{Answer, ApiError, Reply};
use crate::core::clock::now_unix;
use crate::core::TenantScope;
use crate::ports::{CacheStore, CacheValue};
use base64::Engine as _;
use http::StatusCode;
use serde_json::{json, Map, Value};

pub const MAX_KEY_BYTES: usize = 512;
pub const MAX_VALUE_BYTES: usize = 25 * 1024 * 1024;
pub const MAX_METADATA_BYTES: usize = 1024;
pub const MIN_TTL_SECS: u64 = 60;
pub const MAX_LIST_LIMIT: u64 = 1000;

/// The stored cache key of a KV key, after KV's key rules.
fn stored_key(key: &str) -> Result<String, ApiError> {
    if key.is_empty() {
        return Err(ApiError::bad_request("Key names cannot be empty."));
    }
    if key == "." || key == ".." {
        return Err(ApiError::bad_request(format!(
            "Illegal key name \"{key}\". Please use a different name."
        )));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!(
                "UTF-8 encoded length of {} exceeds key length limit of {MAX_KEY_BYTES}.",
                key.len()
            ),
        ));
    }
    Ok(format!("k{}", hex::encode(key)))
}

/// The KV key a stored cache key stands for (None for a key KV did not write).
fn kv_key(stored: &str) -> Option<String> {
    let bytes = hex::decode(stored.strip_prefix('k')?).ok()?;
    String::from_utf8(bytes).ok()
}

/// The cache store of a namespace, under the cache's store rule.
fn store(name: &str) -> Result<crate::core::DomainName, ApiError> {
    super::cache::existing_store(name)
}

/// A whole number of seconds from an option, or 400 naming it.
fn seconds(options: &Value, field: &str) -> Result<Option<u64>, ApiError> {
    match options.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .or_else(|| v.as_str().and_then(|s| s.parse::<f64>().ok()))
            .map(|n| Some(n as u64))
            .ok_or_else(|| ApiError::bad_request(format!("Invalid {field} of {v}."))),
    }
}

/// `put(key, value, { expiration?, expirationTtl?, metadata? })`; `value` is `{ text }` or `{ base64 }`.
pub async fn put(
    cache: &dyn CacheStore,
    scope: &TenantScope,
    namespace: &str,
    key: &str,
    value: &Value,
    options: &Value,
) -> Answer {
    let store = store(namespace)?;
    let stored = stored_key(key)?;
    let mut envelope = Map::new();
    let size = match (value.get("text"), value.get("base64")) {
        (Some(Value::String(t)), _) => {
            envelope.insert("text".into(), json!(t));
            t.len()
        }
        (_, Some(Value::String(b))) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| ApiError::bad_request(format!("value is not valid base64: {e}")))?;
            envelope.insert("base64".into(), json!(b));
            bytes.len()
        }
        _ => {
            return Err(ApiError::bad_request(
                "KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.",
            ))
        }
    };
    if size > MAX_VALUE_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Value length of {size} exceeds limit of {MAX_VALUE_BYTES}."),
        ));
    }
    if let Some(metadata) = options.get("metadata").filter(|m| !m.is_null()) {
        let len = metadata.to_string().len();
        if len > MAX_METADATA_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("Metadata length of {len} exceeds limit of {MAX_METADATA_BYTES}."),
            ));
        }
        envelope.insert("metadata".into(), metadata.clone());
    }
    let now = now_unix();
    let expiration = match (
        seconds(options, "expiration")?,
        seconds(options, "expirationTtl")?,
    ) {
        (_, Some(ttl)) if ttl < MIN_TTL_SECS => {
            return Err(ApiError::bad_request(format!(
                "Invalid expiration_ttl of {ttl}. Expiration TTL must be at least {MIN_TTL_SECS}."
            )))
        }
        (_, Some(ttl)) => Some(now + ttl),
        (Some(at), None) if at < now + MIN_TTL_SECS => {
            return Err(ApiError::bad_request(format!(
                "Invalid expiration of {at}. Expiration times must be at least {MIN_TTL_SECS} seconds in the future."
            )))
        }
        (at, None) => at,
    };
    if let Some(at) = expiration {
        envelope.insert("expiration".into(), json!(at));
    }
    let ttl_ms = expiration.map(|at| (at - now) * 1000);
    cache.set(scope, &store, &stored, &envelope, ttl_ms).await?;
    Ok(Reply::new(StatusCode::OK, json!({ "ok": true })))
}

/// `get` and `getWithMetadata`: `{ ok, value: { text | base64 } | null, metadata }`.
pub async fn get(
    cache: &dyn CacheStore,
    scope: &TenantScope,
    namespace: &str,
    key: &str,
) -> Answer {
    let store = store(namespace)?;
    let stored = stored_key(key)?;
    let found = cache.get(scope, &store, &stored).await?;
    let (value, metadata) = match found {
        None => (Value::Null, Value::Null),
        Some(mut envelope) => {
            let metadata = envelope.remove("metadata").unwrap_or(Value::Null);
            envelope.remove("expiration");
            (Value::Object(envelope), metadata)
        }
    };
    Ok(Reply::new(
        StatusCode::OK,
        json!({ "ok": true, "value": value, "metadata": metadata }),
    ))
}

/// `delete(key)`: succeeds whether or not the key exists.
pub async fn delete(
    cache: &dyn CacheStore,
    scope: &TenantScope,
    namespace: &str,
    key: &str,
) -> Answer {
    let store = store(namespace)?;
    let stored = stored_key(key)?;
    cache.delete(scope, &store, &stored).await?;
    Ok(Reply::new(StatusCode::OK, json!({ "ok": true })))
}

/// `list({ prefix?, limit?, cursor? })`: `{ ok, keys: [{ name, expiration?, metadata? }], list_complete, cursor? }`,
/// keys in byte order; the cursor (present while the list is not complete) continues after the last key given.
pub async fn list(
    cache: &dyn CacheStore,
    scope: &TenantScope,
    namespace: &str,
    options: &Value,
) -> Answer {
    let store = store(namespace)?;
    let prefix = match options.get("prefix") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(p)) => p.clone(),
        Some(other) => return Err(ApiError::bad_request(format!("Invalid prefix {other}."))),
    };
    let limit = match options.get("limit") {
        None | Some(Value::Null) => MAX_LIST_LIMIT,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=MAX_LIST_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "Invalid key_count_limit of {v}. Please specify an integer between 1 and {MAX_LIST_LIMIT}."
                )))
            }
        },
    };
    let after = match options.get("cursor") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) if c.is_empty() => None,
        Some(Value::String(c)) if c.bytes().all(|b| b.is_ascii_hexdigit()) => Some(format!("k{c}")),
        Some(other) => return Err(ApiError::bad_request(format!("Invalid cursor {other}."))),
    };
    let pattern = format!("k{}*", hex::encode(&prefix));
    let mut keys = Vec::new();
    let mut last = None;
    let mut complete = true;
    for (stored, mut envelope) in cache.query(scope, &store, &pattern).await? {
        if after.as_ref().is_some_and(|a| stored <= *a) {
            continue;
        }
        let Some(name) = kv_key(&stored) else {
            continue;
        };
        if keys.len() as u64 == limit {
            complete = false;
            break;
        }
        keys.push(key_entry(name, &mut envelope));
        last = Some(stored);
    }
    let mut out = json!({ "ok": true, "keys": keys, "list_complete": complete });
    if !complete {
        out["cursor"] = json!(last.unwrap_or_default().trim_start_matches('k'));
    }
    Ok(Reply::new(StatusCode::OK, out))
}

/// One key of a list: its name, and its expiration and metadata when it has them.
fn key_entry(name: String, envelope: &mut CacheValue) -> Value {
    let mut entry = json!({ "name": name });
    for field in ["expiration", "metadata"] {
        if let Some(v) = envelope.remove(field).filter(|v| !v.is_null()) {
            entry[field] = v;
        }
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_order_and_prefixes() {
        let a = stored_key("user:1").unwrap();
        let b = stored_key("user:10").unwrap();
        let c = stored_key("user;").unwrap();
        assert!(a < b && b < c);
        assert!(b.starts_with(&a));
        assert!(crate::services::cache::is_valid_key(&a));
        assert_eq!(kv_key(&a).as_deref(), Some("user:1"));
        assert_eq!(stored_key("").unwrap_err().status, 400);
        assert_eq!(stored_key(&"x".repeat(513)).unwrap_err().status, 414);
        assert!(stored_key(&"x".repeat(512)).is_ok());
    }
}
