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
    fn rows_affected(done: &Self::QueryResult) -> u64;
}

impl SqlDatabase for sqlx::Sqlite {
    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }
}

impl SqlDatabase for sqlx::Postgres {
    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }
}
