//! The queue on SQLite (`queue.db`, opened by the sqlite adapter): one connection writes, and writers take turns on
//! it; enqueues and removals of delivered jobs that wait for a turn are committed together, many per transaction. A
//! claim is the job's `claimed` flag, which only this process sets, so opening the store clears every one.
//!
//! The database is opened at `synchronous=FULL`, and every write a caller is answered for commits so. Claims and
//! removals of delivered jobs (`Commit::Unsynced`) commit at `synchronous=NORMAL`: in WAL mode that skips the sync
//! of the commit alone (a crash of nano keeps it; the power going may lose it, which costs a delivery more), the
//! next synced commit syncs it with its own, and checkpoints still sync as at `FULL`. So an enqueue never waits for
//! a claim's or a removal's sync, only for its own. The writer sets the level before a write's transaction begins,
//! when the write needs another one than the last.

use super::{backend, Commit, QueueDatabase, SqlQueue};
use crate::core::{DomainName, TenantScope};
use crate::ports::BackendError;
use crate::ports::{Job, QueueError};
use async_trait::async_trait;
use futures::future::BoxFuture;
use sqlx::{Connection, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{oneshot, MappedMutexGuard, Mutex, MutexGuard};

/// What a SQLite queue holds besides its pool: the writer, and the writes waiting for its turn.
pub struct SqliteWriter {
    /// The one connection that writes: writers take turns on it rather than in SQLite's busy handler (which sleeps
    /// and retries under contention), and skip the pool's per-acquire round trips.
    conn: Mutex<Writer>,
    /// Jobs waiting to be stored together (`enqueue`'s group commit).
    inserts: Waiting<(TenantScope, DomainName, Job), i64>,
    /// Delivered jobs waiting to be deleted together (`delivered`'s group commit).
    removals: Waiting<(TenantScope, DomainName, i64), ()>,
}

/// The writer connection and how its commits reach the disk now.
struct Writer {
    conn: SqliteConnection,
    commit: Commit,
}

/// Writes waiting for the writer's turn, each with who to tell how it went.
type Waiting<T, R> = std::sync::Mutex<Vec<(T, oneshot::Sender<Result<R, QueueError>>)>>;

/// What a group commit writes: all the waiting items in one transaction, with each one's outcome (an error of the
/// whole batch is every item's).
type WriteAll<T, R> = for<'c> fn(
    &'c mut SqliteConnection,
    &'c [T],
) -> BoxFuture<'c, Result<Vec<Result<R, QueueError>>, QueueError>>;

impl SqlQueue<Sqlite> {
    /// The queue in `pool`'s database, migrated by the sqlite adapter. Claims left by an earlier process are released,
    /// so every `READY` job is delivered again (at least once). That maintenance statement is the one not filtered on
    /// `host`: it only clears the `claimed` flag of every tenant's jobs, which only this process sets.
    pub async fn sqlite(pool: SqlitePool) -> Result<Self, QueueError> {
        sqlx::query("UPDATE queue_jobs SET claimed = 0 WHERE claimed = 1")
            .execute(&pool)
            .await
            .map_err(backend)?;
        let conn = pool.acquire().await.map_err(backend)?.detach();
        Ok(Self {
            pool,
            state: SqliteWriter {
                conn: Mutex::new(Writer {
                    conn,
                    commit: Commit::Synced,
                }),
                inserts: Waiting::default(),
                removals: Waiting::default(),
            },
        })
    }

