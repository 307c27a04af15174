//! The run claims' table on PostgreSQL, shared by every nano node so each cron run is claimed by one, migrated for
//! the run claims that `adapters::sql` implement.

use super::pool::{connect, PgTarget};
use crate::ports::BackendError;
use sqlx::PgPool;

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "schedule/001_run_claims",
        include_str!("../../../migrations/postgres/schedule/001_run_claims.sql"),
    ),
    (
        "schedule/002_takeover",
        include_str!("../../../migrations/postgres/schedule/002_takeover.sql"),
    ),
];

/// Connects and migrates. The error names the server (host, port, database), never the password.
pub async fn schedule_pool(target: &PgTarget) -> Result<PgPool, BackendError> {
    connect(target, MIGRATIONS).await.map_err(BackendError::msg)
}
