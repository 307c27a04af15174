//! The registry port: tenants (and, later, their apps and keys), the roots every scope is resolved against.

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

#[derive(Debug, Error)]
pub enum RegistryError {
    #[error("tenant {0} already exists")]
    TenantExists(String),
    #[error("tenant {0} does not exist")]
    TenantNotFound(String),
    #[error("registry backend failed: {0}")]
    Backend(String),
}

/// Contract:
/// - `create_tenant` fails with `TenantExists` when the id is taken; `ensure_tenant` never fails for that.
/// - `get_tenant` returns `None` for unknown ids; `list_tenants` is ordered by id.
/// - `delete_tenant` fails with `TenantNotFound` for unknown ids.
/// - Writes are durable when the call returns.
#[async_trait]
pub trait Registry: Send + Sync + 'static {
    async fn create_tenant(&self, id: &TenantId) -> Result<Tenant, RegistryError>;
    async fn ensure_tenant(&self, id: &TenantId) -> Result<Tenant, RegistryError>;
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, RegistryError>;
    async fn list_tenants(&self) -> Result<Vec<Tenant>, RegistryError>;
    async fn delete_tenant(&self, id: &TenantId) -> Result<(), RegistryError>;
}
