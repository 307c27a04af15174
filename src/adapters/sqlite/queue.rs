//! The queue's database on SQLite: `queue.db`, migrated for the queue that `adapters::sql` implements, with a writer
//! connection for its hot writes (`synchronous=FULL`: an acknowledged job survives a crash).

use super::pool::{open_pool, open_writer, Durability};
use crate::ports::BackendError;
use crate::ports::QueueError;
use sqlx::SqlitePool;
use std::path::Path;

const MIGRATIONS: &[(&str, &str)] = &[(
    "001_queue",
    include_str!("../../../migrations/sqlite/queue/001_queue.sql"),
)];

/// Opens the queue database at `path`, creating and migrating it as needed: its pool, and the connection its hot
/// writes run on (`SqlQueue::sqlite` takes both).
pub async fn queue_database(path: &Path) -> Result<(SqlitePool, rusqlite::Connection), QueueError> {
    let pool = open_pool(path, Durability::Full, MIGRATIONS)
        .await
        .map_err(|e| QueueError::Backend(BackendError::new(e)))?;
    let writer = open_writer(path, Durability::Full)
        .map_err(|e| QueueError::Backend(BackendError::new(e)))?;
    Ok((pool, writer))
}
