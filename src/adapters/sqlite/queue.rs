//! The queue port on SQLite: queues and jobs in `queue.db` (`synchronous=FULL`: an acknowledged job survives a crash).
//!
//! Enqueues and removals of delivered jobs are group-committed, many per transaction. Every write goes through one
//! dedicated connection behind an async mutex; reads use the pool. Claims left by an earlier process are released when
//! the file is opened.

use super::migrate::now_ms;
use super::pool::{open_pool, Durability};
use crate::core::{DomainName, TenantScope};
use crate::ports::{
    Claimed, Failure, Job, JobStatus, PendingQueue, QueueConfig, QueueError, QueueStore,
};
use async_trait::async_trait;
use bytes::Bytes;
use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, Row, SqliteConnection, SqlitePool};
use std::path::Path;

const MIGRATIONS: &[(&str, &str)] = &[(
    "001_queue",
    include_str!("../../../migrations/sqlite/queue/001_queue.sql"),
)];

const JOB_COLUMNS: &str =
    "id, queue, body, status, enqueued_ms, attempts, next_ms, last_status, last_error";

pub struct SqliteQueue {
    pool: SqlitePool,
    /// The one connection that writes: writers take turns on it rather than in SQLite's busy handler (which sleeps
    /// and retries under contention), and skip the pool's per-acquire round trips.
    writer: tokio::sync::Mutex<SqliteConnection>,
    /// Delivered jobs waiting to be deleted together (`delivered`'s group commit).
    removals: std::sync::Mutex<Vec<Removal>>,
    /// Jobs waiting to be stored together (`enqueue`'s group commit).
    inserts: std::sync::Mutex<Vec<Insert>>,
}

/// A job to store and who to tell its id.
struct Insert {
    host: String,
    queue: String,
    body: Bytes,
    now_ms: i64,
    done: tokio::sync::oneshot::Sender<Result<i64, QueueError>>,
}

/// A delivered job to delete (tenant, queue, id) and who to tell when it is gone.
type Removal = (
    String,
    String,
    i64,
    tokio::sync::oneshot::Sender<Result<(), QueueError>>,
);

fn backend(e: sqlx::Error) -> QueueError {
    QueueError::Backend(e.to_string())
}

fn job_from(row: &SqliteRow) -> Result<Job, QueueError> {
    let status: String = row.try_get("status").map_err(backend)?;
    let body: Vec<u8> = row.try_get("body").map_err(backend)?;
    let last_status: Option<i64> = row.try_get("last_status").map_err(backend)?;
    Ok(Job {
        id: row.try_get("id").map_err(backend)?,
        queue: row.try_get("queue").map_err(backend)?,
        body: Bytes::from(body),
        status: JobStatus::parse(&status)
            .ok_or_else(|| QueueError::Backend(format!("unknown job status {status}")))?,
        enqueued_ms: row.try_get("enqueued_ms").map_err(backend)?,
        attempts: row.try_get::<i64, _>("attempts").map_err(backend)? as u32,
        next_attempt_ms: row.try_get("next_ms").map_err(backend)?,
        last_status: last_status.and_then(|s| u16::try_from(s).ok()),
        last_error: row.try_get("last_error").map_err(backend)?,
    })
}

fn config_from(row: &SqliteRow) -> Result<QueueConfig, QueueError> {
    Ok(QueueConfig {
        target: row.try_get("target").map_err(backend)?,
        secret: row.try_get("secret").map_err(backend)?,
        max_attempts: row.try_get::<i64, _>("max_attempts").map_err(backend)? as u32,
        backoff_ms: row.try_get::<i64, _>("backoff_ms").map_err(backend)? as u64,
        concurrency: row.try_get::<i64, _>("concurrency").map_err(backend)? as u32,
    })
}

impl SqliteQueue {
    /// Opens the queue database at `path`. Claims left by an earlier process are released, so every `READY` job is
    /// delivered again (at least once). That maintenance statement is the one not filtered on `host`: it only
    /// clears the `claimed` flag of every tenant's jobs, which only this process sets.
    pub async fn open(path: &Path) -> Result<Self, QueueError> {
        let pool = open_pool(path, Durability::Full, MIGRATIONS)
            .await
            .map_err(backend)?;
        sqlx::query("UPDATE queue_jobs SET claimed = 0 WHERE claimed = 1")
            .execute(&pool)
            .await
            .map_err(backend)?;
        let writer = pool.acquire().await.map_err(backend)?.detach();
        Ok(Self {
            pool,
            writer: tokio::sync::Mutex::new(writer),
            removals: std::sync::Mutex::new(Vec::new()),
            inserts: std::sync::Mutex::new(Vec::new()),
        })
    }

