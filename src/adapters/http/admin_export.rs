//! `GET /admin/tenants/{t}/export`: all of a tenant's data as one streamed archive of newline-delimited JSON
//! records (format below), written while it is read from the services so that no object or database has to fit in
//! memory. `admin_import.rs` reads it back.
//!
//! Records, one JSON object per line, in this order: a header
//! `{"nano":"tenant-export","version":1,"tenant":"<t>"}`; per data database `{"kind":"db","name"}`, its named
//! indexes `{"kind":"db_index","db","name","fields"}` (fields as `[{"<path>":"ASC"|"DESC"}]`), then one
//! `{"kind":"doc","db","doc"}` per document; per cache store `{"kind":"cache","name"}` then
//! `{"kind":"key","cache","key","value","ttl_ms"}` (remaining TTL, `null` for none); per bucket
//! `{"kind":"bucket","name"}` then per object `{"kind":"object","bucket","path","size"}` followed by
//! `{"kind":"chunk","data":"<base64>"}` records holding its `size` bytes; per search index
//! `{"kind":"index","name","mapping":{"fields","storeFields","boost"}}` then `{"kind":"search_doc","index","doc"}`;
//! per queue `{"kind":"queue","name","target","secret","max_attempts","backoff_ms","concurrency"}` then
//! `{"kind":"job","queue","status","body","enqueued_ms","attempts","next_attempt_ms","last_status","last_error"}`
//! (`body`: the job's JSON text); and last `{"kind":"end","records":<count>}`, the
//! number of records before it. An archive without its end record is incomplete (the export failed midway).

