//! The registry port: tenants (and, later, their apps and keys), the roots every scope is resolved against.

use crate::core::keys::KeyGrant;
use crate::core::TenantId;
use async_trait::async_trait;
use thiserror::Error;

/// A tenant as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// An API key of a tenant. Its secret is not stored: it is derived from the master key, the id and the salt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Globally unique key id: the `sub` of the client's tokens and the user part of its connection string.
    pub id: String,
    pub tenant: TenantId,
    pub salt: String,
    pub grant: KeyGrant,
    pub created_ms: i64,
}

#[derive(Debug, Error)]
pub enum RegistryError {
    #[error("tenant {0} already exists")]
    TenantExists(String),
    #[error("tenant {0} does not exist")]
    TenantNotFound(String),
    #[error("key {0} does not exist")]
    KeyNotFound(String),
    #[error("key {0} already exists")]
    KeyExists(String),
    #[error("registry backend failed: {0}")]
    Backend(String),
}

/// Contract:
/// - `create_tenant` fails with `TenantExists` when the id is taken; `ensure_tenant` never fails for that.
/// - `get_tenant` returns `None` for unknown ids; `list_tenants` is ordered by id.
/// - `delete_tenant` fails with `TenantNotFound` for unknown ids.
/// - Key ids are unique across tenants (`KeyExists` otherwise); `get_key` finds a key by id alone, since the key
///   is what names the tenant; `list_keys` and `delete_key` are limited to the tenant given.
/// - Deleting a tenant deletes its keys.
/// - Writes are durable when the call returns.
#[async_trait]
pub trait Registry: Send + Sync + 'static {
    async fn create_tenant(&self, id: &TenantId) -> Result<Tenant, RegistryError>;
    async fn ensure_tenant(&self, id: &TenantId) -> Result<Tenant, RegistryError>;
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, RegistryError>;
    async fn list_tenants(&self) -> Result<Vec<Tenant>, RegistryError>;
    async fn delete_tenant(&self, id: &TenantId) -> Result<(), RegistryError>;
    async fn create_key(&self, key: &ApiKey) -> Result<(), RegistryError>;
    async fn get_key(&self, id: &str) -> Result<Option<ApiKey>, RegistryError>;
    async fn list_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, RegistryError>;
    async fn delete_key(&self, tenant: &TenantId, id: &str) -> Result<(), RegistryError>;
}
