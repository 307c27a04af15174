//! The queue port on a SQL database: queues, jobs and claims in the tables that the `sqlite` and `postgres`
//! adapters' queue migrations create, written once for both. Every statement numbers its parameters `$1..$N`, which
//! PostgreSQL and sqlx's SQLite driver (binding `$N` to the N-th argument) read the same way. What the two databases
//! do differently is `QueueDatabase`: where writes run, how a claim is marked and skipped, the tables' integer type,
//! PostgreSQL's tenant confinement (`queue/sqlite.rs`, `queue/postgres.rs`).

use crate::ports::BackendError;
mod postgres;
mod sqlite;

pub use postgres::Confine;

use super::SqlDatabase;
use crate::core::clock::now_ms;
use crate::core::{DomainName, TenantId, TenantScope};
use crate::ports::{
    Claimed, Failure, Job, JobCounts, JobStatus, PendingQueue, QueueConfig, QueueError, QueueScan,
    QueueStore,
};
use async_trait::async_trait;
use bytes::Bytes;
use sqlx::{Connection, Encode, Executor, FromRow, IntoArguments, Pool, Transaction, Type};
use std::ops::DerefMut;

/// A job's columns, in `JobRow`'s order.
const JOB_COLUMNS: &str =
    "id, queue, body, status, enqueued_ms, attempts, next_ms, last_status, last_error";

/// Stores a job under an id drawn before (`draw_id_sql`).
const INSERT_JOB: &str =
    "INSERT INTO queue_jobs (host, id, queue, body, status, enqueued_ms, attempts, next_ms, \
     last_status, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Deletes one job of a queue.
const DELETE_JOB: &str = "DELETE FROM queue_jobs WHERE host = $1 AND queue = $2 AND id = $3";

/// A queue's delivery settings (`ConfigRow`).
const QUEUE_CONFIG: &str =
    "SELECT target, secret, max_attempts, backoff_ms, concurrency FROM queues WHERE host = $1 AND name = $2";

/// Draws the tenant's next job id (`$1` the tenant, `$2` the queue), checking the queue exists (and locking its row,
/// `QUEUE_ROW_LOCK`) in the same statement: no id comes back when the queue does not exist.
fn draw_id_sql<DB: QueueDatabase>() -> String {
    format!(
        "INSERT INTO queue_ids (host, last_id) \
         SELECT $1, 1 WHERE EXISTS (SELECT 1 FROM queues WHERE host = $1 AND name = $2{lock}) \
         ON CONFLICT (host) DO UPDATE SET last_id = queue_ids.last_id + 1 RETURNING last_id",
        lock = DB::QUEUE_ROW_LOCK,
    )
}

/// Claims up to `$4` due `READY` jobs of queue `$2` of tenant `$1` at `$3` for claimer `$5`, returning their
/// `JOB_COLUMNS`; `unclaimed` is the database's condition for a job nobody holds (`QueueDatabase::unclaimed`).
fn claim_sql<DB: QueueDatabase>(unclaimed: &str) -> String {
    format!(
        "UPDATE queue_jobs SET {claim} = $5 WHERE host = $1 AND id IN \
           (SELECT id FROM queue_jobs WHERE host = $1 AND queue = $2 AND status = 'READY' \
              AND next_ms <= $3 AND {unclaimed} ORDER BY next_ms, id LIMIT $4 {skip_locked}) \
         RETURNING {JOB_COLUMNS}",
        claim = DB::CLAIM_COLUMN,
        skip_locked = DB::SKIP_LOCKED,
    )
}

/// A job as stored (`JOB_COLUMNS`), `I` being the database's integer type.
type JobRow<I> = (
    i64,
    String,
    Vec<u8>,
    String,
    i64,
    I,
    i64,
    Option<I>,
    Option<String>,
);

/// A queue's delivery settings as stored: target, secret, max_attempts, backoff_ms, concurrency.
type ConfigRow<I> = (String, Option<String>, I, i64, I);

