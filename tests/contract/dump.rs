//! The listing and dump methods tenant export reads (`list_dbs`, data `list_indexes`, cache `dump`,
//! `list_buckets`, `list_indexes` and search `dump`, `queue_config`) and the `restore_job` that import writes with,
//! on every adapter: they return what the tenant wrote, ordered, and nothing of a tenant that uses the same names.

use bytes::Bytes;
use nano::core::{DomainName, TenantId, TenantScope};
use nano::ports::search::IndexMapping;
use nano::ports::storage::{ByteStream, ObjectKey};
use nano::ports::{
    CacheStore, DataStore, Job, JobStatus, QueueConfig, QueueError, QueueStore, Search, Storage,
};
use serde_json::json;
use std::sync::Arc;

fn two() -> (TenantScope, TenantScope, DomainName, DomainName) {
    let t =
        |p: &str| TenantScope::resolved(TenantId::parse(&crate::support::fresh_name(p)).unwrap());
    (
        t("dumped"),
        t("other"),
        DomainName::parse("movies").unwrap(),
        DomainName::parse("books").unwrap(),
    )
}

pub mod suite {
    use super::*;

    pub async fn data(store: &Arc<dyn DataStore>) {
        let (a, b, movies, books) = two();
        assert!(store.list_dbs(&a).await.unwrap().is_empty());
        store.create_db(&a, &movies).await.unwrap();
        store.create_db(&a, &books).await.unwrap();
        store.create_db(&b, &movies).await.unwrap();
        assert_eq!(store.list_dbs(&a).await.unwrap(), ["books", "movies"]);
        assert_eq!(store.list_dbs(&b).await.unwrap(), ["movies"]);
        let fields = |v: serde_json::Value| nano::core::mango::parse_index_fields(&v).unwrap();
        let by_year = fields(json!([{ "year": "DESC" }, { "title": "ASC" }]));
        store
            .create_index(&a, &movies, "by-year", &by_year)
            .await
            .unwrap();
        store
            .create_index(&a, &movies, "a-title", &fields(json!(["title"])))
            .await
            .unwrap();
        let listed = store.list_indexes(&a, &movies).await.unwrap();
        assert_eq!(
            listed,
            [
                ("a-title".to_string(), fields(json!(["title"]))),
                ("by-year".to_string(), by_year)
            ]
        );
        assert!(store.list_indexes(&b, &movies).await.unwrap().is_empty());
        let missing = DomainName::parse("nothing").unwrap();
        assert_eq!(
            store.list_indexes(&a, &missing).await,
            Err(nano::ports::DataError::DbNotFound)
        );
    }

    pub async fn cache(store: &Arc<dyn CacheStore>) {
        let (a, b, movies, _) = two();
        let v = |n: i64| json!({ "n": n }).as_object().unwrap().clone();
        for s in [&a, &b] {
            store.create_store(s, &movies).await.unwrap();
        }
        store
            .set(&a, &movies, "b", &v(2), Some(60_000))
            .await
            .unwrap();
        store.set(&a, &movies, "a", &v(1), None).await.unwrap();
        store.set(&b, &movies, "z", &v(9), None).await.unwrap();
        let dump = store.dump(&a, &movies).await.unwrap();
        assert_eq!(dump.len(), 2);
        assert_eq!(
            (dump[0].0.as_str(), &dump[0].1, dump[0].2),
            ("a", &v(1), None)
        );
        assert_eq!((dump[1].0.as_str(), &dump[1].1), ("b", &v(2)));
        let ttl = dump[1].2.expect("a key with a TTL has one left");
        assert!(ttl > 0 && ttl <= 60_000, "{ttl}");
        let other = DomainName::parse("nothing").unwrap();
        assert!(store.dump(&a, &other).await.is_err());
    }

