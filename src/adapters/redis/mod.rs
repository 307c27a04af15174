//! Redis adapters (redis-rs, tokio connection manager): the prod profile's cache and request-rate limiter, shared by
//! every nano node.

mod cache;
mod glob;
mod rate;

pub use cache::{RedisCache, RedisTarget};
pub use rate::{RedisRateLimiter, ADMIT_TIMEOUT};
