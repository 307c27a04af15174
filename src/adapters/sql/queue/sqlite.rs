//! The queue on SQLite (`queue.db`, opened by the sqlite adapter). Writers take turns, one at a time. The hot writes
//! (enqueues, removals of delivered jobs, claims) run on a rusqlite connection, a batch in one call on a blocking
//! thread, statement after statement with prepared statements cached; the rarer writes written once for both
//! databases (queue changes, failed attempts, cancels, retries, purges) run on a sqlx connection. Enqueues and
//! removals that wait for a turn are committed together, many per transaction (a removal thus mostly rides along
//! with the next enqueue's commit), and the blocking call answers each of them, so a caller that goes away does not
//! lose its neighbours' answers, and a caller answered by a neighbour's batch leaves the line for the turn at once. A claim is the job's `claimed` flag, which only this process sets, so opening the
//! store clears every one.
//!
//! The database is opened at `synchronous=FULL`, and every write a caller is answered for commits so (the sqlx
//! connection stays at `FULL`). Claims and removals of delivered jobs (`Commit::Unsynced`) commit at
//! `synchronous=NORMAL`: in WAL mode that skips the sync of the commit alone (a crash of nano keeps it; the power
//! going may lose it, which costs a delivery more), the next synced commit syncs it with its own, and checkpoints
//! still sync as at `FULL`. So an enqueue never waits for a claim's or a removal's sync, only for its own. The level
//! is set before a batch's transaction begins, when the batch needs another one than the last.

use super::{
    backend, claim_sql, claimed, config_from, draw_id_sql, Commit, ConfigRow, JobRow,
    QueueDatabase, SqlQueue, DELETE_JOB, INSERT_JOB, QUEUE_CONFIG,
};
use crate::core::{DomainName, TenantScope};
use crate::ports::BackendError;
use crate::ports::{Claimed, Job, QueueError};
use async_trait::async_trait;
use rusqlite::types::ToSql;
use rusqlite::{Connection, TransactionBehavior};
use sqlx::{Sqlite, SqliteConnection, SqlitePool};
use std::sync::Arc;
use tokio::sync::{oneshot, Mutex, MutexGuard};

/// What a SQLite queue holds besides its pool: its two writer connections, and the writes waiting for a turn.
pub struct SqliteWriter {
    /// The turn to write: held by a sqlx write, or by the batch running on `fast`.
    conn: Mutex<SqliteConnection>,
    /// The rusqlite connection of the hot writes (locked only by the blocking call of the writer holding the turn).
    fast: Arc<std::sync::Mutex<Fast>>,
    /// Enqueues and removals of delivered jobs waiting to be written together (group commit).
    waiting: std::sync::Mutex<Vec<(Grouped, Answer)>>,
}

/// The hot writes' connection, how its commits reach the disk now, and its statements that depend on the database.
struct Fast {
    conn: Connection,
    commit: Commit,
    draw_id: String,
    claim: String,
}

/// What a claim writes to `claimed`: only this process claims.
const CLAIMER: i64 = 1;
/// The jobs nobody is delivering.
const UNCLAIMED: &str = "claimed = 0";

/// Who waits for a grouped write's outcome: an enqueue's id, or 0 for a removal.
type Answer = oneshot::Sender<Result<i64, QueueError>>;

/// A write that waits for the writer's turn with others and is committed with them.
enum Grouped {
    /// A new job, answered with its id once synced.
    Enqueue(TenantScope, DomainName, Job),
    /// A delivered job to delete (answered with 0).
    Removal(TenantScope, DomainName, i64),
}

