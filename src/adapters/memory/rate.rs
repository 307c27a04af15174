//! The rate-limiter port in this process's memory: a token bucket per tenant, counting this node's requests only.

use crate::ports::{BackendError, RateLimiter};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often buckets refilled to full are dropped, so tenants no longer calling take no memory.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Token buckets by tenant: tokens left and when they were last counted.
pub struct MemoryRateLimiter {
    state: Mutex<State>,
}

struct State {
    buckets: HashMap<String, (f64, Instant)>,
    swept: Instant,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRateLimiter {
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                buckets: HashMap::new(),
                swept: Instant::now(),
            }),
        }
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn admit(&self, tenant: &str, rate: u32) -> Result<bool, BackendError> {
        let now = Instant::now();
        let rate = f64::from(rate.max(1));
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if now.duration_since(state.swept) >= SWEEP_EVERY {
            // A bucket untouched for over a second is full again: forgetting it changes nothing.
            state
                .buckets
                .retain(|_, (_, at)| now.duration_since(*at) < Duration::from_secs(1));
            state.swept = now;
        }
        let (tokens, at) = state
            .buckets
            .entry(tenant.to_string())
            .or_insert((rate, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(rate);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(true);
        }
        Ok(false)
    }
}
