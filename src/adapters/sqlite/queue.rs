//! The queue's database on SQLite: `queue.db`, migrated for the queue that `adapters::sql` implements
//! (`synchronous=FULL`: an acknowledged job survives a crash).

use super::pool::{open_pool, Durability};
use crate::ports::BackendError;
use crate::ports::QueueError;
use sqlx::SqlitePool;
use std::path::Path;

const MIGRATIONS: &[(&str, &str)] = &[(
    "001_queue",
    include_str!("../../../migrations/sqlite/queue/001_queue.sql"),
)];

/// Opens the queue database at `path`, creating and migrating it as needed.
pub async fn queue_pool(path: &Path) -> Result<SqlitePool, QueueError> {
    open_pool(path, Durability::Full, MIGRATIONS)
        .await
        .map_err(|e| QueueError::Backend(BackendError::new(e)))
}
