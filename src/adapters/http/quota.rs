//! Per-tenant request-rate quotas: a token bucket per tenant, refilled at the tenant's `requests_per_second`
//! (the bucket holds one second's worth); a request finding it empty is answered 429 before any service runs.

use super::response::ApiError;
use http::StatusCode;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets of tenants with a rate quota; tenants without one are never counted.
pub struct RateQuotas {
    default: Option<u32>,
    per_tenant: HashMap<String, Option<u32>>,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateQuotas {
    /// `default` applies to every tenant not in `per_tenant` (whose `None` means unlimited).
    pub fn new(default: Option<u32>, per_tenant: HashMap<String, Option<u32>>) -> Self {
        Self {
            default,
            per_tenant,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn limit_of(&self, tenant: &str) -> Option<u32> {
        match self.per_tenant.get(tenant) {
            Some(limit) => *limit,
            None => self.default,
        }
    }

    /// Takes one request from `tenant`'s bucket, or says why it cannot.
    pub fn admit(&self, tenant: &str) -> Result<(), ApiError> {
        let Some(rate) = self.limit_of(tenant).filter(|r| *r > 0) else {
            return Ok(());
        };
        let now = Instant::now();
        let rate = f64::from(rate);
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (tokens, at) = buckets.entry(tenant.to_string()).or_insert((rate, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(rate);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("tenant {tenant} is over its quota of {rate} requests per second; retry later"),
        ))
    }
}
