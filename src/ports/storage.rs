//! The storage port: a tenant's buckets of objects (blobs), streamed both ways, plus signed URLs.

use super::BackendError;
use crate::core::{DomainName, TenantScope};
use crate::core::{ErrorKind, HasKind};
use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use std::pin::Pin;
use thiserror::Error;

/// A stream of object bytes, used for uploads (into the port) and downloads (out of it).
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static>>;

/// Longest object path, in bytes.
pub const MAX_OBJECT_PATH: usize = 1024;
/// Longest single segment of an object path, in bytes (a file name on most filesystems).
pub const MAX_OBJECT_SEGMENT: usize = 255;

#[derive(Debug, Error)]
pub enum StorageError {
    #[error("bucket already exists")]
    BucketExists,
    #[error("bucket does not exist")]
    BucketNotFound,
    #[error("object does not exist")]
    ObjectNotFound,
    /// An object path that is not allowed (escapes the bucket, crosses a symlink, bad characters).
    #[error("{0}")]
    InvalidObject(String),
    /// The object path clashes with what is stored: a file where a folder is needed, or the reverse.
    #[error("{0}")]
    Conflict(String),
    #[error("range not satisfiable: the object has {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    #[error("signature is not valid")]
    SignatureInvalid,
    #[error("signature has expired")]
    SignatureExpired,
    /// The upload stream failed (client went away, body malformed); nothing was stored.
    #[error("upload failed: {0}")]
    Upload(String),
    /// A write refused because it would take the tenant over one of its quotas; the message names the tenant, the
    /// quota and its limit.
    #[error("{0}")]
    Quota(String),
    #[error("storage backend failed: {0}")]
    Backend(#[source] BackendError),
    /// The storage service did not answer, even after retries (a network error, throttling); the message says so.
    #[error("{0}")]
    Unavailable(String),
}

impl From<crate::core::signing::SignatureError> for StorageError {
    fn from(e: crate::core::signing::SignatureError) -> Self {
        match e {
            crate::core::signing::SignatureError::Invalid => StorageError::SignatureInvalid,
            crate::core::signing::SignatureError::Expired => StorageError::SignatureExpired,
        }
    }
}

impl HasKind for StorageError {
    fn kind(&self) -> ErrorKind {
        match self {
            StorageError::BucketExists | StorageError::Conflict(_) => ErrorKind::Conflict,
            StorageError::BucketNotFound | StorageError::ObjectNotFound => ErrorKind::NotFound,
            StorageError::InvalidObject(_) | StorageError::Upload(_) => ErrorKind::Malformed,
            StorageError::RangeNotSatisfiable { .. } => ErrorKind::RangeNotSatisfiable,
            StorageError::SignatureInvalid | StorageError::SignatureExpired => ErrorKind::Forbidden,
            StorageError::Quota(_) => ErrorKind::Quota,
            StorageError::Backend(e) => e.kind(),
            StorageError::Unavailable(_) => ErrorKind::Unavailable,
        }
    }
}

/// A validated object path inside a bucket: `/`-separated segments, none empty, `.` or `..`, no backslash,
/// NUL or control characters, at most [`MAX_OBJECT_PATH`] bytes. Leading and doubled slashes are dropped,
/// as hyper's fs adapter joins them away (`POST /storage/b//x.png` names `x.png`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey(String);

impl ObjectKey {
    pub fn parse(raw: &str) -> Result<Self, StorageError> {
        let bad = |why: String| Err(StorageError::InvalidObject(why));
        let segments: Vec<&str> = raw.split('/').filter(|s| !s.is_empty()).collect();
        if segments.is_empty() {
            return bad("object name is required".into());
        }
        for s in &segments {
            if *s == "." || *s == ".." {
                return bad(format!(
                    "object path '{raw}' cannot contain relative path parts"
                ));
            }
            if s.len() > MAX_OBJECT_SEGMENT {
                return bad(format!(
                    "object path segment is longer than {MAX_OBJECT_SEGMENT} bytes"
                ));
            }
            if let Some(c) = s.chars().find(|c| *c == '\\' || c.is_control()) {
                return bad(format!(
                    "object path '{}' contains the character {:?}",
                    raw.escape_debug(),
                    c
                ));
            }
        }
        let key = segments.join("/");
        if key.len() > MAX_OBJECT_PATH {
            return bad(format!(
                "object path is longer than {MAX_OBJECT_PATH} bytes"
            ));
        }
        Ok(Self(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path's segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

/// One stored object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The object path, `/`-separated.
    pub name: String,
    pub size: u64,
    /// Last modification, milliseconds since the Unix epoch.
    pub modified_ms: i64,
}

/// A byte range of a download, as the `Range` header states it (before the object size is known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `bytes=a-b`, both inclusive.
    FromTo(u64, u64),
    /// `bytes=a-`.
    From(u64),
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

impl RangeSpec {
    /// The inclusive `(start, end)` this range selects in an object of `size` bytes, or `None` when it selects nothing.
    pub fn resolve(self, size: u64) -> Option<(u64, u64)> {
        let (start, end) = match self {
            RangeSpec::FromTo(a, b) => (a, b.min(size.checked_sub(1)?)),
            RangeSpec::From(a) => (a, size.checked_sub(1)?),
            RangeSpec::Suffix(0) => return None,
            RangeSpec::Suffix(n) => (size.saturating_sub(n), size.checked_sub(1)?),
        };
        (start <= end && start < size).then_some((start, end))
    }
}

/// A download: the object's size, the part being sent, and its bytes.
pub struct ObjectBody {
    /// The whole object's size.
    pub size: u64,
    /// The inclusive byte range sent, when a range was asked for.
    pub range: Option<(u64, u64)>,
    pub stream: ByteStream,
}

/// What a signed URL allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedAccess {
    Download,
    Upload,
}

impl SignedAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            SignedAccess::Download => "download",
            SignedAccess::Upload => "upload",
        }
    }
}

