//! The rate-limiter port on Redis: one token bucket per tenant (`<prefix>:<tenant>:rate`, a hash of `tokens` and
//! `at`), shared by every node on the same Redis and prefix, so a tenant's rate holds over the whole cluster.
//!
//! Each request is one `EVALSHA` of a Lua script that refills the bucket from Redis's own clock (`TIME`, so nodes'
//! clocks never matter), takes a token if there is one and sets a TTL of two seconds: a bucket left alone that long
//! is full again, so its key expiring changes nothing and idle tenants keep no keys. A call is bounded by
//! `timeout` (50 ms by default): past it, or when Redis is unreachable, `admit` fails and the caller decides.

use super::cache::describe;
use super::RedisTarget;
use crate::ports::{BackendError, RateLimiter};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use std::time::Duration;

/// Refills `KEYS[1]` at `ARGV[1]` tokens per second up to `ARGV[1]`, takes one token if there is one (1) or not (0),
/// and expires the bucket after `ARGV[2]` ms without calls. Times are microseconds of Redis's clock.
const ADMIT: &str = r"
local rate = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil or at == nil then
  tokens = rate
  at = now
end
if now > at then
  tokens = math.min(rate, tokens + (now - at) * rate / 1000000)
  at = now
end
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', string.format('%.0f', at))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return ok
";

/// How long a bucket outlives its last call: it is full after one second, so two leave a margin.
const BUCKET_TTL_MS: u64 = 2_000;

/// The default bound on one `admit` round trip.
pub const ADMIT_TIMEOUT: Duration = Duration::from_millis(50);

pub struct RedisRateLimiter {
    conn: ConnectionManager,
    prefix: String,
    admit: Script,
    timeout: Duration,
}

impl RedisRateLimiter {
    /// Connects (failing within a few seconds with the server's host, never its password) and checks with `PING`;
    /// each later `admit` waits at most `timeout` for Redis.
    pub async fn open(target: &RedisTarget, timeout: Duration) -> Result<Self, BackendError> {
        let place = describe(&target.url);
        let fail = |e: redis::RedisError| BackendError::context(format!("Redis at {place}"), e);
        let client = redis::Client::open(target.url.as_str())
            .map_err(|_| BackendError::msg("redis_url is not a valid Redis URL"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(2);
        let mut conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(fail)?;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(fail)?;
        Ok(Self {
            conn,
            prefix: target.prefix.clone(),
            admit: Script::new(ADMIT),
            timeout,
        })
    }

    fn key(&self, tenant: &str) -> String {
        format!("{}:{}:rate", self.prefix, tenant)
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn admit(&self, tenant: &str, rate: u32) -> Result<bool, BackendError> {
        let mut conn = self.conn.clone();
        let mut call = self.admit.prepare_invoke();
        call.key(self.key(tenant))
            .arg(rate.max(1))
            .arg(BUCKET_TTL_MS);
        let answer = tokio::time::timeout(self.timeout, call.invoke_async::<i64>(&mut conn)).await;
        match answer {
            Ok(Ok(taken)) => Ok(taken == 1),
            Ok(Err(e)) => Err(BackendError::context("Redis rate limiter", e)),
            Err(_) => Err(BackendError::msg(format!(
                "Redis rate limiter: no answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }
}
