//! The rate-limiter port: per-tenant token buckets counting requests against a rate, shared by every node that
//! shares the limiter's backend.

use super::BackendError;
use async_trait::async_trait;

/// Contract (one bucket per tenant name; two tenants never share one):
/// - A bucket holds at most `rate` tokens (one second's worth) and starts full; it refills continuously at `rate`
///   tokens per second. `admit` takes one token and returns `Ok(true)`, or returns `Ok(false)` when less than one is
///   left (a refused request takes nothing).
/// - Every limiter on the same backend (the same Redis and key prefix) counts in the same buckets, so a tenant's rate
///   holds over all the nodes sharing it; an in-memory limiter counts for its own process only.
/// - A bucket left alone until it is full again may be forgotten: it is then indistinguishable from a new one.
/// - `Err` means the request could not be counted (the backend is unreachable or too slow); the caller decides.
///
/// Not scoped by `TenantScope`: requests to a hosted app are counted before (and without) tenant resolution, and a
/// bucket is a counter about the tenant, never data it stored or can read.
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Takes one token from `tenant`'s bucket of `rate` requests per second (`rate > 0`).
    async fn admit(&self, tenant: &str, rate: u32) -> Result<bool, BackendError>;
}
