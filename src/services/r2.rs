//! R2 on the storage service (Cloudflare's `R2Bucket`): `put`, `get` (with a range), `head`, `delete` and `list`
//! (prefix, delimiter, cursor, limit at most 1000), answering `R2Object` fields as JSON.
//!
//! An R2 bucket is a storage bucket of the tenant, and an R2 key an object path: the storage rules for both apply.
//! What R2 keeps beside the bytes (`httpMetadata`, `customMetadata`, `etag`, `uploaded`) is a JSON sidecar object
//! of the same path in the bucket `<bucket>~r2meta`, created by the first `put`; an object without one (written
//! through REST) answers empty metadata, an etag of its size and modification time, and `uploaded` as modified.
//! The etag is the first 32 hex digits of the body's SHA-256 (R2's is an MD5; both are opaque to apps).

use super::storage::{bucket_name, object_key};
use super::{Answer, ApiError, Reply};
use crate::core::{DomainName, TenantScope};
use crate::ports::storage::{ByteStream, ObjectBody, ObjectInfo, RangeSpec, Storage};
use crate::ports::StorageError;
use bytes::Bytes;
use futures::StreamExt;
use http::StatusCode;
use serde_json::{json, Map, Value};
use sha2::Digest;
use std::sync::{Arc, Mutex};

pub const MAX_LIST_LIMIT: u64 = 1000;
pub const MAX_CUSTOM_METADATA_BYTES: usize = 2048;
const SIDECAR_SUFFIX: &str = "~r2meta";

/// The bucket holding a bucket's sidecars.
fn sidecar_bucket(bucket: &DomainName) -> Result<DomainName, ApiError> {
    bucket_name(&format!("{}{SIDECAR_SUFFIX}", bucket.as_str()))
}

/// The R2 fields of one object: its sidecar's, or those its listing entry gives.
async fn object_json(
    storage: &dyn Storage,
    scope: &TenantScope,
    bucket: &DomainName,
    info: &ObjectInfo,
) -> Result<Value, ApiError> {
    let mut meta = read_sidecar(storage, scope, bucket, &info.name)
        .await?
        .unwrap_or_default();
    let etag = meta
        .remove("etag")
        .unwrap_or_else(|| json!(format!("{:x}-{:x}", info.size, info.modified_ms)));
    let uploaded = meta
        .remove("uploaded")
        .unwrap_or_else(|| json!(info.modified_ms));
    Ok(json!({
        "key": info.name,
        "size": info.size,
        "etag": etag,
        "version": etag,
        "uploaded": uploaded,
        "httpMetadata": meta.remove("httpMetadata").unwrap_or_else(|| json!({})),
        "customMetadata": meta.remove("customMetadata").unwrap_or_else(|| json!({})),
    }))
}

async fn read_sidecar(
    storage: &dyn Storage,
    scope: &TenantScope,
    bucket: &DomainName,
    key: &str,
) -> Result<Option<Map<String, Value>>, ApiError> {
    let side = sidecar_bucket(bucket)?;
    let got = storage
        .get_object(scope, &side, &object_key(key)?, None)
        .await;
    let body = match got {
        Ok(body) => body,
        Err(StorageError::ObjectNotFound | StorageError::BucketNotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut bytes = Vec::new();
    let mut stream = body.stream;
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.map_err(|e| ApiError::internal(e.to_string()))?);
    }
    Ok(serde_json::from_slice(&bytes).ok())
}

