//! `POST /admin/tenants/{t}/import`: restores an archive written by `admin_export.rs` into a tenant, reading the
//! body line by line (objects stream into storage chunk by chunk). Every database, cache store, bucket, index and
//! queue of the archive is created by the import: a name the tenant already has is refused with 409. A bad
//! archive (not JSON, unknown record, a record out of place, missing bytes or end record) gets 400 naming the
//! line and the problem, a write over a quota 429; in every failure the domains this import created are deleted
//! again, so nothing of it lasts. Queue jobs keep their status, attempts and stamps, under new ids.

use super::admin_records::{index_mapping, job_of, name_of, queue_config, text};
use super::response::{json, ApiError, RouteResult};
use super::storage_upload::body_stream;
use crate::core::{DomainName, TenantScope};
use crate::ports::search::BulkOutcome;
use crate::ports::storage::{ByteStream, ObjectKey};
use crate::ports::{CacheError, DataError, QueueError, SearchError, Services, StorageError};
use base64::Engine;
use bytes::Bytes;
use http::StatusCode;
use hyper::body::Incoming;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Longest record line accepted (a document may be 8 MB of JSON).
const MAX_LINE: u64 = 16 * 1024 * 1024;
/// Documents written per bulk call.
const BATCH: usize = 500;

/// What the import created, deleted again when it fails.
enum Created {
    Db(DomainName),
    Cache(DomainName),
    Bucket(DomainName),
    Index(DomainName),
    Queue(DomainName),
}

/// An object whose chunks are being read.
struct Upload {
    path: String,
    remaining: u64,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    done: JoinHandle<Result<u64, StorageError>>,
}

struct Importer<'a> {
    services: &'a Services,
    scope: &'a TenantScope,
    line: u64,
    created: Vec<Created>,
    counts: BTreeMap<&'static str, u64>,
    docs: Option<(DomainName, Vec<Value>)>,
    search_docs: Option<(DomainName, Vec<Value>)>,
    upload: Option<Upload>,
}

impl<'a> Importer<'a> {
    fn bad(&self, why: impl std::fmt::Display) -> ApiError {
        ApiError::bad_request(format!("bad archive at line {}: {why}", self.line))
    }

    /// A port error of a write: quota 429, backend 500, anything else the archive's fault (400).
    fn failed(&self, status: Option<StatusCode>, e: impl std::fmt::Display) -> ApiError {
        match status {
            Some(s) => ApiError::new(s, e.to_string()),
            None => self.bad(e),
        }
    }

    fn exists(&self, what: &str, name: &DomainName) -> ApiError {
        ApiError::conflict(format!(
            "tenant {} already has a {what} named {name}; import into a tenant without it",
            self.scope.as_str()
        ))
    }

    fn count(&mut self, what: &'static str, n: u64) {
        *self.counts.entry(what).or_default() += n;
    }

    /// Whether this import created the `kind` domain `name` (records refer only to domains declared before them).
    fn has(&self, kind: &str, name: &DomainName) -> bool {
        self.created.iter().any(|c| {
            let (k, n) = match c {
                Created::Db(n) => ("db", n),
                Created::Cache(n) => ("cache", n),
                Created::Bucket(n) => ("bucket", n),
                Created::Index(n) => ("index", n),
                Created::Queue(n) => ("queue", n),
            };
            k == kind && n == name
        })
    }

