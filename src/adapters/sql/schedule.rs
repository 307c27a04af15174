//! The run-claims port on a SQL database: the `run_claims` table that the `sqlite` and `postgres` adapters' schedule
//! migrations create. A claim is a row only one insert can make (its key is the run); `$N` parameters as in the
//! registry.

use super::SqlDatabase;
use crate::core::clock::now_ms;
use crate::ports::{BackendError, RunClaims, ScheduledRun};
use async_trait::async_trait;
use sqlx::{Database, Encode, Executor, IntoArguments, Pool, Type};

/// How long a claim is kept after its run's scheduled time: far longer than any node's cron loop can lag behind.
pub const CLAIMS_KEPT_MS: i64 = 24 * 60 * 60 * 1000;

/// Run claims over a pool whose database holds the `run_claims` table.
pub struct SqlRunClaims<DB: Database> {
    pool: Pool<DB>,
}

impl<DB: Database> SqlRunClaims<DB> {
    /// The claims in `pool`'s database, already migrated by the adapter that opened it.
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl<DB> RunClaims for SqlRunClaims<DB>
where
    DB: SqlDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    i64: for<'q> Encode<'q, DB> + Type<DB>,
{
    async fn claim(&self, run: &ScheduledRun, node: &str) -> Result<bool, BackendError> {
        let now = now_ms();
        // Forget runs scheduled over a day ago first, so a claim just made is never the one deleted.
        sqlx::query("DELETE FROM run_claims WHERE scheduled_ms < $1")
            .bind(now - CLAIMS_KEPT_MS)
            .execute(&self.pool)
            .await
            .map_err(BackendError::new)?;
        let done = sqlx::query(
            "INSERT INTO run_claims (host, app, cron, scheduled_ms, node, claimed_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(run.tenant.as_str())
        .bind(run.app.as_str())
        .bind(run.cron.as_str())
        .bind(run.scheduled_ms)
        .bind(node)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(BackendError::new)?;
        Ok(DB::rows_affected(&done) == 1)
    }
}
