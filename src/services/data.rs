//! The data service's rules (hyper's `api/data.ts`): database names, documents and their `_id`, list parameters
//! with hyper's quirks, Mango queries, indexes and bulk writes, with hyper's status codes and result shapes.

use super::{Answer, ApiError, Reply};
use crate::core::docid::new_doc_id;
use crate::core::mango::{self, parse_float_prefix};
use crate::core::{DomainName, TenantScope};
use crate::ports::{DataStore, ListOptions};
use http::StatusCode;
use serde_json::{json, Value};

/// The parameters of a list, as text, the way hyper reads them from a query string.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub limit: Option<String>,
    pub startkey: Option<String>,
    pub endkey: Option<String>,
    /// Comma-separated ids.
    pub keys: Option<String>,
    pub descending: Option<String>,
}

pub async fn create_db(store: &dyn DataStore, scope: &TenantScope, db: &str) -> Answer {
    store.create_db(scope, &db_name(db)?).await?;
    Ok(Reply::ok(StatusCode::CREATED))
}

pub async fn delete_db(store: &dyn DataStore, scope: &TenantScope, db: &str) -> Answer {
    store.delete_db(scope, &db_name(db)?).await?;
    Ok(Reply::ok(StatusCode::OK))
}

/// The database's documents in `_id` order: `{ ok, docs }`.
pub async fn list(
    store: &dyn DataStore,
    scope: &TenantScope,
    db: &str,
    params: &ListParams,
) -> Answer {
    let db = db_name(db)?;
    let docs = store.list_docs(scope, &db, &list_options(params)?).await?;
    Ok(Reply::new(
        StatusCode::OK,
        json!({ "ok": true, "docs": docs }),
    ))
}

/// Adds a document, a non-empty object whose `_id` (a string) is made when missing or empty: `{ ok, id }`.
pub async fn add(store: &dyn DataStore, scope: &TenantScope, db: &str, doc: Value) -> Answer {
    let db = db_name(db)?;
    let Value::Object(mut doc) = doc else {
        return Err(ApiError::bad_request("document must be a JSON object"));
    };
    if doc.is_empty() {
        return Err(ApiError::bad_request("document empty"));
    }
    let id = match doc.get("_id") {
        None | Some(Value::Null) => new_doc_id(),
        Some(Value::String(s)) if s.is_empty() => new_doc_id(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "_id must be a string, received {other}"
            )))
        }
    };
    doc.insert("_id".into(), Value::String(id.clone()));
    store.create_doc(scope, &db, &Value::Object(doc)).await?;
    Ok(Reply::new(
        StatusCode::CREATED,
        json!({ "ok": true, "id": id }),
    ))
}

/// `{ ok, doc }` for the document `id`.
pub async fn get(store: &dyn DataStore, scope: &TenantScope, db: &str, id: &str) -> Answer {
    let db = db_name(db)?;
    let doc = store.get_doc(scope, &db, doc_id(id)?).await?;
    Ok(Reply::new(
        StatusCode::OK,
        json!({ "ok": true, "doc": doc }),
    ))
}

/// Replaces (or creates) the document `id` with `doc`, an object: `{ ok, id }`.
pub async fn update(
    store: &dyn DataStore,
    scope: &TenantScope,
    db: &str,
    id: &str,
    doc: Value,
) -> Answer {
    let db = db_name(db)?;
    if !doc.is_object() {
        return Err(ApiError::bad_request("document must be a JSON object"));
    }
    store.put_doc(scope, &db, doc_id(id)?, &doc).await?;
    Ok(Reply::new(StatusCode::OK, json!({ "ok": true, "id": id })))
}

pub async fn remove(store: &dyn DataStore, scope: &TenantScope, db: &str, id: &str) -> Answer {
    let db = db_name(db)?;
    store.delete_doc(scope, &db, doc_id(id)?).await?;
    Ok(Reply::new(StatusCode::OK, json!({ "ok": true, "id": id })))
}

/// A Mango query (`{ selector, fields?, sort?, limit?, use_index? }`): `{ ok, docs }`.
pub async fn query(store: &dyn DataStore, scope: &TenantScope, db: &str, body: Value) -> Answer {
    let db = db_name(db)?;
    let query = mango::parse_query(&body)?;
    let docs = store.query_docs(scope, &db, &query).await?;
    Ok(Reply::new(
        StatusCode::OK,
        json!({ "ok": true, "docs": docs }),
    ))
}

/// Creates an index from `{ name, fields, partialFilter? }`.
pub async fn index(store: &dyn DataStore, scope: &TenantScope, db: &str, body: Value) -> Answer {
    let db = db_name(db)?;
    let (name, fields) = index_request(&body)?;
    store.create_index(scope, &db, &name, &fields).await?;
    Ok(Reply::ok(StatusCode::CREATED))
}

