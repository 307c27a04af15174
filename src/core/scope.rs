//! `TenantScope`: the proof that a request was resolved to one tenant. Every tenant-data port method takes it first.

use crate::core::TenantId;

/// The tenant a piece of work belongs to. Its field is private: it is made by resolving a request
/// (Host header, hyper cloud path prefix, verified key, or an app's own tenant) against the tenant registry.
/// Adapters read the tenant from here and nowhere else.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantScope {
    tenant: TenantId,
}

impl TenantScope {
    /// Builds a scope for a tenant the caller has resolved against the registry.
    /// Only tenant resolution (`src/app`, `adapters::http::tenancy`), app bindings and tests call this;
    /// `tests/tidy.rs` enforces that.
    #[doc(hidden)]
    pub fn resolved(tenant: TenantId) -> Self {
        Self { tenant }
    }

    /// The tenant id, as stored in every `host` column.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The tenant id as text, as stored in every `host` column.
    pub fn as_str(&self) -> &str {
        self.tenant.as_str()
    }
}
