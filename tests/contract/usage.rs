//! `usage` on every service port (what the stored-data quotas count): it follows the tenant's writes and deletes,
//! spans all of the tenant's domains, and never counts another tenant's data stored under the same names.
//! Every adapter of these ports must pass these behaviours.

use bytes::Bytes;
use nano::core::{DomainName, TenantId, TenantScope};
use nano::ports::search::IndexMapping;
use nano::ports::storage::{ByteStream, ObjectKey};
use nano::ports::{CacheStore, DataStore, QueueConfig, QueueStore, Search, Storage};
use serde_json::json;
use std::sync::Arc;

fn two() -> (TenantScope, TenantScope, DomainName, DomainName) {
    let t =
        |p: &str| TenantScope::resolved(TenantId::parse(&crate::support::fresh_name(p)).unwrap());
    (
        t("used"),
        t("other"),
        DomainName::parse("movies").unwrap(),
        DomainName::parse("books").unwrap(),
    )
}

pub mod suite {
    use super::*;

    pub async fn data(store: &Arc<dyn DataStore>) {
        let (a, b, movies, books) = two();
        assert_eq!(store.usage(&a).await.unwrap(), 0);
        for s in [&a, &b] {
            store.create_db(s, &movies).await.unwrap();
            store
                .create_doc(s, &movies, &json!({ "_id": "m1" }))
                .await
                .unwrap();
        }
        store.create_db(&a, &books).await.unwrap();
        store
            .put_doc(&a, &books, "b1", &json!({ "n": 1 }))
            .await
            .unwrap();
        store
            .put_doc(&a, &books, "b1", &json!({ "n": 2 }))
            .await
            .unwrap();
        store
            .bulk(
                &a,
                &books,
                &[json!({ "_id": "b2" }), json!({ "_id": "b3" })],
            )
            .await
            .unwrap();
        assert_eq!(store.usage(&a).await.unwrap(), 4);
        assert_eq!(store.usage(&b).await.unwrap(), 1);
        store.delete_doc(&a, &movies, "m1").await.unwrap();
        assert_eq!(store.usage(&a).await.unwrap(), 3);
        store.delete_db(&a, &books).await.unwrap();
        assert_eq!(store.usage(&a).await.unwrap(), 0);
        assert_eq!(store.usage(&b).await.unwrap(), 1);
    }

    pub async fn cache(store: &Arc<dyn CacheStore>) {
        let (a, b, movies, books) = two();
        let value = json!({ "v": 1 }).as_object().unwrap().clone();
        assert_eq!(store.usage(&a).await.unwrap(), 0);
        for s in [&a, &b] {
            store.create_store(s, &movies).await.unwrap();
            store.create(s, &movies, "k1", &value, None).await.unwrap();
        }
        store.create_store(&a, &books).await.unwrap();
        store.set(&a, &books, "k1", &value, None).await.unwrap();
        store.set(&a, &books, "k1", &value, None).await.unwrap();
        store.set(&a, &books, "k2", &value, None).await.unwrap();
        store
            .set(&a, &books, "brief", &value, Some(1))
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(
            store.usage(&a).await.unwrap(),
            3,
            "an expired key is not counted"
        );
        assert_eq!(store.usage(&b).await.unwrap(), 1);
        store.delete(&a, &books, "k2").await.unwrap();
        assert_eq!(store.usage(&a).await.unwrap(), 2);
        store.delete_store(&a, &movies).await.unwrap();
        assert_eq!(store.usage(&a).await.unwrap(), 1);
        assert_eq!(store.usage(&b).await.unwrap(), 1);
    }

