//! The cache port's contract, run against every cache adapter: stores, keys, TTL, patterns, tenant isolation.

use crate::support::fresh_name;
use nano::core::{DomainName, TenantId, TenantScope};
use nano::ports::{CacheError, CacheStore, CacheValue};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

pub mod suite {
    use super::*;

    pub fn scope() -> TenantScope {
        TenantScope::resolved(TenantId::parse(&fresh_name("t")).unwrap())
    }

    pub fn store() -> DomainName {
        DomainName::parse(&fresh_name("c")).unwrap()
    }

    pub fn obj(v: serde_json::Value) -> CacheValue {
        v.as_object().unwrap().clone()
    }

    async fn with_store(c: &Arc<dyn CacheStore>) -> (TenantScope, DomainName) {
        let (s, name) = (scope(), store());
        c.create_store(&s, &name).await.unwrap();
        (s, name)
    }

    pub async fn creates_lists_and_deletes_stores(c: &Arc<dyn CacheStore>) {
        let s = scope();
        let (a, b) = (store(), store());
        c.create_store(&s, &b).await.unwrap();
        c.create_store(&s, &a).await.unwrap();
        assert_eq!(c.create_store(&s, &a).await, Err(CacheError::StoreExists));
        let mut want = vec![a.to_string(), b.to_string()];
        want.sort();
        assert_eq!(c.list_stores(&s).await.unwrap(), want);
        c.delete_store(&s, &a).await.unwrap();
        assert_eq!(c.delete_store(&s, &a).await, Err(CacheError::StoreNotFound));
        assert_eq!(c.list_stores(&s).await.unwrap(), vec![b.to_string()]);
    }

    pub async fn key_operations_need_the_store(c: &Arc<dyn CacheStore>) {
        let (s, name) = (scope(), store());
        let v = obj(json!({"a": 1}));
        assert_eq!(
            c.create(&s, &name, "k", &v, None).await,
            Err(CacheError::StoreNotFound)
        );
        assert_eq!(
            c.set(&s, &name, "k", &v, None).await,
            Err(CacheError::StoreNotFound)
        );
        assert_eq!(c.get(&s, &name, "k").await, Err(CacheError::StoreNotFound));
        assert_eq!(
            c.delete(&s, &name, "k").await,
            Err(CacheError::StoreNotFound)
        );
        assert_eq!(
            c.query(&s, &name, "*").await,
            Err(CacheError::StoreNotFound)
        );
    }

    pub async fn create_get_set_delete(c: &Arc<dyn CacheStore>) {
        let (s, name) = with_store(c).await;
        let v1 = obj(json!({"title": "Dune", "n": [1, 2]}));
        c.create(&s, &name, "movie-1", &v1, None).await.unwrap();
        assert_eq!(
            c.create(&s, &name, "movie-1", &v1, None).await,
            Err(CacheError::KeyExists)
        );
        assert_eq!(c.get(&s, &name, "movie-1").await.unwrap(), Some(v1));
        let v2 = obj(json!({"other": true}));
        c.set(&s, &name, "movie-1", &v2, None).await.unwrap();
        assert_eq!(
            c.get(&s, &name, "movie-1").await.unwrap(),
            Some(v2.clone()),
            "set replaces"
        );
        c.set(&s, &name, "movie-2", &v2, None).await.unwrap();
        assert_eq!(
            c.get(&s, &name, "movie-2").await.unwrap(),
            Some(v2),
            "set upserts"
        );
        c.delete(&s, &name, "movie-1").await.unwrap();
        c.delete(&s, &name, "movie-1").await.unwrap();
        assert_eq!(c.get(&s, &name, "movie-1").await.unwrap(), None);
    }

    pub async fn deleting_a_store_removes_its_keys(c: &Arc<dyn CacheStore>) {
        let (s, name) = with_store(c).await;
        c.set(&s, &name, "k", &obj(json!({"a": 1})), None)
            .await
            .unwrap();
        c.delete_store(&s, &name).await.unwrap();
        c.create_store(&s, &name).await.unwrap();
        assert_eq!(c.get(&s, &name, "k").await.unwrap(), None);
    }

