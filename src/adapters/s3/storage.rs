//! `S3Storage`: the storage port on an S3 bucket shared by every node. nano's buckets are marker objects, so
//! create, delete and list keep hyper's semantics; objects stream both ways with bounded memory.
//!
//! Uploads buffer at most one 5 MiB part: a smaller object is one PUT, a larger one a multipart upload with at most
//! two parts in flight, aborted when the body fails, so a half-written object is never visible. Downloads stream,
//! with `Range` passed to S3 once the object's size has resolved it. As on the filesystem, a path cannot be both an
//! object and a folder of objects (`Conflict`). Throttling and network errors are retried with backoff for a few
//! seconds and then answered as `Unavailable` (503), never a hang. Signed URLs are S3 presigned URLs unless
//! `presign` is off; nano's own signed-URL key then lives in the bucket, so every node signs alike.

use super::keys::{name_below, Layout};
use crate::core::{DomainName, TenantScope};
use crate::ports::storage::{
    ByteStream, ObjectBody, ObjectInfo, ObjectKey, RangeSpec, SignedAccess, Storage, StorageError,
    UrlSigner,
};
use crate::ports::BackendError;
use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, PutMode, PutOptions,
    PutPayload, RetryConfig, WriteMultipart,
};
use std::sync::Arc;
use std::time::Duration;

/// S3's smallest part of a multipart upload (but the last), and the most an upload buffers.
const PART_BYTES: usize = 5 * 1024 * 1024;
/// Parts of one upload sent at once.
const PARTS_IN_FLIGHT: usize = 2;

/// Where the bucket is and how to reach it.
#[derive(Clone)]
pub struct S3Target {
    /// `http(s)://host:port` of an S3-compatible service; `None` is AWS S3 itself.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    /// Path-style requests (`endpoint/bucket/key`), as MinIO and SeaweedFS expect; else virtual-hosted style.
    pub path_style: bool,
    /// First segments of every key nano writes.
    pub prefix: String,
    /// Whether signed URLs are S3 presigned URLs (clients reach the endpoint), else nano's own.
    pub presign: bool,
}

impl S3Target {
    /// The endpoint and bucket, for messages (never the keys).
    pub fn describe(&self) -> String {
        format!(
            "S3 bucket {} at {}",
            self.bucket,
            self.endpoint.as_deref().unwrap_or("AWS")
        )
    }
}

pub struct S3Storage {
    store: Arc<AmazonS3>,
    layout: Layout,
    signer: UrlSigner,
    presign: bool,
}

fn unavailable(e: object_store::Error) -> StorageError {
    match e {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => {
            StorageError::Backend(BackendError::new(e))
        }
        e => StorageError::Unavailable(format!("object storage did not answer: {e}")),
    }
}

/// Maps a missing key to `missing`, anything else as `unavailable` does.
fn or_missing(missing: StorageError) -> impl FnOnce(object_store::Error) -> StorageError {
    move |e| match e {
        object_store::Error::NotFound { .. } => missing,
        e => unavailable(e),
    }
}

