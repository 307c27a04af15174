//! Group commit: one writer thread per database file takes the writes queued for it and commits them together.
//!
//! A write is a closure over the writer's connection (rusqlite, opened by `pool::open_writer`). Callers queue theirs
//! on a bounded channel and wait. The writer thread takes the first write, then every other one already queued (at
//! most `MAX_BATCH`), and runs them in one `BEGIN IMMEDIATE` transaction, each inside its own `SAVEPOINT`: a write
//! that fails is rolled back to its savepoint alone and answers its own error, its neighbours go on. One `COMMIT`
//! (one sync to disk) then makes the whole batch durable, and only then is each caller answered, so an acknowledged
//! write survives `kill -9` (and, at `synchronous=FULL`, power loss). A failed `COMMIT` fails every write of the
//! batch.
//!
//! The whole batch runs on the writer's own thread, statement after statement, with prepared statements cached:
//! no statement is a round trip to another thread, so a write costs what SQLite spends on it, and a caller is woken
//! once, when its batch committed. No timer waits for company: a lone write is committed at once, in about one
//! commit's time. Writes arriving while a commit syncs queue up and form the next batch, so the batch grows with the
//! load. Writes never take turns in SQLite's busy handler, which sleeps and retries.
//!
//! A write must not begin or end a transaction itself; its savepoint is its transaction.

use rusqlite::{Connection, Params};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most writes one transaction commits.
const MAX_BATCH: usize = 256;
/// Writes that may wait for the writer; more wait to be queued.
const QUEUED: usize = 4096;

/// Why a write was not committed: the batch's transaction failed (its `BEGIN`, a savepoint or its `COMMIT`), or
/// the writer is gone.
pub type CommitError = Arc<rusqlite::Error>;

/// A handle on one database file's writer. Clones share the writer; its thread ends, closing the connection, when
/// the last handle is dropped.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Box<dyn Pending>>,
}

/// One queued write: run it in the batch's transaction, then settle it with the batch's outcome.
trait Pending: Send {
    /// Runs the write on the writer's connection; `true` when it succeeded and is to be kept.
    fn run(&mut self, conn: &Connection) -> bool;
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
    F: FnOnce(&Connection) -> Result<T, E> + Send,
    T: Send,
    E: Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(write) = self.write.take() else {
            return false;
        };
        // A panicking write is answered with the writer's error; the batch goes on.
        match std::panic::catch_unwind(AssertUnwindSafe(|| write(conn))) {
            Ok(outcome) => {
                let keep = outcome.is_ok();
                self.outcome = Some(outcome);
                keep
            }
            Err(_) => false,
        }
    }

    fn settle(self: Box<Self>, commit: Result<(), CommitError>) {
        let answer = match (self.outcome, commit) {
            // A failed write changed nothing: its own error is its answer whatever the commit did.
            (Some(Err(e)), _) => Ok(Err(e)),
            (Some(Ok(value)), Ok(())) => Ok(Ok(value)),
            (_, Err(e)) => Err(e),
            (None, Ok(())) => Err(failure("the write panicked")),
        };
        let _ = self.answer.send(answer);
    }
}

impl GroupCommit {
    /// Starts the writer thread on `conn`, a connection of its own to the database file.
    pub fn start(conn: Connection) -> std::io::Result<Self> {
        let (queue, waiting) = mpsc::channel(QUEUED);
        std::thread::Builder::new()
            .name("sqlite-writer".to_string())
            .spawn(move || writer_loop(conn, waiting))?;
        Ok(Self { queue })
    }

    /// Runs `write` in the next batch, in its own savepoint, and answers once the batch committed: `Ok` with the
    /// write's own result (an `Err` of it was rolled back alone), or `Err` when the batch did not commit.
    pub async fn write<F, T, E>(&self, write: F) -> Result<Result<T, E>, CommitError>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
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
    failure("the database writer is gone")
}

/// The writer's own failure, as SQLite's "misuse" with `message`.
fn failure(message: &str) -> CommitError {
    Arc::new(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISUSE),
        Some(message.to_string()),
    ))
}

/// Takes batches from `waiting` until every handle is dropped.
fn writer_loop(conn: Connection, mut waiting: mpsc::Receiver<Box<dyn Pending>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = waiting.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        commit_batch(&conn, &mut batch);
    }
}

/// Runs and commits one batch, then answers each of its writes.
fn commit_batch(conn: &Connection, batch: &mut Vec<Box<dyn Pending>>) {
    let outcome = run_batch(conn, batch).map_err(Arc::new);
    if outcome.is_err() && !conn.is_autocommit() {
        // Leave no transaction open for the next batch.
        let _ = execute(conn, "ROLLBACK");
    }
    for pending in batch.drain(..) {
        pending.settle(outcome.clone());
    }
}

fn run_batch(conn: &Connection, batch: &mut [Box<dyn Pending>]) -> rusqlite::Result<()> {
    execute(conn, "BEGIN IMMEDIATE")?;
    for pending in batch.iter_mut() {
        execute(conn, "SAVEPOINT w")?;
        if !pending.run(conn) {
            execute(conn, "ROLLBACK TO w")?;
        }
        execute(conn, "RELEASE w")?;
    }
    execute(conn, "COMMIT")
}

/// Runs one of the writer's own statements.
fn execute(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    run(conn, sql, []).map(|_| ())
}

/// Runs `sql` with `params` on the writer's connection, prepared once and cached: the rows it changed.
pub fn run(conn: &Connection, sql: &str, params: impl Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::sqlite::pool::open_writer;
    use crate::adapters::sqlite::{open_pool, Durability};

    /// Concurrent writes share batches; one that wrote a row and then failed is rolled back alone, and answers its
    /// own error while the others commit.
    #[tokio::test]
    async fn a_failing_write_is_rolled_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let table = [("001", "CREATE TABLE t (k INTEGER PRIMARY KEY)")];
        let pool = open_pool(&path, Durability::Full, &table).await.unwrap();
        let writer = GroupCommit::start(open_writer(&path, Durability::Full).unwrap()).unwrap();
        let writes = (0..100i64).map(|k| {
            let writer = writer.clone();
            async move {
                writer
                    .write(move |conn| {
                        run(conn, "INSERT INTO t (k) VALUES (?)", [k])
                            .map_err(|e| e.to_string())?;
                        if k == 50 {
                            return Err("refused after writing".to_string());
                        }
                        Ok(k)
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

    /// A write that panics answers an error; the writes of its batch still commit.
    #[tokio::test]
    async fn a_panicking_write_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let table = [("001", "CREATE TABLE t (k INTEGER PRIMARY KEY)")];
        let pool = open_pool(&path, Durability::Full, &table).await.unwrap();
        let writer = GroupCommit::start(open_writer(&path, Durability::Full).unwrap()).unwrap();
        let panics = writer.write(|_| -> Result<(), String> { panic!("boom") });
        let inserts = writer.write(|conn| {
            conn.execute("INSERT INTO t (k) VALUES (1)", [])
                .map_err(|e| e.to_string())
        });
        let (panicked, inserted) = futures::join!(panics, inserts);
        assert!(panicked.is_err());
        assert_eq!(inserted.unwrap(), Ok(1));
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
}