/// Signs and checks nano's own signed URLs with one key; every storage adapter keeps one (`core::signing` is the
/// signature itself).
#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
}

impl UrlSigner {
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn claim<'a>(
        scope: &'a TenantScope,
        bucket: &'a DomainName,
        object: &'a ObjectKey,
        access: SignedAccess,
        expires_unix: u64,
    ) -> crate::core::signing::Claim<'a> {
        crate::core::signing::Claim {
            tenant: scope.as_str(),
            access: access.as_str(),
            bucket: bucket.as_str(),
            object: object.as_str(),
            expires_unix,
        }
    }

    /// The query string `expires=<unix secs>&signature=<hex>` granting `access` until `expires_unix`.
    pub fn sign(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        access: SignedAccess,
        expires_unix: u64,
    ) -> String {
        let claim = Self::claim(scope, bucket, object, access, expires_unix);
        let signature = crate::core::signing::sign(&self.key, &claim);
        format!("expires={expires_unix}&signature={signature}")
    }

    /// Checks a signature against the claim and the clock.
    pub fn verify(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        access: SignedAccess,
        expires_unix: u64,
        signature: &str,
    ) -> Result<(), StorageError> {
        let now_unix = crate::core::clock::now_unix();
        let claim = Self::claim(scope, bucket, object, access, expires_unix);
        Ok(crate::core::signing::verify(
            &self.key, &claim, signature, now_unix,
        )?)
    }
}

