//! The cache port: per-tenant key-value stores of JSON objects with optional TTL and `*` pattern queries.

use super::BackendError;
use crate::core::{DomainName, TenantScope};
use crate::core::{ErrorKind, HasKind};
use async_trait::async_trait;
use serde_json::{Map, Value};
use thiserror::Error;

/// A cached value: always a JSON object, as hyper's cache port requires.
pub type CacheValue = Map<String, Value>;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CacheError {
    #[error("cache already exists")]
    StoreExists,
    #[error("cache not found")]
    StoreNotFound,
    #[error("document conflict")]
    KeyExists,
    /// A write refused because it would take the tenant over one of its quotas; the message names the tenant, the
    /// quota and its limit.
    #[error("{0}")]
    Quota(String),
    #[error("cache backend failed: {0}")]
    Backend(#[source] BackendError),
}

impl HasKind for CacheError {
    fn kind(&self) -> ErrorKind {
        match self {
            CacheError::StoreExists | CacheError::KeyExists => ErrorKind::Conflict,
            CacheError::StoreNotFound => ErrorKind::NotFound,
            CacheError::Quota(_) => ErrorKind::Quota,
            CacheError::Backend(e) => e.kind(),
        }
    }
}

/// Contract (every method is scoped to `scope`'s tenant; two tenants never see each other's stores or keys):
/// - `create_store` fails with `StoreExists` when the tenant already has the store; `delete_store` fails with
///   `StoreNotFound` when it has not, and removes every key of the store. `list_stores` is ordered by name.
/// - Key operations on a store the tenant does not have fail with `StoreNotFound`.
/// - `ttl_ms`: `None` or `Some(0)` means "never expires"; otherwise the key expires `ttl_ms` after the write.
///   An expired key is never returned by `get` or `query` and is eventually removed without being read.
/// - `create` fails with `KeyExists` when a live (unexpired) key exists; an expired one is replaced.
/// - `set` is an upsert that **replaces** the value and the TTL (no TTL clears an earlier one).
/// - `delete` succeeds whether or not the key exists.
/// - `query` returns live keys matching `pattern`, where every `*` matches any run of characters (also empty)
///   and every other character matches itself exactly (case-sensitive); results are ordered by key.
/// - Writes are visible to every later call when the call returns.
#[async_trait]
pub trait CacheStore: Send + Sync + 'static {
    /// Removes everything the scope's tenant owns in this service (tenant deletion); other tenants are untouched.
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), CacheError>;
    /// How many live (unexpired) keys the scope's tenant has, over all its stores (the `cache_keys` quota).
    async fn usage(&self, scope: &TenantScope) -> Result<u64, CacheError>;

    async fn list_stores(&self, scope: &TenantScope) -> Result<Vec<String>, CacheError>;
    /// Every live key of the store with its value and remaining TTL in milliseconds (`None`: never expires),
    /// ordered by key (tenant export).
    async fn dump(
        &self,
        scope: &TenantScope,
        store: &DomainName,
    ) -> Result<Vec<(String, CacheValue, Option<u64>)>, CacheError>;
    async fn create_store(&self, scope: &TenantScope, store: &DomainName)
        -> Result<(), CacheError>;
    async fn delete_store(&self, scope: &TenantScope, store: &DomainName)
        -> Result<(), CacheError>;
    async fn create(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
        value: &CacheValue,
        ttl_ms: Option<u64>,
    ) -> Result<(), CacheError>;
    async fn get(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
    ) -> Result<Option<CacheValue>, CacheError>;
    async fn set(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
        value: &CacheValue,
        ttl_ms: Option<u64>,
    ) -> Result<(), CacheError>;
    async fn delete(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
    ) -> Result<(), CacheError>;
    async fn query(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        pattern: &str,
    ) -> Result<Vec<(String, CacheValue)>, CacheError>;
}
