//! The queue-scan port: which tenants have jobs due, read across every tenant in one query, so that every node of a
//! cluster finds work enqueued through the others, or left by one that stopped, without asking tenant by tenant.

use crate::core::TenantId;
use crate::ports::QueueError;
use async_trait::async_trait;

/// The one cross-tenant read of the queue store. It names tenants only: their jobs are then read and claimed through
/// `QueueStore`, under each tenant's scope.
#[async_trait]
pub trait QueueScan: Send + Sync + 'static {
    /// The tenants with at least one `READY` job due at `now_ms` (ms since the Unix epoch) that no live claim holds:
    /// unclaimed, or claimed by a node that stopped (`QueueStore::claim`'s takeover rule). Each tenant once, in no
    /// particular order.
    async fn due_tenants(&self, now_ms: i64) -> Result<Vec<TenantId>, QueueError>;
}
