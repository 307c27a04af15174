//! The `cache_keys` quota around a cache store: a write that would add a key past the tenant's limit is refused.
//! Keys that expire are noticed when the count is next read from the store (within `REFRESH`).

use super::{Kind, Limits, Meter};
use crate::core::{DomainName, TenantScope};
use crate::ports::{CacheError, CacheStore, CacheValue};
use async_trait::async_trait;
use std::sync::Arc;

pub struct QuotaCache {
    inner: Arc<dyn CacheStore>,
    meter: Arc<Meter<CacheError>>,
}

impl QuotaCache {
    pub fn new(inner: Arc<dyn CacheStore>, limits: &Limits) -> Self {
        Self {
            inner,
            meter: Meter::new(Kind::CacheKeys, limits, CacheError::Quota),
        }
    }

    /// Whether the key is live now (only asked for limited tenants).
    async fn exists(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
    ) -> Result<bool, CacheError> {
        Ok(match self.meter.limit(scope) {
            None => false,
            Some(_) => self.inner.get(scope, store, key).await?.is_some(),
        })
    }
}

#[async_trait]
impl CacheStore for QuotaCache {
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), CacheError> {
        let done = self.inner.purge_tenant(scope).await;
        self.meter.forget(scope);
        done
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
        self.inner.create_store(scope, store).await
    }

    async fn delete_store(
        &self,
        scope: &TenantScope,
        store: &DomainName,
    ) -> Result<(), CacheError> {
        let done = self.inner.delete_store(scope, store).await;
        self.meter.forget(scope);
        done
    }

    async fn create(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
        value: &CacheValue,
        ttl_ms: Option<u64>,
    ) -> Result<(), CacheError> {
        let held = self
            .meter
            .reserve(scope, 1, || self.inner.usage(scope))
            .await?;
        self.inner.create(scope, store, key, value, ttl_ms).await?;
        held.keep();
        Ok(())
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
        let added = u64::from(!self.exists(scope, store, key).await?);
        let held = self
            .meter
            .reserve(scope, added, || self.inner.usage(scope))
            .await?;
        self.inner.set(scope, store, key, value, ttl_ms).await?;
        held.keep();
        Ok(())
    }

    async fn delete(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
    ) -> Result<(), CacheError> {
        let existed = self.exists(scope, store, key).await?;
        self.inner.delete(scope, store, key).await?;
        if existed {
            self.meter.release(scope, 1);
        }
        Ok(())
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