use super::body::{Body, BoxError};
use crate::core::mango::SortDir;
use crate::core::{DomainName, TenantScope};
use crate::ports::storage::ObjectKey;
use crate::ports::{JobStatus, ListOptions, Services};
use base64::Engine;
use bytes::Bytes;
use futures::StreamExt;
use http::{header, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// Raw bytes per chunk record (base64 makes them 4/3 larger on the wire).
pub const CHUNK_BYTES: usize = 48 * 1024;
/// Documents read from the data store per page.
const PAGE: u64 = 500;

type Tx = mpsc::Sender<Result<Bytes, BoxError>>;

/// The archive writer: counts records and stops when the client went away.
struct Out {
    tx: Tx,
    records: u64,
}

impl Out {
    async fn record(&mut self, value: Value) -> Result<(), String> {
        let mut line = value.to_string().into_bytes();
        line.push(b'\n');
        self.records += 1;
        self.tx
            .send(Ok(Bytes::from(line)))
            .await
            .map_err(|_| "the client went away".to_string())
    }
}

/// The streamed export response of `scope`'s tenant.
pub fn export(services: Services, scope: TenantScope) -> Response<Body> {
    let (tx, rx) = mpsc::channel::<Result<Bytes, BoxError>>(8);
    let tenant = scope.as_str().to_string();
    tokio::spawn(async move {
        let mut out = Out {
            tx: tx.clone(),
            records: 0,
        };
        if let Err(e) = write_all(&services, &scope, &mut out).await {
            if tx.is_closed() {
                tracing::info!(tenant = %scope.as_str(), "tenant export ended: the client went away");
                return;
            }
            tracing::error!(tenant = %scope.as_str(), error = %e, "tenant export failed");
            // The body ends with an error: the client sees a cut-off archive without its end record.
            let _ = tx.send(Err(e.into())).await;
        }
    });
    let stream = tokio_stream_of(rx).map(|r| r.map(hyper::body::Frame::data));
    let mut res = Response::new(http_body_util::StreamBody::new(stream).boxed_unsync());
    *res.status_mut() = StatusCode::OK;
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/x-ndjson"),
    );
    if let Ok(v) = header::HeaderValue::from_str(&format!(
        "attachment; filename=\"{tenant}.nano-export.ndjson\""
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

fn tokio_stream_of<T: Send + 'static>(
    mut rx: mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn domain(name: &str) -> Result<DomainName, String> {
    DomainName::parse(name).map_err(|e| format!("stored name {name}: {e}"))
}

async fn write_all(services: &Services, scope: &TenantScope, out: &mut Out) -> Result<(), String> {
    out.record(json!({ "nano": "tenant-export", "version": 1, "tenant": scope.as_str() }))
        .await?;
    if let Some(data) = &services.data {
        for name in data.list_dbs(scope).await.map_err(|e| e.to_string())? {
            let db = domain(&name)?;
            out.record(json!({ "kind": "db", "name": name })).await?;
            for (index, fields) in data
                .list_indexes(scope, &db)
                .await
                .map_err(|e| e.to_string())?
            {
                let fields: Vec<Value> = fields
                    .iter()
                    .map(|k| {
                        let dir = match k.dir {
                            SortDir::Asc => "ASC",
                            SortDir::Desc => "DESC",
                        };
                        json!({ k.path.to_string(): dir })
                    })
                    .collect();
                out.record(
                    json!({ "kind": "db_index", "db": name, "name": index, "fields": fields }),
                )
                .await?;
            }
            let mut after: Option<String> = None;
            loop {
                let options = ListOptions {
                    limit: Some(PAGE + 1),
                    startkey: after.clone(),
                    ..ListOptions::default()
                };
                let page = data
                    .list_docs(scope, &db, &options)
                    .await
                    .map_err(|e| e.to_string())?;
                let fresh: Vec<Value> = page
                    .into_iter()
                    .filter(|d| {
                        after.is_none() || d.get("_id").and_then(Value::as_str) != after.as_deref()
                    })
                    .collect();
                if fresh.is_empty() {
                    break;
                }
                for doc in &fresh {
                    out.record(json!({ "kind": "doc", "db": name, "doc": doc }))
                        .await?;
                }
                after = fresh
                    .last()
                    .and_then(|d| d.get("_id"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
        }
    }
    if let Some(cache) = &services.cache {
        for name in cache.list_stores(scope).await.map_err(|e| e.to_string())? {
            let store = domain(&name)?;
            out.record(json!({ "kind": "cache", "name": name })).await?;
            for (key, value, ttl) in cache.dump(scope, &store).await.map_err(|e| e.to_string())? {
                out.record(json!({ "kind": "key", "cache": name, "key": key, "value": value, "ttl_ms": ttl }))
                    .await?;
            }
        }
    }
    if let Some(storage) = &services.storage {
        let b64 = base64::engine::general_purpose::STANDARD;
        for name in storage
            .list_buckets(scope)
            .await
            .map_err(|e| e.to_string())?
        {
            let bucket = domain(&name)?;
            out.record(json!({ "kind": "bucket", "name": name }))
                .await?;
            let objects = storage
                .list_objects(scope, &bucket, "")
                .await
                .map_err(|e| e.to_string())?;
            for info in objects {
                let key = ObjectKey::parse(&info.name).map_err(|e| e.to_string())?;
                let mut body = storage
                    .get_object(scope, &bucket, &key, None)
                    .await
                    .map_err(|e| e.to_string())?;
                out.record(json!({ "kind": "object", "bucket": name, "path": info.name, "size": body.size }))
                    .await?;
                let mut pending: Vec<u8> = Vec::with_capacity(CHUNK_BYTES);
                let mut sent = 0u64;
                while let Some(bytes) = body.stream.next().await {
                    let bytes = bytes.map_err(|e| format!("reading object {}: {e}", info.name))?;
                    for piece in bytes.chunks(CHUNK_BYTES) {
                        pending.extend_from_slice(piece);
                        if pending.len() >= CHUNK_BYTES {
                            let full: Vec<u8> = pending.drain(..CHUNK_BYTES).collect();
                            sent += full.len() as u64;
                            out.record(json!({ "kind": "chunk", "data": b64.encode(&full) }))
                                .await?;
                        }
                    }
                }
                if !pending.is_empty() {
                    sent += pending.len() as u64;
                    out.record(json!({ "kind": "chunk", "data": b64.encode(&pending) }))
                        .await?;
                }
                if sent != body.size {
                    return Err(format!(
                        "object {} changed while it was exported ({sent} of {} bytes)",
                        info.name, body.size
                    ));
                }
            }
        }
    }
    if let Some(search) = &services.search {
        for name in search
            .list_indexes(scope)
            .await
            .map_err(|e| e.to_string())?
        {
            let index = domain(&name)?;
            let (mapping, docs) = search
                .dump(scope, &index)
                .await
                .map_err(|e| e.to_string())?;
            let mapping = json!({
                "fields": mapping.fields,
                "storeFields": mapping.store_fields,
                "boost": mapping.boost,
            });
            out.record(json!({ "kind": "index", "name": name, "mapping": mapping }))
                .await?;
            for doc in docs {
                out.record(json!({ "kind": "search_doc", "index": name, "doc": doc }))
                    .await?;
            }
        }
    }
    if let Some(queue) = &services.queue {
        for name in queue.list_queues(scope).await.map_err(|e| e.to_string())? {
            let q = domain(&name)?;
            let c = queue
                .queue_config(scope, &q)
                .await
                .map_err(|e| e.to_string())?;
            out.record(json!({
                "kind": "queue", "name": name, "target": c.target, "secret": c.secret,
                "max_attempts": c.max_attempts, "backoff_ms": c.backoff_ms, "concurrency": c.concurrency,
            }))
            .await?;
            for status in [JobStatus::Ready, JobStatus::Error] {
                for job in queue
                    .list_jobs(scope, &q, status)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    let body = String::from_utf8_lossy(&job.body);
                    out.record(json!({
                        "kind": "job", "queue": name, "status": status.as_str(), "body": body,
                        "enqueued_ms": job.enqueued_ms, "attempts": job.attempts,
                        "next_attempt_ms": job.next_attempt_ms, "last_status": job.last_status,
                        "last_error": job.last_error,
                    }))
                    .await?;
                }
            }
        }
    }
    let records = out.records;
    out.record(json!({ "kind": "end", "records": records }))
        .await
}
