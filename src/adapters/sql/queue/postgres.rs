//! The queue on PostgreSQL, shared by every nano node: every statement runs in a transaction confined to its tenant
//! (row-level security). Jobs are claimed with `FOR UPDATE SKIP LOCKED`, so several nodes deliver without
//! double-claiming; a claim names the claiming node, and counts only while that node holds its advisory lock and
//! its lease in `queue_nodes` is fresh. A node that stops (even SIGKILLed) closes its connection and loses its lock
//! at once; a node that freezes or loses the database stops renewing its lease, and its claims are void once the
//! lease is older than the takeover time (`takeover_secs`). The other nodes then claim those jobs again
//! (at-least-once delivery). Leases are stamped and judged by the database's clock, so nodes' clocks may differ.

use super::{backend, Commit, QueueDatabase, SqlQueue};
use crate::core::{DomainName, TenantScope};
use crate::ports::{Claimed, Job, QueueError};
use async_trait::async_trait;
use futures::future::BoxFuture;
use rand::Rng;
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use std::time::Duration;

/// Confines a transaction to one tenant (given its id) for the row-level security policies, as every PostgreSQL
/// store of nano does (`true`: checking that the tenant is not being deleted; `false` for purges); the postgres
/// adapter makes it (`queue_tables`).
pub type Confine = Box<
    dyn for<'c> Fn(&'c mut PgConnection, &'c str, bool) -> BoxFuture<'c, Result<(), sqlx::Error>>
        + Send
        + Sync,
>;

/// First key of every node lock ("nano" in ASCII, 0x6e616e6f); the second is the node key.
const NODE_LOCK_CLASS: i32 = 1_851_879_023;

/// The database's clock, in ms since the Unix epoch: the one clock every lease is stamped and judged by.
const DB_NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/// Jobs whose claim is void: unclaimed, or claimed by a node that no longer holds its lock or whose lease is older
/// than `takeover_ms`.
fn unclaimed(takeover_ms: i64) -> String {
    format!(
        "(claimed_by IS NULL OR claimed_by NOT IN (SELECT n.node FROM queue_nodes n \
           WHERE n.alive_ms > {DB_NOW_MS} - {takeover_ms} AND n.node::bigint IN \
             (SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND classid = {NODE_LOCK_CLASS}::oid \
                AND objsubid = 2 AND granted)))"
    )
}

/// Renews this node's lease every `every` on `lock`, the connection holding its lock, until the store is dropped.
/// A broken connection (the lock went with it) is replaced and the lock taken again, so the node's later claims
/// count again.
async fn renew(pool: PgPool, mut lock: Option<PgConnection>, key: i32, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let conn = match lock.as_mut() {
            Some(conn) => conn,
            None => match relock(&pool, key).await {
                Ok(conn) => lock.insert(conn),
                Err(e) => {
                    tracing::warn!(error = %e, "queue: cannot take this node's lock again");
                    continue;
                }
            },
        };
        let renewed = sqlx::query(&format!(
            "UPDATE queue_nodes SET alive_ms = {DB_NOW_MS} WHERE node = $1"
        ))
        .bind(key)
        .execute(conn)
        .await;
        if let Err(e) = renewed {
            tracing::warn!(error = %e, "queue: cannot renew this node's lease; other nodes take its jobs over");
            lock = None;
        }
    }
}

/// A new connection holding node `key`'s lock, with its lease renewed.
async fn relock(pool: &PgPool, key: i32) -> Result<PgConnection, sqlx::Error> {
    let mut conn = pool.acquire().await?.detach();
    let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1, $2)")
        .bind(NODE_LOCK_CLASS)
        .bind(key)
        .fetch_one(&mut conn)
        .await?;
    if !got {
        return Err(sqlx::Error::Protocol(format!(
            "node lock {key} is held elsewhere"
        )));
    }
    lease(&mut conn, key).await?;
    Ok(conn)
}