    async fn queue_exists(
        &self,
        scope: &TenantScope,
        name: &DomainName,
    ) -> Result<bool, QueueError> {
        let found: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM queues WHERE host = ? AND name = ?")
                .bind(scope.as_str())
                .bind(name.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        Ok(found.is_some())
    }

    async fn require_queue(
        &self,
        scope: &TenantScope,
        name: &DomainName,
    ) -> Result<(), QueueError> {
        if self.queue_exists(scope, name).await? {
            Ok(())
        } else {
            Err(QueueError::QueueNotFound)
        }
    }

    fn lock_removals(&self) -> std::sync::MutexGuard<'_, Vec<Removal>> {
        self.removals.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Deletes delivered jobs in one transaction (the caller holds the writer's turn).
    async fn remove_batch(
        &self,
        conn: &mut SqliteConnection,
        batch: &[Removal],
    ) -> Result<(), QueueError> {
        let mut tx = conn.begin().await.map_err(backend)?;
        for (host, queue, id, _) in batch {
            sqlx::query("DELETE FROM queue_jobs WHERE host = ? AND queue = ? AND id = ?")
                .bind(host)
                .bind(queue)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    fn lock_inserts(&self) -> std::sync::MutexGuard<'_, Vec<Insert>> {
        self.inserts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores enqueued jobs in one transaction (the caller holds the writer's turn): each gets a new id, or
    /// `QueueNotFound` when its queue does not exist. An SQL error fails the whole batch.
    async fn insert_batch(
        &self,
        conn: &mut SqliteConnection,
        batch: &[Insert],
    ) -> Result<Vec<Result<i64, QueueError>>, QueueError> {
        let mut tx = conn.begin().await.map_err(backend)?;
        let mut ids = Vec::with_capacity(batch.len());
        for insert in batch {
            let exists: Option<(i64,)> =
                sqlx::query_as("SELECT 1 FROM queues WHERE host = ? AND name = ?")
                    .bind(&insert.host)
                    .bind(&insert.queue)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
            if exists.is_none() {
                ids.push(Err(QueueError::QueueNotFound));
                continue;
            }
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO queue_ids (host, last_id) VALUES (?, 1) \
                 ON CONFLICT (host) DO UPDATE SET last_id = last_id + 1 RETURNING last_id",
            )
            .bind(&insert.host)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
            sqlx::query(
                "INSERT INTO queue_jobs (host, id, queue, body, status, enqueued_ms, next_ms) \
                 VALUES (?, ?, ?, ?, 'READY', ?, ?)",
            )
            .bind(&insert.host)
            .bind(id)
            .bind(&insert.queue)
            .bind(insert.body.as_ref())
            .bind(insert.now_ms)
            .bind(insert.now_ms)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            ids.push(Ok(id));
        }
        tx.commit().await.map_err(backend)?;
        Ok(ids)
    }

    /// The error for a job statement that touched no row: the queue or the job is missing.
    async fn missing_job(&self, scope: &TenantScope, name: &DomainName) -> QueueError {
        match self.require_queue(scope, name).await {
            Ok(()) => QueueError::JobNotFound,
            Err(e) => e,
        }
    }
}

#[async_trait]
impl QueueStore for SqliteQueue {
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), QueueError> {
        for name in self.list_queues(scope).await? {
            let name = DomainName::parse(&name).map_err(|e| QueueError::Backend(e.to_string()))?;
            match self.delete_queue(scope, &name).await {
                Ok(()) | Err(QueueError::QueueNotFound) => {}
                Err(e) => return Err(e),
            }
        }
        let mut conn = self.writer.lock().await;
        sqlx::query("DELETE FROM queue_ids WHERE host = ?")
            .bind(scope.as_str())
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn usage(&self, scope: &TenantScope) -> Result<u64, QueueError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM queue_jobs WHERE host = ?")
            .bind(scope.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(n.max(0) as u64)
    }

    async fn queue_config(
        &self,
        scope: &TenantScope,
        name: &DomainName,
    ) -> Result<QueueConfig, QueueError> {
        let row: Option<(String, Option<String>, i64, i64, i64)> = sqlx::query_as(
            "SELECT target, secret, max_attempts, backoff_ms, concurrency FROM queues WHERE host = ? AND name = ?",
        )
        .bind(scope.as_str())
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let (target, secret, max_attempts, backoff_ms, concurrency) =
            row.ok_or(QueueError::QueueNotFound)?;
        Ok(QueueConfig {
            target,
            secret,
            max_attempts: max_attempts.clamp(1, i64::from(u32::MAX)) as u32,
            backoff_ms: backoff_ms.max(0) as u64,
            concurrency: concurrency.clamp(1, i64::from(u32::MAX)) as u32,
        })
    }

    async fn list_queues(&self, scope: &TenantScope) -> Result<Vec<String>, QueueError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM queues WHERE host = ? ORDER BY name")
                .bind(scope.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    async fn create_queue(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        config: &QueueConfig,
    ) -> Result<(), QueueError> {
        let mut conn = self.writer.lock().await;
        let done = sqlx::query(
            "INSERT INTO queues (host, name, target, secret, max_attempts, backoff_ms, concurrency, created_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(scope.as_str())
        .bind(name.as_str())
        .bind(&config.target)
        .bind(&config.secret)
        .bind(i64::from(config.max_attempts.max(1)))
        .bind(i64::try_from(config.backoff_ms).unwrap_or(i64::MAX))
        .bind(i64::from(config.concurrency.max(1)))
        .bind(now_ms())
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(QueueError::QueueExists);
        }
        Ok(())
    }

    async fn delete_queue(&self, scope: &TenantScope, name: &DomainName) -> Result<(), QueueError> {
        let mut conn = self.writer.lock().await;
        let mut tx = conn.begin().await.map_err(backend)?;
        let done = sqlx::query("DELETE FROM queues WHERE host = ? AND name = ?")
            .bind(scope.as_str())
            .bind(name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(QueueError::QueueNotFound);
        }
        sqlx::query("DELETE FROM queue_jobs WHERE host = ? AND queue = ?")
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
        // Group commit, as for removals: one transaction (one sync to disk) for every enqueue waiting its turn.
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        self.lock_inserts().push(Insert {
            host: scope.as_str().to_string(),
            queue: name.to_string(),
            body,
            now_ms,
            done: done_tx,
        });
        {
            let mut conn = self.writer.lock().await;
            let batch = std::mem::take(&mut *self.lock_inserts());
            if !batch.is_empty() {
                match self.insert_batch(&mut conn, &batch).await {
                    Ok(ids) => {
                        for (insert, id) in batch.into_iter().zip(ids) {
                            let _ = insert.done.send(id);
                        }
                    }
                    Err(e) => {
                        for insert in batch {
                            let _ = insert.done.send(Err(e.clone()));
                        }
                    }
                }
            }
        }
        done_rx
            .await
            .unwrap_or_else(|_| Err(QueueError::Backend("enqueue was dropped".into())))
    }

    async fn restore_job(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        job: &Job,
    ) -> Result<i64, QueueError> {
        let mut conn = self.writer.lock().await;
        let mut tx = conn.begin().await.map_err(backend)?;
        let exists: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM queues WHERE host = ? AND name = ?")
                .bind(scope.as_str())
                .bind(name.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        if exists.is_none() {
            return Err(QueueError::QueueNotFound);
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO queue_ids (host, last_id) VALUES (?, 1) \
             ON CONFLICT (host) DO UPDATE SET last_id = last_id + 1 RETURNING last_id",
        )
        .bind(scope.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "INSERT INTO queue_jobs (host, id, queue, body, status, enqueued_ms, attempts, next_ms, last_status, last_error) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(scope.as_str())
        .bind(id)
        .bind(name.as_str())
        .bind(job.body.as_ref())
        .bind(job.status.as_str())
        .bind(job.enqueued_ms)
        .bind(i64::from(job.attempts))
        .bind(job.next_attempt_ms)
        .bind(job.last_status.map(i64::from))
        .bind(job.last_error.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(id)
    }

    async fn list_jobs(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        status: JobStatus,
    ) -> Result<Vec<Job>, QueueError> {
        self.require_queue(scope, name).await?;
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM queue_jobs WHERE host = ? AND queue = ? AND status = ? ORDER BY id"
        ))
        .bind(scope.as_str())
        .bind(name.as_str())
        .bind(status.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(job_from).collect()
    }

    async fn get_job(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<Job, QueueError> {
        let row = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM queue_jobs WHERE host = ? AND queue = ? AND id = ?"
        ))
        .bind(scope.as_str())
        .bind(name.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        match row {
            Some(row) => job_from(&row),
            None => Err(self.missing_job(scope, name).await),
        }
    }

    async fn cancel(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        let mut conn = self.writer.lock().await;
        let done = sqlx::query("DELETE FROM queue_jobs WHERE host = ? AND queue = ? AND id = ?")
            .bind(scope.as_str())
            .bind(name.as_str())
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(self.missing_job(scope, name).await);
        }
        Ok(())
    }

    async fn retry(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        let mut conn = self.writer.lock().await;
        let done = sqlx::query(
            "UPDATE queue_jobs SET status = 'READY', attempts = 0, next_ms = ? \
             WHERE host = ? AND queue = ? AND id = ?",
        )
        .bind(now_ms())
        .bind(scope.as_str())
        .bind(name.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(self.missing_job(scope, name).await);
        }
        Ok(())
    }

    async fn pending_queues(&self, scope: &TenantScope) -> Result<Vec<PendingQueue>, QueueError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT j.queue, MIN(j.next_ms), q.concurrency FROM queue_jobs j \
             JOIN queues q ON q.host = j.host AND q.name = j.queue \
             WHERE j.host = ? AND j.status = 'READY' AND j.claimed = 0 \
             GROUP BY j.queue ORDER BY j.queue",
        )
        .bind(scope.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter()
            .map(|(queue, next_due_ms, concurrency)| {
                Ok(PendingQueue {
                    name: DomainName::parse(&queue)
                        .map_err(|e| QueueError::Backend(e.to_string()))?,
                    next_due_ms,
                    concurrency: concurrency.max(1) as u32,
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
        let mut conn = self.writer.lock().await;
        let mut tx = conn.begin().await.map_err(backend)?;
        let rows = sqlx::query(&format!(
            "UPDATE queue_jobs SET claimed = 1 WHERE host = ?1 AND id IN \
               (SELECT id FROM queue_jobs WHERE host = ?1 AND queue = ?2 AND status = 'READY' \
                  AND claimed = 0 AND next_ms <= ?3 ORDER BY next_ms, id LIMIT ?4) \
             RETURNING {JOB_COLUMNS}"
        ))
        .bind(scope.as_str())
        .bind(name.as_str())
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        if rows.is_empty() {
            tx.commit().await.map_err(backend)?;
            return Ok(Vec::new());
        }
        let queue = sqlx::query("SELECT * FROM queues WHERE host = ? AND name = ?")
            .bind(scope.as_str())
            .bind(name.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let config = config_from(&queue)?;
        tx.commit().await.map_err(backend)?;
        let mut jobs = rows.iter().map(job_from).collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|j| (j.next_attempt_ms, j.id));
        Ok(jobs
            .into_iter()
            .map(|job| Claimed {
                job,
                config: config.clone(),
            })
            .collect())
    }

    async fn delivered(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        // Group commit: removals that arrive while another write runs are deleted together, in one transaction,
        // by whichever caller gets the writer's turn first; the others find their removal done.
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        self.lock_removals()
            .push((scope.as_str().to_string(), name.to_string(), id, done_tx));
        {
            let mut conn = self.writer.lock().await;
            let batch = std::mem::take(&mut *self.lock_removals());
            if !batch.is_empty() {
                let result = self.remove_batch(&mut conn, &batch).await;
                for (_, _, _, done) in batch {
                    let _ = done.send(result.clone());
                }
            }
        }
        done_rx
            .await
            .unwrap_or_else(|_| Err(QueueError::Backend("removal was dropped".into())))
    }

    async fn failed(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
        failure: &Failure,
    ) -> Result<(), QueueError> {
        let mut conn = self.writer.lock().await;
        sqlx::query(
            "UPDATE queue_jobs SET claimed = 0, attempts = attempts + 1, last_status = ?1, last_error = ?2, \
               status = CASE WHEN ?3 IS NULL THEN 'ERROR' ELSE 'READY' END, next_ms = COALESCE(?3, next_ms) \
             WHERE host = ?4 AND queue = ?5 AND id = ?6",
        )
        .bind(failure.status.map(i64::from))
        .bind(&failure.error)
        .bind(failure.retry_at_ms)
        .bind(scope.as_str())
        .bind(name.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
        Ok(())
    }
}
