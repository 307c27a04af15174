//! PostgreSQL adapters (sqlx): the prod profile's registry and, per service, its stores, shared by every nano node.

mod data;
mod mango_pg;
mod migrate;
mod pool;
mod queue;
mod registry;
mod schedule;
mod search;
mod tenant;
mod text;

pub use data::PgDataStore;
pub use pool::{connect, PgTarget};
pub use queue::queue_tables;
pub use registry::registry_pool;
pub use schedule::schedule_pool;
pub use search::PgSearch;
