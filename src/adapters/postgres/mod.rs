//! PostgreSQL adapters (sqlx): the prod profile's registry and, per service, its stores, shared by every nano node.

mod migrate;
mod pool;
mod registry;
mod registry_apps;

pub use pool::{connect, PgTarget};
pub use registry::PgRegistry;
