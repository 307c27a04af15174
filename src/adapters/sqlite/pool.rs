//! Opening a SQLite database file for an adapter: WAL mode, foreign keys, busy timeout, durability; the pool (sqlx)
//! that reads it and runs its migrations, and the writer's own connection (rusqlite) that `group_commit.rs` runs on.

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::time::Duration;

/// How long a statement waits for another connection's lock before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: a commit survives power loss once acknowledged.
    Full,
    /// `synchronous=NORMAL`: a commit survives a process crash (kill -9), not power loss. For caches.
    Normal,
}

/// Opens (creating if needed) the SQLite file at `path` and applies `migrations` in order.
pub async fn open_pool(
    path: &Path,
    durability: Durability,
    migrations: &[(&str, &str)],
) -> Result<SqlitePool, sqlx::Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(match durability {
            Durability::Full => SqliteSynchronous::Full,
            Durability::Normal => SqliteSynchronous::Normal,
        })
        .foreign_keys(true)
        .with_regexp()
        .busy_timeout(BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .test_before_acquire(false)
        .min_connections(1)
        .connect_with(options)
        .await?;
    super::migrate::apply(&pool, migrations).await?;
    Ok(pool)
}

/// Opens the writer's connection to `path`, a file `open_pool` opened and migrated, with the pool's settings.
pub fn open_writer(path: &Path, durability: Durability) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;"
    ))?;
    Ok(conn)
}
