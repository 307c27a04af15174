//! Per-tenant request-rate quotas: which tenant may make how many requests per second (`requests_per_second`), each
//! request counted by the rate-limiter port (a token bucket per tenant holding one second's worth: per node in dev,
//! per cluster on Redis in prod); a request finding the bucket empty is answered 429 before any service runs.
//!
//! A request the limiter cannot count (Redis unreachable or slow) is admitted: a brief outage of the counter must not
//! take every tenant's requests down with it. The warning says so at most once per `WARN_EVERY`.

use super::response::ApiError;
use crate::ports::RateLimiter;
use http::StatusCode;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// At most one warning per this long while the limiter fails; the next one counts the requests admitted uncounted.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The configured rates, and the limiter counting the requests of tenants that have one.
pub struct RateQuotas {
    default: Option<u32>,
    per_tenant: HashMap<String, Option<u32>>,
    limiter: Arc<dyn RateLimiter>,
    failures: FailureLog,
}

impl RateQuotas {
    /// `default` applies to every tenant not in `per_tenant` (whose `None` means unlimited); tenants without a rate
    /// are never counted.
    pub fn new(
        default: Option<u32>,
        per_tenant: HashMap<String, Option<u32>>,
        limiter: Arc<dyn RateLimiter>,
    ) -> Self {
        Self {
            default,
            per_tenant,
            limiter,
            failures: FailureLog::new(),
        }
    }

    fn limit_of(&self, tenant: &str) -> Option<u32> {
        match self.per_tenant.get(tenant) {
            Some(limit) => *limit,
            None => self.default,
        }
    }

    /// Counts one request of `tenant`, or says why it is refused.
    pub async fn admit(&self, tenant: &str) -> Result<(), ApiError> {
        let Some(rate) = self.limit_of(tenant).filter(|r| *r > 0) else {
            return Ok(());
        };
        match self.limiter.admit(tenant, rate).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "tenant {tenant} is over its quota of {rate} requests per second; retry later"
                ),
            )),
            Err(e) => {
                self.failures.record(&e);
                Ok(())
            }
        }
    }
}

/// Limiter failures since the last warning, and when that warning was (ms after `start`; 0: never).
struct FailureLog {
    start: Instant,
    last_warn_ms: AtomicU64,
    unlogged: AtomicU64,
}

impl FailureLog {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_warn_ms: AtomicU64::new(0),
            unlogged: AtomicU64::new(0),
        }
    }

    /// Counts a failure and warns if no warning was given within `WARN_EVERY`; returns whether it warned.
    fn record(&self, error: &crate::ports::BackendError) -> bool {
        self.unlogged.fetch_add(1, Ordering::Relaxed);
        let now = self.start.elapsed().as_millis() as u64 + 1;
        let last = self.last_warn_ms.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= WARN_EVERY.as_millis() as u64;
        if !due
            || self
                .last_warn_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return false;
        }
        let failed = self.unlogged.swap(0, Ordering::Relaxed);
        tracing::warn!(
            target: "nano::quota",
            error = %error,
            admitted_uncounted = failed,
            "request-rate limiter failed: requests are admitted without counting"
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::BackendError;
    use async_trait::async_trait;

    struct Down;

    #[async_trait]
    impl RateLimiter for Down {
        async fn admit(&self, _tenant: &str, _rate: u32) -> Result<bool, BackendError> {
            Err(BackendError::msg(
                "Redis rate limiter: no answer within 50 ms",
            ))
        }
    }

    #[tokio::test]
    async fn a_failing_limiter_admits_and_warns_once_per_period() {
        let quotas = RateQuotas::new(Some(1), HashMap::new(), Arc::new(Down));
        for _ in 0..100 {
            assert!(quotas.admit("acme").await.is_ok());
        }
        let error = BackendError::msg("down");
        assert!(
            !quotas.failures.record(&error),
            "the first failure warned already"
        );
    }

    struct Never;

    #[async_trait]
    impl RateLimiter for Never {
        async fn admit(&self, _tenant: &str, _rate: u32) -> Result<bool, BackendError> {
            Ok(false)
        }
    }

    #[tokio::test]
    async fn only_tenants_with_a_rate_are_counted() {
        let per_tenant = HashMap::from([("free".to_string(), None), ("two".to_string(), Some(2))]);
        let quotas = RateQuotas::new(None, per_tenant, Arc::new(Never));
        assert!(quotas.admit("free").await.is_ok());
        assert!(quotas.admit("other").await.is_ok());
        let refusal = quotas.admit("two").await.unwrap_err();
        assert_eq!(refusal.status, StatusCode::TOO_MANY_REQUESTS);
    }
}
