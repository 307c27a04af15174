//! SQL shared by the sqlx adapters: the registry port written once, for SQLite (dev) and PostgreSQL (prod) alike.

mod registry;

pub use registry::{RegistryDatabase, SqlRegistry};
