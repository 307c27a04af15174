//! In-process adapters: state kept in this node's memory, for the dev profile's single node.

mod rate;

pub use rate::MemoryRateLimiter;
