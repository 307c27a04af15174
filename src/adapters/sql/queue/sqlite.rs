//! The queue on SQLite (`queue.db`, opened by the sqlite adapter): one connection writes, and writers take turns on
//! it; enqueues and removals of delivered jobs that wait for a turn are committed together, many per transaction
//! (a removal thus mostly rides along with the next enqueue's commit). A claim is the job's `claimed` flag, which
//! only this process sets, so opening the store clears every one.
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
use sqlx::{Connection, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{oneshot, MappedMutexGuard, Mutex, MutexGuard};

/// What a SQLite queue holds besides its pool: the writer, and the writes waiting for its turn.
pub struct SqliteWriter {
    /// The one connection that writes: writers take turns on it rather than in SQLite's busy handler (which sleeps
    /// and retries under contention), and skip the pool's per-acquire round trips.
    conn: Mutex<Writer>,
    /// Enqueues and removals of delivered jobs waiting to be written together (group commit).
    waiting: std::sync::Mutex<Vec<(Grouped, Answer)>>,
}

/// The writer connection and how its commits reach the disk now.
struct Writer {
    conn: SqliteConnection,
    commit: Commit,
}

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
                waiting: std::sync::Mutex::default(),
            },
        })
    }

    /// The writer's turn, its commits set to `commit`.
    async fn turn(
        &self,
        commit: Commit,
    ) -> Result<MappedMutexGuard<'_, SqliteConnection>, QueueError> {
        let writer = self.state.conn.lock().await;
        set_level(writer, commit).await
    }

    /// Group commit: `item` waits for the writer's turn, and whoever gets the turn first writes every waiting
    /// enqueue and removal in one transaction, so the later ones find theirs done. The transaction is synced when it
    /// holds an enqueue (a removal riding along costs nothing more), unsynced when it holds removals only.
    async fn grouped(&self, item: Grouped) -> Result<i64, QueueError> {
        let (done_tx, done_rx) = oneshot::channel();
        lock(&self.state.waiting).push((item, done_tx));
        {
            let writer = self.state.conn.lock().await;
            let batch = std::mem::take(&mut *lock(&self.state.waiting));
            if !batch.is_empty() {
                let (items, dones): (Vec<Grouped>, Vec<_>) = batch.into_iter().unzip();
                let commit = if items.iter().any(|i| matches!(i, Grouped::Enqueue(..))) {
                    Commit::Synced
                } else {
                    Commit::Unsynced
                };
                let written = match set_level(writer, commit).await {
                    Ok(mut conn) => write_all(&mut conn, &items).await,
                    Err(e) => Err(e),
                };
                match written {
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
            Err(QueueError::Backend(BackendError::msg(
                "a grouped write was dropped",
            )))
        })
    }
}

/// Sets the writer's `synchronous` level to `commit`'s, outside any transaction, when it was another.
async fn set_level(
    mut writer: MutexGuard<'_, Writer>,
    commit: Commit,
) -> Result<MappedMutexGuard<'_, SqliteConnection>, QueueError> {
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

fn lock<T>(waiting: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    waiting.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes grouped enqueues and removals in one transaction: each enqueue gets a new id, or `QueueNotFound` when its
/// queue does not exist. An SQL error fails the whole batch.
async fn write_all(
    conn: &mut SqliteConnection,
    items: &[Grouped],
) -> Result<Vec<Result<i64, QueueError>>, QueueError> {
    let mut tx = conn.begin().await.map_err(backend)?;
    let mut outcomes = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Grouped::Enqueue(scope, name, job) => {
                match SqlQueue::<Sqlite>::insert_job(&mut tx, scope, name, job).await {
                    Err(QueueError::QueueNotFound) => outcomes.push(Err(QueueError::QueueNotFound)),
                    Err(e) => return Err(e),
                    Ok(id) => outcomes.push(Ok(id)),
                }
            }
            Grouped::Removal(scope, name, id) => {
                SqlQueue::<Sqlite>::delete_job(&mut tx, scope, name, *id).await?;
                outcomes.push(Ok(0));
            }
        }
    }
    tx.commit().await.map_err(backend)?;
    Ok(outcomes)
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
        store
            .grouped(Grouped::Enqueue(scope.clone(), name.clone(), job))
            .await
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