    /// The writer's turn, its commits set to `commit`.
    async fn turn(
        &self,
        commit: Commit,
    ) -> Result<MappedMutexGuard<'_, SqliteConnection>, QueueError> {
        let mut writer = self.state.conn.lock().await;
        if writer.commit != commit {
            let level = match commit {
                Commit::Synced => "PRAGMA synchronous = FULL",
                Commit::Unsynced => "PRAGMA synchronous = NORMAL",
            };
            sqlx::query(level)
                .execute(&mut writer.conn)
                .await
                .map_err(backend)?;
            writer.commit = commit;
        }
        Ok(MutexGuard::map(writer, |w| &mut w.conn))
    }

    /// Group commit: `item` waits in `waiting` for the writer's turn, and whoever gets the turn first writes every
    /// waiting item in one transaction (one sync to disk when `commit` is `Synced`), so the later ones find theirs
    /// done. `what` names the write in the error of one dropped unwritten.
    async fn grouped<T: Send, R: Send>(
        &self,
        waiting: &Waiting<T, R>,
        item: T,
        (write_all, commit): (WriteAll<T, R>, Commit),
        what: &str,
    ) -> Result<R, QueueError> {
        let (done_tx, done_rx) = oneshot::channel();
        lock(waiting).push((item, done_tx));
        {
            let mut conn = match self.turn(commit).await {
                Ok(conn) => conn,
                Err(e) => {
                    // The level could not be set: every waiting write fails, none is written.
                    for (_, done) in std::mem::take(&mut *lock(waiting)) {
                        let _ = done.send(Err(e.clone()));
                    }
                    return Err(e);
                }
            };
            let batch = std::mem::take(&mut *lock(waiting));
            if !batch.is_empty() {
                let (items, dones): (Vec<T>, Vec<_>) = batch.into_iter().unzip();
                match write_all(&mut conn, &items).await {
                    Ok(outcomes) => {
                        for (done, outcome) in dones.into_iter().zip(outcomes) {
                            let _ = done.send(outcome);
                        }
                    }
                    Err(e) => {
                        for done in dones {
                            let _ = done.send(Err(e.clone()));
                        }
                    }
                }
            }
        }
        done_rx.await.unwrap_or_else(|_| {
            Err(QueueError::Backend(BackendError::msg(format!(
                "{what} was dropped"
            ))))
        })
    }
}

fn lock<T>(waiting: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    waiting.lock().unwrap_or_else(|p| p.into_inner())
}

/// Stores enqueued jobs in one transaction: each gets a new id, or `QueueNotFound` when its queue does not exist.
/// An SQL error fails the whole batch.
fn insert_all<'c>(
    conn: &'c mut SqliteConnection,
    jobs: &'c [(TenantScope, DomainName, Job)],
) -> BoxFuture<'c, Result<Vec<Result<i64, QueueError>>, QueueError>> {
    Box::pin(async move {
        let mut tx = conn.begin().await.map_err(backend)?;
        let mut ids = Vec::with_capacity(jobs.len());
        for (scope, name, job) in jobs {
            match SqlQueue::<Sqlite>::insert_job(&mut tx, scope, name, job).await {
                Err(QueueError::QueueNotFound) => ids.push(Err(QueueError::QueueNotFound)),
                Err(e) => return Err(e),
                Ok(id) => ids.push(Ok(id)),
            }
        }
        tx.commit().await.map_err(backend)?;
        Ok(ids)
    })
}

/// Deletes delivered jobs in one transaction.
fn remove_all<'c>(
    conn: &'c mut SqliteConnection,
    jobs: &'c [(TenantScope, DomainName, i64)],
) -> BoxFuture<'c, Result<Vec<Result<(), QueueError>>, QueueError>> {
    Box::pin(async move {
        let mut tx = conn.begin().await.map_err(backend)?;
        for (scope, name, id) in jobs {
            SqlQueue::<Sqlite>::delete_job(&mut tx, scope, name, *id).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(vec![Ok(()); jobs.len()])
    })
}

#[async_trait]
impl QueueDatabase for Sqlite {
    type State = SqliteWriter;
    type Int = i64;
    type Writer<'a> = MappedMutexGuard<'a, SqliteConnection>;

    const BYTEWISE: &'static str = "COLLATE BINARY";
    const QUEUE_ROW_LOCK: &'static str = "";
    const CLAIM_COLUMN: &'static str = "claimed";
    const NO_CLAIM: &'static str = "0";
    const SKIP_LOCKED: &'static str = "";

    fn int(n: u32) -> i64 {
        i64::from(n)
    }

    fn claimer(_: &SqliteWriter) -> i64 {
        1
    }

    async fn writer<'a>(
        store: &'a SqlQueue<Self>,
        commit: Commit,
    ) -> Result<Self::Writer<'a>, QueueError> {
        store.turn(commit).await
    }

    async fn unsynced(_: &mut SqliteConnection) -> Result<(), QueueError> {
        Ok(())
    }

    fn unclaimed(_: &SqliteWriter) -> String {
        "claimed = 0".to_string()
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
        let item = (scope.clone(), name.clone(), job);
        store
            .grouped(
                &store.state.inserts,
                item,
                (insert_all, Commit::Synced),
                "enqueue",
            )
            .await
    }

    async fn delivered(
        store: &SqlQueue<Self>,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        let item = (scope.clone(), name.clone(), id);
        store
            .grouped(
                &store.state.removals,
                item,
                (remove_all, Commit::Unsynced),
                "removal",
            )
            .await
    }
}