/// Contract:
/// - Buckets and objects belong to the scope's tenant: another tenant's buckets of the same name are different
///   buckets, never seen, listed, overwritten or deleted.
/// - `create_bucket` fails with `BucketExists` when it exists; `delete_bucket` removes it and every object in it,
///   or fails with `BucketNotFound`.
/// - Object calls on a missing bucket fail with `BucketNotFound`; reads and deletes of a missing object with
///   `ObjectNotFound`.
/// - `put_object` consumes the stream without holding the object in memory, replaces any object of that path,
///   and makes the object visible only once the stream has ended without error: a failed or interrupted upload
///   leaves the previous state (no partial object). It returns the stored size. Parent folders are implicit.
/// - `get_object` streams the object (or the resolved `range`, failing with `RangeNotSatisfiable`).
/// - Objects are reached only through their `ObjectKey` inside their bucket: never outside it, never through a
///   symbolic link (`InvalidObject`).
/// - `list_objects` lists the objects whose path starts with `prefix`, ordered by path.
/// - `sign` returns the query string (`expires=<unix secs>&signature=<hex>`) that, appended to nano's own URL of
///   this object, grants `access` to it for this tenant until `expires`; `verify` fails with `SignatureExpired`
///   after that and `SignatureInvalid` for any other tenant, bucket, object, access or a tampered value.
/// - `presign`, when the store answers one, is a URL of the store that grants `access` to this tenant's object
///   alone until it expires.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Removes everything the scope's tenant owns in this service (tenant deletion); other tenants are untouched.
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), StorageError>;
    /// The bytes of every object the scope's tenant stores, over all its buckets (the `storage_bytes` quota).
    async fn usage(&self, scope: &TenantScope) -> Result<u64, StorageError>;

    /// The tenant's buckets, ordered by name (tenant export).
    async fn list_buckets(&self, scope: &TenantScope) -> Result<Vec<String>, StorageError>;
    async fn create_bucket(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
    ) -> Result<(), StorageError>;
    async fn delete_bucket(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
    ) -> Result<(), StorageError>;
    async fn bucket_exists(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
    ) -> Result<bool, StorageError>;
    async fn put_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        body: ByteStream,
    ) -> Result<u64, StorageError>;
    async fn head_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
    ) -> Result<ObjectInfo, StorageError>;
    async fn get_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        range: Option<RangeSpec>,
    ) -> Result<ObjectBody, StorageError>;
    async fn delete_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
    ) -> Result<(), StorageError>;
    async fn list_objects(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        prefix: &str,
    ) -> Result<Vec<ObjectInfo>, StorageError>;
    /// The key of nano's own signed URLs for this store.
    fn url_signer(&self) -> &UrlSigner;
    async fn sign(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        access: SignedAccess,
        expires_unix: u64,
    ) -> Result<String, StorageError> {
        Ok(self
            .url_signer()
            .sign(scope, bucket, object, access, expires_unix))
    }
    /// A URL of the object store itself granting `access` to the object for `expires_in_secs` (an S3 presigned
    /// URL), for clients to use directly; `None` when nano serves signed URLs itself (`sign`).
    async fn presign(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        access: SignedAccess,
        expires_in_secs: u64,
    ) -> Result<Option<String>, StorageError> {
        let _ = (scope, bucket, object, access, expires_in_secs);
        Ok(None)
    }
    async fn verify(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        access: SignedAccess,
        expires_unix: u64,
        signature: &str,
    ) -> Result<(), StorageError> {
        self.url_signer()
            .verify(scope, bucket, object, access, expires_unix, signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys() {
        assert_eq!(ObjectKey::parse("//a//b.txt").unwrap().as_str(), "a/b.txt");
        assert_eq!(ObjectKey::parse("a/b/").unwrap().as_str(), "a/b");
        for bad in [
            "", "/", "..", "a/../b", "./a", "a\\b", "a\0b", "a\nb", "../x",
        ] {
            assert!(ObjectKey::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(ObjectKey::parse(&"a".repeat(256)).is_err());
        assert!(ObjectKey::parse("..a/b..").is_ok());
    }

    #[test]
    fn ranges() {
        assert_eq!(RangeSpec::FromTo(0, 9).resolve(100), Some((0, 9)));
        assert_eq!(RangeSpec::FromTo(90, 200).resolve(100), Some((90, 99)));
        assert_eq!(RangeSpec::From(100).resolve(100), None);
        assert_eq!(RangeSpec::Suffix(10).resolve(100), Some((90, 99)));
        assert_eq!(RangeSpec::Suffix(500).resolve(100), Some((0, 99)));
        assert_eq!(RangeSpec::Suffix(0).resolve(100), None);
        assert_eq!(RangeSpec::FromTo(5, 2).resolve(100), None);
        assert_eq!(RangeSpec::From(0).resolve(0), None);
    }
}