    async fn flush(&mut self) -> Result<(), ApiError> {
        if let Some((db, docs)) = self.docs.take() {
            let data = self.services.data.as_ref().expect("checked at db");
            let n = docs.len() as u64;
            data.bulk(self.scope, &db, &docs).await.map_err(|e| {
                let status = match &e {
                    DataError::Quota(_) => Some(StatusCode::TOO_MANY_REQUESTS),
                    DataError::Backend(_) => Some(StatusCode::INTERNAL_SERVER_ERROR),
                    _ => None,
                };
                self.failed(status, e)
            })?;
            self.count("docs", n);
        }
        if let Some((index, docs)) = self.search_docs.take() {
            let search = self.services.search.as_ref().expect("checked at index");
            let n = docs.len() as u64;
            let outcomes = search.bulk(self.scope, &index, docs).await.map_err(|e| {
                let status = match &e {
                    SearchError::Quota(_) => Some(StatusCode::TOO_MANY_REQUESTS),
                    SearchError::Backend(_) => Some(StatusCode::INTERNAL_SERVER_ERROR),
                    _ => None,
                };
                self.failed(status, e)
            })?;
            if let Some(BulkOutcome::Rejected(why)) = outcomes
                .iter()
                .find(|o| matches!(o, BulkOutcome::Rejected(_)))
            {
                return Err(self.bad(format!("search document of index {index}: {why}")));
            }
            self.count("search_docs", n);
        }
        Ok(())
    }

    /// Ends the object being read, when all its bytes came.
    async fn finish_upload(&mut self) -> Result<(), ApiError> {
        let Some(upload) = self.upload.take() else {
            return Ok(());
        };
        if upload.remaining > 0 {
            let why = format!(
                "object {} is missing {} bytes",
                upload.path, upload.remaining
            );
            let _ = upload
                .tx
                .send(Err(std::io::Error::other(why.clone())))
                .await;
            let _ = upload.done.await;
            return Err(self.bad(why));
        }
        drop(upload.tx);
        match upload.done.await {
            Ok(Ok(size)) => {
                self.count("objects", 1);
                self.count("bytes", size);
                Ok(())
            }
            Ok(Err(e)) => {
                let status = match &e {
                    StorageError::Quota(_) => Some(StatusCode::TOO_MANY_REQUESTS),
                    StorageError::Backend(_) => Some(StatusCode::INTERNAL_SERVER_ERROR),
                    _ => None,
                };
                Err(self.failed(status, format!("object {}: {e}", upload.path)))
            }
            Err(e) => Err(ApiError::internal(format!(
                "object upload task failed: {e}"
            ))),
        }
    }

