//! App bindings (`env.DATA`, `env.CACHE`, `env.STORAGE`, `env.SEARCH`, `env.QUEUE`): one engine-neutral async op
//! that translates hyper-connect's method calls into the same `services` calls REST makes, for the app's own
//! tenant, so a binding answers exactly what REST answers; and `env.ASSETS`, the app's static assets.
//!
//! An engine binds one generic async op, `binding(name, method, argsJson, streaming)`, plus the sync `bindingNames`.
//! The op finds the binding in the version's `AppBindings` (the service ports and the tenant), builds the tenant's
//! `TenantScope` and runs the `services` call on the tokio handle. It completes with JSON bytes in hyper's result
//! shape. Storage uploads stream through the sink streaming `fetch` uses; downloads complete like a `fetch` response,
//! their body a resource.

use crate::core::{BindingSpec, ServiceKind, TenantScope};
use crate::ports::storage::ByteStream;
use crate::ports::AppBindings;
use crate::services::{self, Answer, ApiError};
use serde_json::{json, Map, Value};

/// The name of the assets binding on `env`.
pub const ASSETS: &str = "ASSETS";

/// What one binding call produced: a JSON result, or a download's byte stream (with, for R2, the object's fields
/// as JSON, which reach the glue as the `x-nano-object` header).
pub enum Outcome {
    Json(Value),
    Download {
        size: u64,
        stream: ByteStream,
        head: Option<Value>,
    },
}

/// The bindings the app has, as `{ NAME: service }`: only those its spec names and whose service is enabled.
pub fn names(spec: &std::collections::BTreeMap<String, BindingSpec>, ports: &AppBindings) -> Value {
    let mut out = Map::new();
    for (name, b) in spec {
        let present = match b.service.port() {
            Some(ServiceKind::Cache) => ports.cache.is_some(),
            Some(ServiceKind::Data) => ports.data.is_some(),
            Some(ServiceKind::Storage) => ports.storage.is_some(),
            Some(ServiceKind::Search) => ports.search.is_some(),
            Some(ServiceKind::Queue) => ports.queue.is_some(),
            _ => true,
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
fn fail(status: http::StatusCode, msg: impl Into<String>) -> Value {
    ApiError::new(status, msg).to_json()
}

/// hyper-connect's result of a call: the reply's body, or the error's `{ ok: false, status, msg }`.
fn answered(answer: Answer) -> Value {
    match answer {
        Ok(reply) => reply.body,
        Err(e) => e.to_json(),
    }
}

fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&Value::Null)
}

/// A name or key argument as text (the service then checks it); anything else is 400.
fn text_arg<'a>(args: &'a [Value], i: usize, what: &str) -> Result<&'a str, ApiError> {
    match arg(args, i) {
        Value::String(s) => Ok(s),
        _ => Err(ApiError::bad_request(format!("{what} must be a string"))),
    }
}

/// A JSON object built from the arguments that are present (`undefined` and `null` leave a field out), the body
/// hyper-connect sends for the same call.
fn body(fields: &[(&str, &Value)]) -> Value {
    let mut out = Map::new();
    for (k, v) in fields {
        if !v.is_null() {
            out.insert((*k).to_string(), (*v).clone());
        }
    }
    Value::Object(out)
}