/// `put(key, body, { httpMetadata?, customMetadata? })`: stores the bytes, then the sidecar; answers the R2Object.
pub async fn put(
    storage: &dyn Storage,
    scope: &TenantScope,
    bucket: &str,
    key: &str,
    options: &Value,
    body: ByteStream,
) -> Answer {
    let bucket = bucket_name(bucket)?;
    let object = object_key(key)?;
    let custom = options
        .get("customMetadata")
        .filter(|v| !v.is_null())
        .cloned()
        .unwrap_or_else(|| json!({}));
    if !custom.is_object()
        || custom
            .as_object()
            .is_some_and(|o| o.values().any(|v| !v.is_string()))
    {
        return Err(ApiError::bad_request(
            "customMetadata must be an object of strings",
        ));
    }
    let custom_len = custom.to_string().len();
    if custom_len > MAX_CUSTOM_METADATA_BYTES {
        return Err(ApiError::bad_request(format!(
            "customMetadata is {custom_len} bytes, over the limit of {MAX_CUSTOM_METADATA_BYTES}"
        )));
    }
    let http_meta = options
        .get("httpMetadata")
        .filter(|v| v.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    let side = sidecar_bucket(&bucket)?;
    let hasher = Arc::new(Mutex::new(sha2::Sha256::new()));
    let h = hasher.clone();
    let hashed: ByteStream = Box::pin(body.map(move |chunk| {
        if let (Ok(c), Ok(mut h)) = (&chunk, h.lock()) {
            h.update(c);
        }
        chunk
    }));
    let size = storage.put_object(scope, &bucket, &object, hashed).await?;
    let digest = hasher
        .lock()
        .map(|h| h.clone().finalize())
        .map_err(|_| ApiError::internal("hash poisoned"))?;
    let etag = hex::encode(&digest[..16]);
    let uploaded = crate::core::clock::now_ms();
    let meta = json!({
        "etag": etag,
        "uploaded": uploaded,
        "httpMetadata": http_meta,
        "customMetadata": custom,
    });
    match storage.create_bucket(scope, &side).await {
        Ok(()) | Err(StorageError::BucketExists) => {}
        Err(e) => return Err(e.into()),
    }
    let bytes = Bytes::from(meta.to_string());
    let one: ByteStream = Box::pin(futures::stream::once(async move { Ok(bytes) }));
    storage.put_object(scope, &side, &object, one).await?;
    let info = ObjectInfo {
        name: object.as_str().to_string(),
        size,
        modified_ms: uploaded,
    };
    let out = object_json(storage, scope, &bucket, &info).await?;
    Ok(Reply::new(
        StatusCode::OK,
        json!({ "ok": true, "object": out }),
    ))
}

/// `head(key)`: `{ ok, object }`, the object `null` when there is none.
pub async fn head(storage: &dyn Storage, scope: &TenantScope, bucket: &str, key: &str) -> Answer {
    let bucket = bucket_name(bucket)?;
    let object = object_key(key)?;
    let out = match storage.head_object(scope, &bucket, &object).await {
        Ok(info) => object_json(storage, scope, &bucket, &info).await?,
        Err(StorageError::ObjectNotFound) => Value::Null,
        Err(e) => return Err(e.into()),
    };
    Ok(Reply::new(
        StatusCode::OK,
        json!({ "ok": true, "object": out }),
    ))
}

/// `get(key, { range? })`: the R2Object (with `range` when one was asked) and its bytes; None when there is no
/// object. `range` is R2's `{ offset?, length? }` or `{ suffix }`.
pub async fn get(
    storage: &dyn Storage,
    scope: &TenantScope,
    bucket: &str,
    key: &str,
    options: &Value,
) -> Result<Option<(Value, ObjectBody)>, ApiError> {
    let bucket = bucket_name(bucket)?;
    let object = object_key(key)?;
    let range = range(options.get("range").unwrap_or(&Value::Null))?;
    let info = match storage.head_object(scope, &bucket, &object).await {
        Ok(info) => info,
        Err(StorageError::ObjectNotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut out = object_json(storage, scope, &bucket, &info).await?;
    let body = match storage.get_object(scope, &bucket, &object, range).await {
        Ok(body) => body,
        Err(StorageError::ObjectNotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if let Some((start, end)) = body.range {
        out["range"] = json!({ "offset": start, "length": end + 1 - start });
    }
    Ok(Some((out, body)))
}

/// R2's range object as a storage range; a negative or non-numeric field is 400.
fn range(r: &Value) -> Result<Option<RangeSpec>, ApiError> {
    if r.is_null() {
        return Ok(None);
    }
    let field = |k: &str| -> Result<Option<u64>, ApiError> {
        match r.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                ApiError::bad_request(format!("range {k} must be a non-negative integer"))
            }),
        }
    };
    Ok(
        match (field("offset")?, field("length")?, field("suffix")?) {
            (_, _, Some(n)) => Some(RangeSpec::Suffix(n)),
            (_, Some(0), None) => {
                return Err(ApiError::bad_request("range length must be positive"))
            }
            (o, Some(l), None) => {
                let o = o.unwrap_or(0);
                Some(RangeSpec::FromTo(o, o + l - 1))
            }
            (Some(o), None, None) => Some(RangeSpec::From(o)),
            (None, None, None) => None,
        },
    )
}

/// `delete(key | keys)`: deletes each object and its sidecar; a missing one is not an error.
pub async fn delete(
    storage: &dyn Storage,
    scope: &TenantScope,
    bucket: &str,
    keys: &Value,
) -> Answer {
    let bucket = bucket_name(bucket)?;
    let side = sidecar_bucket(&bucket)?;
    let keys: Vec<&str> = match keys {
        Value::String(k) => vec![k.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => {
            return Err(ApiError::bad_request(
                "delete needs a key or an array of keys",
            ))
        }
    };
    for key in keys {
        let object = object_key(key)?;
        for b in [&bucket, &side] {
            match storage.delete_object(scope, b, &object).await {
                Ok(()) | Err(StorageError::ObjectNotFound) => {}
                Err(StorageError::BucketNotFound) if b == &side => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(Reply::new(StatusCode::OK, json!({ "ok": true })))
}

/// `list({ prefix?, delimiter?, cursor?, startAfter?, limit?, include? })`:
/// `{ ok, objects, truncated, cursor?, delimitedPrefixes }`, in key order. With a delimiter, keys that hold it
/// after the prefix are rolled up into one delimited prefix each. The cursor continues after the last entry given.
pub async fn list(
    storage: &dyn Storage,
    scope: &TenantScope,
    bucket: &str,
    options: &Value,
) -> Answer {
    let bucket = bucket_name(bucket)?;
    let text = |k: &str| {
        options
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let prefix = text("prefix");
    let delimiter = text("delimiter");
    let after = match options.get("cursor").and_then(Value::as_str) {
        Some(c) if !c.is_empty() => {
            let bytes = hex::decode(c).map_err(|_| ApiError::bad_request("cursor is not valid"))?;
            String::from_utf8(bytes).map_err(|_| ApiError::bad_request("cursor is not valid"))?
        }
        _ => text("startAfter"),
    };
    let limit = match options.get("limit") {
        None | Some(Value::Null) => MAX_LIST_LIMIT,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=MAX_LIST_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "list limit must be an integer between 1 and {MAX_LIST_LIMIT}, got {v}"
                )))
            }
        },
    } as usize;
    let include: Vec<&str> = options
        .get("include")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut objects = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut last = String::new();
    let mut truncated = false;
    for info in storage.list_objects(scope, &bucket, &prefix).await? {
        if !info.name.starts_with(&prefix) {
            continue;
        }
        let rest = &info.name[prefix.len()..];
        let rolled = (!delimiter.is_empty())
            .then(|| rest.find(&delimiter))
            .flatten()
            .map(|i| format!("{prefix}{}", &rest[..i + delimiter.len()]));
        let entry = rolled.clone().unwrap_or_else(|| info.name.clone());
        if entry <= after || prefixes.last() == Some(&entry) {
            continue;
        }
        if objects.len() + prefixes.len() == limit {
            truncated = true;
            break;
        }
        match rolled {
            Some(p) => prefixes.push(p),
            None => {
                let mut o = object_json(storage, scope, &bucket, &info).await?;
                for field in ["httpMetadata", "customMetadata"] {
                    if !include.contains(&field) {
                        o.as_object_mut().map(|o| o.remove(field));
                    }
                }
                objects.push(o);
            }
        }
        last = entry;
    }
    let mut out = json!({
        "ok": true,
        "objects": objects,
        "truncated": truncated,
        "delimitedPrefixes": prefixes,
    });
    if truncated {
        out["cursor"] = json!(hex::encode(&last));
    }
    Ok(Reply::new(StatusCode::OK, out))
}
