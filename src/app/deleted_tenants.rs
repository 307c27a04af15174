//! Writes that race a tenant's deletion, in the stores that cannot refuse a tenant marked deleted inside the write
//! itself as the PostgreSQL stores do. `LiveTenantStorage` (files, S3) asks the registry after each write that
//! creates something (an object, a bucket), and `LiveTenantCache` after each store it creates (Redis and SQLite key
//! writes need their store, which the purge removes): when the tenant is marked deleted by then, the write is undone
//! and refused as if the bucket or store were gone. A write the mark has not reached yet is older than the mark, so
//! the purge that follows the mark removes it; a write that lands after the purge sees the mark and is undone.
//! Either way nothing outlives the purge.

use crate::core::{DomainName, TenantScope};
use crate::ports::storage::{
    ByteStream, ObjectBody, ObjectInfo, ObjectKey, RangeSpec, SignedAccess, UrlSigner,
};
use crate::ports::{CacheError, CacheStore, CacheValue, Registry, Storage, StorageError};
use async_trait::async_trait;
use std::sync::Arc;

/// Whether the scope's tenant is marked deleted. A registry that cannot answer counts as not deleted: the purge of
/// a deletion under way removes the write anyway, unless it already ran.
async fn deleted(registry: &dyn Registry, scope: &TenantScope) -> bool {
    match registry.is_deleted(scope.tenant()).await {
        Ok(deleted) => deleted,
        Err(e) => {
            tracing::warn!(tenant = scope.as_str(), error = %e, "could not check the tenant after a write");
            false
        }
    }
}

pub struct LiveTenantStorage {
    inner: Arc<dyn Storage>,
    registry: Arc<dyn Registry>,
}

impl LiveTenantStorage {
    pub fn new(inner: Arc<dyn Storage>, registry: Arc<dyn Registry>) -> Self {
        Self { inner, registry }
    }

    async fn deleted(&self, scope: &TenantScope) -> bool {
        deleted(self.registry.as_ref(), scope).await
    }
}

pub struct LiveTenantCache {
    inner: Arc<dyn CacheStore>,
    registry: Arc<dyn Registry>,
}

impl LiveTenantCache {
    pub fn new(inner: Arc<dyn CacheStore>, registry: Arc<dyn Registry>) -> Self {
        Self { inner, registry }
    }
}

#[async_trait]
impl CacheStore for LiveTenantCache {
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), CacheError> {
        self.inner.purge_tenant(scope).await
    }

    async fn usage(&self, scope: &TenantScope) -> Result<u64, CacheError> {
        self.inner.usage(scope).await
    }

    async fn list_stores(&self, scope: &TenantScope) -> Result<Vec<String>, CacheError> {
        self.inner.list_stores(scope).await
    }

    async fn dump(
        &self,
        scope: &TenantScope,
        store: &DomainName,
    ) -> Result<Vec<(String, CacheValue, Option<u64>)>, CacheError> {
        self.inner.dump(scope, store).await
    }

    async fn create_store(
        &self,
        scope: &TenantScope,
        store: &DomainName,
    ) -> Result<(), CacheError> {
        self.inner.create_store(scope, store).await?;
        if deleted(self.registry.as_ref(), scope).await {
            let _ = self.inner.delete_store(scope, store).await;
            return Err(CacheError::StoreNotFound);
        }
        Ok(())
    }

    async fn delete_store(
        &self,
        scope: &TenantScope,
        store: &DomainName,
    ) -> Result<(), CacheError> {
        self.inner.delete_store(scope, store).await
    }

    async fn create(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
        value: &CacheValue,
        ttl_ms: Option<u64>,
    ) -> Result<(), CacheError> {
        self.inner.create(scope, store, key, value, ttl_ms).await
    }

    async fn get(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
    ) -> Result<Option<CacheValue>, CacheError> {
        self.inner.get(scope, store, key).await
    }

    async fn set(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
        value: &CacheValue,
        ttl_ms: Option<u64>,
    ) -> Result<(), CacheError> {
        self.inner.set(scope, store, key, value, ttl_ms).await
    }

    async fn delete(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
    ) -> Result<(), CacheError> {
        self.inner.delete(scope, store, key).await
    }

    async fn query(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        pattern: &str,
    ) -> Result<Vec<(String, CacheValue)>, CacheError> {
        self.inner.query(scope, store, pattern).await
    }
}

#[async_trait]
impl Storage for LiveTenantStorage {
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), StorageError> {
        self.inner.purge_tenant(scope).await
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
        self.inner.create_bucket(scope, bucket).await?;
        if self.deleted(scope).await {
            let _ = self.inner.delete_bucket(scope, bucket).await;
            return Err(StorageError::BucketNotFound);
        }
        Ok(())
    }

    async fn delete_bucket(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
    ) -> Result<(), StorageError> {
        self.inner.delete_bucket(scope, bucket).await
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
        let size = self.inner.put_object(scope, bucket, object, body).await?;
        if self.deleted(scope).await {
            let _ = self.inner.delete_object(scope, bucket, object).await;
            return Err(StorageError::BucketNotFound);
        }
        Ok(size)
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
        self.inner.delete_object(scope, bucket, object).await
    }

    async fn list_objects(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        prefix: &str,
    ) -> Result<Vec<ObjectInfo>, StorageError> {
        self.inner.list_objects(scope, bucket, prefix).await
    }

    fn url_signer(&self) -> &UrlSigner {
        self.inner.url_signer()
    }

    async fn sign(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        access: SignedAccess,
        expires_unix: u64,
    ) -> Result<String, StorageError> {
        self.inner
            .sign(scope, bucket, object, access, expires_unix)
            .await
    }

    async fn presign(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        access: SignedAccess,
        expires_in_secs: u64,
    ) -> Result<Option<String>, StorageError> {
        self.inner
            .presign(scope, bucket, object, access, expires_in_secs)
            .await
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
        self.inner
            .verify(scope, bucket, object, access, expires_unix, signature)
            .await
    }
}
