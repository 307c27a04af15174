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

/// Milliseconds since the Unix epoch, as the SQL ports' tables store times.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
