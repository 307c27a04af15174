//! SQLite adapters (sqlx; the data and cache writers, and the queue's writer connection, on rusqlite): the dev
//! profile's registry and, per service, its stores.

mod cache;
mod cache_hot;
mod data;
mod group_commit;
mod mango_sql;
mod migrate;
mod pool;
mod queue;
mod registry;
mod schedule;

pub use cache::{SqliteCache, DEFAULT_PURGE_EVERY as CACHE_PURGE_EVERY};
pub use data::SqliteDataStore;
pub use pool::{open_pool, Durability};
pub use queue::queue_database;
pub use registry::registry_pool;
pub use schedule::schedule_pool;
