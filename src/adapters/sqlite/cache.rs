//! The cache port on SQLite: stores and entries in `cache.db`, TTL checked on read and purged in the background.
//!
//! `cache.db` runs at `synchronous=NORMAL`: a cache's acknowledged write survives a crash of nano (`kill -9`), not a
//! power loss of the machine. A task the adapter owns purges expired rows every second. Every write, the purge's too,
//! goes through the file's group commit (`group_commit.rs`); reads use the pool. `cache_hot.rs` is the in-memory read
//! layer.

use super::cache_hot::{entry_key, HotEntries};
use super::group_commit::{run, GroupCommit};
use super::pool::{open_pool, open_writer, Durability};
use crate::core::clock::now_ms;
use crate::core::{DomainName, TenantScope};
use crate::ports::BackendError;
use crate::ports::{CacheError, CacheStore, CacheValue};
use async_trait::async_trait;
use rusqlite::{params, Connection};
use sqlx::SqlitePool;
use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const MIGRATIONS: &[(&str, &str)] = &[(
    "001_cache",
    include_str!("../../../migrations/sqlite/cache/001_cache.sql"),
)];

/// How often expired keys are deleted when nobody reads them.
pub const DEFAULT_PURGE_EVERY: Duration = Duration::from_secs(1);
/// Expired rows deleted per purge statement, so a purge never holds the write lock for long.
const PURGE_BATCH: i64 = 500;

/// Cache stores in SQLite, with recently read entries also kept in memory (`cache_hot`). Only this value writes
/// the file while it is open.
pub struct SqliteCache {
    pool: SqlitePool,
    hot: Arc<HotEntries>,
    /// Writes, committed together.
    writer: GroupCommit,
    purger: tokio::task::JoinHandle<()>,
}

impl Drop for SqliteCache {
    fn drop(&mut self) {
        self.purger.abort();
    }
}

fn backend<E: Error + Send + Sync + 'static>(e: E) -> CacheError {
    CacheError::Backend(BackendError::new(e))
}

fn expiry(ttl_ms: Option<u64>) -> Option<i64> {
    match ttl_ms {
        None | Some(0) => None,
        Some(ms) => Some(now_ms().saturating_add(i64::try_from(ms).unwrap_or(i64::MAX))),
    }
}

fn parse_value(text: &str) -> Result<CacheValue, CacheError> {
    serde_json::from_str(text)
        .map_err(|e| CacheError::Backend(BackendError::context("stored value", e)))
}

fn to_text(value: &CacheValue) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string())
}

/// The tenant and store a write closure owns.
fn owned(scope: &TenantScope, store: &DomainName) -> (String, String) {
    (scope.as_str().to_string(), store.as_str().to_string())
}

/// A `*` pattern as a SQLite GLOB: `*` stays the wildcard, `?` and `[` (GLOB's other specials) match themselves.
pub fn glob_of(pattern: &str) -> String {
    let mut glob = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '?' => glob.push_str("[?]"),
            '[' => glob.push_str("[[]"),
            c => glob.push(c),
        }
    }
    glob
}

impl SqliteCache {
    /// Opens the cache database at `path`, purging expired keys every second.
    pub async fn open(path: &Path) -> Result<Self, CacheError> {
        Self::open_with(path, DEFAULT_PURGE_EVERY).await
    }

    /// Opens the cache database at `path`, purging expired keys every `purge_every`.
    pub async fn open_with(path: &Path, purge_every: Duration) -> Result<Self, CacheError> {
        let pool = open_pool(path, Durability::Normal, MIGRATIONS)
            .await
            .map_err(backend)?;
        let writer = open_writer(path, Durability::Normal).map_err(backend)?;
        let writer = GroupCommit::start(writer).map_err(backend)?;
        let hot = Arc::new(HotEntries::default());
        let purger = tokio::spawn(purge_loop(writer.clone(), hot.clone(), purge_every));
        Ok(Self {
            pool,
            hot,
            writer,
            purger,
        })
    }

    /// Runs `write` in the writer's next group commit and answers once it is committed.
    async fn write<T, F>(&self, write: F) -> Result<T, CacheError>
    where
        F: FnOnce(&Connection) -> Result<T, CacheError> + Send + 'static,
        T: Send + 'static,
    {
        self.writer
            .write(write)
            .await
            .map_err(|e| CacheError::Backend(BackendError::new(e)))?
    }