    async fn record(&mut self, record: Value) -> Result<bool, ApiError> {
        let kind = text(&record, "kind").map_err(|e| self.bad(e))?.to_string();
        if kind == "chunk" {
            let data = text(&record, "data").map_err(|e| self.bad(e))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|e| self.bad(format!("chunk is not base64: {e}")))?;
            let Some(upload) = self.upload.as_mut() else {
                return Err(self.bad("a chunk record outside an object"));
            };
            let n = bytes.len() as u64;
            if n > upload.remaining {
                let why = format!("object {} has more bytes than its size", upload.path);
                return Err(self.bad(why));
            }
            upload.remaining -= n;
            // A failed send means the upload already ended with an error, which `finish_upload` reports.
            let _ = upload.tx.send(Ok(Bytes::from(bytes))).await;
            if self.upload.as_ref().is_some_and(|u| u.remaining == 0) {
                self.finish_upload().await?;
            }
            return Ok(false);
        }
        self.finish_upload().await?;
        let same_batch = |batch: &Option<(DomainName, Vec<Value>)>, name: &DomainName| {
            batch
                .as_ref()
                .is_some_and(|(n, d)| n == name && d.len() < BATCH)
        };
        match kind.as_str() {
            "doc" => {
                let db = name_of(&record, "db").map_err(|e| self.bad(e))?;
                if !self.has("db", &db) {
                    return Err(self.bad(format!(
                        "document of database {db}, which the archive did not declare before"
                    )));
                }
                let doc = record
                    .get("doc")
                    .filter(|d| d.get("_id").and_then(Value::as_str).is_some());
                let doc = doc.ok_or_else(|| {
                    self.bad("a doc record needs a \"doc\" object with a string \"_id\"")
                })?;
                if !same_batch(&self.docs, &db) {
                    self.flush().await?;
                    self.docs = Some((db, Vec::new()));
                }
                if let Some((_, docs)) = self.docs.as_mut() {
                    docs.push(doc.clone());
                }
                return Ok(false);
            }
            "search_doc" => {
                let index = name_of(&record, "index").map_err(|e| self.bad(e))?;
                if !self.has("index", &index) {
                    return Err(self.bad(format!(
                        "search document of index {index}, which the archive did not declare before"
                    )));
                }
                let doc = record
                    .get("doc")
                    .filter(|d| d.get("_id").and_then(Value::as_str).is_some());
                let doc = doc.ok_or_else(|| {
                    self.bad("a search_doc record needs a \"doc\" object with a string \"_id\"")
                })?;
                if !same_batch(&self.search_docs, &index) {
                    self.flush().await?;
                    self.search_docs = Some((index, Vec::new()));
                }
                if let Some((_, docs)) = self.search_docs.as_mut() {
                    docs.push(doc.clone());
                }
                return Ok(false);
            }
            _ => self.flush().await?,
        }
        let unserved = |s: &str| {
            self.bad(format!(
                "the archive has {s} data, and the {s} service is disabled here"
            ))
        };
        match kind.as_str() {
            "db" => {
                let name = name_of(&record, "name").map_err(|e| self.bad(e))?;
                let data = self
                    .services
                    .data
                    .as_ref()
                    .ok_or_else(|| unserved("data"))?;
                match data.create_db(self.scope, &name).await {
                    Ok(()) => self.created.push(Created::Db(name)),
                    Err(DataError::DbExists) => return Err(self.exists("database", &name)),
                    Err(e) => return Err(ApiError::internal(e.to_string())),
                }
                self.count("dbs", 1);
            }
            "db_index" => {
                let db = name_of(&record, "db").map_err(|e| self.bad(e))?;
                if !self.has("db", &db) {
                    return Err(self.bad(format!(
                        "index of database {db}, which the archive did not declare before"
                    )));
                }
                let name = text(&record, "name").map_err(|e| self.bad(e))?;
                let fields = record.get("fields").cloned().unwrap_or(Value::Null);
                let fields = crate::core::mango::parse_index_fields(&fields)
                    .map_err(|e| self.bad(format!("index {name} of database {db}: {e}")))?;
                let data = self.services.data.as_ref().expect("checked at db");
                data.create_index(self.scope, &db, name, &fields)
                    .await
                    .map_err(|e| {
                        let status = matches!(e, DataError::Backend(_))
                            .then_some(StatusCode::INTERNAL_SERVER_ERROR);
                        self.failed(status, e)
                    })?;
                self.count("db_indexes", 1);
            }
            "cache" => {
                let name = name_of(&record, "name").map_err(|e| self.bad(e))?;
                let cache = self
                    .services
                    .cache
                    .as_ref()
                    .ok_or_else(|| unserved("cache"))?;
                match cache.create_store(self.scope, &name).await {
                    Ok(()) => self.created.push(Created::Cache(name)),
                    Err(CacheError::StoreExists) => return Err(self.exists("cache store", &name)),
                    Err(e) => return Err(ApiError::internal(e.to_string())),
                }
                self.count("caches", 1);
            }
            "key" => {
                let store = name_of(&record, "cache").map_err(|e| self.bad(e))?;
                if !self.has("cache", &store) {
                    return Err(self.bad(format!(
                        "key of cache {store}, which the archive did not declare before"
                    )));
                }
                let key = text(&record, "key").map_err(|e| self.bad(e))?;
                let value: Map<String, Value> = match record.get("value") {
                    Some(Value::Object(m)) => m.clone(),
                    _ => return Err(self.bad("a key record needs an object \"value\"")),
                };
                let ttl = match record.get("ttl_ms") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(
                        v.as_u64()
                            .ok_or_else(|| self.bad("\"ttl_ms\" must be a whole number or null"))?,
                    ),
                };
                let cache = self.services.cache.as_ref().expect("checked at cache");
                cache
                    .set(self.scope, &store, key, &value, ttl)
                    .await
                    .map_err(|e| {
                        let status = match &e {
                            CacheError::Quota(_) => Some(StatusCode::TOO_MANY_REQUESTS),
                            CacheError::Backend(_) => Some(StatusCode::INTERNAL_SERVER_ERROR),
                            _ => None,
                        };
                        self.failed(status, e)
                    })?;
                self.count("keys", 1);
            }
            "bucket" => {
                let name = name_of(&record, "name").map_err(|e| self.bad(e))?;
                let storage = self
                    .services
                    .storage
                    .as_ref()
                    .ok_or_else(|| unserved("storage"))?;
                match storage.create_bucket(self.scope, &name).await {
                    Ok(()) => self.created.push(Created::Bucket(name)),
                    Err(StorageError::BucketExists) => return Err(self.exists("bucket", &name)),
                    Err(e) => return Err(ApiError::internal(e.to_string())),
                }
                self.count("buckets", 1);
            }
            "object" => {
                let bucket = name_of(&record, "bucket").map_err(|e| self.bad(e))?;
                if !self.has("bucket", &bucket) {
                    return Err(self.bad(format!(
                        "object of bucket {bucket}, which the archive did not declare before"
                    )));
                }
                let path = text(&record, "path").map_err(|e| self.bad(e))?.to_string();
                let key = ObjectKey::parse(&path).map_err(|e| self.bad(e))?;
                let size = record
                    .get("size")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| self.bad("an object record needs a whole number \"size\""))?;
                let storage = self.services.storage.clone().expect("checked at bucket");
                let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
                let body: ByteStream =
                    Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)));
                let scope = self.scope.clone();
                let done =
                    tokio::spawn(
                        async move { storage.put_object(&scope, &bucket, &key, body).await },
                    );
                self.upload = Some(Upload {
                    path,
                    remaining: size,
                    tx,
                    done,
                });
                if size == 0 {
                    self.finish_upload().await?;
                }
            }
            "index" => {
                let name = name_of(&record, "name").map_err(|e| self.bad(e))?;
                let search = self
                    .services
                    .search
                    .as_ref()
                    .ok_or_else(|| unserved("search"))?;
                let mapping = record.get("mapping").cloned().unwrap_or(Value::Null);
                let mapping = index_mapping(&mapping).map_err(|e| self.bad(e))?;
                match search.create_index(self.scope, &name, mapping).await {
                    Ok(()) => self.created.push(Created::Index(name)),
                    Err(SearchError::IndexExists) => return Err(self.exists("search index", &name)),
                    Err(SearchError::Invalid(e)) => return Err(self.bad(e)),
                    Err(e) => return Err(ApiError::internal(e.to_string())),
                }
                self.count("indexes", 1);
            }
            "queue" => {
                let name = name_of(&record, "name").map_err(|e| self.bad(e))?;
                let queue = self
                    .services
                    .queue
                    .as_ref()
                    .ok_or_else(|| unserved("queue"))?;
                let config = queue_config(&record).map_err(|e| self.bad(e))?;
                match queue.create_queue(self.scope, &name, &config).await {
                    Ok(()) => self.created.push(Created::Queue(name)),
                    Err(QueueError::QueueExists) => return Err(self.exists("queue", &name)),
                    Err(e) => return Err(ApiError::internal(e.to_string())),
                }
                self.count("queues", 1);
            }
            "job" => {
                let name = name_of(&record, "queue").map_err(|e| self.bad(e))?;
                if !self.has("queue", &name) {
                    return Err(self.bad(format!(
                        "job of queue {name}, which the archive did not declare before"
                    )));
                }
                let body = text(&record, "body").map_err(|e| self.bad(e))?;
                if !serde_json::from_str::<Value>(body).is_ok_and(|v| v.is_object()) {
                    return Err(self.bad("a job's \"body\" must be a JSON object's text"));
                }
                let job = job_of(&record, body).map_err(|e| self.bad(e))?;
                let queue = self.services.queue.as_ref().expect("checked at queue");
                queue
                    .restore_job(self.scope, &name, &job)
                    .await
                    .map_err(|e| {
                        let status = match &e {
                            QueueError::Quota(_) => Some(StatusCode::TOO_MANY_REQUESTS),
                            QueueError::Backend(_) => Some(StatusCode::INTERNAL_SERVER_ERROR),
                            _ => None,
                        };
                        self.failed(status, e)
                    })?;
                self.count("jobs", 1);
            }
            "end" => {
                let declared = record.get("records").and_then(Value::as_u64);
                if declared != Some(self.line - 1) {
                    return Err(self.bad(format!(
                        "the end record counts {declared:?} records, the archive has {}",
                        self.line - 1
                    )));
                }
                return Ok(true);
            }
            other => return Err(self.bad(format!("unknown record kind {other:?}"))),
        }
        Ok(false)
    }

    /// Deletes what this import created (after a failure).
    async fn undo(&mut self) {
        if let Some(upload) = self.upload.take() {
            let _ = upload
                .tx
                .send(Err(std::io::Error::other("import failed")))
                .await;
            let _ = upload.done.await;
        }
        let s = &self.services;
        for created in self.created.drain(..).rev() {
            let undone = match &created {
                Created::Db(n) => match &s.data {
                    Some(d) => d
                        .delete_db(self.scope, n)
                        .await
                        .err()
                        .map(|e| e.to_string()),
                    None => None,
                },
                Created::Cache(n) => match &s.cache {
                    Some(c) => c
                        .delete_store(self.scope, n)
                        .await
                        .err()
                        .map(|e| e.to_string()),
                    None => None,
                },
                Created::Bucket(n) => match &s.storage {
                    Some(b) => b
                        .delete_bucket(self.scope, n)
                        .await
                        .err()
                        .map(|e| e.to_string()),
                    None => None,
                },
                Created::Index(n) => match &s.search {
                    Some(i) => i
                        .delete_index(self.scope, n)
                        .await
                        .err()
                        .map(|e| e.to_string()),
                    None => None,
                },
                Created::Queue(n) => match &s.queue {
                    Some(q) => q
                        .delete_queue(self.scope, n)
                        .await
                        .err()
                        .map(|e| e.to_string()),
                    None => None,
                },
            };
            if let Some(e) = undone {
                tracing::error!(tenant = %self.scope.as_str(), error = %e, "could not undo part of a failed import");
            }
        }
    }
}

