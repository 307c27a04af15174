//! SQL shared by the sqlx adapters: the registry, queue and run-claims ports written once, for SQLite (dev) and PostgreSQL (prod)
//! alike.

mod queue;
mod registry;
mod schedule;

pub use queue::{Confine, QueueDatabase, SqlQueue};
pub use registry::SqlRegistry;
pub use schedule::{SqlRunClaims, CLAIMS_KEPT_MS};

use sqlx::Database;

/// A database the SQL ports run on: what sqlx offers for every one, plus the count of rows a statement changed
/// (which sqlx leaves to each driver's result type).
pub trait SqlDatabase: Database {
    /// A statement that makes a transaction wait for every tenant transaction of tenant `$1` in flight and keeps
    /// new ones waiting until it ends (PostgreSQL's tenant lock, taken shared by `postgres::tenant::confine`); none
    /// on SQLite, whose stores do not share the registry's file.
    const TENANT_LOCK: Option<&'static str>;
    fn rows_affected(done: &Self::QueryResult) -> u64;
}

impl SqlDatabase for sqlx::Sqlite {
    const TENANT_LOCK: Option<&'static str> = None;
    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }
}

impl SqlDatabase for sqlx::Postgres {
    const TENANT_LOCK: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock(1952804468, hashtext($1))");
    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }
}