    async fn store_exists(
        &self,
        scope: &TenantScope,
        store: &DomainName,
    ) -> Result<bool, CacheError> {
        let found: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM cache_stores WHERE host = ? AND name = ?")
                .bind(scope.as_str())
                .bind(store.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        Ok(found.is_some())
    }

    async fn require_store(
        &self,
        scope: &TenantScope,
        store: &DomainName,
    ) -> Result<(), CacheError> {
        if self.store_exists(scope, store).await? {
            Ok(())
        } else {
            Err(CacheError::StoreNotFound)
        }
    }
}

/// Deletes expired entries of every tenant in small batches, forever (the task is aborted with the adapter).
/// This maintenance statement is the one that does not filter on `host`: it reads nothing and removes only rows
/// whose own expiry has passed.
async fn purge_loop(writer: GroupCommit, hot: Arc<HotEntries>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        hot.purge(now_ms());
        loop {
            let done = writer
                .write(|conn| {
                    run(
                        conn,
                        "DELETE FROM cache_entries WHERE (host, store, key) IN \
                         (SELECT host, store, key FROM cache_entries WHERE expires_ms <= ? LIMIT ?)",
                        params![now_ms(), PURGE_BATCH],
                    )
                })
                .await;
            match done {
                Ok(Ok(n)) if n as i64 >= PURGE_BATCH => continue,
                Ok(Ok(_)) => break,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cache purge failed");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cache purge failed");
                    break;
                }
            }
        }
    }
}

