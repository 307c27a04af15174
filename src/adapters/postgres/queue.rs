//! The queue port on PostgreSQL: queues and jobs shared by every nano node. Jobs are claimed with
//! `FOR UPDATE SKIP LOCKED`, so several nodes deliver without double-claiming; a claim names the claiming node, and
//! counts only while that node holds its advisory lock, so a node's claims end with it (at-least-once delivery).

use super::now_ms;
use super::pool::{connect, PgTarget};
use super::tenant;
use crate::core::{DomainName, TenantScope};
use crate::ports::{
    Claimed, Failure, Job, JobStatus, PendingQueue, QueueConfig, QueueError, QueueStore,
};
use async_trait::async_trait;
use bytes::Bytes;
use rand::Rng;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{PgPool, Postgres, Row, Transaction};

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "tenant_role",
        include_str!("../../../migrations/postgres/tenant_role.sql"),
    ),
    (
        "queue/001_queue",
        include_str!("../../../migrations/postgres/queue/001_queue.sql"),
    ),
];

/// First key of every node lock ("nano" in ASCII, 0x6e616e6f); the second is the node key.
const NODE_LOCK_CLASS: i32 = 1_851_879_023;

/// Jobs whose claim is void: unclaimed, or claimed by a node that no longer holds its lock.
const UNCLAIMED: &str = "(claimed_by IS NULL OR claimed_by::bigint NOT IN \
     (SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND classid = 1851879023::oid \
        AND objsubid = 2 AND granted))";

#[cfg(test)]
#[test]
fn node_lock_class_is_nano_in_ascii() {
    assert_eq!(NODE_LOCK_CLASS, 0x6e61_6e6f);
    assert!(UNCLAIMED.contains(&format!("classid = {NODE_LOCK_CLASS}::oid")));
}

const JOB_COLUMNS: &str =
    "id, queue, body, status, enqueued_ms, attempts, next_ms, last_status, last_error";

pub struct PgQueue {
    pool: PgPool,
    use_role: bool,
    /// This process's node key, locked on `_node` for as long as the store lives.
    node: i32,
    _node: PgConnection,
}

fn backend(e: sqlx::Error) -> QueueError {
    QueueError::Backend(e.to_string())
}

fn job_from(row: &PgRow) -> Result<Job, QueueError> {
    let status: String = row.try_get("status").map_err(backend)?;
    let body: Vec<u8> = row.try_get("body").map_err(backend)?;
    let last_status: Option<i32> = row.try_get("last_status").map_err(backend)?;
    Ok(Job {
        id: row.try_get("id").map_err(backend)?,
        queue: row.try_get("queue").map_err(backend)?,
        body: Bytes::from(body),
        status: JobStatus::parse(&status)
            .ok_or_else(|| QueueError::Backend(format!("unknown job status {status}")))?,
        enqueued_ms: row.try_get("enqueued_ms").map_err(backend)?,
        attempts: row.try_get::<i32, _>("attempts").map_err(backend)?.max(0) as u32,
        next_attempt_ms: row.try_get("next_ms").map_err(backend)?,
        last_status: last_status.and_then(|s| u16::try_from(s).ok()),
        last_error: row.try_get("last_error").map_err(backend)?,
    })
}

fn config_from(row: &PgRow) -> Result<QueueConfig, QueueError> {
    Ok(QueueConfig {
        target: row.try_get("target").map_err(backend)?,
        secret: row.try_get("secret").map_err(backend)?,
        max_attempts: row
            .try_get::<i32, _>("max_attempts")
            .map_err(backend)?
            .max(1) as u32,
        backoff_ms: row.try_get::<i64, _>("backoff_ms").map_err(backend)?.max(0) as u64,
        concurrency: row
            .try_get::<i32, _>("concurrency")
            .map_err(backend)?
            .max(1) as u32,
    })
}

async fn queue_exists(
    tx: &mut Transaction<'static, Postgres>,
    scope: &TenantScope,
    name: &DomainName,
) -> Result<bool, QueueError> {
    let found: Option<(i32,)> =
        sqlx::query_as("SELECT 1 FROM queues WHERE host = $1 AND name = $2")
            .bind(scope.as_str())
            .bind(name.as_str())
            .fetch_optional(&mut **tx)
            .await
            .map_err(backend)?;
    Ok(found.is_some())
}

async fn require_queue(
    tx: &mut Transaction<'static, Postgres>,
    scope: &TenantScope,
    name: &DomainName,
) -> Result<(), QueueError> {
    if queue_exists(tx, scope, name).await? {
        Ok(())
    } else {
        Err(QueueError::QueueNotFound)
    }
}

/// The error for a job statement that touched no row: the queue or the job is missing.
async fn missing_job(
    tx: &mut Transaction<'static, Postgres>,
    scope: &TenantScope,
    name: &DomainName,
) -> QueueError {
    match require_queue(tx, scope, name).await {
        Ok(()) => QueueError::JobNotFound,
        Err(e) => e,
    }
}