    pub async fn storage(store: &Arc<dyn Storage>) {
        let (a, b, movies, books) = two();
        let body = |bytes: &'static [u8]| -> ByteStream {
            Box::pin(futures::stream::once(async move {
                Ok(Bytes::from_static(bytes))
            }))
        };
        let key = |k: &str| ObjectKey::parse(k).unwrap();
        assert_eq!(store.usage(&a).await.unwrap(), 0);
        for s in [&a, &b] {
            store.create_bucket(s, &movies).await.unwrap();
            store
                .put_object(s, &movies, &key("x/one.txt"), body(b"abc"))
                .await
                .unwrap();
        }
        store.create_bucket(&a, &books).await.unwrap();
        store
            .put_object(&a, &books, &key("two.txt"), body(b"12345"))
            .await
            .unwrap();
        assert_eq!(store.usage(&a).await.unwrap(), 8);
        store
            .put_object(&a, &movies, &key("x/one.txt"), body(b"abcdefghij"))
            .await
            .unwrap();
        assert_eq!(
            store.usage(&a).await.unwrap(),
            15,
            "a replacement counts once"
        );
        store
            .delete_object(&a, &books, &key("two.txt"))
            .await
            .unwrap();
        assert_eq!(store.usage(&a).await.unwrap(), 10);
        assert_eq!(store.usage(&b).await.unwrap(), 3);
        store.delete_bucket(&a, &movies).await.unwrap();
        assert_eq!(store.usage(&a).await.unwrap(), 0);
        assert_eq!(store.usage(&b).await.unwrap(), 3);
    }

    pub async fn search(store: &Arc<dyn Search>) {
        let (a, b, movies, books) = two();
        let mapping = IndexMapping {
            fields: vec!["t".into()],
            ..Default::default()
        };
        let doc = || json!({ "t": "hello" }).as_object().unwrap().clone();
        assert_eq!(store.usage(&a).await.unwrap(), 0);
        for s in [&a, &b] {
            store
                .create_index(s, &movies, mapping.clone())
                .await
                .unwrap();
            store.add(s, &movies, "d1", doc()).await.unwrap();
        }
        store
            .create_index(&a, &books, mapping.clone())
            .await
            .unwrap();
        store.add(&a, &books, "d1", doc()).await.unwrap();
        store
            .bulk(
                &a,
                &books,
                vec![
                    json!({ "_id": "d1", "t": "again" }),
                    json!({ "_id": "d2", "t": "new" }),
                ],
            )
            .await
            .unwrap();
        assert_eq!(store.usage(&a).await.unwrap(), 3);
        store.remove(&a, &books, "d2").await.unwrap();
        assert_eq!(store.usage(&a).await.unwrap(), 2);
        assert_eq!(store.usage(&b).await.unwrap(), 1);
        store.delete_index(&a, &books).await.unwrap();
        assert_eq!(store.usage(&a).await.unwrap(), 1);
        assert_eq!(store.usage(&b).await.unwrap(), 1);
    }

    pub async fn queue(store: &Arc<dyn QueueStore>) {
        let (a, b, movies, books) = two();
        let config = QueueConfig::new("http://127.0.0.1:9/x", None);
        assert_eq!(store.usage(&a).await.unwrap(), 0);
        let mut first = 0;
        for s in [&a, &b] {
            store.create_queue(s, &movies, &config).await.unwrap();
            first = store
                .enqueue(s, &movies, Bytes::from_static(b"{}"), 1)
                .await
                .unwrap();
        }
        store.create_queue(&a, &books, &config).await.unwrap();
        let id = store
            .enqueue(&a, &books, Bytes::from_static(b"{}"), 2)
            .await
            .unwrap();
        store
            .enqueue(&a, &books, Bytes::from_static(b"{}"), 3)
            .await
            .unwrap();
        assert_eq!(store.usage(&a).await.unwrap(), 3);
        store.cancel(&a, &books, id).await.unwrap();
        assert_eq!(store.usage(&a).await.unwrap(), 2);
        assert_eq!(store.usage(&b).await.unwrap(), 1);
        store.delete_queue(&a, &books).await.unwrap();
        assert_eq!(store.usage(&a).await.unwrap(), 1);
        store.cancel(&b, &movies, first).await.unwrap();
        assert_eq!(store.usage(&b).await.unwrap(), 0);
        assert_eq!(store.usage(&a).await.unwrap(), 1);
    }
}

crate::every_service_adapter!(super::suite);
