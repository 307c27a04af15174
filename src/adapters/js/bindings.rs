//! App bindings (`env.DATA`, `env.CACHE`, `env.STORAGE`, `env.SEARCH`, `env.QUEUE`): one engine-neutral async op
//! that calls the service ports in process for the app's own tenant, answering hyper's result shapes; and
//! `env.ASSETS`, the app's static assets through the assets port.

use crate::core::mango;
use crate::core::{BindingSpec, DomainName, HostScope, ServiceKind};
use crate::ports::storage::{ByteStream, ObjectKey, StorageError};
use crate::ports::{
    AppBindings, CacheError, DataError, JobStatus, ListOptions, QueueError, SearchError,
};
use serde_json::{json, Map, Value};

/// The name of the assets binding on `env`.
pub const ASSETS: &str = "ASSETS";

/// What one binding call produced: a JSON result, or a download's byte stream.
pub enum Outcome {
    Json(Value),
    Download { size: u64, stream: ByteStream },
}

/// The bindings the app has, as `{ NAME: service }`: only those its spec names and whose service is enabled.
pub fn names(spec: &std::collections::BTreeMap<String, BindingSpec>, ports: &AppBindings) -> Value {
    let mut out = Map::new();
    for (name, b) in spec {
        let present = match b.service {
            ServiceKind::Cache => ports.cache.is_some(),
            ServiceKind::Data => ports.data.is_some(),
            ServiceKind::Storage => ports.storage.is_some(),
            ServiceKind::Search => ports.search.is_some(),
            ServiceKind::Queue => ports.queue.is_some(),
        };
        if present && ports.tenant.is_some() {
            out.insert(name.clone(), json!(b.service.as_str()));
        }
    }
    if ports.assets.is_some() && !out.contains_key(ASSETS) {
        out.insert(ASSETS.into(), json!("assets"));
    }
    Value::Object(out)
}

/// `ASSETS.fetch`: the assets port's answer for `[method, url, flat headers]`; 404 when no file matches, 405 for
/// a method other than GET and HEAD.
pub async fn assets_fetch(
    assets: std::sync::Arc<dyn crate::ports::AppAssets>,
    args: Vec<Value>,
) -> Result<http::Response<crate::ports::Body>, String> {
    let method = arg(&args, 0).as_str().unwrap_or("GET");
    let method = http::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let url = arg(&args, 1).as_str().unwrap_or_default();
    let url = url::Url::parse(url).map_err(|e| format!("invalid URL {url}: {e}"))?;
    let mut headers = http::HeaderMap::new();
    if let Value::Array(flat) = arg(&args, 2) {
        for pair in flat.chunks(2) {
            if let [Value::String(k), Value::String(v)] = pair {
                if let (Ok(k), Ok(v)) = (
                    http::HeaderName::from_bytes(k.as_bytes()),
                    http::HeaderValue::from_str(v),
                ) {
                    headers.append(k, v);
                }
            }
        }
    }
    let text = |status: http::StatusCode, msg: &'static str| {
        let mut res = http::Response::new(crate::ports::Body::from_bytes(msg));
        *res.status_mut() = status;
        res.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        res
    };
    if method != http::Method::GET && method != http::Method::HEAD {
        let mut res = text(http::StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
        res.headers_mut().insert(
            http::header::ALLOW,
            http::HeaderValue::from_static("GET, HEAD"),
        );
        return Ok(res);
    }
    let host = url.host_str().unwrap_or_default().to_string();
    Ok(assets
        .serve(&method, url.path(), &host, &headers)
        .await
        .unwrap_or_else(|| text(http::StatusCode::NOT_FOUND, "Not Found")))
}

/// A failed call in hyper's shape.
fn fail(status: u16, msg: impl Into<String>) -> Value {
    json!({ "ok": false, "status": status, "msg": msg.into() })
}

fn done() -> Value {
    json!({ "ok": true })
}