/// Stamps node `key`'s lease now, and forgets leases of nodes gone for a day.
async fn lease(conn: &mut PgConnection, key: i32) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "DELETE FROM queue_nodes WHERE alive_ms < {DB_NOW_MS} - 86400000"
    ))
    .execute(&mut *conn)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO queue_nodes (node, alive_ms) VALUES ($1, {DB_NOW_MS}) \
         ON CONFLICT (node) DO UPDATE SET alive_ms = excluded.alive_ms"
    ))
    .bind(key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stops the lease's renewal when the store is dropped (its connection closes, and the lock with it).
struct Renewal(tokio::task::JoinHandle<()>);

impl Drop for Renewal {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
#[test]
fn node_lock_class_is_nano_in_ascii() {
    assert_eq!(NODE_LOCK_CLASS, 0x6e61_6e6f);
    assert!(unclaimed(15_000).contains(&format!("classid = {NODE_LOCK_CLASS}::oid")));
}

/// What a PostgreSQL queue holds besides its pool: how to confine a transaction to a tenant, this node's key (locked,
/// with its lease renewed, for as long as the store lives) and the takeover time.
pub struct PgNode {
    confine: Confine,
    key: i32,
    takeover_ms: i64,
    _renewal: Renewal,
}

impl SqlQueue<Postgres> {
    /// The queue in `pool`'s database (migrated by the postgres adapter), every transaction confined by `confine`.
    /// Takes this node's lock and lease; another node takes this one's claims over once its lease is `takeover` old
    /// (it is renewed three times as often).
    pub async fn postgres(
        pool: PgPool,
        confine: Confine,
        takeover: Duration,
    ) -> Result<Self, QueueError> {
        let mut lock = pool.acquire().await.map_err(backend)?.detach();
        let key = loop {
            let key: i32 = rand::thread_rng().gen_range(1..i32::MAX);
            let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1, $2)")
                .bind(NODE_LOCK_CLASS)
                .bind(key)
                .fetch_one(&mut lock)
                .await
                .map_err(backend)?;
            if got {
                break key;
            }
        };
        lease(&mut lock, key).await.map_err(backend)?;
        let every = (takeover / 3).max(Duration::from_millis(100));
        let renewal = Renewal(tokio::spawn(renew(pool.clone(), Some(lock), key, every)));
        Ok(Self {
            pool,
            state: PgNode {
                confine,
                key,
                takeover_ms: i64::try_from(takeover.as_millis()).unwrap_or(i64::MAX / 2),
                _renewal: renewal,
            },
        })
    }
}

#[async_trait]
impl QueueDatabase for Postgres {
    type State = PgNode;
    type Int = i32;
    type Writer<'a> = PoolConnection<Postgres>;

    const BYTEWISE: &'static str = "COLLATE \"C\"";
    const QUEUE_ROW_LOCK: &'static str = " FOR SHARE";
    const CLAIM_COLUMN: &'static str = "claimed_by";
    const NO_CLAIM: &'static str = "NULL";
    const SKIP_LOCKED: &'static str = "FOR UPDATE SKIP LOCKED";

    fn int(n: u32) -> i32 {
        i32::try_from(n).unwrap_or(i32::MAX)
    }

    fn claimer(node: &PgNode) -> i32 {
        node.key
    }

    async fn writer<'a>(
        store: &'a SqlQueue<Self>,
        _: Commit,
    ) -> Result<Self::Writer<'a>, QueueError> {
        store.pool.acquire().await.map_err(backend)
    }

    async fn unsynced(conn: &mut PgConnection) -> Result<(), QueueError> {
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(conn)
            .await
            .map_err(backend)?;
        Ok(())
    }

    fn unclaimed(node: &PgNode) -> String {
        unclaimed(node.takeover_ms)
    }

    async fn confine_scan(node: &PgNode, conn: &mut PgConnection) -> Result<(), QueueError> {
        // No tenant's rows through `tenant_rows`; every tenant's through `due_scan`, for this transaction only.
        (node.confine)(conn, "", false).await.map_err(backend)?;
        sqlx::query("SELECT set_config('nano.scan', 'due', true)")
            .execute(conn)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn confine(
        node: &PgNode,
        conn: &mut PgConnection,
        scope: &TenantScope,
    ) -> Result<(), QueueError> {
        (node.confine)(conn, scope.as_str(), true)
            .await
            .map_err(backend)
    }

    async fn confine_purge(
        node: &PgNode,
        conn: &mut PgConnection,
        scope: &TenantScope,
    ) -> Result<(), QueueError> {
        (node.confine)(conn, scope.as_str(), false)
            .await
            .map_err(backend)
    }

    async fn enqueue(
        store: &SqlQueue<Self>,
        scope: &TenantScope,
        name: &DomainName,
        job: Job,
    ) -> Result<i64, QueueError> {
        store.insert_one(scope, name, &job).await
    }

    async fn claim(
        store: &SqlQueue<Self>,
        scope: &TenantScope,
        name: &DomainName,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<Claimed>, QueueError> {
        store.claim_on_writer(scope, name, now_ms, limit).await
    }

    async fn delivered(
        store: &SqlQueue<Self>,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        let mut writer = Self::writer(store, Commit::Unsynced).await?;
        let mut tx = store
            .begin_write(&mut writer, scope, Commit::Unsynced)
            .await?;
        SqlQueue::<Postgres>::delete_job(&mut tx, scope, name, id).await?;
        tx.commit().await.map_err(backend)
    }
}