/// An options object's fields merged into `base` (hyper-connect spreads its options into the request body).
fn with_options(mut base: Value, options: &Value) -> Value {
    if let (Value::Object(out), Value::Object(o)) = (&mut base, options) {
        for (k, v) in o {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    base
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
        return Outcome::Json(fail(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            "the app has no tenant to bind to",
        ));
    };
    if args.iter().any(crate::core::nul::json_has_nul) {
        return Outcome::Json(fail(
            http::StatusCode::BAD_REQUEST,
            crate::core::nul::NUL_REFUSED,
        ));
    }
    let scope = TenantScope::resolved(tenant);
    let d = spec.domain.as_str();
    let disabled = |service: &str| {
        Err(ApiError::not_found(format!(
            "the {service} service is disabled"
        )))
    };
    let answer = match spec.service {
        ServiceKind::Data => match &ports.data {
            Some(p) => data(p.as_ref(), &scope, d, &method, &args).await,
            None => disabled("data"),
        },
        ServiceKind::Cache => match &ports.cache {
            Some(p) => cache(p.as_ref(), &scope, d, &method, &args).await,
            None => disabled("cache"),
        },
        ServiceKind::Search => match &ports.search {
            Some(p) => search(p.as_ref(), &scope, d, &method, &args).await,
            None => disabled("search"),
        },
        ServiceKind::Queue => match &ports.queue {
            Some(p) => queue(p.as_ref(), &scope, d, &method, &args).await,
            None => disabled("queue"),
        },
        ServiceKind::Storage => match &ports.storage {
            Some(p) => return storage(p.as_ref(), &scope, d, &method, &args, upload).await,
            None => disabled("storage"),
        },
        ServiceKind::Kv => match &ports.cache {
            Some(p) => super::cf_bindings::kv(p.as_ref(), &scope, d, &method, &args).await,
            None => disabled("cache"),
        },
        ServiceKind::R2 => match &ports.storage {
            Some(p) => {
                return super::cf_bindings::r2(p.as_ref(), &scope, d, &method, &args, upload).await
            }
            None => disabled("storage"),
        },
        ServiceKind::Queues => match &ports.queue {
            Some(p) => super::cf_bindings::queues(p.as_ref(), &scope, d, &method, &args).await,
            None => disabled("queue"),
        },
        ServiceKind::App => Err(ApiError::bad_request("a service binding has only fetch()")),
    };
    Outcome::Json(answered(answer))
}

fn unknown(service: &str, method: &str) -> Answer {
    Err(ApiError::bad_request(format!(
        "{service} has no method {method}"
    )))
}

/// hyper-connect's `data` methods: `add(doc)`, `get(id)`, `update(id, doc)`, `remove(id)`, `list(options)`,
/// `query(selector, options)`, `bulk(docs)`, `index(name, fields)`.
async fn data(
    p: &dyn crate::ports::DataStore,
    scope: &TenantScope,
    db: &str,
    method: &str,
    args: &[Value],
) -> Answer {
    use services::data as s;
    match method {
        "add" => s::add(p, scope, db, arg(args, 0).clone()).await,
        "get" => s::get(p, scope, db, text_arg(args, 0, "id")?).await,
        "update" => s::update(p, scope, db, text_arg(args, 0, "id")?, arg(args, 1).clone()).await,
        "remove" => s::remove(p, scope, db, text_arg(args, 0, "id")?).await,
        "list" => s::list(p, scope, db, &list_params(arg(args, 0))).await,
        "query" => {
            let query = with_options(body(&[("selector", arg(args, 0))]), arg(args, 1));
            s::query(p, scope, db, query).await
        }
        "bulk" => s::bulk(p, scope, db, arg(args, 0).clone()).await,
        "index" => {
            let index = body(&[("name", arg(args, 0)), ("fields", arg(args, 1))]);
            s::index(p, scope, db, index).await
        }
        other => unknown("DATA", other),
    }
}

/// `list` options as the query string hyper-connect makes of them: numbers as text, `keys` joined by commas,
/// `descending` present only when true.
fn list_params(o: &Value) -> services::data::ListParams {
    let text = |k: &str| match o.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    services::data::ListParams {
        limit: text("limit"),
        startkey: text("startkey"),
        endkey: text("endkey"),
        keys: match o.get("keys") {
            Some(Value::Array(a)) => Some(
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => text("keys"),
        },
        descending: (o.get("descending") == Some(&Value::Bool(true))).then(|| "true".into()),
    }
}

/// hyper-connect's `cache` methods: `add(key, value, ttl)`, `get(key)`, `set(key, value, ttl)`, `remove(key)`,
/// `query(pattern)`.
async fn cache(
    p: &dyn crate::ports::CacheStore,
    scope: &TenantScope,
    store: &str,
    method: &str,
    args: &[Value],
) -> Answer {
    use services::cache as s;
    match method {
        "add" => {
            let fields = [
                ("key", arg(args, 0)),
                ("value", arg(args, 1)),
                ("ttl", arg(args, 2)),
            ];
            s::add(p, scope, store, body(&fields)).await
        }
        "get" => s::get(p, scope, store, text_arg(args, 0, "key")?).await,
        "set" => {
            let key = text_arg(args, 0, "key")?;
            let ttl = Some(arg(args, 2)).filter(|t| !t.is_null());
            s::set(p, scope, store, key, Some(arg(args, 1).clone()), ttl).await
        }
        "remove" => s::remove(p, scope, store, text_arg(args, 0, "key")?).await,
        "query" => s::query(p, scope, store, arg(args, 0).as_str()).await,
        other => unknown("CACHE", other),
    }
}

/// hyper-connect's `search` methods: `add(key, doc)`, `get(key)`, `update(key, doc)`, `remove(key)`,
/// `query(text, options)`, `load(docs)`.
async fn search(
    p: &dyn crate::ports::Search,
    scope: &TenantScope,
    index: &str,
    method: &str,
    args: &[Value],
) -> Answer {
    use services::search as s;
    match method {
        "add" => {
            let doc = body(&[("key", arg(args, 0)), ("doc", arg(args, 1))]);
            s::add(p, scope, index, doc).await
        }
        "get" => s::get(p, scope, index, text_arg(args, 0, "key")?).await,
        "update" => {
            let key = text_arg(args, 0, "key")?;
            s::update(p, scope, index, key, arg(args, 1).clone()).await
        }
        "remove" => s::remove(p, scope, index, text_arg(args, 0, "key")?).await,
        "query" => {
            let query = with_options(body(&[("query", arg(args, 0))]), arg(args, 1));
            s::query(p, scope, index, query).await
        }
        "load" => s::bulk(p, scope, index, arg(args, 0).clone()).await,
        other => unknown("SEARCH", other),
    }
}

/// hyper-connect's `queue` methods: `enqueue(job)`, `queued()`, `errors()`.
async fn queue(
    p: &dyn crate::ports::QueueStore,
    scope: &TenantScope,
    name: &str,
    method: &str,
    args: &[Value],
) -> Answer {
    use services::queue as s;
    match method {
        "enqueue" => s::enqueue(p, scope, name, arg(args, 0).clone()).await,
        "queued" => s::jobs(p, scope, name, Some("READY")).await,
        "errors" => s::jobs(p, scope, name, Some("ERROR")).await,
        other => unknown("QUEUE", other),
    }
}

/// hyper-connect's `storage` methods: `upload(name, data)`, `download(name)`, `remove(name)`, plus `list(prefix)`.
async fn storage(
    p: &dyn crate::ports::Storage,
    scope: &TenantScope,
    bucket: &str,
    method: &str,
    args: &[Value],
    upload: Option<ByteStream>,
) -> Outcome {
    use services::storage as s;
    let object = || text_arg(args, 0, "object name");
    let answer = match method {
        "download" => {
            let got = match object() {
                Ok(name) => s::download(p, scope, bucket, name, None).await,
                Err(e) => Err(e),
            };
            return match got {
                Ok(got) => Outcome::Download {
                    size: got.size,
                    stream: got.stream,
                    head: None,
                },
                Err(e) => Outcome::Json(e.to_json()),
            };
        }
        "upload" => match (object(), upload) {
            (Ok(name), Some(body)) => s::upload(p, scope, bucket, name, body).await,
            (Err(e), _) => Err(e),
            (_, None) => Err(ApiError::bad_request("upload needs a body")),
        },
        "remove" => match object() {
            Ok(name) => s::remove(p, scope, bucket, name).await,
            Err(e) => Err(e),
        },
        "list" => s::list(p, scope, bucket, arg(args, 0).as_str().unwrap_or_default()).await,
        other => unknown("STORAGE", other),
    };
    Outcome::Json(answered(answer))
}
