//! The cache port on Redis: native TTL (`PX`), `SCAN MATCH` pattern queries, JSON values, one key namespace per
//! tenant (`<prefix>:<tenant>:cache:<store>:<key>`) and one set of store names per tenant.
//!
//! Writes run a Lua script that checks the store is in the tenant's set and `SET`s (`NX` for create) atomically, so no
//! write lands in a store being deleted. `delete_store` removes the name, then `SCAN`s and `DEL`s its keys. Queries
//! `SCAN MATCH` with `glob.rs`'s escaping and `MGET` the values. The key prefix (`redis_prefix`) lets tests and
//! deployments share one Redis.

use super::glob;
use crate::core::{DomainName, TenantScope};
use crate::ports::BackendError;
use crate::ports::{CacheError, CacheStore, CacheValue};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use std::collections::BTreeSet;
use std::time::Duration;

/// Where to connect: a `redis://` URL and the namespace every key starts with (`nano` unless tests isolate).
#[derive(Clone)]
pub struct RedisTarget {
    pub url: String,
    pub prefix: String,
}

/// Writes a key only while its store exists (atomic with `delete_store`'s `SREM`), with an optional `PX`
/// and an optional `NX`. Returns -1 when the store is missing, 0 when `NX` found a live key, 1 when written.
const WRITE: &str = r"
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return -1 end
local args = {'SET', KEYS[2], ARGV[2]}
if ARGV[4] == '1' then table.insert(args, 'NX') end
if tonumber(ARGV[3]) > 0 then table.insert(args, 'PX'); table.insert(args, ARGV[3]) end
if redis.call(unpack(args)) then return 1 else return 0 end
";

pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
    write: Script,
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> CacheError {
    CacheError::Backend(BackendError::new(e))
}

/// `host:port` of a Redis URL, for messages (no user, no password).
pub(super) fn describe(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .map(|u| {
            format!(
                "{}:{}",
                u.host_str().unwrap_or("?"),
                u.port().unwrap_or(6379)
            )
        })
        .unwrap_or_else(|| "(invalid redis_url)".to_string())
}

impl RedisCache {
    /// Connects (failing within a few seconds with the server's host, never its password) and checks with `PING`.
    pub async fn open(target: &RedisTarget) -> Result<Self, CacheError> {
        let place = describe(&target.url);
        let fail = |e: redis::RedisError| {
            CacheError::Backend(BackendError::context(format!("Redis at {place}"), e))
        };
        let client = redis::Client::open(target.url.as_str()).map_err(|_| {
            CacheError::Backend(BackendError::msg("redis_url is not a valid Redis URL"))
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(30)))
            .set_number_of_retries(2);
        let mut conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(fail)?;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(fail)?;
        Ok(Self {
            conn,
            prefix: target.prefix.clone(),
            write: Script::new(WRITE),
        })
    }

    fn stores_key(&self, scope: &TenantScope) -> String {
        format!("{}:{}:caches", self.prefix, scope.as_str())
    }

    fn store_prefix(&self, scope: &TenantScope, store: &DomainName) -> String {
        format!(
            "{}:{}:cache:{}:",
            self.prefix,
            scope.as_str(),
            store.as_str()
        )
    }