impl SqlQueue<Sqlite> {
    /// The queue in the database of `pool` and `fast` (the sqlite adapter's `queue_database`: the same file, migrated).
    /// Claims left by an earlier process are released, so every `READY` job is delivered again (at least once). That
    /// maintenance statement is the one not filtered on `host`: it only clears the `claimed` flag of every tenant's
    /// jobs, which only this process sets.
    pub async fn sqlite((pool, fast): (SqlitePool, Connection)) -> Result<Self, QueueError> {
        sqlx::query("UPDATE queue_jobs SET claimed = 0 WHERE claimed = 1")
            .execute(&pool)
            .await
            .map_err(backend)?;
        let conn = pool.acquire().await.map_err(backend)?.detach();
        let state = SqliteWriter {
            conn: Mutex::new(conn),
            fast: Arc::new(std::sync::Mutex::new(Fast {
                conn: fast,
                commit: Commit::Synced,
                draw_id: draw_id_sql::<Sqlite>(),
                claim: claim_sql::<Sqlite>(UNCLAIMED),
            })),
            waiting: std::sync::Mutex::default(),
        };
        Ok(Self { pool, state })
    }

    /// Runs `work` on the hot writes' connection on a blocking thread, in the writer's turn.
    async fn on_fast<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Fast) -> T + Send + 'static,
    ) -> Result<T, QueueError> {
        let turn = self.state.conn.lock().await;
        self.in_turn(turn, work).await
    }

    /// `on_fast` for a writer that holds the turn already.
    async fn in_turn<T: Send + 'static>(
        &self,
        _turn: MutexGuard<'_, SqliteConnection>,
        work: impl FnOnce(&mut Fast) -> T + Send + 'static,
    ) -> Result<T, QueueError> {
        let fast = self.state.fast.clone();
        tokio::task::spawn_blocking(move || work(&mut lock(&fast)))
            .await
            .map_err(|e| {
                QueueError::Backend(BackendError::msg(format!("the queue's writer failed: {e}")))
            })
    }

    /// Group commit: `item` waits for the writer's turn, and whoever gets the turn first writes every waiting
    /// enqueue and removal in one transaction. The others are answered by that batch and leave the line for the turn
    /// at once, so a claim or a rarer write queued behind them does not wait for each to take its turn in vain. The
    /// transaction is synced when it holds an enqueue (a removal riding along costs nothing more), unsynced when it
    /// holds removals only.
    async fn grouped(&self, item: Grouped) -> Result<i64, QueueError> {
        let (done_tx, mut done_rx) = oneshot::channel();
        lock(&self.state.waiting).push((item, done_tx));
        let done = tokio::select! {
            biased;
            // Written by another writer's batch (whose blocking call answers before it gives the turn back).
            done = &mut done_rx => done,
            turn = self.state.conn.lock() => {
                let batch = std::mem::take(&mut *lock(&self.state.waiting));
                if !batch.is_empty() {
                    // The blocking call answers every write of the batch, this one too.
                    let _ = self.in_turn(turn, move |fast| fast.write_all(batch)).await;
                }
                done_rx.await
            }
        };
        done.unwrap_or_else(|_| {
            Err(QueueError::Backend(BackendError::msg(
                "a grouped write was dropped",
            )))
        })
    }
}

impl Fast {
    /// Runs `work` in one transaction that commits as `commit` says; an error rolls it back.
    fn transaction<T>(
        &mut self,
        commit: Commit,
        work: impl FnOnce(&Connection, &str, &str) -> Result<T, QueueError>,
    ) -> Result<T, QueueError> {
        if self.commit != commit {
            self.conn
                .execute_batch(match commit {
                    Commit::Synced => "PRAGMA synchronous = FULL",
                    Commit::Unsynced => "PRAGMA synchronous = NORMAL",
                })
                .map_err(fast_error)?;
            self.commit = commit;
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fast_error)?;
        let value = work(&tx, &self.draw_id, &self.claim)?;
        tx.commit().map_err(fast_error)?;
        Ok(value)
    }