fn data_err(e: DataError) -> Value {
    let status = match &e {
        DataError::DbExists | DataError::DocExists(_) | DataError::IndexConflict(_) => 409,
        DataError::DbNotFound | DataError::DocNotFound(_) => 404,
        DataError::Invalid(_) => 400,
        DataError::Quota(_) => 429,
        DataError::Backend(_) => 500,
    };
    fail(status, e.to_string())
}

fn cache_err(e: CacheError) -> Value {
    let status = match &e {
        CacheError::StoreExists | CacheError::KeyExists => 409,
        CacheError::StoreNotFound => 404,
        CacheError::Quota(_) => 429,
        CacheError::Backend(_) => 500,
    };
    fail(status, e.to_string())
}

fn storage_err(e: StorageError) -> Value {
    let status = match &e {
        StorageError::BucketExists | StorageError::Conflict(_) => 409,
        StorageError::BucketNotFound | StorageError::ObjectNotFound => 404,
        StorageError::InvalidObject(_) | StorageError::Upload(_) => 400,
        StorageError::RangeNotSatisfiable { .. } => 416,
        StorageError::SignatureInvalid | StorageError::SignatureExpired => 403,
        StorageError::Quota(_) => 429,
        StorageError::Backend(_) => 500,
    };
    fail(status, e.to_string())
}

fn search_err(e: SearchError) -> Value {
    let status = match &e {
        SearchError::IndexExists | SearchError::DocumentConflict => 409,
        SearchError::IndexNotFound | SearchError::NotFound => 404,
        SearchError::Invalid(_) => 422,
        SearchError::Quota(_) => 429,
        SearchError::Backend(_) => 500,
    };
    fail(status, e.to_string())
}

fn queue_err(e: QueueError) -> Value {
    let status = match &e {
        QueueError::QueueExists => 409,
        QueueError::QueueNotFound | QueueError::JobNotFound => 404,
        QueueError::Quota(_) => 429,
        QueueError::Invalid(_) => 422,
        QueueError::Backend(_) => 500,
    };
    fail(status, e.to_string())
}

fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&Value::Null)
}

fn text_arg(args: &[Value], i: usize, what: &str) -> Result<String, Value> {
    match arg(args, i) {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        _ => Err(fail(400, format!("{what} must be a non-empty string"))),
    }
}

fn object_arg(args: &[Value], i: usize, what: &str) -> Result<Map<String, Value>, Value> {
    match arg(args, i) {
        Value::Object(m) => Ok(m.clone()),
        _ => Err(fail(400, format!("{what} must be an object"))),
    }
}

/// Runs `method` of the binding `spec` with JSON `args`; `upload` is the body of `STORAGE.upload`.
pub async fn call(
    ports: AppBindings,
    spec: BindingSpec,
    method: String,
    args: Vec<Value>,
    upload: Option<ByteStream>,
) -> Outcome {
    let Some(tenant) = ports.tenant.clone() else {
        return Outcome::Json(fail(500, "the app has no tenant to bind to"));
    };
    if args.iter().any(crate::core::nul::json_has_nul) {
        return Outcome::Json(fail(400, crate::core::nul::NUL_REFUSED));
    }
    let scope = HostScope::resolved(tenant);
    let d = &spec.domain;
    let result = match spec.service {
        ServiceKind::Data => match &ports.data {
            Some(p) => data(p.as_ref(), &scope, d, &method, &args).await,
            None => Err(fail(404, "the data service is disabled")),
        },
        ServiceKind::Cache => match &ports.cache {
            Some(p) => cache(p.as_ref(), &scope, d, &method, &args).await,
            None => Err(fail(404, "the cache service is disabled")),
        },
        ServiceKind::Search => match &ports.search {
            Some(p) => search(p.as_ref(), &scope, d, &method, &args).await,
            None => Err(fail(404, "the search service is disabled")),
        },
        ServiceKind::Queue => match &ports.queue {
            Some(p) => queue(p.as_ref(), &scope, d, &method, &args).await,
            None => Err(fail(404, "the queue service is disabled")),
        },
        ServiceKind::Storage => match &ports.storage {
            Some(p) => return storage(p.as_ref(), &scope, d, &method, &args, upload).await,
            None => Err(fail(404, "the storage service is disabled")),
        },
    };
    Outcome::Json(result.unwrap_or_else(|e| e))
}