/// Writes an array of documents (each with `_id`; `_deleted: true` removes): `{ ok, results: [{ ok, id }] }`.
pub async fn bulk(store: &dyn DataStore, scope: &TenantScope, db: &str, body: Value) -> Answer {
    let db = db_name(db)?;
    let Value::Array(docs) = body else {
        return Err(ApiError::bad_request(
            "bulk body must be a JSON array of documents",
        ));
    };
    let ids = store.bulk(scope, &db, &docs).await?;
    let results: Vec<Value> = ids
        .into_iter()
        .map(|id| json!({ "ok": true, "id": id }))
        .collect();
    Ok(Reply::new(
        StatusCode::CREATED,
        json!({ "ok": true, "results": results }),
    ))
}

fn db_name(s: &str) -> Result<DomainName, ApiError> {
    DomainName::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))
}

fn doc_id(id: &str) -> Result<&str, ApiError> {
    if id.is_empty() {
        return Err(ApiError::bad_request("id must be a non-empty string"));
    }
    Ok(id)
}

/// List parameters as hyper's port schema reads them (see spec §2.4 for the quirks kept).
fn list_options(params: &ListParams) -> Result<ListOptions, ApiError> {
    let limit = match params.limit.as_deref() {
        None => None,
        Some(raw) => match parse_float_prefix(raw) {
            Some(n) if n >= 0.0 => Some(if n.is_finite() {
                n.floor() as u64
            } else {
                u64::MAX
            }),
            Some(_) => {
                return Err(ApiError::unprocessable(
                    "Invalid Arguments 'limit': Number must be greater than or equal to 0.",
                ))
            }
            None => {
                return Err(ApiError::unprocessable(
                    "Invalid Arguments 'limit': Expected number, received nan.",
                ))
            }
        },
    };
    Ok(ListOptions {
        limit,
        startkey: params.startkey.clone(),
        endkey: params.endkey.clone(),
        keys: params
            .keys
            .as_deref()
            .map(|k| k.split(',').map(str::to_string).collect()),
        // `Boolean(x)`: any non-empty value, even "false", is true.
        descending: params.descending.as_deref().is_some_and(|d| !d.is_empty()),
    })
}

fn index_request(body: &Value) -> Result<(String, Vec<mango::SortKey>), ApiError> {
    let Value::Object(obj) = body else {
        return Err(ApiError::unprocessable(
            "Invalid Arguments 'index': Expected object, received array.",
        ));
    };
    let name = match obj.get("name") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) => {
            return Err(ApiError::unprocessable(
                "Invalid Arguments 'name': String must contain at least 1 character(s).",
            ))
        }
        None | Some(Value::Null) => {
            return Err(ApiError::unprocessable(
                "Invalid Arguments 'name': Required.",
            ))
        }
        Some(_) => {
            return Err(ApiError::unprocessable(
                "Invalid Arguments 'name': Expected string.",
            ))
        }
    };
    let fields = match obj.get("fields") {
        None | Some(Value::Null) => {
            return Err(ApiError::unprocessable(
                "Invalid Arguments 'fields': Required.",
            ))
        }
        Some(f) => mango::parse_index_fields(f)?,
    };
    if let Some(filter) = obj.get("partialFilter").filter(|v| !v.is_null()) {
        // Validated so that a bad filter is reported; the index covers every document, which gives the same results.
        mango::parse_selector(filter)?;
    }
    Ok((name, fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(limit: Option<&str>, descending: Option<&str>) -> ListParams {
        ListParams {
            limit: limit.map(str::to_string),
            descending: descending.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn list_parameters_and_quirks() {
        let o = list_options(&ListParams {
            limit: Some(" 2 ".into()),
            keys: Some("a,b".into()),
            descending: Some("false".into()),
            startkey: Some("s".into()),
            endkey: Some("e".into()),
        })
        .unwrap();
        assert_eq!(o.limit, Some(2));
        assert_eq!(o.keys, Some(vec!["a".to_string(), "b".to_string()]));
        assert!(o.descending);
        assert_eq!(
            (o.startkey.as_deref(), o.endkey.as_deref()),
            (Some("s"), Some("e"))
        );
        assert!(!list_options(&params(None, Some(""))).unwrap().descending);
        assert_eq!(list_options(&params(None, None)).unwrap().limit, None);
        for bad in ["abc", "-1"] {
            let err = list_options(&params(Some(bad), None)).unwrap_err();
            assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
    }

    #[test]
    fn index_bodies() {
        let (name, fields) =
            index_request(&json!({"name": "ix", "fields": ["a"], "type": "JSON"})).unwrap();
        assert_eq!((name.as_str(), fields.len()), ("ix", 1));
        assert_eq!(
            index_request(&json!({"fields": ["a"]})).unwrap_err().status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            index_request(&json!({"name": "x", "fields": ["a", {"b": "ASC"}]}))
                .unwrap_err()
                .status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            index_request(
                &json!({"name": "x", "fields": ["a"], "partialFilter": {"a": {"$bad": 1}}})
            )
            .unwrap_err()
            .msg,
            "unknown operator $bad"
        );
    }
}
