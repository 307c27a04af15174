//! `purge_tenant` on every service port: the purged tenant's domains and everything in them are gone (the same
//! names can be created again, empty), a second purge is harmless, and a tenant with the same names is untouched.
//! Every adapter of these ports must pass these behaviours.

use bytes::Bytes;
use nano::core::{DomainName, TenantId, TenantScope};
use nano::ports::search::IndexMapping;
use nano::ports::storage::{ByteStream, ObjectKey};
use nano::ports::{
    CacheError, CacheStore, DataError, DataStore, JobStatus, QueueConfig, QueueError, QueueStore,
    Search, SearchError, Storage, StorageError,
};
use serde_json::json;
use std::sync::Arc;

fn two() -> (TenantScope, TenantScope, DomainName) {
    let t =
        |p: &str| TenantScope::resolved(TenantId::parse(&crate::support::fresh_name(p)).unwrap());
    (t("gone"), t("kept"), DomainName::parse("movies").unwrap())
}

pub mod suite {
    use super::*;

    pub async fn data(store: &Arc<dyn DataStore>) {
        let (gone, kept, db) = two();
        for s in [&gone, &kept] {
            store.create_db(s, &db).await.unwrap();
            store
                .create_doc(s, &db, &json!({ "_id": "d1", "t": s.as_str() }))
                .await
                .unwrap();
        }
        store.purge_tenant(&gone).await.unwrap();
        store.purge_tenant(&gone).await.unwrap();
        assert_eq!(
            store.get_doc(&gone, &db, "d1").await,
            Err(DataError::DbNotFound)
        );
        store.create_db(&gone, &db).await.unwrap();
        assert_eq!(
            store.get_doc(&gone, &db, "d1").await,
            Err(DataError::DocNotFound("d1".into()))
        );
        assert_eq!(
            store.get_doc(&kept, &db, "d1").await.unwrap()["t"],
            kept.as_str()
        );
    }

    pub async fn cache(store: &Arc<dyn CacheStore>) {
        let (gone, kept, name) = two();
        let value = json!({ "v": 1 }).as_object().unwrap().clone();
        for s in [&gone, &kept] {
            store.create_store(s, &name).await.unwrap();
            store.create(s, &name, "k", &value, None).await.unwrap();
        }
        store.purge_tenant(&gone).await.unwrap();
        store.purge_tenant(&gone).await.unwrap();
        assert!(store.list_stores(&gone).await.unwrap().is_empty());
        assert_eq!(
            store.get(&gone, &name, "k").await,
            Err(CacheError::StoreNotFound)
        );
        assert_eq!(store.get(&kept, &name, "k").await.unwrap(), Some(value));
    }

    pub async fn storage(store: &Arc<dyn Storage>) {
        let (gone, kept, bucket) = two();
        let key = ObjectKey::parse("a/b.txt").unwrap();
        let body = || -> ByteStream {
            Box::pin(futures::stream::once(async {
                Ok(Bytes::from_static(b"x"))
            }))
        };
        for s in [&gone, &kept] {
            store.create_bucket(s, &bucket).await.unwrap();
            store.put_object(s, &bucket, &key, body()).await.unwrap();
        }
        store.purge_tenant(&gone).await.unwrap();
        store.purge_tenant(&gone).await.unwrap();
        assert!(!store.bucket_exists(&gone, &bucket).await.unwrap());
        assert!(matches!(
            store.head_object(&gone, &bucket, &key).await,
            Err(StorageError::BucketNotFound)
        ));
        assert_eq!(
            store.head_object(&kept, &bucket, &key).await.unwrap().size,
            1
        );
    }

    pub async fn search(store: &Arc<dyn Search>) {
        let (gone, kept, index) = two();
        let mapping = IndexMapping {
            fields: vec!["t".into()],
            ..Default::default()
        };
        for s in [&gone, &kept] {
            store
                .create_index(s, &index, mapping.clone())
                .await
                .unwrap();
            let doc = json!({ "t": "hello" }).as_object().unwrap().clone();
            store.add(s, &index, "d1", doc).await.unwrap();
        }
        store.purge_tenant(&gone).await.unwrap();
        store.purge_tenant(&gone).await.unwrap();
        assert!(matches!(
            store.get(&gone, &index, "d1").await,
            Err(SearchError::IndexNotFound)
        ));
        assert_eq!(store.get(&kept, &index, "d1").await.unwrap()["t"], "hello");
    }

    pub async fn queue(store: &Arc<dyn QueueStore>) {
        let (gone, kept, name) = two();
        let config = QueueConfig {
            target: "http://127.0.0.1:9/x".into(),
            secret: None,
            max_attempts: 1,
            backoff_ms: 1000,
            concurrency: 1,
        };
        for s in [&gone, &kept] {
            store.create_queue(s, &name, &config).await.unwrap();
            store
                .enqueue(s, &name, Bytes::from_static(b"{}"), 1)
                .await
                .unwrap();
            store
                .enqueue(s, &name, Bytes::from_static(b"{}"), 2)
                .await
                .unwrap();
        }
        store.purge_tenant(&gone).await.unwrap();
        store.purge_tenant(&gone).await.unwrap();
        assert!(store.list_queues(&gone).await.unwrap().is_empty());
        assert_eq!(
            store.list_jobs(&gone, &name, JobStatus::Ready).await,
            Err(QueueError::QueueNotFound)
        );
        store.create_queue(&gone, &name, &config).await.unwrap();
        assert_eq!(
            store
                .enqueue(&gone, &name, Bytes::from_static(b"{}"), 3)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .list_jobs(&kept, &name, JobStatus::Ready)
                .await
                .unwrap()
                .len(),
            2
        );
    }
}

crate::every_service_adapter!(super::suite);
