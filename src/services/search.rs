//! The search service's rules (hyper's §2.6): index names, mappings, documents and their keys, queries with
//! their limits, bulk loads, and MiniSearch's result shape.

use super::{Answer, ApiError, Reply};
use crate::core::{DomainName, TenantScope};
use crate::ports::search::{BulkOutcome, IndexMapping, Search, SearchHit, SearchQuery};
use http::StatusCode;
use serde_json::{json, Map, Value};

/// Matches returned when the query names no `limit`, and the most it may ask for.
const DEFAULT_LIMIT: usize = 1_000;
const MAX_LIMIT: usize = 10_000;

/// Creates an index from `{ fields, storeFields?, boost? }`.
pub async fn create(search: &dyn Search, scope: &TenantScope, index: &str, body: Value) -> Answer {
    let index = index_name(index)?;
    search.create_index(scope, &index, mapping(body)?).await?;
    Ok(Reply::ok(StatusCode::CREATED))
}

pub async fn delete(search: &dyn Search, scope: &TenantScope, index: &str) -> Answer {
    search.delete_index(scope, &index_name(index)?).await?;
    Ok(Reply::ok(StatusCode::OK))
}

/// Adds `{ key, doc }`; 409 when the key is indexed already.
pub async fn add(search: &dyn Search, scope: &TenantScope, index: &str, body: Value) -> Answer {
    let index = index_name(index)?;
    let key = match body.get("key") {
        Some(Value::String(k)) if !k.is_empty() => k.clone(),
        _ => return Err(invalid("key", "Required.")),
    };
    let doc = object(body.get("doc"), "doc")?;
    search.add(scope, &index, &key, doc).await?;
    Ok(Reply::ok(StatusCode::CREATED))
}

/// `{ ok, key, doc }` for an indexed document.
pub async fn get(search: &dyn Search, scope: &TenantScope, index: &str, key: &str) -> Answer {
    let index = index_name(index)?;
    let doc = search.get(scope, &index, key).await?;
    Ok(Reply::new(
        StatusCode::OK,
        json!({"ok": true, "key": key, "doc": doc}),
    ))
}

/// Replaces the document at `key` with `doc`, an object.
pub async fn update(
    search: &dyn Search,
    scope: &TenantScope,
    index: &str,
    key: &str,
    doc: Value,
) -> Answer {
    let index = index_name(index)?;
    let doc = object(Some(&doc), "doc")?;
    search.update(scope, &index, key, doc).await?;
    Ok(Reply::ok(StatusCode::OK))
}

pub async fn remove(search: &dyn Search, scope: &TenantScope, index: &str, key: &str) -> Answer {
    search.remove(scope, &index_name(index)?, key).await?;
    Ok(Reply::ok(StatusCode::OK))
}

/// Runs `{ query, fields?, filter?, limit? }`: `{ ok, matches }` in MiniSearch's shape.
pub async fn query(search: &dyn Search, scope: &TenantScope, index: &str, body: Value) -> Answer {
    let index = index_name(index)?;
    let hits = search.query(scope, &index, query_of(&body)?).await?;
    let matches: Vec<Value> = hits.into_iter().map(hit_json).collect();
    Ok(Reply::new(
        StatusCode::OK,
        json!({"ok": true, "matches": matches}),
    ))
}

/// Indexes an array of documents, each with `_id` or `id`: `{ ok, results: [{ ok, id } | { ok: false, msg }] }`.
pub async fn bulk(search: &dyn Search, scope: &TenantScope, index: &str, body: Value) -> Answer {
    let index = index_name(index)?;
    let Value::Array(docs) = body else {
        return Err(ApiError::unprocessable(
            "body must be an array of documents, each with an _id or id",
        ));
    };
    let results: Vec<Value> = search
        .bulk(scope, &index, docs)
        .await?
        .into_iter()
        .map(|o| match o {
            BulkOutcome::Indexed(id) => json!({"ok": true, "id": id}),
            BulkOutcome::Rejected(msg) => json!({"ok": false, "msg": msg}),
        })
        .collect();
    Ok(Reply::new(
        StatusCode::CREATED,
        json!({"ok": true, "results": results}),
    ))
}

fn index_name(raw: &str) -> Result<DomainName, ApiError> {
    DomainName::parse(raw).map_err(|e| ApiError::bad_request(format!("index {e}")))
}

fn invalid(field: &str, why: &str) -> ApiError {
    ApiError::unprocessable(format!("Invalid Arguments '{field}': {why}"))
}

fn object(value: Option<&Value>, field: &str) -> Result<Map<String, Value>, ApiError> {
    match value {
        Some(Value::Object(m)) => Ok(m.clone()),
        None => Err(invalid(field, "Required.")),
        Some(_) => Err(invalid(field, "Expected object.")),
    }
}

fn strings(value: Option<&Value>, field: &str) -> Result<Option<Vec<String>>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid(field, "Expected an array of strings."))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(invalid(field, "Expected an array of strings.")),
    }
}

/// `{fields, storeFields?, boost?}`; a missing `fields` is hyper's 422 on `mappings`.
fn mapping(body: Value) -> Result<IndexMapping, ApiError> {
    let fields = strings(body.get("fields"), "mappings")?
        .filter(|f| !f.is_empty())
        .ok_or_else(|| invalid("mappings", "fields is required: an array of field names."))?;
    let store_fields = strings(body.get("storeFields"), "storeFields")?.unwrap_or_default();
    let mut boost = std::collections::BTreeMap::new();
    match body.get("boost") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let b = v
                    .as_f64()
                    .ok_or_else(|| invalid("boost", "Expected an object of numbers."))?;
                boost.insert(k.clone(), b as f32);
            }
        }
        Some(_) => return Err(invalid("boost", "Expected an object of numbers.")),
    }
    Ok(IndexMapping {
        fields,
        store_fields,
        boost,
    })
}

/// `{query, fields?, filter?, limit?}`, with hyper's two 422s for a missing and an empty query.
fn query_of(body: &Value) -> Result<SearchQuery, ApiError> {
    let text = match body.get("query") {
        Some(Value::String(q)) => q.clone(),
        _ => return Err(invalid("q", "Required.")),
    };
    if text.trim().is_empty() {
        return Err(ApiError::unprocessable("query is required!"));
    }
    let filter = match body.get("filter") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(invalid("filter", "Expected object.")),
    };
    let limit = match body.get("limit") {
        None | Some(Value::Null) => DEFAULT_LIMIT,
        Some(v) => v
            .as_u64()
            .map(|n| n as usize)
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                invalid(
                    "limit",
                    &format!("Expected a number from 1 to {MAX_LIMIT}."),
                )
            })?,
    };
    Ok(SearchQuery {
        text,
        fields: strings(body.get("fields"), "fields")?,
        filter,
        limit,
    })
}

/// MiniSearch's result shape: `{id, score, terms, queryTerms, match, ...storeFields}`.
fn hit_json(hit: SearchHit) -> Value {
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
}
