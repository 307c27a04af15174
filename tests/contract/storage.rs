//! The storage port's contract, run against every storage adapter.

use crate::support::fresh_name;
use bytes::Bytes;
use futures::{stream, StreamExt};
use nano::core::{DomainName, TenantId, TenantScope};
use nano::ports::storage::{ByteStream, ObjectKey, RangeSpec, SignedAccess};
use nano::ports::{Storage, StorageError};
use std::sync::Arc;

pub mod suite {
    use super::*;

    fn scope() -> TenantScope {
        TenantScope::resolved(TenantId::parse(&fresh_name("t")).unwrap())
    }

    fn bucket() -> DomainName {
        DomainName::parse(&fresh_name("b")).unwrap()
    }

    fn key(s: &str) -> ObjectKey {
        ObjectKey::parse(s).unwrap()
    }

    fn body(parts: &[&'static [u8]]) -> ByteStream {
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Box::pin(stream::iter(chunks))
    }

    async fn read(s: &Arc<dyn Storage>, scope: &TenantScope, b: &DomainName, k: &str) -> Vec<u8> {
        let found = s.get_object(scope, b, &key(k), None).await.unwrap();
        let mut out = Vec::new();
        let mut stream = found.stream;
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(out.len() as u64, found.size);
        out
    }

    pub async fn buckets_are_created_once_and_deleted_with_their_objects(s: &Arc<dyn Storage>) {
        let (sc, b) = (scope(), bucket());
        assert!(!s.bucket_exists(&sc, &b).await.unwrap());
        s.create_bucket(&sc, &b).await.unwrap();
        assert!(s.bucket_exists(&sc, &b).await.unwrap());
        assert!(matches!(
            s.create_bucket(&sc, &b).await,
            Err(StorageError::BucketExists)
        ));
        s.put_object(&sc, &b, &key("a/b/c.txt"), body(&[b"x"]))
            .await
            .unwrap();
        s.delete_bucket(&sc, &b).await.unwrap();
        assert!(!s.bucket_exists(&sc, &b).await.unwrap());
        assert!(matches!(
            s.delete_bucket(&sc, &b).await,
            Err(StorageError::BucketNotFound)
        ));
        s.create_bucket(&sc, &b).await.unwrap();
        assert!(s.list_objects(&sc, &b, "").await.unwrap().is_empty());
    }

    pub async fn objects_round_trip_and_are_replaced(s: &Arc<dyn Storage>) {
        let (sc, b) = (scope(), bucket());
        s.create_bucket(&sc, &b).await.unwrap();
        let size = s
            .put_object(&sc, &b, &key("dir/file.bin"), body(&[b"hello ", b"world"]))
            .await
            .unwrap();
        assert_eq!(size, 11);
        assert_eq!(read(s, &sc, &b, "dir/file.bin").await, b"hello world");
        assert_eq!(
            s.head_object(&sc, &b, &key("dir/file.bin"))
                .await
                .unwrap()
                .size,
            11
        );
        s.put_object(&sc, &b, &key("dir/file.bin"), body(&[b"new"]))
            .await
            .unwrap();
        assert_eq!(read(s, &sc, &b, "dir/file.bin").await, b"new");
        s.delete_object(&sc, &b, &key("dir/file.bin"))
            .await
            .unwrap();
        assert!(matches!(
            s.get_object(&sc, &b, &key("dir/file.bin"), None).await,
            Err(StorageError::ObjectNotFound)
        ));
        assert!(matches!(
            s.delete_object(&sc, &b, &key("dir/file.bin")).await,
            Err(StorageError::ObjectNotFound)
        ));
    }

    pub async fn missing_bucket_is_named(s: &Arc<dyn Storage>) {
        let (sc, b) = (scope(), bucket());
        assert!(matches!(
            s.put_object(&sc, &b, &key("x"), body(&[b"x"])).await,
            Err(StorageError::BucketNotFound)
        ));
        assert!(matches!(
            s.get_object(&sc, &b, &key("x"), None).await,
            Err(StorageError::BucketNotFound)
        ));
        assert!(matches!(
            s.list_objects(&sc, &b, "").await,
            Err(StorageError::BucketNotFound)
        ));
    }

    pub async fn ranges_are_served_and_bounded(s: &Arc<dyn Storage>) {
        let (sc, b) = (scope(), bucket());
        s.create_bucket(&sc, &b).await.unwrap();
        s.put_object(&sc, &b, &key("r"), body(&[b"0123456789"]))
            .await
            .unwrap();
        let got = s
            .get_object(&sc, &b, &key("r"), Some(RangeSpec::FromTo(2, 4)))
            .await
            .unwrap();
        assert_eq!((got.size, got.range), (10, Some((2, 4))));
        let bytes: Vec<u8> = got.stream.map(|c| c.unwrap().to_vec()).concat().await;
        assert_eq!(bytes, b"234");
        assert!(matches!(
            s.get_object(&sc, &b, &key("r"), Some(RangeSpec::From(10)))
                .await,
            Err(StorageError::RangeNotSatisfiable { size: 10 })
        ));
    }

    pub async fn failed_uploads_leave_nothing(s: &Arc<dyn Storage>) {
        let (sc, b) = (scope(), bucket());
        s.create_bucket(&sc, &b).await.unwrap();
        s.put_object(&sc, &b, &key("keep"), body(&[b"old"]))
            .await
            .unwrap();
        for name in ["keep", "fresh", "new/folder/file"] {
            let failing: ByteStream = Box::pin(stream::iter(vec![
                Ok(Bytes::from_static(b"partial")),
                Err(std::io::Error::other("client went away")),
            ]));
            assert!(matches!(
                s.put_object(&sc, &b, &key(name), failing).await,
                Err(StorageError::Upload(_))
            ));
        }
        assert_eq!(read(s, &sc, &b, "keep").await, b"old");
        let names: Vec<String> = s
            .list_objects(&sc, &b, "")
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.name)
            .collect();
        assert_eq!(names, vec!["keep"]);
        // The failed upload into a new folder left no folder behind: `new` is free for an object.
        s.put_object(&sc, &b, &key("new"), body(&[b"1"]))
            .await
            .unwrap();
    }

