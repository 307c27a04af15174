//! Redis adapters (redis-rs, tokio connection manager): the prod profile's cache, shared by every nano node.

mod cache;
mod glob;

pub use cache::{RedisCache, RedisTarget};
