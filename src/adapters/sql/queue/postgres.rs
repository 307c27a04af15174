//! The queue on PostgreSQL, shared by every nano node: every statement runs in a transaction confined to its tenant
//! (row-level security). Jobs are claimed with `FOR UPDATE SKIP LOCKED`, so several nodes deliver without
//! double-claiming; a claim names the claiming node, and counts only while that node holds its advisory lock, so a
//! node's claims end with it (at-least-once delivery).

use super::{backend, QueueDatabase, SqlQueue};
use crate::core::{DomainName, TenantScope};
use crate::ports::{Job, QueueError};
use async_trait::async_trait;
use futures::future::BoxFuture;
use rand::Rng;
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};

/// Confines a transaction to one tenant (given its id) for the row-level security policies, as every PostgreSQL
/// store of nano does; the postgres adapter makes it (`queue_tables`).
pub type Confine = Box<
    dyn for<'c> Fn(&'c mut PgConnection, &'c str) -> BoxFuture<'c, Result<(), sqlx::Error>>
        + Send
        + Sync,
>;

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

/// What a PostgreSQL queue holds besides its pool: how to confine a transaction to a tenant, and this node's key,
/// locked on `_lock` for as long as the store lives.
pub struct PgNode {
    confine: Confine,
    key: i32,
    _lock: PgConnection,
}

impl SqlQueue<Postgres> {
    /// The queue in `pool`'s database (migrated by the postgres adapter), every transaction confined by `confine`.
    /// Takes this node's lock.
    pub async fn postgres(pool: PgPool, confine: Confine) -> Result<Self, QueueError> {
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
        Ok(Self {
            pool,
            state: PgNode {
                confine,
                key,
                _lock: lock,
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
    const UNCLAIMED: &'static str = UNCLAIMED;
    const SKIP_LOCKED: &'static str = "FOR UPDATE SKIP LOCKED";

    fn int(n: u32) -> i32 {
        i32::try_from(n).unwrap_or(i32::MAX)
    }

    fn claimer(node: &PgNode) -> i32 {
        node.key
    }

    async fn writer<'a>(store: &'a SqlQueue<Self>) -> Result<Self::Writer<'a>, QueueError> {
        store.pool.acquire().await.map_err(backend)
    }

    async fn confine(
        node: &PgNode,
        conn: &mut PgConnection,
        scope: &TenantScope,
    ) -> Result<(), QueueError> {
        (node.confine)(conn, scope.as_str()).await.map_err(backend)
    }

    async fn enqueue(
        store: &SqlQueue<Self>,
        scope: &TenantScope,
        name: &DomainName,
        job: Job,
    ) -> Result<i64, QueueError> {
        store.insert_one(scope, name, &job).await
    }

    async fn delivered(
        store: &SqlQueue<Self>,
        scope: &TenantScope,
        name: &DomainName,
        id: i64,
    ) -> Result<(), QueueError> {
        let mut writer = Self::writer(store).await?;
        let mut tx = store.begin_write(&mut writer, scope).await?;
        SqlQueue::<Postgres>::delete_job(&mut tx, scope, name, id).await?;
        tx.commit().await.map_err(backend)
    }
}