    /// Writes grouped enqueues and removals in one transaction and answers each: an enqueue with its new id, or
    /// `QueueNotFound` when its queue does not exist. An SQL error fails the whole batch.
    fn write_all(&mut self, batch: Vec<(Grouped, Answer)>) {
        let (items, answers): (Vec<Grouped>, Vec<Answer>) = batch.into_iter().unzip();
        let commit = if items.iter().any(|i| matches!(i, Grouped::Enqueue(..))) {
            Commit::Synced
        } else {
            Commit::Unsynced
        };
        let written = self.transaction(commit, |conn, draw_id, _| {
            let mut outcomes = Vec::with_capacity(items.len());
            for item in &items {
                outcomes.push(match item {
                    Grouped::Enqueue(scope, name, job) => {
                        match insert_job(conn, draw_id, scope, name, job) {
                            Err(QueueError::QueueNotFound) => Err(QueueError::QueueNotFound),
                            Err(e) => return Err(e),
                            Ok(id) => Ok(id),
                        }
                    }
                    Grouped::Removal(scope, name, id) => {
                        let mut delete = conn.prepare_cached(DELETE_JOB).map_err(fast_error)?;
                        bind(&mut delete, &[&scope.as_str(), &name.as_str(), id])?;
                        delete.raw_execute().map_err(fast_error)?;
                        Ok(0)
                    }
                });
            }
            Ok(outcomes)
        });
        match written {
            Ok(outcomes) => {
                for (answer, outcome) in answers.into_iter().zip(outcomes) {
                    let _ = answer.send(outcome);
                }
            }
            Err(e) => {
                for answer in answers {
                    let _ = answer.send(Err(e.clone()));
                }
            }
        }
    }

    /// Claims up to `limit` due jobs of the queue, in a transaction of their own.
    fn claim(
        &mut self,
        scope: &TenantScope,
        name: &DomainName,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<Claimed>, QueueError> {
        self.transaction(Commit::Unsynced, |conn, _, claim| {
            let mut stmt = conn.prepare_cached(claim).map_err(fast_error)?;
            bind(
                &mut stmt,
                &[
                    &scope.as_str(),
                    &name.as_str(),
                    &now_ms,
                    &i64::from(limit),
                    &CLAIMER,
                ],
            )?;
            let mut rows = stmt.raw_query();
            let mut jobs: Vec<JobRow<i64>> = Vec::new();
            while let Some(row) = rows.next().map_err(fast_error)? {
                jobs.push(JobRow::<i64>::try_from(row).map_err(fast_error)?);
            }
            drop(rows);
            if jobs.is_empty() {
                return Ok(Vec::new());
            }
            let mut config = conn.prepare_cached(QUEUE_CONFIG).map_err(fast_error)?;
            bind(&mut config, &[&scope.as_str(), &name.as_str()])?;
            let mut rows = config.raw_query();
            let row = rows
                .next()
                .map_err(fast_error)?
                .ok_or_else(|| fast_error(rusqlite::Error::QueryReturnedNoRows))?;
            let settings = ConfigRow::<i64>::try_from(row).map_err(fast_error)?;
            claimed(jobs, config_from(settings))
        })
    }
}

/// Stores `job` under the tenant's next id (drawn by `draw_id`, which checks the queue exists), or fails with
/// `QueueNotFound`.
fn insert_job(
    conn: &Connection,
    draw_id: &str,
    scope: &TenantScope,
    name: &DomainName,
    job: &Job,
) -> Result<i64, QueueError> {
    let mut draw = conn.prepare_cached(draw_id).map_err(fast_error)?;
    bind(&mut draw, &[&scope.as_str(), &name.as_str()])?;
    let id: i64 = {
        let mut rows = draw.raw_query();
        match rows.next().map_err(fast_error)? {
            Some(row) => row.get(0).map_err(fast_error)?,
            None => return Err(QueueError::QueueNotFound),
        }
    };
    let mut insert = conn.prepare_cached(INSERT_JOB).map_err(fast_error)?;
    bind(
        &mut insert,
        &[
            &scope.as_str(),
            &id,
            &name.as_str(),
            &job.body.as_ref(),
            &job.status.as_str(),
            &job.enqueued_ms,
            &i64::from(job.attempts),
            &job.next_attempt_ms,
            &job.last_status.map(i64::from),
            &job.last_error.as_deref(),
        ],
    )?;
    insert.raw_execute().map_err(fast_error)?;
    Ok(id)
}

/// The names of the numbered parameters the queue's statements use (`$1..$N`, as sqlx binds them on both databases).
const NUMBERED: [&str; 10] = ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10"];

/// Binds `values` to a statement's `$1..$N` (SQLite numbers parameters by first appearance, which is not always
/// the order of their names).
fn bind(stmt: &mut rusqlite::CachedStatement<'_>, values: &[&dyn ToSql]) -> Result<(), QueueError> {
    for (name, value) in NUMBERED.iter().zip(values) {
        let at = stmt
            .parameter_index(name)
            .map_err(fast_error)?
            .ok_or_else(|| fast_error(rusqlite::Error::InvalidParameterName(name.to_string())))?;
        stmt.raw_bind_parameter(at, value).map_err(fast_error)?;
    }
    Ok(())
}

fn fast_error(e: rusqlite::Error) -> QueueError {
    QueueError::Backend(BackendError::new(e))
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[async_trait]
impl QueueDatabase for Sqlite {
    type State = SqliteWriter;
    type Int = i64;
    type Writer<'a> = MutexGuard<'a, SqliteConnection>;

    const BYTEWISE: &'static str = "COLLATE BINARY";
    const QUEUE_ROW_LOCK: &'static str = "";
    const CLAIM_COLUMN: &'static str = "claimed";
    const NO_CLAIM: &'static str = "0";
    const SKIP_LOCKED: &'static str = "";

    fn int(n: u32) -> i64 {
        i64::from(n)
    }

    fn claimer(_: &SqliteWriter) -> i64 {
        CLAIMER
    }

    /// The sqlx connection, in the writer's turn. It stays at `synchronous=FULL`: the unsynced writes (claims and
    /// removals) run on the hot writes' connection.
    async fn writer<'a>(
        store: &'a SqlQueue<Self>,
        _: Commit,
    ) -> Result<Self::Writer<'a>, QueueError> {
        Ok(store.state.conn.lock().await)
    }