fn unknown(service: &str, method: &str) -> Value {
    fail(400, format!("{service} has no method {method}"))
}

async fn data(
    p: &dyn crate::ports::DataStore,
    scope: &HostScope,
    db: &DomainName,
    method: &str,
    args: &[Value],
) -> Result<Value, Value> {
    Ok(match method {
        "add" => {
            let mut doc = object_arg(args, 0, "document")?;
            let id = match doc.get("_id") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                None | Some(Value::Null) | Some(Value::String(_)) => {
                    crate::core::docid::new_doc_id()
                }
                Some(_) => return Err(fail(400, "_id must be a string")),
            };
            doc.insert("_id".into(), json!(id));
            p.create_doc(scope, db, &Value::Object(doc))
                .await
                .map_err(data_err)?;
            json!({ "ok": true, "id": id })
        }
        "get" => {
            let id = text_arg(args, 0, "id")?;
            let doc = p.get_doc(scope, db, &id).await.map_err(data_err)?;
            json!({ "ok": true, "doc": doc })
        }
        "update" => {
            let id = text_arg(args, 0, "id")?;
            let doc = object_arg(args, 1, "document")?;
            p.put_doc(scope, db, &id, &Value::Object(doc))
                .await
                .map_err(data_err)?;
            json!({ "ok": true, "id": id })
        }
        "remove" => {
            let id = text_arg(args, 0, "id")?;
            p.delete_doc(scope, db, &id).await.map_err(data_err)?;
            json!({ "ok": true, "id": id })
        }
        "list" => {
            let o = arg(args, 0);
            let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
            let keys = match o.get("keys") {
                Some(Value::Array(a)) => Some(
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect(),
                ),
                Some(Value::String(s)) => Some(s.split(',').map(str::to_string).collect()),
                _ => None,
            };
            let options = ListOptions {
                limit: o.get("limit").and_then(Value::as_u64),
                startkey: text("startkey"),
                endkey: text("endkey"),
                keys,
                descending: o
                    .get("descending")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            };
            let docs = p.list_docs(scope, db, &options).await.map_err(data_err)?;
            json!({ "ok": true, "docs": docs })
        }
        "query" => {
            let mut body = match arg(args, 1) {
                Value::Object(m) => m.clone(),
                _ => Map::new(),
            };
            body.insert("selector".into(), arg(args, 0).clone());
            let query =
                mango::parse_query(&Value::Object(body)).map_err(|e| fail(400, e.to_string()))?;
            let docs = p.query_docs(scope, db, &query).await.map_err(data_err)?;
            json!({ "ok": true, "docs": docs })
        }
        "bulk" => {
            let Value::Array(docs) = arg(args, 0) else {
                return Err(fail(400, "bulk takes an array of documents"));
            };
            let ids = p.bulk(scope, db, docs).await.map_err(data_err)?;
            let results: Vec<Value> = ids
                .into_iter()
                .map(|id| json!({ "ok": true, "id": id }))
                .collect();
            json!({ "ok": true, "results": results })
        }
        "index" => {
            let name = text_arg(args, 0, "index name")?;
            let fields =
                mango::parse_index_fields(arg(args, 1)).map_err(|e| fail(422, e.to_string()))?;
            p.create_index(scope, db, &name, &fields)
                .await
                .map_err(data_err)?;
            done()
        }
        other => return Err(unknown("DATA", other)),
    })
}