/// A queue with unclaimed `READY` jobs: its name, their earliest `next_ms`, its concurrency.
type PendingRow<I> = (String, i64, I);

/// Whether a write's commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Synced before the write returns: every write a caller is answered for (enqueues, queue and job changes,
    /// failed attempts).
    Synced,
    /// Not synced: claims, which do not outlive the process (or the node's lease) anyway, and removals of delivered
    /// jobs, which, lost with the power, only cost a delivery more (at least once). Both survive a crash of nano.
    Unsynced,
}

/// What the queue does differently on each database (implemented for SQLite and PostgreSQL).
#[async_trait]
pub trait QueueDatabase: SqlDatabase {
    /// What a store holds besides its pool: SQLite's writer connection and the writes waiting for it; PostgreSQL's
    /// tenant confinement and node lock.
    type State: Send + Sync + 'static;
    /// The Rust type of the tables' `INTEGER` columns (attempts, settings, statuses): `i64` on SQLite, `i32` on
    /// PostgreSQL.
    type Int: for<'q> Encode<'q, Self>
        + Type<Self>
        + Into<i64>
        + From<u16>
        + Copy
        + Send
        + Sync
        + Unpin
        + 'static;
    /// The connection a write runs on: SQLite's one writer, held for the write (writers take turns); any pooled
    /// connection on PostgreSQL.
    type Writer<'a>: DerefMut<Target = Self::Connection> + Send
    where
        Self: 'a;

    /// Orders text by its bytes (`list_queues`).
    const BYTEWISE: &'static str;
    /// Locks a queue's row while a job is added to it, so that a concurrent `delete_queue` waits (PostgreSQL's
    /// `FOR SHARE`; SQLite's writer runs one write at a time anyway).
    const QUEUE_ROW_LOCK: &'static str;
    /// The column that marks a job as being delivered: a claim sets it to `claimer`, `failed` to `NO_CLAIM`.
    const CLAIM_COLUMN: &'static str;
    /// `CLAIM_COLUMN` of a job given back.
    const NO_CLAIM: &'static str;
    /// A condition true of the jobs nobody is delivering (their claim is void).
    fn unclaimed(state: &Self::State) -> String;
    /// Ends a claim's choice of jobs: PostgreSQL skips the jobs another node is claiming at that moment; SQLite has
    /// one writer.
    const SKIP_LOCKED: &'static str;

