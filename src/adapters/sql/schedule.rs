//! The run-claims port on a SQL database: the `run_claims` table that the `sqlite` and `postgres` adapters' schedule
//! migrations create. A claim is a row only one insert can make (its key is the run), owned by the adapter
//! instance's random `claimer` token; an unstarted claim older than the takeover time is taken by one conditional
//! update, and `start` is one update conditional on the claimer, so exactly one instance starts each run. `$N`
//! parameters as in the registry. Times are the claiming node's clock (`now_ms`).

use super::SqlDatabase;
use crate::core::clock::now_ms;
use crate::ports::{BackendError, Claim, RunClaims, ScheduledRun};
use async_trait::async_trait;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};
use std::time::Duration;

/// How long a claim is kept after its run's scheduled time: far longer than any node's cron loop can lag behind.
pub const CLAIMS_KEPT_MS: i64 = 24 * 60 * 60 * 1000;

/// The condition naming one run's row (parameters `$1..$4`).
const THE_RUN: &str = "host = $1 AND app = $2 AND cron = $3 AND scheduled_ms = $4";

/// Run claims over a pool whose database holds the `run_claims` table: one node's.
pub struct SqlRunClaims<DB: Database> {
    pool: Pool<DB>,
    /// How old an unstarted claim must be for this node to take it over.
    takeover_ms: i64,
    /// This instance's token in the claims it makes.
    claimer: String,
}

impl<DB: Database> SqlRunClaims<DB> {
    /// The claims in `pool`'s database, already migrated by the adapter that opened it, for one node that takes over
    /// claims left unstarted for `takeover`.
    pub fn new(pool: Pool<DB>, takeover: Duration) -> Self {
        Self {
            pool,
            takeover_ms: i64::try_from(takeover.as_millis()).unwrap_or(i64::MAX / 2),
            claimer: format!("{:016x}", rand::random::<u64>()),
        }
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
    (i64, Option<i64>): for<'r> FromRow<'r, DB::Row>,
{
    async fn claim(&self, run: &ScheduledRun, node: &str) -> Result<Claim, BackendError> {
        let now = now_ms();
        // Forget runs scheduled over a day ago first, so a claim just made is never the one deleted.
        sqlx::query("DELETE FROM run_claims WHERE scheduled_ms < $1")
            .bind(now - CLAIMS_KEPT_MS)
            .execute(&self.pool)
            .await
            .map_err(BackendError::new)?;
        let done = sqlx::query(
            "INSERT INTO run_claims (host, app, cron, scheduled_ms, node, claimed_ms, claimer) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(run.tenant.as_str())
        .bind(run.app.as_str())
        .bind(run.cron.as_str())
        .bind(run.scheduled_ms)
        .bind(node)
        .bind(now)
        .bind(self.claimer.as_str())
        .execute(&self.pool)
        .await
        .map_err(BackendError::new)?;
        if DB::rows_affected(&done) == 1 {
            return Ok(Claim::Won);
        }
        let taken = sqlx::query(&format!(
            "UPDATE run_claims SET node = $5, claimed_ms = $6, claimer = $7 \
             WHERE {THE_RUN} AND started_ms IS NULL AND claimed_ms <= $8"
        ))
        .bind(run.tenant.as_str())
        .bind(run.app.as_str())
        .bind(run.cron.as_str())
        .bind(run.scheduled_ms)
        .bind(node)
        .bind(now)
        .bind(self.claimer.as_str())
        .bind(now.saturating_sub(self.takeover_ms))
        .execute(&self.pool)
        .await
        .map_err(BackendError::new)?;
        if DB::rows_affected(&taken) == 1 {
            return Ok(Claim::Won);
        }
        let row: Option<(i64, Option<i64>)> = sqlx::query_as(&format!(
            "SELECT claimed_ms, started_ms FROM run_claims WHERE {THE_RUN}"
        ))
        .bind(run.tenant.as_str())
        .bind(run.app.as_str())
        .bind(run.cron.as_str())
        .bind(run.scheduled_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(BackendError::new)?;
        Ok(match row {
            Some((_, Some(_))) => Claim::Started,
            Some((claimed_ms, None)) => Claim::Held {
                retry_at_ms: claimed_ms.saturating_add(self.takeover_ms),
            },
            // Forgotten between the two statements (scheduled over a day ago): nothing to run.
            None => Claim::Started,
        })
    }

    async fn start(&self, run: &ScheduledRun) -> Result<bool, BackendError> {
        let done = sqlx::query(&format!(
            "UPDATE run_claims SET started_ms = $5 WHERE {THE_RUN} AND claimer = $6 AND started_ms IS NULL"
        ))
        .bind(run.tenant.as_str())
        .bind(run.app.as_str())
        .bind(run.cron.as_str())
        .bind(run.scheduled_ms)
        .bind(now_ms())
        .bind(self.claimer.as_str())
        .execute(&self.pool)
        .await
        .map_err(BackendError::new)?;
        Ok(DB::rows_affected(&done) == 1)
    }
}
