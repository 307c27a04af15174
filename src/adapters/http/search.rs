//! The search service's routes, `/search/:index` (hyper's §2.6), with `PUT /search/:index/:key` updating
//! documents instead of hyper-nano's 501.

use super::request::read_json;
use super::response::{json, ok, ApiError, RouteResult};
use super::router::ServiceRequest;
use crate::core::DomainName;
use crate::ports::search::{
    BulkOutcome, IndexMapping, Search, SearchError, SearchHit, SearchQuery,
};
use http::{Method, StatusCode};
use serde_json::{json, Map, Value};

/// hyper's JSON body limit.
const BODY_LIMIT: usize = 10 * 1024 * 1024;
/// Matches returned when the query names no `limit`, and the most it may ask for.
const DEFAULT_LIMIT: usize = 1_000;
const MAX_LIMIT: usize = 10_000;

pub async fn route(search: &dyn Search, req: ServiceRequest) -> RouteResult {
    let Some(raw_index) = req.segments.first() else {
        return match req.method {
            Method::GET | Method::HEAD => Ok(json(
                StatusCode::OK,
                &json!({"name": "hyper63 Search", "version": "1.0", "status": "unstable"}),
            )),
            _ => Ok(super::response::not_found()),
        };
    };
    let index =
        DomainName::parse(raw_index).map_err(|e| ApiError::bad_request(format!("index {e}")))?;
    let scope = &req.scope;
    match (
        &req.method,
        req.segments.get(1).map(String::as_str),
        req.segments.len(),
    ) {
        (&Method::PUT, None, _) => {
            let mapping = mapping(read_json(req.body, BODY_LIMIT).await?)?;
            search
                .create_index(scope, &index, mapping)
                .await
                .map_err(search_error)?;
            Ok(ok(StatusCode::CREATED))
        }
        (&Method::DELETE, None, _) => {
            search
                .delete_index(scope, &index)
                .await
                .map_err(search_error)?;
            Ok(ok(StatusCode::OK))
        }
        (&Method::POST, None, _) => {
            let body = read_json(req.body, BODY_LIMIT).await?;
            let key = match body.get("key") {
                Some(Value::String(k)) if !k.is_empty() => k.clone(),
                _ => return Err(invalid("key", "Required.")),
            };
            let doc = object(body.get("doc"), "doc")?;
            search
                .add(scope, &index, &key, doc)
                .await
                .map_err(search_error)?;
            Ok(ok(StatusCode::CREATED))
        }
        (&Method::POST, Some("_query"), 2) => {
            let body = read_json(req.body, BODY_LIMIT).await?;
            let hits = search
                .query(scope, &index, query(&body)?)
                .await
                .map_err(search_error)?;
            let matches: Vec<Value> = hits.into_iter().map(hit_json).collect();
            Ok(json(
                StatusCode::OK,
                &json!({"ok": true, "matches": matches}),
            ))
        }
        (&Method::POST, Some("_bulk"), 2) => {
            let Value::Array(docs) = read_json(req.body, BODY_LIMIT).await? else {
                return Err(ApiError::unprocessable(
                    "body must be an array of documents, each with an _id or id",
                ));
            };
            let outcomes = search
                .bulk(scope, &index, docs)
                .await
                .map_err(search_error)?;
            let results: Vec<Value> = outcomes
                .into_iter()
                .map(|o| match o {
                    BulkOutcome::Indexed(id) => json!({"ok": true, "id": id}),
                    BulkOutcome::Rejected(msg) => json!({"ok": false, "msg": msg}),
                })
                .collect();
            Ok(json(
                StatusCode::CREATED,
                &json!({"ok": true, "results": results}),
            ))
        }
        (&Method::GET, Some(key), 2) => {
            let doc = search.get(scope, &index, key).await.map_err(search_error)?;
            Ok(json(
                StatusCode::OK,
                &json!({"ok": true, "key": key, "doc": doc}),
            ))
        }
        (&Method::PUT, Some(key), 2) => {
            let key = key.to_string();
            let doc = object(Some(&read_json(req.body, BODY_LIMIT).await?), "doc")?;
            search
                .update(scope, &index, &key, doc)
                .await
                .map_err(search_error)?;
            Ok(ok(StatusCode::OK))
        }
        (&Method::DELETE, Some(key), 2) => {
            search
                .remove(scope, &index, key)
                .await
                .map_err(search_error)?;
            Ok(ok(StatusCode::OK))
        }
        _ => Ok(super::response::not_found()),
    }
}

fn invalid(field: &str, why: &str) -> ApiError {
    ApiError::unprocessable(format!("Invalid Arguments '{field}': {why}"))
}

fn search_error(e: SearchError) -> ApiError {
    let msg = e.to_string();
    match e {
        SearchError::IndexExists | SearchError::DocumentConflict => ApiError::conflict(msg),
        SearchError::IndexNotFound | SearchError::NotFound => ApiError::not_found(msg),
        SearchError::Invalid(_) => ApiError::unprocessable(msg),
        SearchError::Quota(_) => ApiError::new(http::StatusCode::TOO_MANY_REQUESTS, msg),
        SearchError::Backend(_) => ApiError::internal(msg),
    }
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
fn query(body: &Value) -> Result<SearchQuery, ApiError> {
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
