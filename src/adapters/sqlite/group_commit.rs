//! Group commit: one writer task per database file takes the writes queued for it and commits them together.
//!
//! A write is a closure over the writer's connection. Callers queue theirs on a bounded channel and wait. The writer
//! takes the first write, then every other one already queued (at most `MAX_BATCH`), and runs them in one
//! `BEGIN IMMEDIATE` transaction, each inside its own `SAVEPOINT`: a write that fails is rolled back to its
//! savepoint alone and answers its own error, its neighbours go on. One `COMMIT` (one sync to disk) then makes the
//! whole batch durable, and only then is each caller answered, so an acknowledged write survives `kill -9` (and,
//! at `synchronous=FULL`, power loss). A failed `COMMIT` fails every write of the batch.
//!
//! No timer waits for company: a lone write is committed at once, in about one commit's time. Writes arriving while
//! a commit syncs queue up and form the next batch, so the batch grows with the load. Writes never take turns in
//! SQLite's busy handler, which sleeps and retries.
//!
//! A write must not begin or end a transaction itself; its savepoint is its transaction.

use futures::future::BoxFuture;
use futures::FutureExt;
use sqlx::SqliteConnection;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most writes one transaction commits.
const MAX_BATCH: usize = 256;
/// Writes that may wait for the writer; more wait to be queued.
const QUEUED: usize = 4096;

/// Why a write was not committed: the batch's transaction failed (its `BEGIN`, a savepoint or its `COMMIT`), or
/// the writer is gone.
pub type CommitError = Arc<sqlx::Error>;

/// A handle on one database file's writer. Clones share the writer; it stops when the last handle is dropped.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Box<dyn Pending>>,
}

/// One queued write: run it in the batch's transaction, then settle it with the batch's outcome.
trait Pending: Send {
    /// Runs the write on the writer's connection; `true` when it succeeded and is to be kept.
    fn run<'a>(&'a mut self, conn: &'a mut SqliteConnection) -> BoxFuture<'a, bool>;
    /// Answers the caller, once the batch's transaction ended with `commit`.
    fn settle(self: Box<Self>, commit: Result<(), CommitError>);
}

/// A write closure, what it returned, and who waits for the answer.
struct Write<F, T, E> {
    write: Option<F>,
    outcome: Option<Result<T, E>>,
    answer: oneshot::Sender<Result<Result<T, E>, CommitError>>,
}

impl<F, T, E> Pending for Write<F, T, E>
where
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, E>> + Send,
    T: Send,
    E: Send,
{
    fn run<'a>(&'a mut self, conn: &'a mut SqliteConnection) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let Some(write) = self.write.take() else {
                return false;
            };
            // A panicking write is dropped unanswered (its caller sees the writer's error); the batch goes on.
            match AssertUnwindSafe(write(conn)).catch_unwind().await {
                Ok(outcome) => {
                    let keep = outcome.is_ok();
                    self.outcome = Some(outcome);
                    keep
                }
                Err(_) => false,
            }
        })
    }

    fn settle(self: Box<Self>, commit: Result<(), CommitError>) {
        let answer = match (self.outcome, commit) {
            // A failed write changed nothing: its own error is its answer whatever the commit did.
            (Some(Err(e)), _) => Ok(Err(e)),
            (Some(Ok(value)), Ok(())) => Ok(Ok(value)),
            (_, Err(e)) => Err(e),
            (None, Ok(())) => Err(Arc::new(sqlx::Error::Protocol(
                "the write panicked".to_string(),
            ))),
        };
        let _ = self.answer.send(answer);
    }
}

impl GroupCommit {
    /// Starts the writer on `conn`, a connection of its own to the database file (not one a pool hands out
    /// again).
    pub fn start(conn: SqliteConnection) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUED);
        tokio::spawn(writer_loop(conn, waiting));
        Self { queue }
    }

    /// Runs `write` in the next batch, in its own savepoint, and answers once the batch committed: `Ok` with the
    /// write's own result (an `Err` of it was rolled back alone), or `Err` when the batch did not commit.
    pub async fn write<F, T, E>(&self, write: F) -> Result<Result<T, E>, CommitError>
    where
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let pending = Box::new(Write {
            write: Some(write),
            outcome: None,
            answer,
        });
        if self.queue.send(pending).await.is_err() {
            return Err(gone());
        }
        answered.await.unwrap_or_else(|_| Err(gone()))
    }
}

fn gone() -> CommitError {
    Arc::new(sqlx::Error::PoolClosed)
}

/// Takes batches from `waiting` until every handle is dropped.
async fn writer_loop(mut conn: SqliteConnection, mut waiting: mpsc::Receiver<Box<dyn Pending>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit_batch(&mut conn, &mut batch).await;
    }
}

/// Runs and commits one batch, then answers each of its writes.
async fn commit_batch(conn: &mut SqliteConnection, batch: &mut Vec<Box<dyn Pending>>) {
    let outcome = run_batch(conn, batch).await;
    if outcome.is_err() {
        // Leave no transaction open for the next batch (a failed BEGIN left none: this then fails harmlessly).
        let _ = execute(conn, "ROLLBACK").await;
    }
    for pending in batch.drain(..) {
        pending.settle(outcome.clone());
    }
}

async fn run_batch(
    conn: &mut SqliteConnection,
    batch: &mut [Box<dyn Pending>],
) -> Result<(), CommitError> {
    execute(conn, "BEGIN IMMEDIATE").await?;
    for pending in batch.iter_mut() {
        execute(conn, "SAVEPOINT w").await?;
        if !pending.run(conn).await {
            execute(conn, "ROLLBACK TO w").await?;
        }
        execute(conn, "RELEASE w").await?;
    }
    execute(conn, "COMMIT").await
}

/// Runs one of the writer's own statements (boxed, which keeps the writer's future `Send` for `tokio::spawn`).
fn execute<'a>(
    conn: &'a mut SqliteConnection,
    sql: &'static str,
) -> BoxFuture<'a, Result<(), CommitError>> {
    Box::pin(async move {
        sqlx::query(sql)
            .execute(conn)
            .await
            .map(|_| ())
            .map_err(Arc::new)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::sqlite::{open_pool, Durability};

    /// Concurrent writes share batches; one that wrote a row and then failed is rolled back alone, and answers its
    /// own error while the others commit.
    #[tokio::test]
    async fn a_failing_write_is_rolled_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let table = [("001", "CREATE TABLE t (k INTEGER PRIMARY KEY)")];
        let pool = open_pool(&dir.path().join("t.db"), Durability::Full, &table)
            .await
            .unwrap();
        let writer = GroupCommit::start(pool.acquire().await.unwrap().detach());
        let writes = (0..100i64).map(|k| {
            let writer = writer.clone();
            async move {
                writer
                    .write(move |conn| {
                        Box::pin(async move {
                            sqlx::query("INSERT INTO t (k) VALUES (?)")
                                .bind(k)
                                .execute(&mut *conn)
                                .await
                                .map_err(|e| e.to_string())?;
                            if k == 50 {
                                return Err("refused after writing".to_string());
                            }
                            Ok(k)
                        })
                    })
                    .await
                    .unwrap()
            }
        });
        let answers = futures::future::join_all(writes).await;
        for (k, answer) in answers.into_iter().enumerate() {
            match k {
                50 => assert_eq!(answer, Err("refused after writing".to_string())),
                k => assert_eq!(answer, Ok(k as i64)),
            }
        }
        let (n, has_50): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COUNT(*) FILTER (WHERE k = 50) FROM t")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!((n, has_50), (99, 0));
    }
}