/// A TTL as hyper-connect's cache takes it: milliseconds, or a string like `10s`, `5m`, `1h`, `2d`.
fn ttl(v: &Value) -> Result<Option<u64>, Value> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_u64()),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => crate::core::ttl::parse_ttl_ms(s)
            .map(Some)
            .map_err(|e| fail(422, format!("ttl: {e}"))),
        _ => Err(fail(
            422,
            "ttl must be a number of milliseconds or a string like 10s",
        )),
    }
}

async fn cache(
    p: &dyn crate::ports::CacheStore,
    scope: &HostScope,
    store: &DomainName,
    method: &str,
    args: &[Value],
) -> Result<Value, Value> {
    Ok(match method {
        "add" | "set" => {
            let key = text_arg(args, 0, "key")?;
            let value = object_arg(args, 1, "value")?;
            let ttl_ms = ttl(arg(args, 2))?;
            let r = if method == "add" {
                p.create(scope, store, &key, &value, ttl_ms).await
            } else {
                p.set(scope, store, &key, &value, ttl_ms).await
            };
            r.map_err(cache_err)?;
            done()
        }
        "get" => {
            let key = text_arg(args, 0, "key")?;
            match p.get(scope, store, &key).await.map_err(cache_err)? {
                Some(v) => json!({ "ok": true, "doc": v }),
                None => return Err(fail(404, "not found")),
            }
        }
        "remove" => {
            let key = text_arg(args, 0, "key")?;
            p.delete(scope, store, &key).await.map_err(cache_err)?;
            done()
        }
        "query" => {
            let pattern = match arg(args, 0) {
                Value::String(s) if !s.is_empty() => s.clone(),
                _ => "*".to_string(),
            };
            let docs: Vec<Value> = p
                .query(scope, store, &pattern)
                .await
                .map_err(cache_err)?
                .into_iter()
                .map(|(key, value)| json!({ "key": key, "value": value }))
                .collect();
            json!({ "ok": true, "docs": docs })
        }
        other => return Err(unknown("CACHE", other)),
    })
}

async fn search(
    p: &dyn crate::ports::Search,
    scope: &HostScope,
    index: &DomainName,
    method: &str,
    args: &[Value],
) -> Result<Value, Value> {
    use crate::ports::search::{BulkOutcome, SearchQuery};
    Ok(match method {
        "add" | "update" => {
            let key = text_arg(args, 0, "key")?;
            let doc = object_arg(args, 1, "document")?;
            let r = if method == "add" {
                p.add(scope, index, &key, doc).await
            } else {
                p.update(scope, index, &key, doc).await
            };
            r.map_err(search_err)?;
            done()
        }
        "get" => {
            let key = text_arg(args, 0, "key")?;
            let doc = p.get(scope, index, &key).await.map_err(search_err)?;
            json!({ "ok": true, "key": key, "doc": doc })
        }
        "remove" => {
            let key = text_arg(args, 0, "key")?;
            p.remove(scope, index, &key).await.map_err(search_err)?;
            done()
        }
        "load" => {
            let Value::Array(docs) = arg(args, 0) else {
                return Err(fail(400, "load takes an array of documents"));
            };
            let results: Vec<Value> = p
                .bulk(scope, index, docs.clone())
                .await
                .map_err(search_err)?
                .into_iter()
                .map(|o| match o {
                    BulkOutcome::Indexed(id) => json!({ "ok": true, "id": id }),
                    BulkOutcome::Rejected(msg) => json!({ "ok": false, "msg": msg }),
                })
                .collect();
            json!({ "ok": true, "results": results })
        }
        "query" => {
            let text = text_arg(args, 0, "query")?;
            let o = arg(args, 1);
            let query = SearchQuery {
                text,
                fields: o.get("fields").and_then(Value::as_array).map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                }),
                filter: o
                    .get("filter")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
                limit: o
                    .get("limit")
                    .and_then(Value::as_u64)
                    .map_or(100, |n| n.clamp(1, 1000) as usize),
            };
            let matches: Vec<Value> = p
                .query(scope, index, query)
                .await
                .map_err(search_err)?
                .into_iter()
                .map(|hit| {
                    let mut out = Map::new();
                    out.insert("id".into(), json!(hit.id));
                    out.insert("score".into(), json!(hit.score));
                    out.insert("terms".into(), json!(hit.terms));
                    out.insert("queryTerms".into(), json!(hit.query_terms));
                    out.insert("match".into(), json!(hit.matched));
                    for (k, v) in hit.stored {
                        out.entry(k).or_insert(v);
                    }
                    Value::Object(out)
                })
                .collect();
            json!({ "ok": true, "matches": matches })
        }
        other => return Err(unknown("SEARCH", other)),
    })
}

