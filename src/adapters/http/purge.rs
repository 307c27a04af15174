//! Tenant deletion's data side: every enabled service forgets everything the tenant owns.
//!
//! It runs after the registry marked the tenant deleted (`Registry::mark_tenant_deleted`). From then on no node
//! resolves the tenant once its resolver's cache expires (2 s), its keys are gone, and the PostgreSQL stores (data,
//! search, queue in prod) refuse its transactions in the same transaction as the write, after waiting for those in
//! flight: nothing written there survives the purge. Cache key writes need their store, which the purge removes.
//! Storage (files or S3) and cache store creation ask the registry after each write and undo one that lands after
//! the mark (`app::deleted_tenants`), so an upload that resolved the tenant before the mark and finishes after the
//! purge is removed too.

use super::response::ApiError;
use crate::core::TenantScope;
use crate::ports::Services;

/// Purges the tenant from every enabled service, stopping at the first failure (500 naming the service; a retry
/// of the deletion purges the rest, as purging is idempotent).
pub async fn purge_tenant(services: &Services, scope: &TenantScope) -> Result<(), ApiError> {
    let fail = |service: &str, e: String| {
        tracing::error!(tenant = scope.as_str(), service, error = %e, "tenant purge failed");
        ApiError::internal(format!("purging the tenant's {service} failed: {e}"))
    };
    if let Some(p) = &services.cache {
        p.purge_tenant(scope)
            .await
            .map_err(|e| fail("cache", e.to_string()))?;
    }
    if let Some(p) = &services.data {
        p.purge_tenant(scope)
            .await
            .map_err(|e| fail("data", e.to_string()))?;
    }
    if let Some(p) = &services.storage {
        p.purge_tenant(scope)
            .await
            .map_err(|e| fail("storage", e.to_string()))?;
    }
    if let Some(p) = &services.search {
        p.purge_tenant(scope)
            .await
            .map_err(|e| fail("search", e.to_string()))?;
    }
    if let Some(p) = &services.queue {
        p.purge_tenant(scope)
            .await
            .map_err(|e| fail("queue", e.to_string()))?;
    }
    Ok(())
}