#[async_trait]
impl CacheStore for SqliteCache {
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), CacheError> {
        for store in self.list_stores(scope).await? {
            let store =
                DomainName::parse(&store).map_err(|e| CacheError::Backend(BackendError::new(e)))?;
            match self.delete_store(scope, &store).await {
                Ok(()) | Err(CacheError::StoreNotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn usage(&self, scope: &TenantScope) -> Result<u64, CacheError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM cache_entries WHERE host = ? AND (expires_ms IS NULL OR expires_ms > ?)",
        )
        .bind(scope.as_str())
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        Ok(n.max(0) as u64)
    }

    async fn list_stores(&self, scope: &TenantScope) -> Result<Vec<String>, CacheError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM cache_stores WHERE host = ? ORDER BY name")
                .bind(scope.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    async fn dump(
        &self,
        scope: &TenantScope,
        store: &DomainName,
    ) -> Result<Vec<(String, CacheValue, Option<u64>)>, CacheError> {
        self.require_store(scope, store).await?;
        let now = now_ms();
        let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT key, value, expires_ms FROM cache_entries WHERE host = ? AND store = ? \
             AND (expires_ms IS NULL OR expires_ms > ?) ORDER BY key",
        )
        .bind(scope.as_str())
        .bind(store.as_str())
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter()
            .map(|(key, value, expires)| {
                let value: CacheValue = serde_json::from_str(&value)
                    .map_err(|e| CacheError::Backend(BackendError::new(e)))?;
                let ttl = expires.map(|at| u64::try_from(at - now).unwrap_or(1).max(1));
                Ok((key, value, ttl))
            })
            .collect()
    }

    async fn create_store(
        &self,
        scope: &TenantScope,
        store: &DomainName,
    ) -> Result<(), CacheError> {
        let (host, name) = owned(scope, store);
        let created = self
            .write(move |conn| {
                run(
                    conn,
                    "INSERT INTO cache_stores (host, name, created_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    params![host, name, now_ms()],
                )
                .map_err(backend)
            })
            .await?;
        if created == 0 {
            return Err(CacheError::StoreExists);
        }
        Ok(())
    }

    async fn delete_store(
        &self,
        scope: &TenantScope,
        store: &DomainName,
    ) -> Result<(), CacheError> {
        let (host, name) = owned(scope, store);
        self.write(move |conn| {
            let done = run(
                conn,
                "DELETE FROM cache_stores WHERE host = ? AND name = ?",
                params![host, name],
            )
            .map_err(backend)?;
            if done == 0 {
                return Err(CacheError::StoreNotFound);
            }
            run(
                conn,
                "DELETE FROM cache_entries WHERE host = ? AND store = ?",
                params![host, name],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await?;
        self.hot
            .forget_prefix(&entry_key(scope.as_str(), store.as_str(), ""));
        Ok(())
    }

    async fn create(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
        value: &CacheValue,
        ttl_ms: Option<u64>,
    ) -> Result<(), CacheError> {
        let (host, name) = owned(scope, store);
        let (entry, text, expires) = (key.to_string(), to_text(value), expiry(ttl_ms));
        // One statement: inserts only into an existing store, and replaces only an expired key.
        let created = self
            .write(move |conn| {
                run(
                    conn,
                    "INSERT INTO cache_entries (host, store, key, value, expires_ms) \
                     SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS \
                       (SELECT 1 FROM cache_stores WHERE host = ?1 AND name = ?2) \
                     ON CONFLICT (host, store, key) DO UPDATE \
                       SET value = excluded.value, expires_ms = excluded.expires_ms \
                       WHERE cache_entries.expires_ms IS NOT NULL AND cache_entries.expires_ms <= ?6",
                    params![host, name, entry, text, expires, now_ms()],
                )
                .map_err(backend)
            })
            .await?;
        if created == 0 {
            self.require_store(scope, store).await?;
            return Err(CacheError::KeyExists);
        }
        self.hot
            .forget(&entry_key(scope.as_str(), store.as_str(), key));
        Ok(())
    }

    async fn get(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
    ) -> Result<Option<CacheValue>, CacheError> {
        let now = now_ms();
        let hot_key = entry_key(scope.as_str(), store.as_str(), key);
        let ticket = match self.hot.lookup(&hot_key, now) {
            Ok(value) => return Ok(Some((*value).clone())),
            Err(ticket) => ticket,
        };
        let row: (Option<i64>, Option<String>, Option<i64>) = sqlx::query_as(
            "SELECT (SELECT 1 FROM cache_stores WHERE host = ?1 AND name = ?2), e.value, e.expires_ms \
             FROM (SELECT 1) LEFT JOIN cache_entries e ON e.host = ?1 AND e.store = ?2 AND e.key = ?3 \
               AND (e.expires_ms IS NULL OR e.expires_ms > ?4)",
        )
        .bind(scope.as_str())
        .bind(store.as_str())
        .bind(key)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        match row {
            (None, _, _) => Err(CacheError::StoreNotFound),
            (Some(_), None, _) => Ok(None),
            (Some(_), Some(text), expires_ms) => {
                let value = parse_value(&text)?;
                self.hot
                    .remember(ticket, hot_key, Arc::new(value.clone()), expires_ms);
                Ok(Some(value))
            }
        }
    }

    async fn set(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
        value: &CacheValue,
        ttl_ms: Option<u64>,
    ) -> Result<(), CacheError> {
        let (host, name) = owned(scope, store);
        let (entry, text, expires) = (key.to_string(), to_text(value), expiry(ttl_ms));
        let stored = self
            .write(move |conn| {
                run(
                    conn,
                    "INSERT INTO cache_entries (host, store, key, value, expires_ms) \
                     SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS \
                       (SELECT 1 FROM cache_stores WHERE host = ?1 AND name = ?2) \
                     ON CONFLICT (host, store, key) DO UPDATE \
                       SET value = excluded.value, expires_ms = excluded.expires_ms",
                    params![host, name, entry, text, expires],
                )
                .map_err(backend)
            })
            .await?;
        if stored == 0 {
            return Err(CacheError::StoreNotFound);
        }
        self.hot
            .forget(&entry_key(scope.as_str(), store.as_str(), key));
        Ok(())
    }

    async fn delete(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
    ) -> Result<(), CacheError> {
        let (host, name) = owned(scope, store);
        let entry = key.to_string();
        let deleted = self
            .write(move |conn| {
                run(
                    conn,
                    "DELETE FROM cache_entries WHERE host = ? AND store = ? AND key = ?",
                    params![host, name, entry],
                )
                .map_err(backend)
            })
            .await?;
        self.hot
            .forget(&entry_key(scope.as_str(), store.as_str(), key));
        if deleted == 0 {
            self.require_store(scope, store).await?;
        }
        Ok(())
    }

    async fn query(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        pattern: &str,
    ) -> Result<Vec<(String, CacheValue)>, CacheError> {
        self.require_store(scope, store).await?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT key, value FROM cache_entries WHERE host = ? AND store = ? AND key GLOB ? \
               AND (expires_ms IS NULL OR expires_ms > ?) ORDER BY key",
        )
        .bind(scope.as_str())
        .bind(store.as_str())
        .bind(glob_of(pattern))
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter()
            .map(|(key, text)| Ok((key, parse_value(&text)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::glob_of;

    #[test]
    fn glob_escapes_its_own_specials() {
        assert_eq!(glob_of("movie-*"), "movie-*");
        assert_eq!(glob_of("a?b[c]*"), "a[?]b[[]c]*");
        assert_eq!(glob_of("a_b%"), "a_b%");
    }
}