impl S3Storage {
    /// Connects and reads the shared signing key (creating it on first use). The error names the endpoint and the
    /// S3 error, never the keys.
    pub async fn open(target: &S3Target) -> Result<Self, String> {
        let mut builder = AmazonS3Builder::new()
            .with_region(&target.region)
            .with_bucket_name(&target.bucket)
            .with_access_key_id(&target.access_key)
            .with_secret_access_key(&target.secret_key)
            .with_virtual_hosted_style_request(!target.path_style)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 4,
                retry_timeout: Duration::from_secs(10),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(300)),
            );
        if let Some(endpoint) = &target.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder
            .build()
            .map_err(|e| format!("{}: {e}", target.describe()))?;
        let layout = Layout::new(&target.prefix);
        let key = signing_key(&store, &layout.signing_key())
            .await
            .map_err(|e| format!("{}: {e}", target.describe()))?;
        Ok(Self {
            store: Arc::new(store),
            layout,
            signer: UrlSigner::new(key),
            presign: target.presign,
        })
    }

    async fn exists(&self, path: &Path) -> Result<bool, StorageError> {
        match self.store.head(path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn require_bucket(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
    ) -> Result<(), StorageError> {
        match self.exists(&self.layout.bucket(scope, bucket)).await? {
            true => Ok(()),
            false => Err(StorageError::BucketNotFound),
        }
    }

    /// Deletes every key below `dir`.
    async fn delete_below(&self, dir: &Path) -> Result<(), StorageError> {
        let keys = self
            .store
            .list(Some(dir))
            .map_ok(|meta| meta.location)
            .boxed();
        self.store
            .delete_stream(keys)
            .try_for_each(|_| async { Ok(()) })
            .await
            .map_err(unavailable)
    }

    /// Refuses a path running through an existing object, or naming a folder of objects (as on a filesystem).
    async fn check_clash(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
    ) -> Result<(), StorageError> {
        let segments: Vec<&str> = object.segments().collect();
        for depth in 1..segments.len() {
            if self
                .exists(&self.layout.object_at(scope, bucket, &segments[..depth]))
                .await?
            {
                return Err(StorageError::Conflict(format!(
                    "object path '{}' runs through an existing object",
                    object.as_str()
                )));
            }
        }
        let path = self.layout.object(scope, bucket, object);
        if self.store.list(Some(&path)).next().await.is_some() {
            return Err(StorageError::Conflict(format!(
                "object path '{}' is a folder of other objects",
                object.as_str()
            )));
        }
        Ok(())
    }

    /// Streams `body` to `path`: one PUT when it fits a part, else a multipart upload aborted on any failure.
    async fn upload(&self, path: &Path, mut body: ByteStream) -> Result<u64, StorageError> {
        let failed = |e: std::io::Error| StorageError::Upload(e.to_string());
        let mut first: Vec<Bytes> = Vec::new();
        let mut size = 0usize;
        while size < PART_BYTES {
            match body.next().await {
                Some(Ok(chunk)) => {
                    size += chunk.len();
                    first.push(chunk);
                }
                Some(Err(e)) => return Err(failed(e)),
                None => {
                    self.store
                        .put(path, PutPayload::from_iter(first))
                        .await
                        .map_err(unavailable)?;
                    return Ok(size as u64);
                }
            }
        }
        let upload = self.store.put_multipart(path).await.map_err(unavailable)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        for chunk in first {
            writer.put(chunk);
        }
        loop {
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(unavailable(e));
            }
            match body.next().await {
                Some(Ok(chunk)) => {
                    size += chunk.len();
                    writer.put(chunk);
                }
                Some(Err(e)) => {
                    let _ = writer.abort().await;
                    return Err(failed(e));
                }
                None => break,
            }
        }
        writer.finish().await.map_err(unavailable)?;
        Ok(size as u64)
    }
}

/// The hex signing key at `path`, created (32 random bytes) when missing with a conditional PUT, so of two nodes
/// creating it at once one wins and both read back its key.
async fn signing_key(store: &AmazonS3, path: &Path) -> Result<Vec<u8>, object_store::Error> {
    let read = || async {
        let bytes = store.get(path).await?.bytes().await?;
        Ok::<_, object_store::Error>(
            hex::decode(bytes.trim_ascii())
                .ok()
                .filter(|k| k.len() >= 16),
        )
    };
    match read().await {
        Ok(Some(key)) => return Ok(key),
        Ok(None) | Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => return Err(e),
    }
    let key: [u8; 32] = rand::random();
    let body = || PutPayload::from(hex::encode(key).into_bytes());
    let create = PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    };
    match store.put_opts(path, body(), create).await {
        Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => {}
        Err(object_store::Error::NotImplemented) => {
            store.put(path, body()).await?;
        }
        Err(e) => return Err(e),
    }
    Ok(read().await?.unwrap_or_else(|| key.to_vec()))
}