    pub async fn lists_by_prefix_in_order(s: &Arc<dyn Storage>) {
        let (sc, b) = (scope(), bucket());
        s.create_bucket(&sc, &b).await.unwrap();
        for name in ["img/b.png", "img/a.png", "doc/x.txt", "root.txt"] {
            s.put_object(&sc, &b, &key(name), body(&[b"1"]))
                .await
                .unwrap();
        }
        let names = |v: Vec<nano::ports::storage::ObjectInfo>| -> Vec<String> {
            v.into_iter().map(|o| o.name).collect()
        };
        assert_eq!(
            names(s.list_objects(&sc, &b, "").await.unwrap()),
            vec!["doc/x.txt", "img/a.png", "img/b.png", "root.txt"]
        );
        assert_eq!(
            names(s.list_objects(&sc, &b, "img/").await.unwrap()),
            vec!["img/a.png", "img/b.png"]
        );
    }

    pub async fn concurrent_creates_of_a_bucket_make_it_once(s: &Arc<dyn Storage>) {
        let (sc, b) = (scope(), bucket());
        let creates = (0..8).map(|_| {
            let (s, sc, b) = (s.clone(), sc.clone(), b.clone());
            tokio::spawn(async move { s.create_bucket(&sc, &b).await })
        });
        let mut made = 0;
        for done in futures::future::join_all(creates).await {
            match done.unwrap() {
                Ok(()) => made += 1,
                Err(StorageError::BucketExists) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(made, 1, "exactly one create wins");
    }

    pub async fn files_and_folders_do_not_clash_silently(s: &Arc<dyn Storage>) {
        let (sc, b) = (scope(), bucket());
        s.create_bucket(&sc, &b).await.unwrap();
        s.put_object(&sc, &b, &key("a/b"), body(&[b"1"]))
            .await
            .unwrap();
        assert!(matches!(
            s.put_object(&sc, &b, &key("a"), body(&[b"1"])).await,
            Err(StorageError::Conflict(_))
        ));
        assert!(matches!(
            s.put_object(&sc, &b, &key("a/b/c"), body(&[b"1"])).await,
            Err(StorageError::Conflict(_))
        ));
        assert!(matches!(
            s.get_object(&sc, &b, &key("a"), None).await,
            Err(StorageError::ObjectNotFound)
        ));
        s.delete_object(&sc, &b, &key("a/b")).await.unwrap();
        // The emptied folder went with it: `a` is free for an object now.
        s.put_object(&sc, &b, &key("a"), body(&[b"2"]))
            .await
            .unwrap();
    }

    pub async fn signatures_bind_tenant_object_and_access(s: &Arc<dyn Storage>) {
        let (sc, other, b) = (scope(), scope(), bucket());
        let far = 4_000_000_000;
        let query = s
            .sign(&sc, &b, &key("x.png"), SignedAccess::Download, far)
            .await
            .unwrap();
        let signature = query.split("signature=").nth(1).unwrap();
        assert!(query.starts_with(&format!("expires={far}&")));
        let verify = |scope: TenantScope, k: &'static str, access, expires| {
            let s = s.clone();
            let b = b.clone();
            let signature = signature.to_string();
            async move {
                s.verify(&scope, &b, &key(k), access, expires, &signature)
                    .await
            }
        };
        assert!(verify(sc.clone(), "x.png", SignedAccess::Download, far)
            .await
            .is_ok());
        for result in [
            verify(other.clone(), "x.png", SignedAccess::Download, far).await,
            verify(sc.clone(), "y.png", SignedAccess::Download, far).await,
            verify(sc.clone(), "x.png", SignedAccess::Upload, far).await,
            verify(sc.clone(), "x.png", SignedAccess::Download, far + 1).await,
        ] {
            assert!(matches!(result, Err(StorageError::SignatureInvalid)));
        }
        let past = 1_000;
        let query = s
            .sign(&sc, &b, &key("x.png"), SignedAccess::Upload, past)
            .await
            .unwrap();
        let signature = query.split("signature=").nth(1).unwrap();
        assert!(matches!(
            s.verify(
                &sc,
                &b,
                &key("x.png"),
                SignedAccess::Upload,
                past,
                signature
            )
            .await,
            Err(StorageError::SignatureExpired)
        ));
    }

    pub async fn concurrent_uploads_of_one_object_never_mix(s: &Arc<dyn Storage>) {
        let (sc, b) = (scope(), bucket());
        s.create_bucket(&sc, &b).await.unwrap();
        let mut tasks = Vec::new();
        for n in 0..8u8 {
            let (s, sc, b) = (s.clone(), sc.clone(), b.clone());
            tasks.push(tokio::spawn(async move {
                let chunks: Vec<Result<Bytes, std::io::Error>> =
                    (0..64).map(|_| Ok(Bytes::from(vec![n; 4096]))).collect();
                s.put_object(
                    &sc,
                    &b,
                    &key("contended.bin"),
                    Box::pin(stream::iter(chunks)),
                )
                .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), 64 * 4096);
        }
        let bytes = read(s, &sc, &b, "contended.bin").await;
        assert_eq!(bytes.len(), 64 * 4096);
        assert!(
            bytes.iter().all(|x| *x == bytes[0]),
            "one upload's bytes, whole"
        );
    }

    pub async fn tenants_never_see_each_others_buckets(s: &Arc<dyn Storage>) {
        let (a, b_tenant, b) = (scope(), scope(), bucket());
        s.create_bucket(&a, &b).await.unwrap();
        s.put_object(&a, &b, &key("same/name.txt"), body(&[b"tenant a"]))
            .await
            .unwrap();
        // Same bucket name under another tenant: a different, not yet existing bucket.
        assert!(!s.bucket_exists(&b_tenant, &b).await.unwrap());
        assert!(matches!(
            s.get_object(&b_tenant, &b, &key("same/name.txt"), None)
                .await,
            Err(StorageError::BucketNotFound)
        ));
        assert!(matches!(
            s.delete_bucket(&b_tenant, &b).await,
            Err(StorageError::BucketNotFound)
        ));
        s.create_bucket(&b_tenant, &b).await.unwrap();
        assert!(s.list_objects(&b_tenant, &b, "").await.unwrap().is_empty());
        assert!(matches!(
            s.delete_object(&b_tenant, &b, &key("same/name.txt")).await,
            Err(StorageError::ObjectNotFound)
        ));
        s.put_object(&b_tenant, &b, &key("same/name.txt"), body(&[b"tenant b"]))
            .await
            .unwrap();
        assert_eq!(read(s, &a, &b, "same/name.txt").await, b"tenant a");
        assert_eq!(read(s, &b_tenant, &b, "same/name.txt").await, b"tenant b");
        s.delete_bucket(&b_tenant, &b).await.unwrap();
        assert_eq!(read(s, &a, &b, "same/name.txt").await, b"tenant a");
    }
}

pub(crate) async fn fs() -> (Arc<dyn Storage>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let storage = nano::adapters::fs::FsStorage::open(&dir.path().join("storage")).unwrap();
    (Arc::new(storage), dir)
}

/// S3 on SeaweedFS (`scripts/s3-server.sh` starts it): each test under its own key prefix in one bucket.
pub(crate) async fn s3() -> (Arc<dyn Storage>, ()) {
    let storage = nano::adapters::s3::S3Storage::open(&crate::support::s3_target())
        .await
        .expect("an S3 server at 127.0.0.1:8333 (scripts/s3-server.sh starts it)");
    (Arc::new(storage), ())
}

/// Specific to S3: presigned URLs reach the object alone, for the method signed, and a tampered one is refused.
#[tokio::test]
async fn s3_presigned_urls_grant_one_object_and_method() {
    let (s, _) = s3().await;
    let sc = TenantScope::resolved(TenantId::parse(&fresh_name("t")).unwrap());
    let b = DomainName::parse("presigned").unwrap();
    s.create_bucket(&sc, &b).await.unwrap();
    let key = ObjectKey::parse("a/x.txt").unwrap();
    let http = reqwest::Client::new();
    let put = s
        .presign(&sc, &b, &key, SignedAccess::Upload, 60)
        .await
        .unwrap()
        .expect("S3 presigns");
    let res = http.put(&put).body("direct").send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let got = s.get_object(&sc, &b, &key, None).await.unwrap();
    assert_eq!(got.size, 6);
    let get = s
        .presign(&sc, &b, &key, SignedAccess::Download, 60)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        http.get(&get).send().await.unwrap().text().await.unwrap(),
        "direct"
    );
    // The download URL does not upload, and a changed signature is refused.
    assert_eq!(http.put(&get).body("x").send().await.unwrap().status(), 403);
    let tampered = get.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    assert_eq!(http.get(&tampered).send().await.unwrap().status(), 403);
}

/// Specific to S3: a store that keeps answering 503 (throttling) is retried with backoff, then refused as
/// `Unavailable` (503 to the client) in bounded time, never a hang.
#[tokio::test]
async fn s3_throttling_ends_as_unavailable_after_bounded_retries() {
    use http_body_util::Full;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let seen = seen.clone();
                        async move {
                            // The signing key is served, so the store opens; everything else is throttled.
                            let (status, body) = if req.uri().path().ends_with("signing-key") {
                                (200, "00112233445566778899aabbccddeeff".to_string())
                            } else {
                                seen.fetch_add(1, Ordering::SeqCst);
                                (503, "<Error><Code>SlowDown</Code></Error>".to_string())
                            };
                            let mut res = hyper::Response::new(Full::new(Bytes::from(body)));
                            *res.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            Ok::<_, std::convert::Infallible>(res)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let mut target = crate::support::s3_target();
    target.endpoint = Some(format!("http://{addr}"));
    let s = nano::adapters::s3::S3Storage::open(&target).await.unwrap();
    let sc = TenantScope::resolved(TenantId::parse(&fresh_name("t")).unwrap());
    let started = std::time::Instant::now();
    let err = tokio::time::timeout(std::time::Duration::from_secs(60), s.list_buckets(&sc))
        .await
        .expect("gave up in bounded time")
        .unwrap_err();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
    assert_eq!(nano::core::HasKind::kind(&err).status(), 503);
    assert!(calls.load(Ordering::SeqCst) > 1, "retried");
    println!(
        "throttled S3: {} attempts, refused after {:?}",
        calls.load(Ordering::SeqCst),
        started.elapsed()
    );
}

/// The quota decorator over the filesystem, with limits no behaviour reaches.
pub(crate) async fn quota() -> (Arc<dyn Storage>, tempfile::TempDir) {
    let (inner, guard) = fs().await;
    let limits = crate::generous_quotas();
    (
        Arc::new(nano::app::quota::QuotaStorage::new(inner, &limits)),
        guard,
    )
}

/// Files behind the decorator that undoes writes landing after their tenant's deletion, with a SQLite registry that
/// knows none of the suite's tenants (so none is deleted).
pub(crate) async fn live_tenant() -> (Arc<dyn Storage>, tempfile::TempDir) {
    let (inner, guard) = fs().await;
    let pool = nano::adapters::sqlite::registry_pool(&guard.path().join("registry.db"))
        .await
        .unwrap();
    let registry = Arc::new(nano::adapters::sql::SqlRegistry::new(pool));
    (
        Arc::new(nano::app::deleted_tenants::LiveTenantStorage::new(
            inner, registry,
        )),
        guard,
    )
}

crate::contract_suite!(
    super::suite,
    [fs => super::fs, s3 => super::s3, quota => super::quota, live_tenant => super::live_tenant],
    [
        buckets_are_created_once_and_deleted_with_their_objects,
        objects_round_trip_and_are_replaced,
        missing_bucket_is_named,
        ranges_are_served_and_bounded,
        failed_uploads_leave_nothing,
        lists_by_prefix_in_order,
        files_and_folders_do_not_clash_silently,
        concurrent_creates_of_a_bucket_make_it_once,
        signatures_bind_tenant_object_and_access,
        concurrent_uploads_of_one_object_never_mix,
        tenants_never_see_each_others_buckets,
    ]
);

/// Specific to files on a shared volume: a node starting empties only its own upload folder, so an upload in
/// flight on another node sharing the root completes.
#[tokio::test]
async fn fs_nodes_sharing_a_root_keep_each_others_uploads_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("storage");
    let key = Some(b"shared-signing-key".to_vec());
    let a = nano::adapters::fs::FsStorage::open_node(&root, "node-a", key.clone()).unwrap();
    let sc = TenantScope::resolved(TenantId::parse(&fresh_name("t")).unwrap());
    let b = DomainName::parse("shared").unwrap();
    a.create_bucket(&sc, &b).await.unwrap();
    let (tx, rx) = futures::channel::mpsc::unbounded::<std::io::Result<Bytes>>();
    tx.unbounded_send(Ok(Bytes::from_static(b"first half, ")))
        .unwrap();
    let upload = {
        let (sc, b) = (sc.clone(), b.clone());
        tokio::spawn(async move {
            a.put_object(&sc, &b, &ObjectKey::parse("big.txt").unwrap(), Box::pin(rx))
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // Node B starts on the same root while A's upload is half written.
    let node_b = nano::adapters::fs::FsStorage::open_node(&root, "node-b", key).unwrap();
    tx.unbounded_send(Ok(Bytes::from_static(b"second half")))
        .unwrap();
    drop(tx);
    assert_eq!(upload.await.unwrap().unwrap(), 23);
    let got = node_b
        .get_object(&sc, &b, &ObjectKey::parse("big.txt").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(got.size, 23);
}

/// Specific to the deletion decorator: an object or bucket written after the tenant was marked deleted (an upload
/// that resolved the tenant before the mark and lands after the purge) is undone and refused.
#[tokio::test]
async fn writes_landing_after_the_tenants_deletion_are_undone() {
    let (inner, dir) = fs().await;
    let pool = nano::adapters::sqlite::registry_pool(&dir.path().join("registry.db"))
        .await
        .unwrap();
    let registry: Arc<dyn nano::ports::Registry> =
        Arc::new(nano::adapters::sql::SqlRegistry::new(pool));
    let storage =
        nano::app::deleted_tenants::LiveTenantStorage::new(inner.clone(), registry.clone());
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
    let b = DomainName::parse("files").unwrap();
    let o = ObjectKey::parse("late.txt").unwrap();
    for s in [&sg, &sk] {
        storage.create_bucket(s, &b).await.unwrap();
    }
    registry.mark_tenant_deleted(&gone).await.unwrap();
    inner.purge_tenant(&sg).await.unwrap();
    // The upload lands after the purge: refused, and nothing of it is kept.
    let body = |bytes: &'static [u8]| -> ByteStream {
        Box::pin(stream::iter([Ok(Bytes::from_static(bytes))]))
    };
    let late = storage.put_object(&sg, &b, &o, body(b"late")).await;
    assert!(
        matches!(late, Err(StorageError::BucketNotFound)),
        "{late:?}"
    );
    assert!(matches!(
        inner.head_object(&sg, &b, &o).await,
        Err(StorageError::ObjectNotFound) | Err(StorageError::BucketNotFound)
    ));
    let bucket = storage
        .create_bucket(&sg, &DomainName::parse("again").unwrap())
        .await;
    assert!(
        matches!(bucket, Err(StorageError::BucketNotFound)),
        "{bucket:?}"
    );
    assert!(inner.list_buckets(&sg).await.unwrap().is_empty());
    // The neighbour's writes go on.
    storage
        .put_object(&sk, &b, &o, body(b"kept"))
        .await
        .unwrap();
    assert_eq!(inner.head_object(&sk, &b, &o).await.unwrap().size, 4);
}