async fn queue(
    p: &dyn crate::ports::QueueStore,
    scope: &HostScope,
    name: &DomainName,
    method: &str,
    args: &[Value],
) -> Result<Value, Value> {
    Ok(match method {
        "enqueue" => {
            let job = object_arg(args, 0, "job")?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let body = serde_json::to_vec(&job).unwrap_or_default();
            let id = p
                .enqueue(scope, name, body.into(), now)
                .await
                .map_err(queue_err)?;
            json!({ "ok": true, "id": id })
        }
        "queued" | "errors" => {
            let status = if method == "queued" {
                JobStatus::Ready
            } else {
                JobStatus::Error
            };
            let jobs: Vec<Value> = p
                .list_jobs(scope, name, status)
                .await
                .map_err(queue_err)?
                .iter()
                .map(|job| {
                    let body: Value = serde_json::from_slice(&job.body).unwrap_or(Value::Null);
                    let mut out = json!({
                        "id": job.id,
                        "job": body,
                        "status": job.status.as_str(),
                        "queue": job.queue,
                        "timestmp": job.enqueued_ms,
                        "attempts": job.attempts,
                    });
                    if let Some(error) = &job.last_error {
                        out["lastError"] = json!(error);
                    }
                    out
                })
                .collect();
            json!({ "ok": true, "jobs": jobs })
        }
        other => return Err(unknown("QUEUE", other)),
    })
}

async fn storage(
    p: &dyn crate::ports::Storage,
    scope: &HostScope,
    bucket: &DomainName,
    method: &str,
    args: &[Value],
    upload: Option<ByteStream>,
) -> Outcome {
    let object = || match arg(args, 0) {
        Value::String(s) => ObjectKey::parse(s).map_err(storage_err),
        _ => Err(fail(400, "object name must be a string")),
    };
    if method == "download" {
        let key = match object() {
            Ok(k) => k,
            Err(e) => return Outcome::Json(e),
        };
        return match p.get_object(scope, bucket, &key, None).await {
            Ok(got) => Outcome::Download {
                size: got.size,
                stream: got.stream,
            },
            Err(e) => Outcome::Json(storage_err(e)),
        };
    }
    let r: Result<Value, Value> = async {
        Ok(match method {
            "upload" => {
                let key = object()?;
                let body = upload.ok_or_else(|| fail(400, "upload needs a body"))?;
                p.put_object(scope, bucket, &key, body)
                    .await
                    .map_err(storage_err)?;
                done()
            }
            "remove" => {
                let key = object()?;
                p.delete_object(scope, bucket, &key)
                    .await
                    .map_err(storage_err)?;
                done()
            }
            "list" => {
                let prefix = arg(args, 0).as_str().unwrap_or_default().to_string();
                let objects: Vec<Value> = p
                    .list_objects(scope, bucket, &prefix)
                    .await
                    .map_err(storage_err)?
                    .into_iter()
                    .map(|o| json!({ "name": o.name, "size": o.size, "modified": o.modified_ms }))
                    .collect();
                json!({ "ok": true, "objects": objects })
            }
            other => return Err(unknown("STORAGE", other)),
        })
    }
    .await;
    Outcome::Json(r.unwrap_or_else(|e| e))
}