#[async_trait]
impl Storage for S3Storage {
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), StorageError> {
        self.delete_below(&self.layout.tenant(scope)).await
    }

    async fn usage(&self, scope: &TenantScope) -> Result<u64, StorageError> {
        let mut total = 0;
        let mut keys = self.store.list(Some(&self.layout.tenant(scope)));
        while let Some(meta) = keys.next().await {
            total += meta.map_err(unavailable)?.size;
        }
        Ok(total)
    }

    async fn list_buckets(&self, scope: &TenantScope) -> Result<Vec<String>, StorageError> {
        let dir = self.layout.tenant(scope);
        let listed = self
            .store
            .list_with_delimiter(Some(&dir))
            .await
            .map_err(unavailable)?;
        let mut names: Vec<String> = listed
            .objects
            .iter()
            .filter_map(|meta| name_below(&dir, &meta.location))
            .collect();
        names.sort();
        Ok(names)
    }

    async fn create_bucket(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
    ) -> Result<(), StorageError> {
        let marker = self.layout.bucket(scope, bucket);
        // A conditional PUT (`If-None-Match: *`): of two nodes creating one bucket at once, one gets 409.
        let create = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&marker, PutPayload::default(), create)
            .await
        {
            Ok(_) => Ok(()),
            // Some stores (SeaweedFS) also refuse while an emptied folder of that name lingers: only an existing
            // marker means the bucket exists.
            Err(object_store::Error::AlreadyExists { .. }) if self.exists(&marker).await? => {
                Err(StorageError::BucketExists)
            }
            // A store without conditional writes, or a lingering folder: check, then write.
            Err(
                object_store::Error::AlreadyExists { .. } | object_store::Error::NotImplemented,
            ) => {
                if self.exists(&marker).await? {
                    return Err(StorageError::BucketExists);
                }
                self.store
                    .put(&marker, PutPayload::default())
                    .await
                    .map_err(unavailable)?;
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn delete_bucket(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
    ) -> Result<(), StorageError> {
        let marker = self.layout.bucket(scope, bucket);
        self.require_bucket(scope, bucket).await?;
        self.delete_below(&marker).await?;
        self.store
            .delete(&marker)
            .await
            .map_err(or_missing(StorageError::BucketNotFound))
    }

    async fn bucket_exists(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
    ) -> Result<bool, StorageError> {
        self.exists(&self.layout.bucket(scope, bucket)).await
    }

    async fn put_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        body: ByteStream,
    ) -> Result<u64, StorageError> {
        self.require_bucket(scope, bucket).await?;
        self.check_clash(scope, bucket, object).await?;
        self.upload(&self.layout.object(scope, bucket, object), body)
            .await
    }

    async fn head_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
    ) -> Result<ObjectInfo, StorageError> {
        self.require_bucket(scope, bucket).await?;
        let meta = self
            .store
            .head(&self.layout.object(scope, bucket, object))
            .await
            .map_err(or_missing(StorageError::ObjectNotFound))?;
        Ok(ObjectInfo {
            name: object.as_str().to_string(),
            size: meta.size,
            modified_ms: meta.last_modified.timestamp_millis(),
        })
    }

    async fn get_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        range: Option<RangeSpec>,
    ) -> Result<ObjectBody, StorageError> {
        self.require_bucket(scope, bucket).await?;
        let path = self.layout.object(scope, bucket, object);
        let missing = || or_missing(StorageError::ObjectNotFound);
        let (size, range) = match range {
            None => (None, None),
            Some(spec) => {
                let size = self.store.head(&path).await.map_err(missing())?.size;
                let (start, end) = spec
                    .resolve(size)
                    .ok_or(StorageError::RangeNotSatisfiable { size })?;
                (Some(size), Some((start, end)))
            }
        };
        let options = GetOptions {
            range: range.map(|(start, end)| GetRange::Bounded(start..end + 1)),
            ..Default::default()
        };
        let got = self
            .store
            .get_opts(&path, options)
            .await
            .map_err(missing())?;
        let size = size.unwrap_or(got.meta.size);
        let stream = got.into_stream().map_err(std::io::Error::other).boxed();
        Ok(ObjectBody {
            size,
            range,
            stream,
        })
    }

    async fn delete_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
    ) -> Result<(), StorageError> {
        self.require_bucket(scope, bucket).await?;
        let path = self.layout.object(scope, bucket, object);
        if !self.exists(&path).await? {
            return Err(StorageError::ObjectNotFound);
        }
        self.store.delete(&path).await.map_err(unavailable)
    }

    async fn list_objects(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        prefix: &str,
    ) -> Result<Vec<ObjectInfo>, StorageError> {
        self.require_bucket(scope, bucket).await?;
        let dir = self.layout.bucket(scope, bucket);
        // S3 lists by whole segments here: list the prefix's folder, then keep the names that start with it.
        let folder: Vec<&str> = match prefix.rsplit_once('/') {
            Some((folder, _)) => folder.split('/').filter(|s| !s.is_empty()).collect(),
            None => Vec::new(),
        };
        let below = self.layout.object_at(scope, bucket, &folder);
        let mut out = Vec::new();
        let mut keys = self.store.list(Some(&below));
        while let Some(meta) = keys.next().await {
            let meta = meta.map_err(unavailable)?;
            if let Some(name) = name_below(&dir, &meta.location) {
                if name.starts_with(prefix) {
                    out.push(ObjectInfo {
                        name,
                        size: meta.size,
                        modified_ms: meta.last_modified.timestamp_millis(),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn presign(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        access: SignedAccess,
        expires_in_secs: u64,
    ) -> Result<Option<String>, StorageError> {
        if !self.presign {
            return Ok(None);
        }
        self.require_bucket(scope, bucket).await?;
        let method = match access {
            SignedAccess::Download => http::Method::GET,
            SignedAccess::Upload => http::Method::PUT,
        };
        let url = self
            .store
            .signed_url(
                method,
                &self.layout.object(scope, bucket, object),
                Duration::from_secs(expires_in_secs),
            )
            .await
            .map_err(unavailable)?;
        Ok(Some(url.to_string()))
    }

    fn url_signer(&self) -> &UrlSigner {
        &self.signer
    }
}