    async fn has_store(&self, scope: &TenantScope, store: &DomainName) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let exists: bool = conn
            .sismember(self.stores_key(scope), store.as_str())
            .await
            .map_err(backend)?;
        if exists {
            Ok(())
        } else {
            Err(CacheError::StoreNotFound)
        }
    }

    /// Every Redis key of `store` matching `pattern` (a Redis glob for the key part), without duplicates.
    async fn scan(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key_glob: &str,
    ) -> Result<BTreeSet<String>, CacheError> {
        let mut conn = self.conn.clone();
        let matcher = format!(
            "{}{}",
            glob::literal(&self.store_prefix(scope, store)),
            key_glob
        );
        let mut found = BTreeSet::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&matcher)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .map_err(backend)?;
            found.extend(keys);
            if next == 0 {
                return Ok(found);
            }
            cursor = next;
        }
    }

    async fn write(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
        value: &CacheValue,
        ttl_ms: Option<u64>,
        only_new: bool,
    ) -> Result<(), CacheError> {
        let json = serde_json::to_string(value).map_err(backend)?;
        let mut conn = self.conn.clone();
        let outcome: i64 = self
            .write
            .key(self.stores_key(scope))
            .key(format!("{}{}", self.store_prefix(scope, store), key))
            .arg(store.as_str())
            .arg(json)
            .arg(ttl_ms.unwrap_or(0))
            .arg(if only_new { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await
            .map_err(backend)?;
        match outcome {
            -1 => Err(CacheError::StoreNotFound),
            0 => Err(CacheError::KeyExists),
            _ => Ok(()),
        }
    }
}

fn parse(json: &str) -> Result<CacheValue, CacheError> {
    serde_json::from_str(json).map_err(backend)
}

#[async_trait]
impl CacheStore for RedisCache {
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), CacheError> {
        for store in self.list_stores(scope).await? {
            let store = DomainName::parse(&store).map_err(backend)?;
            match self.delete_store(scope, &store).await {
                Ok(()) | Err(CacheError::StoreNotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn usage(&self, scope: &TenantScope) -> Result<u64, CacheError> {
        let mut live = 0;
        for store in self.list_stores(scope).await? {
            let store = DomainName::parse(&store).map_err(backend)?;
            live += self.scan(scope, &store, "*").await?.len() as u64;
        }
        Ok(live)
    }

    async fn list_stores(&self, scope: &TenantScope) -> Result<Vec<String>, CacheError> {
        let mut conn = self.conn.clone();
        let mut names: Vec<String> = conn
            .smembers(self.stores_key(scope))
            .await
            .map_err(backend)?;
        names.sort();
        Ok(names)
    }

    async fn dump(
        &self,
        scope: &TenantScope,
        store: &DomainName,
    ) -> Result<Vec<(String, CacheValue, Option<u64>)>, CacheError> {
        let entries = self.query(scope, store, "*").await?;
        let prefix = self.store_prefix(scope, store);
        let mut conn = self.conn.clone();
        let mut out = Vec::with_capacity(entries.len());
        for chunk in entries.chunks(500) {
            let mut pipe = redis::pipe();
            for (key, _) in chunk {
                pipe.cmd("PTTL").arg(format!("{prefix}{key}"));
            }
            let ttls: Vec<i64> = pipe.query_async(&mut conn).await.map_err(backend)?;
            for ((key, value), ttl) in chunk.iter().zip(ttls) {
                // -2: expired since the read; -1: no expiry.
                match ttl {
                    -2 => {}
                    -1 => out.push((key.clone(), value.clone(), None)),
                    ms => out.push((key.clone(), value.clone(), Some(ms.max(1) as u64))),
                }
            }
        }
        Ok(out)
    }

    async fn create_store(
        &self,
        scope: &TenantScope,
        store: &DomainName,
    ) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let added: i64 = conn
            .sadd(self.stores_key(scope), store.as_str())
            .await
            .map_err(backend)?;
        if added == 0 {
            return Err(CacheError::StoreExists);
        }
        Ok(())
    }

    async fn delete_store(
        &self,
        scope: &TenantScope,
        store: &DomainName,
    ) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let removed: i64 = conn
            .srem(self.stores_key(scope), store.as_str())
            .await
            .map_err(backend)?;
        if removed == 0 {
            return Err(CacheError::StoreNotFound);
        }
        // Writes check the set atomically, so none lands after the SREM; the scan sees every earlier one.
        let keys: Vec<String> = self.scan(scope, store, "*").await?.into_iter().collect();
        for chunk in keys.chunks(500) {
            let _: i64 = conn.del(chunk).await.map_err(backend)?;
        }
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
        self.write(scope, store, key, value, ttl_ms, true).await
    }

    async fn get(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
    ) -> Result<Option<CacheValue>, CacheError> {
        let mut conn = self.conn.clone();
        let (exists, json): (bool, Option<String>) = redis::pipe()
            .atomic()
            .sismember(self.stores_key(scope), store.as_str())
            .get(format!("{}{}", self.store_prefix(scope, store), key))
            .query_async(&mut conn)
            .await
            .map_err(backend)?;
        if !exists {
            return Err(CacheError::StoreNotFound);
        }
        json.as_deref().map(parse).transpose()
    }

    async fn set(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
        value: &CacheValue,
        ttl_ms: Option<u64>,
    ) -> Result<(), CacheError> {
        self.write(scope, store, key, value, ttl_ms, false).await
    }

    async fn delete(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        key: &str,
    ) -> Result<(), CacheError> {
        self.has_store(scope, store).await?;
        let mut conn = self.conn.clone();
        let _: i64 = conn
            .del(format!("{}{}", self.store_prefix(scope, store), key))
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn query(
        &self,
        scope: &TenantScope,
        store: &DomainName,
        pattern: &str,
    ) -> Result<Vec<(String, CacheValue)>, CacheError> {
        self.has_store(scope, store).await?;
        let prefix = self.store_prefix(scope, store);
        let keys: Vec<String> = self
            .scan(scope, store, &glob::pattern(pattern))
            .await?
            .into_iter()
            .collect();
        let mut conn = self.conn.clone();
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(500) {
            let values: Vec<Option<String>> = redis::cmd("MGET")
                .arg(chunk)
                .query_async(&mut conn)
                .await
                .map_err(backend)?;
            for (full, json) in chunk.iter().zip(values) {
                // A key that expired between SCAN and MGET reads as nil and is left out.
                if let (Some(json), Some(key)) = (json, full.strip_prefix(&prefix)) {
                    out.push((key.to_string(), parse(&json)?));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}