    async fn unsynced(_: &mut SqliteConnection) -> Result<(), QueueError> {
        Ok(())
    }

    fn unclaimed(_: &SqliteWriter) -> String {
        UNCLAIMED.to_string()
    }

    async fn confine_scan(_: &SqliteWriter, _: &mut SqliteConnection) -> Result<(), QueueError> {
        Ok(())
    }

    async fn confine_purge(
        _: &SqliteWriter,
        _: &mut SqliteConnection,
        _: &TenantScope,
    ) -> Result<(), QueueError> {
        Ok(())
    }

    async fn confine(
        _: &SqliteWriter,
        _: &mut SqliteConnection,
        _: &TenantScope,
    ) -> Result<(), QueueError> {
        Ok(())
    }

    async fn enqueue(
        store: &SqlQueue<Self>,
        scope: &TenantScope,
        name: &DomainName,
        job: Job,
    ) -> Result<i64, QueueError> {
        store
            .grouped(Grouped::Enqueue(scope.clone(), name.clone(), job))
            .await
    }

    async fn claim(
        store: &SqlQueue<Self>,
        scope: &TenantScope,
        name: &DomainName,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<Claimed>, QueueError> {
        let (scope, name) = (scope.clone(), name.clone());
        store
            .on_fast(move |fast| fast.claim(&scope, &name, now_ms, limit))
            .await?
    }

    async fn delivered(
        store: &SqlQueue<Self>,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        store
            .grouped(Grouped::Removal(scope.clone(), name.clone(), id))
            .await
            .map(|_| ())
    }
}
