//! The `storage_bytes` quota around a storage: an upload is counted chunk by chunk as it streams through, and the
//! chunk that would take the tenant past its limit fails the upload, so the store keeps nothing of it.

use super::{Held, Kind, Limits, Meter};
use crate::core::{DomainName, TenantScope};
use crate::ports::storage::{
    ByteStream, ObjectBody, ObjectInfo, ObjectKey, RangeSpec, SignedAccess, UrlSigner,
};
use crate::ports::{Storage, StorageError};
use async_trait::async_trait;
use futures::StreamExt;
use std::sync::{Arc, Mutex};

pub struct QuotaStorage {
    inner: Arc<dyn Storage>,
    meter: Arc<Meter<StorageError>>,
}

impl QuotaStorage {
    pub fn new(inner: Arc<dyn Storage>, limits: &Limits) -> Self {
        Self {
            inner,
            meter: Meter::new(Kind::StorageBytes, limits, StorageError::Quota),
        }
    }

    /// The size of the stored object, 0 when there is none (only asked for limited tenants).
    async fn size_of(&self, scope: &TenantScope, bucket: &DomainName, object: &ObjectKey) -> u64 {
        match self.meter.limit(scope) {
            None => 0,
            Some(_) => self
                .inner
                .head_object(scope, bucket, object)
                .await
                .map(|o| o.size)
                .unwrap_or(0),
        }
    }
}

type Shared = Arc<Mutex<(Held<StorageError>, Option<String>)>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, (Held<StorageError>, Option<String>)> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

#[async_trait]
impl Storage for QuotaStorage {
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), StorageError> {
        let done = self.inner.purge_tenant(scope).await;
        self.meter.forget(scope);
        done
    }

    async fn usage(&self, scope: &TenantScope) -> Result<u64, StorageError> {
        self.inner.usage(scope).await
    }

    async fn list_buckets(&self, scope: &TenantScope) -> Result<Vec<String>, StorageError> {
        self.inner.list_buckets(scope).await
    }

    async fn create_bucket(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
    ) -> Result<(), StorageError> {
        self.inner.create_bucket(scope, bucket).await
    }

    async fn delete_bucket(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
    ) -> Result<(), StorageError> {
        let done = self.inner.delete_bucket(scope, bucket).await;
        self.meter.forget(scope);
        done
    }

    async fn bucket_exists(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
    ) -> Result<bool, StorageError> {
        self.inner.bucket_exists(scope, bucket).await
    }

    async fn put_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        body: ByteStream,
    ) -> Result<u64, StorageError> {
        if self.meter.limit(scope).is_none() {
            return self.inner.put_object(scope, bucket, object, body).await;
        }
        let replaced = self.size_of(scope, bucket, object).await;
        let held = self
            .meter
            .reserve(scope, 0, || self.inner.usage(scope))
            .await?;
        let shared: Shared = Arc::new(Mutex::new((held, None)));
        let counted = shared.clone();
        let body: ByteStream = Box::pin(body.map(move |chunk| {
            let chunk = chunk?;
            let mut state = lock(&counted);
            if let Err(e) = state.0.grow(chunk.len() as u64, replaced) {
                let msg = e.to_string();
                state.1 = Some(msg.clone());
                return Err(std::io::Error::other(msg));
            }
            Ok(chunk)
        }));
        let result = self.inner.put_object(scope, bucket, object, body).await;
        let (held, refused) = {
            let mut state = lock(&shared);
            let held = std::mem::replace(&mut state.0, Held::detached());
            (held, state.1.take())
        };
        match (result, refused) {
            (Err(_), Some(msg)) => Err(StorageError::Quota(msg)),
            (Err(e), None) => Err(e),
            (Ok(size), _) => {
                held.keep();
                self.meter.release(scope, replaced);
                Ok(size)
            }
        }
    }

    async fn head_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
    ) -> Result<ObjectInfo, StorageError> {
        self.inner.head_object(scope, bucket, object).await
    }

    async fn get_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        range: Option<RangeSpec>,
    ) -> Result<ObjectBody, StorageError> {
        self.inner.get_object(scope, bucket, object, range).await
    }

    async fn delete_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
    ) -> Result<(), StorageError> {
        let size = self.size_of(scope, bucket, object).await;
        self.inner.delete_object(scope, bucket, object).await?;
        self.meter.release(scope, size);
        Ok(())
    }

    async fn list_objects(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        prefix: &str,
    ) -> Result<Vec<ObjectInfo>, StorageError> {
        self.inner.list_objects(scope, bucket, prefix).await
    }

    /// A tenant with a `storage_bytes` limit gets nano's own signed URLs, whose uploads stream through the quota;
    /// a presigned upload would go straight to the store, past it.
    async fn presign(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        access: SignedAccess,
        expires_in_secs: u64,
    ) -> Result<Option<String>, StorageError> {
        if self.meter.limit(scope).is_some() {
            return Ok(None);
        }
        self.inner
            .presign(scope, bucket, object, access, expires_in_secs)
            .await
    }

    fn url_signer(&self) -> &UrlSigner {
        self.inner.url_signer()
    }
}