    pub async fn expired_keys_are_not_returned_and_can_be_recreated(c: &Arc<dyn CacheStore>) {
        let (s, name) = with_store(c).await;
        let v = obj(json!({"a": 1}));
        c.create(&s, &name, "short", &v, Some(30)).await.unwrap();
        c.create(&s, &name, "long", &v, Some(3_600_000))
            .await
            .unwrap();
        c.create(&s, &name, "forever", &v, Some(0)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(c.get(&s, &name, "short").await.unwrap(), None);
        assert_eq!(c.get(&s, &name, "long").await.unwrap(), Some(v.clone()));
        assert_eq!(c.get(&s, &name, "forever").await.unwrap(), Some(v.clone()));
        let keys: Vec<String> = c
            .query(&s, &name, "*")
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec!["forever", "long"]);
        c.create(&s, &name, "short", &v, None).await.unwrap();
        assert_eq!(c.get(&s, &name, "short").await.unwrap(), Some(v));
    }

    pub async fn set_without_ttl_clears_the_ttl(c: &Arc<dyn CacheStore>) {
        let (s, name) = with_store(c).await;
        let v = obj(json!({"a": 1}));
        c.set(&s, &name, "k", &v, Some(40)).await.unwrap();
        c.set(&s, &name, "k", &v, None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(90)).await;
        assert_eq!(c.get(&s, &name, "k").await.unwrap(), Some(v));
    }

