//! The storage service's rules (hyper's §2.7): bucket names, object paths, and the shapes of bucket create and
//! delete, listing, upload, download and delete. Signed URLs, ranges and multipart forms are REST's own.

use super::{Answer, ApiError, Reply};
use crate::core::{DomainName, TenantScope};
use crate::ports::storage::{ByteStream, ObjectBody, ObjectKey, RangeSpec, Storage};
use http::StatusCode;
use serde_json::json;

pub async fn create_bucket(storage: &dyn Storage, scope: &TenantScope, bucket: &str) -> Answer {
    storage.create_bucket(scope, &bucket_name(bucket)?).await?;
    Ok(Reply::ok(StatusCode::CREATED))
}

/// Deletes an empty bucket (201, as hyper answers).
pub async fn delete_bucket(storage: &dyn Storage, scope: &TenantScope, bucket: &str) -> Answer {
    storage.delete_bucket(scope, &bucket_name(bucket)?).await?;
    Ok(Reply::ok(StatusCode::CREATED))
}

/// The bucket's objects whose path starts with `prefix`, ordered by path: `{ ok, objects: [{ name, size, modified }] }`.
pub async fn list(
    storage: &dyn Storage,
    scope: &TenantScope,
    bucket: &str,
    prefix: &str,
) -> Answer {
    let bucket = bucket_name(bucket)?;
    let objects: Vec<_> = storage
        .list_objects(scope, &bucket, prefix)
        .await?
        .into_iter()
        .map(|o| json!({"name": o.name, "size": o.size, "modified": o.modified_ms}))
        .collect();
    Ok(Reply::new(
        StatusCode::OK,
        json!({"ok": true, "objects": objects}),
    ))
}

/// Streams `body` into the object at `object`; nothing is visible unless the whole stream arrives.
pub async fn upload(
    storage: &dyn Storage,
    scope: &TenantScope,
    bucket: &str,
    object: &str,
    body: ByteStream,
) -> Answer {
    let bucket = bucket_name(bucket)?;
    storage
        .put_object(scope, &bucket, &object_key(object)?, body)
        .await?;
    Ok(Reply::ok(StatusCode::CREATED))
}

/// The object's bytes (or the asked range) as a stream.
pub async fn download(
    storage: &dyn Storage,
    scope: &TenantScope,
    bucket: &str,
    object: &str,
    range: Option<RangeSpec>,
) -> Result<ObjectBody, ApiError> {
    let bucket = bucket_name(bucket)?;
    Ok(storage
        .get_object(scope, &bucket, &object_key(object)?, range)
        .await?)
}

/// Deletes an object (201, as hyper answers).
pub async fn remove(
    storage: &dyn Storage,
    scope: &TenantScope,
    bucket: &str,
    object: &str,
) -> Answer {
    let bucket = bucket_name(bucket)?;
    storage
        .delete_object(scope, &bucket, &object_key(object)?)
        .await?;
    Ok(Reply::ok(StatusCode::CREATED))
}

/// hyper's bucket rules (no slashes, no `..`), then nano's domain-name rules; all 400.
pub fn bucket_name(raw: &str) -> Result<DomainName, ApiError> {
    if raw.contains('/') || raw.contains('\\') {
        return Err(ApiError::bad_request("bucket name cannot contain slashes"));
    }
    if raw.contains("..") {
        return Err(ApiError::bad_request("cannot contain relative path parts"));
    }
    DomainName::parse(raw).map_err(|e| ApiError::bad_request(format!("bucket {e}")))
}

/// An object path inside a bucket (400 when it is not allowed).
pub fn object_key(raw: &str) -> Result<ObjectKey, ApiError> {
    Ok(ObjectKey::parse(raw)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_rules() {
        assert_eq!(
            bucket_name("a/b").unwrap_err().msg,
            "bucket name cannot contain slashes"
        );
        assert_eq!(
            bucket_name("..").unwrap_err().msg,
            "cannot contain relative path parts"
        );
        assert_eq!(
            bucket_name("a b").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert!(bucket_name("photos").is_ok());
    }
}