    pub async fn storage(store: &Arc<dyn Storage>) {
        let (a, b, movies, books) = two();
        assert!(store.list_buckets(&a).await.unwrap().is_empty());
        store.create_bucket(&a, &movies).await.unwrap();
        store.create_bucket(&a, &books).await.unwrap();
        store.create_bucket(&b, &movies).await.unwrap();
        let body: ByteStream = Box::pin(futures::stream::once(async {
            Ok(Bytes::from_static(b"x"))
        }));
        store
            .put_object(&a, &books, &ObjectKey::parse("x/y.txt").unwrap(), body)
            .await
            .unwrap();
        assert_eq!(store.list_buckets(&a).await.unwrap(), ["books", "movies"]);
        assert_eq!(store.list_buckets(&b).await.unwrap(), ["movies"]);
    }

    pub async fn search(store: &Arc<dyn Search>) {
        let (a, b, movies, books) = two();
        let mapping = IndexMapping {
            fields: vec!["title".into()],
            store_fields: vec!["title".into()],
            boost: [("title".to_string(), 2.0)].into(),
        };
        assert!(store.list_indexes(&a).await.unwrap().is_empty());
        for (s, i) in [(&a, &movies), (&a, &books), (&b, &movies)] {
            store.create_index(s, i, mapping.clone()).await.unwrap();
        }
        let doc = |t: &str| json!({ "title": t }).as_object().unwrap().clone();
        store.add(&a, &movies, "m2", doc("Heat")).await.unwrap();
        store.add(&a, &movies, "m1", doc("Dune")).await.unwrap();
        store.add(&b, &movies, "m3", doc("Up")).await.unwrap();
        assert_eq!(store.list_indexes(&a).await.unwrap(), ["books", "movies"]);
        assert_eq!(store.list_indexes(&b).await.unwrap(), ["movies"]);
        let (got, docs) = store.dump(&a, &movies).await.unwrap();
        assert_eq!(got, mapping);
        assert_eq!(
            docs,
            [
                json!({ "_id": "m1", "title": "Dune" })
                    .as_object()
                    .unwrap()
                    .clone(),
                json!({ "_id": "m2", "title": "Heat" })
                    .as_object()
                    .unwrap()
                    .clone(),
            ]
        );
        assert!(store.dump(&a, &books).await.unwrap().1.is_empty());
    }

    pub async fn queue(store: &Arc<dyn QueueStore>) {
        let (a, b, movies, books) = two();
        let config = QueueConfig {
            target: "http://127.0.0.1:9/hook".into(),
            secret: Some("s3cret".into()),
            max_attempts: 3,
            backoff_ms: 250,
            concurrency: 2,
        };
        store.create_queue(&a, &movies, &config).await.unwrap();
        let other = QueueConfig::new("http://127.0.0.1:9/other", None);
        store.create_queue(&b, &movies, &other).await.unwrap();
        assert_eq!(store.queue_config(&a, &movies).await.unwrap(), config);
        assert_eq!(store.queue_config(&b, &movies).await.unwrap(), other);
        assert_eq!(
            store.queue_config(&a, &books).await,
            Err(QueueError::QueueNotFound)
        );
        let first = store
            .enqueue(&a, &movies, Bytes::from_static(b"{}"), 1)
            .await
            .unwrap();
        // A restored job keeps everything but its id, which is new.
        let failed = Job {
            id: 999,
            queue: "elsewhere".into(),
            body: Bytes::from_static(br#"{"n":1}"#),
            status: JobStatus::Error,
            enqueued_ms: 1_000,
            attempts: 3,
            next_attempt_ms: 2_000,
            last_status: Some(503),
            last_error: Some("target answered 503".into()),
        };
        let id = store.restore_job(&a, &movies, &failed).await.unwrap();
        assert!(id > first);
        let got = store.get_job(&a, &movies, id).await.unwrap();
        assert_eq!(
            got,
            Job {
                id,
                queue: "movies".into(),
                ..failed.clone()
            }
        );
        assert_eq!(
            store
                .list_jobs(&a, &movies, JobStatus::Error)
                .await
                .unwrap(),
            [got]
        );
        assert!(store
            .list_jobs(&b, &movies, JobStatus::Error)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store.restore_job(&a, &books, &failed).await,
            Err(QueueError::QueueNotFound)
        );
    }
}

crate::every_service_adapter!(super::suite);