/// Restores the archive in `body` into `scope`'s tenant.
pub async fn import(services: &Services, scope: &TenantScope, body: Incoming) -> RouteResult {
    let mut reader = tokio_util::io::StreamReader::new(body_stream(body));
    let mut importer = Importer {
        services,
        scope,
        line: 0,
        created: Vec::new(),
        counts: BTreeMap::new(),
        docs: None,
        search_docs: None,
        upload: None,
    };
    match read_all(&mut importer, &mut reader).await {
        Ok(()) => Ok(json(
            StatusCode::OK,
            &json!({ "ok": true, "imported": importer.counts }),
        )),
        Err(e) => {
            importer.undo().await;
            Err(e)
        }
    }
}

async fn read_all(
    importer: &mut Importer<'_>,
    reader: &mut (impl tokio::io::AsyncBufRead + Unpin),
) -> Result<(), ApiError> {
    let mut line = Vec::new();
    let mut ended = false;
    loop {
        line.clear();
        let n = (&mut *reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| ApiError::bad_request(format!("could not read the archive: {e}")))?;
        if n == 0 {
            break;
        }
        importer.line += 1;
        if line.len() as u64 > MAX_LINE {
            return Err(importer.bad(format!("a record is longer than {MAX_LINE} bytes")));
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if ended {
            return Err(importer.bad("records after the end record"));
        }
        let record: Value = serde_json::from_slice(&line)
            .map_err(|e| importer.bad(format!("not a JSON record: {e}")))?;
        if importer.line == 1 {
            if record.get("nano").and_then(Value::as_str) != Some("tenant-export") {
                return Err(
                    importer.bad("not a nano tenant export (the first record must be its header)")
                );
            }
            if record.get("version").and_then(Value::as_u64) != Some(1) {
                return Err(importer.bad("unsupported export version (this nano reads version 1)"));
            }
            continue;
        }
        ended = importer.record(record).await?;
    }
    if !ended {
        importer.line += 1;
        return Err(importer.bad("the archive ends without its end record (it is incomplete)"));
    }
    Ok(())
}
