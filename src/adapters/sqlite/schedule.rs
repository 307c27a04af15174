//! The run claims' database on SQLite: `schedule.db`, migrated for the run claims that `adapters::sql` implement
//! (shared by every process on one data folder).

use super::pool::{open_pool, Durability};
use crate::ports::BackendError;
use sqlx::SqlitePool;
use std::path::Path;

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "001_run_claims",
        include_str!("../../../migrations/sqlite/schedule/001_run_claims.sql"),
    ),
    (
        "002_takeover",
        include_str!("../../../migrations/sqlite/schedule/002_takeover.sql"),
    ),
];

/// Opens the run claims' database at `path`, creating and migrating it as needed.
pub async fn schedule_pool(path: &Path) -> Result<SqlitePool, BackendError> {
    open_pool(path, Durability::Full, MIGRATIONS)
        .await
        .map_err(BackendError::new)
}
