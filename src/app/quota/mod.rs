//! Per-tenant quotas on stored data (documents, cache keys, storage bytes, search documents, queue jobs), enforced
//! by decorators that implement each service port around the real adapter, so REST routes and app bindings meet
//! the same limits.
//!
//! Usage is counted in memory per tenant: read from the store through the port's `usage` on the first limited write
//! (and again once the count is older than [`REFRESH`]), then moved by each write the decorator sees. A write
//! reserves its units under a lock before it runs and gives them back when it fails, so concurrent writes on one
//! node never pass the limit together. Several nodes sharing a store each count their own writes between reads:
//! together they can overshoot by what the other nodes wrote within one refresh interval.
//!
//! `wrap` (called by `build.rs`) wraps a port only when some tenant has a limit of its kind. `wrap_queue` wraps the
//! queue store inside queue delivery's wrapper, so deliveries count down. Usage comes from the port's `usage(scope)`: a
//! COUNT of the tenant's rows, a walk of its storage folder, or the sum of its tantivy indexes' document counts. A
//! refusal is the port's `Quota` error, answered 429 by REST and bindings alike.

mod cache;
mod data;
mod queue;
mod search;
mod storage;

pub use cache::QuotaCache;
pub use data::QuotaData;
pub use queue::QuotaQueue;
pub use search::QuotaSearch;
pub use storage::QuotaStorage;

use super::config::{Config, QuotaConfig};
use crate::core::TenantScope;
use crate::ports::Services;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a usage count read from the store is trusted before it is read again.
pub const REFRESH: Duration = Duration::from_secs(5);

/// One stored-data quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Documents,
    CacheKeys,
    StorageBytes,
    SearchDocs,
    QueueJobs,
}

impl Kind {
    /// The quota's config key.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Documents => "documents",
            Kind::CacheKeys => "cache_keys",
            Kind::StorageBytes => "storage_bytes",
            Kind::SearchDocs => "search_docs",
            Kind::QueueJobs => "queue_jobs",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Kind::Documents => "documents",
            Kind::CacheKeys => "cache keys",
            Kind::StorageBytes => "bytes",
            Kind::SearchDocs => "search documents",
            Kind::QueueJobs => "queue jobs",
        }
    }

    fn of(self, q: &QuotaConfig) -> Option<u64> {
        match self {
            Kind::Documents => q.documents,
            Kind::CacheKeys => q.cache_keys,
            Kind::StorageBytes => q.storage_bytes,
            Kind::SearchDocs => q.search_docs,
            Kind::QueueJobs => q.queue_jobs,
        }
    }
}

/// The configured quotas: `quotas` for every tenant, replaced by `tenant_quotas.<t>` for the tenants it names.
#[derive(Debug, Clone)]
pub struct Limits {
    default: QuotaConfig,
    per_tenant: BTreeMap<String, QuotaConfig>,
}

impl Limits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            default: config.quotas.clone(),
            per_tenant: config.tenant_quotas.clone(),
        }
    }

    /// The tenant's limit of `kind`; `None` (unset or 0) means unlimited.
    pub fn limit(&self, kind: Kind, tenant: &str) -> Option<u64> {
        kind.of(self.per_tenant.get(tenant).unwrap_or(&self.default))
            .filter(|l| *l > 0)
    }

    /// Whether any tenant may have a limit of `kind` (else the service is not wrapped at all).
    fn any(&self, kind: Kind) -> bool {
        std::iter::once(&self.default)
            .chain(self.per_tenant.values())
            .any(|q| kind.of(q).is_some_and(|l| l > 0))
    }
}

/// Wraps every service that some tenant has a stored-data quota for in its quota-enforcing decorator.
pub fn wrap(services: &mut Services, limits: &Limits) {
    if let Some(inner) = services.data.take() {
        services.data = Some(match limits.any(Kind::Documents) {
            true => Arc::new(data::QuotaData::new(inner, limits)),
            false => inner,
        });
    }
    if let Some(inner) = services.cache.take() {
        services.cache = Some(match limits.any(Kind::CacheKeys) {
            true => Arc::new(cache::QuotaCache::new(inner, limits)),
            false => inner,
        });
    }
    if let Some(inner) = services.storage.take() {
        services.storage = Some(match limits.any(Kind::StorageBytes) {
            true => Arc::new(storage::QuotaStorage::new(inner, limits)),
            false => inner,
        });
    }
    if let Some(inner) = services.search.take() {
        services.search = Some(match limits.any(Kind::SearchDocs) {
            true => Arc::new(search::QuotaSearch::new(inner, limits)),
            false => inner,
        });
    }
}

/// The queue store wrapped for the `queue_jobs` quota (before queue delivery wraps it, so deliveries count down).
pub fn wrap_queue(
    inner: Arc<dyn crate::ports::QueueStore>,
    limits: &Limits,
) -> Arc<dyn crate::ports::QueueStore> {
    match limits.any(Kind::QueueJobs) {
        true => Arc::new(queue::QuotaQueue::new(inner, limits)),
        false => inner,
    }
}

