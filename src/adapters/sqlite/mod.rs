//! SQLite adapters (sqlx): the dev profile's registry and, per service, its stores.

mod data;
mod mango_sql;
mod migrate;
mod pool;
mod registry;

pub use data::SqliteDataStore;
pub use pool::{open_pool, Durability};
pub use registry::SqliteRegistry;