impl PgQueue {
    /// Connects, migrates and takes this node's lock. The error names the server, never the password.
    pub async fn open(target: &PgTarget) -> Result<Self, QueueError> {
        let pool = connect(target, MIGRATIONS)
            .await
            .map_err(QueueError::Backend)?;
        let use_role = tenant::needs_role(&pool).await.map_err(backend)?;
        let mut conn = pool.acquire().await.map_err(backend)?.detach();
        let node = loop {
            let key: i32 = rand::thread_rng().gen_range(1..i32::MAX);
            let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1, $2)")
                .bind(NODE_LOCK_CLASS)
                .bind(key)
                .fetch_one(&mut conn)
                .await
                .map_err(backend)?;
            if got {
                break key;
            }
        };
        Ok(Self {
            pool,
            use_role,
            node,
            _node: conn,
        })
    }

    async fn begin(
        &self,
        scope: &TenantScope,
    ) -> Result<Transaction<'static, Postgres>, QueueError> {
        tenant::begin(&self.pool, scope.as_str(), self.use_role)
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl QueueStore for PgQueue {
    async fn usage(&self, scope: &TenantScope) -> Result<u64, QueueError> {
        let mut tx = self.begin(scope).await?;
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM queue_jobs WHERE host = $1")
            .bind(scope.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(n.max(0) as u64)
    }

    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), QueueError> {
        tenant::purge(
            &self.pool,
            scope.as_str(),
            self.use_role,
            &["queue_jobs", "queues", "queue_ids"],
        )
        .await
        .map_err(backend)
    }

    async fn queue_config(
        &self,
        scope: &TenantScope,
        name: &DomainName,
    ) -> Result<QueueConfig, QueueError> {
        let mut tx = self.begin(scope).await?;
        let row: Option<(String, Option<String>, i32, i64, i32)> = sqlx::query_as(
            "SELECT target, secret, max_attempts, backoff_ms, concurrency FROM queues WHERE host = $1 AND name = $2",
        )
        .bind(scope.as_str())
        .bind(name.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        let (target, secret, max_attempts, backoff_ms, concurrency) =
            row.ok_or(QueueError::QueueNotFound)?;
        Ok(QueueConfig {
            target,
            secret,
            max_attempts: max_attempts.max(1) as u32,
            backoff_ms: backoff_ms.max(0) as u64,
            concurrency: concurrency.max(1) as u32,
        })
    }

    async fn list_queues(&self, scope: &TenantScope) -> Result<Vec<String>, QueueError> {
        let mut tx = self.begin(scope).await?;
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM queues WHERE host = $1 ORDER BY name COLLATE \"C\"")
                .bind(scope.as_str())
                .fetch_all(&mut *tx)
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
        let mut tx = self.begin(scope).await?;
        let done = sqlx::query(
            "INSERT INTO queues (host, name, target, secret, max_attempts, backoff_ms, concurrency, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(scope.as_str())
        .bind(name.as_str())
        .bind(&config.target)
        .bind(&config.secret)
        .bind(i32::try_from(config.max_attempts.max(1)).unwrap_or(i32::MAX))
        .bind(i64::try_from(config.backoff_ms).unwrap_or(i64::MAX))
        .bind(i32::try_from(config.concurrency.max(1)).unwrap_or(i32::MAX))
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(QueueError::QueueExists);
        }
        tx.commit().await.map_err(backend)
    }

    async fn delete_queue(&self, scope: &TenantScope, name: &DomainName) -> Result<(), QueueError> {
        let mut tx = self.begin(scope).await?;
        let done = sqlx::query("DELETE FROM queues WHERE host = $1 AND name = $2")
            .bind(scope.as_str())
            .bind(name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
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
        let mut tx = self.begin(scope).await?;
        // FOR SHARE: a concurrent delete_queue waits for this enqueue (or this enqueue sees the queue gone).
        let exists: Option<(i32,)> =
            sqlx::query_as("SELECT 1 FROM queues WHERE host = $1 AND name = $2 FOR SHARE")
                .bind(scope.as_str())
                .bind(name.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        if exists.is_none() {
            return Err(QueueError::QueueNotFound);
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO queue_ids (host, last_id) VALUES ($1, 1) \
             ON CONFLICT (host) DO UPDATE SET last_id = queue_ids.last_id + 1 RETURNING last_id",
        )
        .bind(scope.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "INSERT INTO queue_jobs (host, id, queue, body, status, enqueued_ms, next_ms) \
             VALUES ($1, $2, $3, $4, 'READY', $5, $5)",
        )
        .bind(scope.as_str())
        .bind(id)
        .bind(name.as_str())
        .bind(body.as_ref())
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(id)
    }

    async fn restore_job(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        job: &Job,
    ) -> Result<i64, QueueError> {
        let mut tx = self.begin(scope).await?;
        let exists: Option<(i32,)> =
            sqlx::query_as("SELECT 1 FROM queues WHERE host = $1 AND name = $2 FOR SHARE")
                .bind(scope.as_str())
                .bind(name.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        if exists.is_none() {
            return Err(QueueError::QueueNotFound);
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO queue_ids (host, last_id) VALUES ($1, 1) \
             ON CONFLICT (host) DO UPDATE SET last_id = queue_ids.last_id + 1 RETURNING last_id",
        )
        .bind(scope.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "INSERT INTO queue_jobs (host, id, queue, body, status, enqueued_ms, attempts, next_ms, last_status, last_error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(scope.as_str())
        .bind(id)
        .bind(name.as_str())
        .bind(job.body.as_ref())
        .bind(job.status.as_str())
        .bind(job.enqueued_ms)
        .bind(i32::try_from(job.attempts).unwrap_or(i32::MAX))
        .bind(job.next_attempt_ms)
        .bind(job.last_status.map(i32::from))
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
        let mut tx = self.begin(scope).await?;
        require_queue(&mut tx, scope, name).await?;
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM queue_jobs WHERE host = $1 AND queue = $2 AND status = $3 ORDER BY id"
        ))
        .bind(scope.as_str())
        .bind(name.as_str())
        .bind(status.as_str())
        .fetch_all(&mut *tx)
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
        let mut tx = self.begin(scope).await?;
        let row = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM queue_jobs WHERE host = $1 AND queue = $2 AND id = $3"
        ))
        .bind(scope.as_str())
        .bind(name.as_str())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        match row {
            Some(row) => job_from(&row),
            None => Err(missing_job(&mut tx, scope, name).await),
        }
    }

    async fn cancel(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        let mut tx = self.begin(scope).await?;
        let done = sqlx::query("DELETE FROM queue_jobs WHERE host = $1 AND queue = $2 AND id = $3")
            .bind(scope.as_str())
            .bind(name.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(missing_job(&mut tx, scope, name).await);
        }
        tx.commit().await.map_err(backend)
    }

    async fn retry(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        let mut tx = self.begin(scope).await?;
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
        if done.rows_affected() == 0 {
            return Err(missing_job(&mut tx, scope, name).await);
        }
        tx.commit().await.map_err(backend)
    }

    async fn pending_queues(&self, scope: &TenantScope) -> Result<Vec<PendingQueue>, QueueError> {
        let mut tx = self.begin(scope).await?;
        let rows: Vec<(String, i64, i32)> = sqlx::query_as(&format!(
            "SELECT j.queue, MIN(j.next_ms), MIN(q.concurrency) FROM queue_jobs j \
             JOIN queues q ON q.host = j.host AND q.name = j.queue \
             WHERE j.host = $1 AND j.status = 'READY' AND {UNCLAIMED} \
             GROUP BY j.queue ORDER BY j.queue"
        ))
        .bind(scope.as_str())
        .fetch_all(&mut *tx)
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
        let mut tx = self.begin(scope).await?;
        let rows = sqlx::query(&format!(
            "UPDATE queue_jobs SET claimed_by = $5 WHERE host = $1 AND id IN \
               (SELECT id FROM queue_jobs WHERE host = $1 AND queue = $2 AND status = 'READY' \
                  AND next_ms <= $3 AND {UNCLAIMED} ORDER BY next_ms, id LIMIT $4 \
                  FOR UPDATE SKIP LOCKED) \
             RETURNING {JOB_COLUMNS}"
        ))
        .bind(scope.as_str())
        .bind(name.as_str())
        .bind(now_ms)
        .bind(i64::from(limit))
        .bind(self.node)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        if rows.is_empty() {
            tx.commit().await.map_err(backend)?;
            return Ok(Vec::new());
        }
        let queue = sqlx::query("SELECT * FROM queues WHERE host = $1 AND name = $2")
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
        let mut tx = self.begin(scope).await?;
        sqlx::query("DELETE FROM queue_jobs WHERE host = $1 AND queue = $2 AND id = $3")
            .bind(scope.as_str())
            .bind(name.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn failed(
        &self,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
        failure: &Failure,
    ) -> Result<(), QueueError> {
        let mut tx = self.begin(scope).await?;
        sqlx::query(
            "UPDATE queue_jobs SET claimed_by = NULL, attempts = attempts + 1, last_status = $1, \
               last_error = $2, status = CASE WHEN $3::bigint IS NULL THEN 'ERROR' ELSE 'READY' END, \
               next_ms = COALESCE($3::bigint, next_ms) \
             WHERE host = $4 AND queue = $5 AND id = $6",
        )
        .bind(failure.status.map(i32::from))
        .bind(&failure.error)
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