struct Count {
    used: u64,
    read_at: Instant,
    generation: u64,
}

/// The usage counts of one quota kind, per tenant with a limit of it.
pub struct Meter<E> {
    kind: Kind,
    limits: Limits,
    refused: fn(String) -> E,
    counts: Mutex<HashMap<String, Count>>,
    generations: AtomicU64,
}

impl<E> Meter<E> {
    pub fn new(kind: Kind, limits: &Limits, refused: fn(String) -> E) -> Arc<Self> {
        Arc::new(Self {
            kind,
            limits: limits.clone(),
            refused,
            counts: Mutex::new(HashMap::new()),
            generations: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Count>> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The scope's tenant's limit of this kind, if it has one.
    pub fn limit(&self, scope: &TenantScope) -> Option<u64> {
        self.limits.limit(self.kind, scope.as_str())
    }

    fn refusal(&self, tenant: &str, limit: u64) -> E {
        (self.refused)(format!(
            "tenant {tenant} is over its {} quota (limit {limit} {}); nothing was written",
            self.kind.key(),
            self.kind.unit()
        ))
    }

    /// Reserves `n` units for a write of the scope's tenant, reading its usage with `read` when it is not known
    /// (or stale); refuses when the write would take the tenant past its limit. Unlimited tenants are not counted.
    pub async fn reserve<F>(
        self: &Arc<Self>,
        scope: &TenantScope,
        n: u64,
        read: impl FnOnce() -> F,
    ) -> Result<Held<E>, E>
    where
        F: Future<Output = Result<u64, E>>,
    {
        let tenant = scope.as_str();
        let Some(limit) = self.limit(scope) else {
            return Ok(Held::detached());
        };
        let fresh = self
            .lock()
            .get(tenant)
            .is_some_and(|c| c.read_at.elapsed() < REFRESH);
        if !fresh {
            let used = read().await?;
            let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
            self.lock().insert(
                tenant.to_string(),
                Count {
                    used,
                    read_at: Instant::now(),
                    generation,
                },
            );
        }
        let mut counts = self.lock();
        let count = counts.entry(tenant.to_string()).or_insert(Count {
            used: 0,
            read_at: Instant::now() - REFRESH,
            generation: 0,
        });
        if n > 0 && count.used.saturating_add(n) > limit {
            return Err(self.refusal(tenant, limit));
        }
        count.used += n;
        Ok(Held {
            meter: Some(self.clone()),
            tenant: tenant.to_string(),
            generation: count.generation,
            n,
            kept: false,
        })
    }

    /// Counts `n` units the scope's tenant freed (a delete that succeeded).
    pub fn release(&self, scope: &TenantScope, n: u64) {
        if let Some(count) = self.lock().get_mut(scope.as_str()) {
            count.used = count.used.saturating_sub(n);
        }
    }

    /// Drops what is known of the tenant's usage, after a write whose effect on it is not known (a database,
    /// store, bucket, index or queue deleted); the next limited write reads it from the store.
    pub fn forget(&self, scope: &TenantScope) {
        self.lock().remove(scope.as_str());
    }
}

/// Units reserved for one write: given back when dropped unless [`Held::keep`] was called.
pub struct Held<E> {
    meter: Option<Arc<Meter<E>>>,
    tenant: String,
    generation: u64,
    n: u64,
    kept: bool,
}

impl<E> Held<E> {
    /// Holds nothing (an unlimited tenant's write).
    pub fn detached() -> Self {
        Self {
            meter: None,
            tenant: String::new(),
            generation: 0,
            n: 0,
            kept: true,
        }
    }

    /// The write succeeded: its units stay counted.
    pub fn keep(mut self) {
        self.kept = true;
    }

    /// Reserves `n` more units (a streamed upload's next chunk), refusing past the limit with the quota message.
    /// `credit` units the write frees when it succeeds (the object it replaces) may be used ahead.
    pub fn grow(&mut self, n: u64, credit: u64) -> Result<(), E> {
        let Some(meter) = &self.meter else {
            return Ok(());
        };
        let Some(limit) = meter.limits.limit(meter.kind, &self.tenant) else {
            return Ok(());
        };
        let mut counts = meter.lock();
        let Some(count) = counts
            .get_mut(&self.tenant)
            .filter(|c| c.generation == self.generation)
        else {
            return Ok(());
        };
        if n > 0 && count.used.saturating_add(n) > limit.saturating_add(credit) {
            drop(counts);
            return Err(meter.refusal(&self.tenant, limit));
        }
        count.used += n;
        self.n += n;
        Ok(())
    }
}

impl<E> Drop for Held<E> {
    fn drop(&mut self) {
        if self.kept || self.n == 0 {
            return;
        }
        if let Some(meter) = &self.meter {
            if let Some(count) = meter
                .lock()
                .get_mut(&self.tenant)
                .filter(|c| c.generation == self.generation)
            {
                count.used = count.used.saturating_sub(self.n);
            }
        }
    }
}