    pub async fn patterns_match_exactly(c: &Arc<dyn CacheStore>) {
        let (s, name) = with_store(c).await;
        let v = obj(json!({}));
        for key in [
            "movie-1", "movie-2", "movie-3", "a-movie", "b-movie", "c-movie", "moviex1", "movie_b",
            "mov", "x/y$z+w",
        ] {
            c.set(&s, &name, key, &v, None).await.unwrap();
        }
        let keys = |pattern: &'static str| {
            let c = c.clone();
            let (s, name) = (s.clone(), name.clone());
            async move {
                c.query(&s, &name, pattern)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(keys("movie-*").await, vec!["movie-1", "movie-2", "movie-3"]);
        assert_eq!(keys("*-movie").await, vec!["a-movie", "b-movie", "c-movie"]);
        assert_eq!(keys("*").await.len(), 10);
        assert_eq!(
            keys("m*v*-*").await,
            vec!["movie-1", "movie-2", "movie-3"],
            "every *"
        );
        assert_eq!(
            keys("movie_*").await,
            vec!["movie_b"],
            "_ is not a wildcard"
        );
        assert_eq!(
            keys("MOVIE-*").await,
            Vec::<String>::new(),
            "case-sensitive"
        );
        assert_eq!(keys("mov").await, vec!["mov"]);
        assert_eq!(keys("mov?e-1").await, Vec::<String>::new(), "? is literal");
        assert_eq!(
            keys("movie-[12]").await,
            Vec::<String>::new(),
            "[ is literal"
        );
        assert_eq!(keys("%").await, Vec::<String>::new(), "% is literal");
        assert_eq!(keys("x/y$z+*").await, vec!["x/y$z+w"]);
    }

    pub async fn tenants_are_isolated(c: &Arc<dyn CacheStore>) {
        let (a, b) = (scope(), scope());
        let name = store();
        c.create_store(&a, &name).await.unwrap();
        // B has no such store, even though A does.
        assert_eq!(c.get(&b, &name, "k").await, Err(CacheError::StoreNotFound));
        assert!(c.list_stores(&b).await.unwrap().is_empty());
        c.create_store(&b, &name).await.unwrap();
        let va = obj(json!({"owner": "a"}));
        let vb = obj(json!({"owner": "b"}));
        c.create(&a, &name, "k", &va, None).await.unwrap();
        // Same store and key under B: no conflict, no visibility.
        assert_eq!(c.get(&b, &name, "k").await.unwrap(), None);
        assert!(c.query(&b, &name, "*").await.unwrap().is_empty());
        c.create(&b, &name, "k", &vb, None).await.unwrap();
        c.set(&b, &name, "k", &vb, None).await.unwrap();
        assert_eq!(c.get(&a, &name, "k").await.unwrap(), Some(va.clone()));
        c.delete(&b, &name, "k").await.unwrap();
        assert_eq!(c.get(&a, &name, "k").await.unwrap(), Some(va.clone()));
        c.delete_store(&b, &name).await.unwrap();
        assert_eq!(c.get(&a, &name, "k").await.unwrap(), Some(va));
        assert_eq!(c.list_stores(&a).await.unwrap(), vec![name.to_string()]);
    }
}

pub(crate) async fn sqlite() -> (Arc<dyn CacheStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cache = nano::adapters::sqlite::SqliteCache::open(&dir.path().join("cache.db"))
        .await
        .unwrap();
    (Arc::new(cache), dir)
}

/// Redis: each test under its own random key prefix, so tests run in parallel on one server.
pub(crate) async fn redis() -> (Arc<dyn CacheStore>, ()) {
    let target = nano::adapters::redis::RedisTarget {
        url: std::env::var("NANO_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string()),
        prefix: fresh_name("nanotest"),
    };
    let cache = nano::adapters::redis::RedisCache::open(&target)
        .await
        .expect("Redis at 127.0.0.1:6379 (scripts/ci-services.sh starts it)");
    (Arc::new(cache), ())
}

/// SQLite only: expired rows leave the file without anyone reading them (the background purge).
#[tokio::test]
async fn sqlite_purges_expired_keys_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let cache = nano::adapters::sqlite::SqliteCache::open_with(&path, Duration::from_millis(20))
        .await
        .unwrap();
    let (s, name) = (suite::scope(), suite::store());
    cache.create_store(&s, &name).await.unwrap();
    let v = suite::obj(json!({"a": 1}));
    cache.set(&s, &name, "gone", &v, Some(10)).await.unwrap();
    cache.set(&s, &name, "kept", &v, None).await.unwrap();
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let mut remaining = i64::MAX;
    for _ in 0..500 {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM cache_entries WHERE host = ?")
            .bind(s.as_str())
            .fetch_one(&raw)
            .await
            .unwrap();
        remaining = n;
        if remaining == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(remaining, 1, "the expired key was never purged");
    assert_eq!(cache.get(&s, &name, "kept").await.unwrap(), Some(v));
}

/// The quota decorator over SQLite, with limits no behaviour reaches.
pub(crate) async fn quota() -> (Arc<dyn CacheStore>, tempfile::TempDir) {
    let (inner, guard) = sqlite().await;
    let limits = crate::generous_quotas();
    (
        Arc::new(nano::app::quota::QuotaCache::new(inner, &limits)),
        guard,
    )
}

/// SQLite behind the decorator that undoes stores created after their tenant's deletion, with a registry that knows
/// none of the suite's tenants (so none is deleted).
pub(crate) async fn live_tenant() -> (Arc<dyn CacheStore>, tempfile::TempDir) {
    let (inner, guard) = sqlite().await;
    let pool = nano::adapters::sqlite::registry_pool(&guard.path().join("registry.db"))
        .await
        .unwrap();
    let registry = Arc::new(nano::adapters::sql::SqlRegistry::new(pool));
    (
        Arc::new(nano::app::deleted_tenants::LiveTenantCache::new(
            inner, registry,
        )),
        guard,
    )
}

/// A store created after its tenant was marked deleted (a request that resolved the tenant before the mark and
/// lands after the purge) is undone and refused; a neighbour's is kept.
#[tokio::test]
async fn stores_created_after_the_tenants_deletion_are_undone() {
    let (inner, dir) = sqlite().await;
    let pool = nano::adapters::sqlite::registry_pool(&dir.path().join("registry.db"))
        .await
        .unwrap();
    let registry: Arc<dyn nano::ports::Registry> =
        Arc::new(nano::adapters::sql::SqlRegistry::new(pool));
    let cache = nano::app::deleted_tenants::LiveTenantCache::new(inner.clone(), registry.clone());
    let (gone, kept) = (
        TenantId::parse(&fresh_name("t")).unwrap(),
        TenantId::parse(&fresh_name("t")).unwrap(),
    );
    for t in [&gone, &kept] {
        registry.create_tenant(t).await.unwrap();
    }
    let (sg, sk) = (
        TenantScope::resolved(gone.clone()),
        TenantScope::resolved(kept.clone()),
    );
    registry.mark_tenant_deleted(&gone).await.unwrap();
    inner.purge_tenant(&sg).await.unwrap();
    let store = suite::store();
    let late = cache.create_store(&sg, &store).await;
    assert!(matches!(late, Err(CacheError::StoreNotFound)), "{late:?}");
    assert!(inner.list_stores(&sg).await.unwrap().is_empty());
    cache.create_store(&sk, &store).await.unwrap();
    assert_eq!(
        inner.list_stores(&sk).await.unwrap(),
        vec![store.as_str().to_string()]
    );
}

crate::contract_suite!(
    super::suite,
    [sqlite => super::sqlite, redis => super::redis, quota => super::quota, live_tenant => super::live_tenant],
    [
        creates_lists_and_deletes_stores,
        key_operations_need_the_store,
        create_get_set_delete,
        deleting_a_store_removes_its_keys,
        expired_keys_are_not_returned_and_can_be_recreated,
        set_without_ttl_clears_the_ttl,
        patterns_match_exactly,
        tenants_are_isolated,
    ]
);