    /// `n` as a column value (saturating where the type is narrower).
    fn int(n: u32) -> Self::Int;
    /// What this store's claims write to `CLAIM_COLUMN`: SQLite's flag 1, PostgreSQL's node key.
    fn claimer(state: &Self::State) -> Self::Int;
    /// Takes the connection for a write (on SQLite, waits for the writer's turn) that commits as `commit` says
    /// (SQLite sets the writer's `synchronous` level here, outside any transaction).
    async fn writer<'a>(
        store: &'a SqlQueue<Self>,
        commit: Commit,
    ) -> Result<Self::Writer<'a>, QueueError>;
    /// Makes a transaction just begun commit without waiting for the disk (`Commit::Unsynced`): PostgreSQL's
    /// `synchronous_commit = off` for this transaction; nothing on SQLite, whose writer is set already.
    async fn unsynced(conn: &mut Self::Connection) -> Result<(), QueueError>;
    /// Opens a transaction just begun to `QueueScan::due_tenants`, its one read across tenants: on PostgreSQL the
    /// `due_scan` policy, which shows every tenant's jobs to this transaction alone; nothing on SQLite.
    async fn confine_scan(
        state: &Self::State,
        conn: &mut Self::Connection,
    ) -> Result<(), QueueError>;
    /// `confine` for a purge, which runs after the tenant was marked deleted: PostgreSQL skips the deletion check.
    async fn confine_purge(
        state: &Self::State,
        conn: &mut Self::Connection,
        scope: &TenantScope,
    ) -> Result<(), QueueError>;
    /// Confines a transaction just begun to the scope's tenant: PostgreSQL's row-level security, after checking the
    /// tenant is not being deleted (`postgres::tenant`); nothing on SQLite.
    async fn confine(
        state: &Self::State,
        conn: &mut Self::Connection,
        scope: &TenantScope,
    ) -> Result<(), QueueError>;
    /// Stores a new job (`SqlQueue::insert_job`): in a transaction of its own on PostgreSQL, in one with every
    /// enqueue waiting for the writer on SQLite.
    async fn enqueue(
        store: &SqlQueue<Self>,
        scope: &TenantScope,
        name: &DomainName,
        job: Job,
    ) -> Result<i64, QueueError>;
    /// Claims up to `limit` due jobs of the queue (`SqlQueue::claim_on_writer` on PostgreSQL; on SQLite's own
    /// writer connection).
    async fn claim(
        store: &SqlQueue<Self>,
        scope: &TenantScope,
        name: &DomainName,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<Claimed>, QueueError>;
    /// Deletes a delivered job, in a transaction alone or (SQLite) with every removal waiting for the writer.
    async fn delivered(
        store: &SqlQueue<Self>,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError>;
}

/// The queue over a pool whose database holds the queue's tables, with what its database needs besides.
pub struct SqlQueue<DB: QueueDatabase> {
    pool: Pool<DB>,
    state: DB::State,
}

fn backend(e: sqlx::Error) -> QueueError {
    QueueError::Backend(BackendError::new(e))
}

fn job_from<I: Into<i64>>(
    (id, queue, body, status, enqueued_ms, attempts, next_ms, last_status, last_error): JobRow<I>,
) -> Result<Job, QueueError> {
    Ok(Job {
        id,
        queue,
        body: Bytes::from(body),
        status: JobStatus::parse(&status).ok_or_else(|| {
            QueueError::Backend(BackendError::msg(format!("unknown job status {status}")))
        })?,
        enqueued_ms,
        attempts: attempts.into().max(0) as u32,
        next_attempt_ms: next_ms,
        last_status: last_status.and_then(|s| u16::try_from(s.into()).ok()),
        last_error,
    })
}

fn config_from<I: Into<i64>>(
    (target, secret, max_attempts, backoff_ms, concurrency): ConfigRow<I>,
) -> QueueConfig {
    QueueConfig {
        target,
        secret,
        max_attempts: at_least_one(max_attempts.into()),
        backoff_ms: backoff_ms.max(0) as u64,
        concurrency: at_least_one(concurrency.into()),
    }
}

/// A stored setting that is at least 1 (`max_attempts`, `concurrency`).
fn at_least_one(n: i64) -> u32 {
    n.clamp(1, i64::from(u32::MAX)) as u32
}

/// Claimed jobs, in the order they fell due, each with its queue's settings.
fn claimed<I: Into<i64>>(
    rows: Vec<JobRow<I>>,
    config: QueueConfig,
) -> Result<Vec<Claimed>, QueueError> {
    let mut jobs = rows
        .into_iter()
        .map(job_from)
        .collect::<Result<Vec<_>, _>>()?;
    jobs.sort_by_key(|j| (j.next_attempt_ms, j.id));
    Ok(jobs
        .into_iter()
        .map(|job| Claimed {
            job,
            config: config.clone(),
        })
        .collect())
}

/// A job just enqueued: `READY`, due now, stamped with `now_ms`.
fn new_job(name: &DomainName, body: Bytes, now_ms: i64) -> Job {
    Job {
        id: 0,
        queue: name.to_string(),
        body,
        status: JobStatus::Ready,
        enqueued_ms: now_ms,
        attempts: 0,
        next_attempt_ms: now_ms,
        last_status: None,
        last_error: None,
    }
}

impl<DB> SqlQueue<DB>
where
    DB: QueueDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    i64: for<'q> Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    Option<i64>: for<'q> Encode<'q, DB>,
    Option<DB::Int>: for<'q> Encode<'q, DB>,
    (i64,): for<'r> FromRow<'r, DB::Row>,
    (String,): for<'r> FromRow<'r, DB::Row>,
    (String, i64): for<'r> FromRow<'r, DB::Row>,
    JobRow<DB::Int>: for<'r> FromRow<'r, DB::Row>,
    ConfigRow<DB::Int>: for<'r> FromRow<'r, DB::Row>,
    PendingRow<DB::Int>: for<'r> FromRow<'r, DB::Row>,
{
    /// A transaction for reads, on any pooled connection, confined to the scope's tenant.
    async fn begin_read(
        &self,
        scope: &TenantScope,
    ) -> Result<Transaction<'static, DB>, QueueError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        DB::confine(&self.state, &mut tx, scope).await?;
        Ok(tx)
    }

    /// A transaction on a write's connection (`QueueDatabase::writer`), confined to the scope's tenant, committing
    /// as `commit` says.
    async fn begin_write<'t>(
        &self,
        writer: &'t mut DB::Writer<'_>,
        scope: &TenantScope,
        commit: Commit,
    ) -> Result<Transaction<'t, DB>, QueueError> {
        let mut tx = writer.begin().await.map_err(backend)?;
        DB::confine(&self.state, &mut tx, scope).await?;
        if commit == Commit::Unsynced {
            DB::unsynced(&mut tx).await?;
        }
        Ok(tx)
    }

    /// Whether the scope's tenant has the queue.
    async fn has_queue(
        conn: &mut DB::Connection,
        scope: &TenantScope,
        name: &DomainName,
    ) -> Result<bool, QueueError> {
        let found = sqlx::query("SELECT 1 FROM queues WHERE host = $1 AND name = $2")
            .bind(scope.as_str())
            .bind(name.as_str())
            .fetch_optional(conn)
            .await
            .map_err(backend)?;
        Ok(found.is_some())
    }

    /// The error for a job statement that touched no row: the queue or the job is missing.
    async fn missing_job(
        conn: &mut DB::Connection,
        scope: &TenantScope,
        name: &DomainName,
    ) -> QueueError {
        match Self::has_queue(conn, scope, name).await {
            Ok(true) => QueueError::JobNotFound,
            Ok(false) => QueueError::QueueNotFound,
            Err(e) => e,
        }
    }

    /// The queue's delivery settings, if the tenant has the queue.
    async fn config(
        conn: &mut DB::Connection,
        scope: &TenantScope,
        name: &DomainName,
    ) -> Result<Option<QueueConfig>, QueueError> {
        let row: Option<ConfigRow<DB::Int>> = sqlx::query_as(QUEUE_CONFIG)
            .bind(scope.as_str())
            .bind(name.as_str())
            .fetch_optional(conn)
            .await
            .map_err(backend)?;
        Ok(row.map(config_from))
    }

    /// Stores `job` (all but its id and queue name) in the queue under a new id, or fails with `QueueNotFound`.
    async fn insert_job(
        conn: &mut DB::Connection,
        scope: &TenantScope,
        name: &DomainName,
        job: &Job,
    ) -> Result<i64, QueueError> {
        let drawn: Option<(i64,)> = sqlx::query_as(&draw_id_sql::<DB>())
            .bind(scope.as_str())
            .bind(name.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
        let Some((id,)) = drawn else {
            return Err(QueueError::QueueNotFound);
        };
        sqlx::query(INSERT_JOB)
            .bind(scope.as_str())
            .bind(id)
            .bind(name.as_str())
            .bind(job.body.as_ref())
            .bind(job.status.as_str())
            .bind(job.enqueued_ms)
            .bind(DB::int(job.attempts))
            .bind(job.next_attempt_ms)
            .bind(job.last_status.map(DB::Int::from))
            .bind(job.last_error.as_deref())
            .execute(conn)
            .await
            .map_err(backend)?;
        Ok(id)
    }

    /// `insert_job` in a transaction of its own.
    async fn insert_one(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        job: &Job,
    ) -> Result<i64, QueueError> {
        let mut writer = DB::writer(self, Commit::Synced).await?;
        let mut tx = self.begin_write(&mut writer, scope, Commit::Synced).await?;
        let id = Self::insert_job(&mut tx, scope, name, job).await?;
        tx.commit().await.map_err(backend)?;
        Ok(id)
    }

    /// Claims up to `limit` due jobs of the queue in a transaction of its own on a write's connection.
    async fn claim_on_writer(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<Claimed>, QueueError> {
        let mut writer = DB::writer(self, Commit::Unsynced).await?;
        let mut tx = self
            .begin_write(&mut writer, scope, Commit::Unsynced)
            .await?;
        let rows: Vec<JobRow<DB::Int>> =
            sqlx::query_as(&claim_sql::<DB>(&DB::unclaimed(&self.state)))
                .bind(scope.as_str())
                .bind(name.as_str())
                .bind(now_ms)
                .bind(i64::from(limit))
                .bind(DB::claimer(&self.state))
                .fetch_all(&mut *tx)
                .await
                .map_err(backend)?;
        if rows.is_empty() {
            tx.commit().await.map_err(backend)?;
            return Ok(Vec::new());
        }
        let config = Self::config(&mut tx, scope, name)
            .await?
            .ok_or_else(|| backend(sqlx::Error::RowNotFound))?;
        tx.commit().await.map_err(backend)?;
        claimed(rows, config)
    }

    /// Deletes a job; how many rows went (0 or 1).
    async fn delete_job(
        conn: &mut DB::Connection,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<u64, QueueError> {
        let done = sqlx::query(DELETE_JOB)
            .bind(scope.as_str())
            .bind(name.as_str())
            .bind(id)
            .execute(conn)
            .await
            .map_err(backend)?;
        Ok(DB::rows_affected(&done))
    }
}

#[async_trait]
impl<DB> QueueStore for SqlQueue<DB>
where
    DB: QueueDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    i64: for<'q> Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    Option<i64>: for<'q> Encode<'q, DB>,
    Option<DB::Int>: for<'q> Encode<'q, DB>,
    (i64,): for<'r> FromRow<'r, DB::Row>,
    (String,): for<'r> FromRow<'r, DB::Row>,
    (String, i64): for<'r> FromRow<'r, DB::Row>,
    JobRow<DB::Int>: for<'r> FromRow<'r, DB::Row>,
    ConfigRow<DB::Int>: for<'r> FromRow<'r, DB::Row>,
    PendingRow<DB::Int>: for<'r> FromRow<'r, DB::Row>,
{
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), QueueError> {
        let mut writer = DB::writer(self, Commit::Synced).await?;
        let mut tx = writer.begin().await.map_err(backend)?;
        DB::confine_purge(&self.state, &mut tx, scope).await?;
        for table in ["queue_jobs", "queues", "queue_ids"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE host = $1"))
                .bind(scope.as_str())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn usage(&self, scope: &TenantScope) -> Result<u64, QueueError> {
        let mut tx = self.begin_read(scope).await?;
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM queue_jobs WHERE host = $1")
            .bind(scope.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(n.max(0) as u64)
    }

    async fn queue_config(
        &self,
        scope: &TenantScope,
        name: &DomainName,
    ) -> Result<QueueConfig, QueueError> {
        let mut tx = self.begin_read(scope).await?;
        let config = Self::config(&mut tx, scope, name).await?;
        tx.commit().await.map_err(backend)?;
        config.ok_or(QueueError::QueueNotFound)
    }

    async fn list_queues(&self, scope: &TenantScope) -> Result<Vec<String>, QueueError> {
        let mut tx = self.begin_read(scope).await?;
        let rows: Vec<(String,)> = sqlx::query_as(&format!(
            "SELECT name FROM queues WHERE host = $1 ORDER BY name {}",
            DB::BYTEWISE
        ))
        .bind(scope.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    async fn create_queue(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        config: &QueueConfig,
    ) -> Result<(), QueueError> {
        let mut writer = DB::writer(self, Commit::Synced).await?;
        let mut tx = self.begin_write(&mut writer, scope, Commit::Synced).await?;
        let done = sqlx::query(
            "INSERT INTO queues (host, name, target, secret, max_attempts, backoff_ms, concurrency, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(scope.as_str())
        .bind(name.as_str())
        .bind(config.target.as_str())
        .bind(config.secret.as_deref())
        .bind(DB::int(config.max_attempts.max(1)))
        .bind(i64::try_from(config.backoff_ms).unwrap_or(i64::MAX))
        .bind(DB::int(config.concurrency.max(1)))
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if DB::rows_affected(&done) == 0 {
            return Err(QueueError::QueueExists);
        }
        tx.commit().await.map_err(backend)
    }

    async fn delete_queue(&self, scope: &TenantScope, name: &DomainName) -> Result<(), QueueError> {
        let mut writer = DB::writer(self, Commit::Synced).await?;
        let mut tx = self.begin_write(&mut writer, scope, Commit::Synced).await?;
        let done = sqlx::query("DELETE FROM queues WHERE host = $1 AND name = $2")
            .bind(scope.as_str())
            .bind(name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if DB::rows_affected(&done) == 0 {
            return Err(QueueError::QueueNotFound);
        }
        sqlx::query("DELETE FROM queue_jobs WHERE host = $1 AND queue = $2")
            .bind(scope.as_str())
            .bind(name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn enqueue(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        body: Bytes,
        now_ms: i64,
    ) -> Result<i64, QueueError> {
        DB::enqueue(self, scope, name, new_job(name, body, now_ms)).await
    }

    async fn restore_job(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        job: &Job,
    ) -> Result<i64, QueueError> {
        self.insert_one(scope, name, job).await
    }

    async fn list_jobs(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        status: JobStatus,
    ) -> Result<Vec<Job>, QueueError> {
        let mut tx = self.begin_read(scope).await?;
        if !Self::has_queue(&mut tx, scope, name).await? {
            return Err(QueueError::QueueNotFound);
        }
        let rows: Vec<JobRow<DB::Int>> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM queue_jobs WHERE host = $1 AND queue = $2 AND status = $3 ORDER BY id"
        ))
        .bind(scope.as_str())
        .bind(name.as_str())
        .bind(status.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        rows.into_iter().map(job_from).collect()
    }

    async fn get_job(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<Job, QueueError> {
        let mut tx = self.begin_read(scope).await?;
        let row: Option<JobRow<DB::Int>> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM queue_jobs WHERE host = $1 AND queue = $2 AND id = $3"
        ))
        .bind(scope.as_str())
        .bind(name.as_str())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        match row {
            Some(row) => {
                tx.commit().await.map_err(backend)?;
                job_from(row)
            }
            None => Err(Self::missing_job(&mut tx, scope, name).await),
        }
    }

    async fn job_counts(
        &self,
        scope: &TenantScope,
        name: &DomainName,
    ) -> Result<JobCounts, QueueError> {
        let mut tx = self.begin_read(scope).await?;
        if !Self::has_queue(&mut tx, scope, name).await? {
            return Err(QueueError::QueueNotFound);
        }
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT status, COUNT(*) FROM queue_jobs WHERE host = $1 AND queue = $2 GROUP BY status",
        )
        .bind(scope.as_str())
        .bind(name.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        let mut counts = JobCounts::default();
        for (status, n) in rows {
            let n = n.max(0) as u64;
            match JobStatus::parse(&status) {
                Some(JobStatus::Ready) => counts.ready = n,
                Some(JobStatus::Error) => counts.error = n,
                None => {}
            }
        }
        Ok(counts)
    }

    async fn cancel(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        let mut writer = DB::writer(self, Commit::Synced).await?;
        let mut tx = self.begin_write(&mut writer, scope, Commit::Synced).await?;
        if Self::delete_job(&mut tx, scope, name, id).await? == 0 {
            return Err(Self::missing_job(&mut tx, scope, name).await);
        }
        tx.commit().await.map_err(backend)
    }

    async fn retry(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        let mut writer = DB::writer(self, Commit::Synced).await?;
        let mut tx = self.begin_write(&mut writer, scope, Commit::Synced).await?;
        let done = sqlx::query(
            "UPDATE queue_jobs SET status = 'READY', attempts = 0, next_ms = $1 \
             WHERE host = $2 AND queue = $3 AND id = $4",
        )
        .bind(now_ms())
        .bind(scope.as_str())
        .bind(name.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if DB::rows_affected(&done) == 0 {
            return Err(Self::missing_job(&mut tx, scope, name).await);
        }
        tx.commit().await.map_err(backend)
    }

    async fn pending_queues(&self, scope: &TenantScope) -> Result<Vec<PendingQueue>, QueueError> {
        let mut tx = self.begin_read(scope).await?;
        let rows: Vec<PendingRow<DB::Int>> = sqlx::query_as(&format!(
            "SELECT j.queue, MIN(j.next_ms), MIN(q.concurrency) FROM queue_jobs j \
             JOIN queues q ON q.host = j.host AND q.name = j.queue \
             WHERE j.host = $1 AND j.status = 'READY' AND {} \
             GROUP BY j.queue ORDER BY j.queue",
            DB::unclaimed(&self.state)
        ))
        .bind(scope.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        rows.into_iter()
            .map(|(queue, next_due_ms, concurrency)| {
                Ok(PendingQueue {
                    name: DomainName::parse(&queue)
                        .map_err(|e| QueueError::Backend(BackendError::new(e)))?,
                    next_due_ms,
                    concurrency: at_least_one(concurrency.into()),
                })
            })
            .collect()
    }

    async fn claim(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<Claimed>, QueueError> {
        DB::claim(self, scope, name, now_ms, limit).await
    }

    async fn delivered(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        DB::delivered(self, scope, name, id).await
    }

    async fn failed(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
        failure: &Failure,
    ) -> Result<(), QueueError> {
        let mut writer = DB::writer(self, Commit::Synced).await?;
        let mut tx = self.begin_write(&mut writer, scope, Commit::Synced).await?;
        sqlx::query(&format!(
            "UPDATE queue_jobs SET {claim} = {no_claim}, attempts = attempts + 1, last_status = $1, \
               last_error = $2, status = CASE WHEN CAST($3 AS BIGINT) IS NULL THEN 'ERROR' ELSE 'READY' END, \
               next_ms = COALESCE(CAST($3 AS BIGINT), next_ms) \
             WHERE host = $4 AND queue = $5 AND id = $6",
            claim = DB::CLAIM_COLUMN,
            no_claim = DB::NO_CLAIM,
        ))
        .bind(failure.status.map(DB::Int::from))
        .bind(failure.error.as_str())
        .bind(failure.retry_at_ms)
        .bind(scope.as_str())
        .bind(name.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }
}

#[async_trait]
impl<DB> QueueScan for SqlQueue<DB>
where
    DB: QueueDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: for<'q> Encode<'q, DB> + Type<DB>,
    (String,): for<'r> FromRow<'r, DB::Row>,
{
    /// One query over the `READY` jobs due (the `queue_jobs_ready` index on PostgreSQL), naming tenants only.
    async fn due_tenants(&self, now_ms: i64) -> Result<Vec<TenantId>, QueueError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        DB::confine_scan(&self.state, &mut tx).await?;
        let rows: Vec<(String,)> = sqlx::query_as(&format!(
            "SELECT DISTINCT host FROM queue_jobs WHERE status = 'READY' AND next_ms <= $1 AND {}",
            DB::unclaimed(&self.state)
        ))
        .bind(now_ms)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(rows
            .into_iter()
            .filter_map(|(host,)| TenantId::parse(&host).ok())
            .collect())
    }
}
