//! The data service's REST routes at `/data/:db` (hyper's `api/data.ts`): databases, documents, list, `_query`,
//! `_index` and `_bulk`, with hyper's status codes and body shapes.

use super::request::{read_json, Query};
use super::response::{json, not_found, ok, ApiError, RouteResult};
use super::router::ServiceRequest;
use crate::core::docid::new_doc_id;
use crate::core::mango::{self, parse_float_prefix, MangoError};
use crate::core::DomainName;
use crate::ports::{DataError, DataStore, ListOptions};
use http::{HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

/// Create and update bodies may be 8 MB (hyper's `express.json({limit:'8mb'})` on those routes).
pub const DOC_BODY_LIMIT: usize = 8 * 1024 * 1024;
/// Every other JSON body may be 10 MB.
pub const BODY_LIMIT: usize = 10 * 1024 * 1024;

impl From<DataError> for ApiError {
    fn from(e: DataError) -> Self {
        let status = match &e {
            DataError::DbExists | DataError::DocExists(_) | DataError::IndexConflict(_) => {
                StatusCode::CONFLICT
            }
            DataError::DbNotFound | DataError::DocNotFound(_) => StatusCode::NOT_FOUND,
            DataError::Invalid(_) => StatusCode::BAD_REQUEST,
            DataError::Quota(_) => StatusCode::TOO_MANY_REQUESTS,
            DataError::Backend(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<MangoError> for ApiError {
    fn from(e: MangoError) -> Self {
        let status = match &e {
            MangoError::Arguments { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.to_string())
    }
}

/// Routes a `/data...` request.
pub async fn route(store: &dyn DataStore, req: ServiceRequest) -> RouteResult {
    let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match (&req.method, segments.as_slice()) {
        (&Method::GET, []) => Ok(json(
            StatusCode::OK,
            &json!({ "name": "hyper Data", "version": "1.0.1", "status": "unstable" }),
        )),
        (_, []) => Ok(not_found()),
        (method, [db]) => {
            let db = db_name(db)?;
            match *method {
                Method::PUT => {
                    store.create_db(&req.scope, &db).await?;
                    Ok(ok(StatusCode::CREATED))
                }
                Method::DELETE => {
                    store.delete_db(&req.scope, &db).await?;
                    Ok(ok(StatusCode::OK))
                }
                Method::GET => {
                    let options = list_options(&req.query)?;
                    let docs = store.list_docs(&req.scope, &db, &options).await?;
                    Ok(json(StatusCode::OK, &json!({ "ok": true, "docs": docs })))
                }
                Method::POST => create_doc(store, &db, req).await,
                _ => Ok(not_found()),
            }
        }
        (&Method::POST, [db, "_query"]) => {
            let db = db_name(db)?;
            let body = read_json(req.body, BODY_LIMIT).await?;
            let query = mango::parse_query(&body)?;
            let docs = store.query_docs(&req.scope, &db, &query).await?;
            Ok(json(StatusCode::OK, &json!({ "ok": true, "docs": docs })))
        }
        (&Method::POST, [db, "_index"]) => {
            let db = db_name(db)?;
            let body = read_json(req.body, BODY_LIMIT).await?;
            let (name, fields) = index_request(&body)?;
            store.create_index(&req.scope, &db, &name, &fields).await?;
            Ok(ok(StatusCode::CREATED))
        }
        (&Method::POST, [db, "_bulk"]) => {
            let db = db_name(db)?;
            let body = read_json(req.body, BODY_LIMIT).await?;
            let Value::Array(docs) = body else {
                return Err(ApiError::bad_request(
                    "bulk body must be a JSON array of documents",
                ));
            };
            let ids = store.bulk(&req.scope, &db, &docs).await?;
            let results: Vec<Value> = ids
                .into_iter()
                .map(|id| json!({ "ok": true, "id": id }))
                .collect();
            Ok(json(
                StatusCode::CREATED,
                &json!({ "ok": true, "results": results }),
            ))
        }
        (method, [db, id]) => {
            let db = db_name(db)?;
            match *method {
                Method::GET => {
                    let doc = store.get_doc(&req.scope, &db, id).await?;
                    if legacy_get(&req.headers) {
                        Ok(json(StatusCode::OK, &doc))
                    } else {
                        Ok(json(StatusCode::OK, &json!({ "ok": true, "doc": doc })))
                    }
                }
                Method::PUT => {
                    let doc = read_json(req.body, DOC_BODY_LIMIT).await?;
                    if !doc.is_object() {
                        return Err(ApiError::bad_request("document must be a JSON object"));
                    }
                    store.put_doc(&req.scope, &db, id, &doc).await?;
                    Ok(json(StatusCode::OK, &json!({ "ok": true, "id": id })))
                }
                Method::DELETE => {
                    store.delete_doc(&req.scope, &db, id).await?;
                    Ok(json(StatusCode::OK, &json!({ "ok": true, "id": id })))
                }
                _ => Ok(not_found()),
            }
        }
        _ => Ok(not_found()),
    }
}

fn db_name(s: &str) -> Result<DomainName, ApiError> {
    DomainName::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))
}

async fn create_doc(store: &dyn DataStore, db: &DomainName, req: ServiceRequest) -> RouteResult {
    let body = read_json(req.body, DOC_BODY_LIMIT).await?;
    let Value::Object(mut doc) = body else {
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
    store
        .create_doc(&req.scope, db, &Value::Object(doc))
        .await?;
    Ok(json(StatusCode::CREATED, &json!({ "ok": true, "id": id })))
}

/// hyper's legacy GET flag: absent, empty or `true` returns the bare document; anything else `{ ok, doc }`.
fn legacy_get(headers: &HeaderMap) -> bool {
    match headers
        .get("x-hyper-legacy-get")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    {
        Some(v) if !v.is_empty() => v.trim() == "true",
        _ => true,
    }
}

/// `GET /data/:db` parameters, as hyper's port schema reads them (see spec §2.4 for the quirks kept).
fn list_options(query: &Query) -> Result<ListOptions, ApiError> {
    let limit = match query.single("limit")? {
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
        startkey: query.single("startkey")?.map(str::to_string),
        endkey: query.single("endkey")?.map(str::to_string),
        keys: query
            .single("keys")?
            .map(|k| k.split(',').map(str::to_string).collect()),
        // `Boolean(x)`: any non-empty value, even "false", is true.
        descending: query.single("descending")?.is_some_and(|d| !d.is_empty()),
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

    #[test]
    fn legacy_flag() {
        let mut h = HeaderMap::new();
        assert!(legacy_get(&h));
        h.insert("x-hyper-legacy-get", "".parse().unwrap());
        assert!(legacy_get(&h));
        h.insert("x-hyper-legacy-get", " true ".parse().unwrap());
        assert!(legacy_get(&h));
        h.insert("x-hyper-legacy-get", "false".parse().unwrap());
        assert!(!legacy_get(&h));
        h.insert("x-hyper-legacy-get", "yes".parse().unwrap());
        assert!(!legacy_get(&h));
    }

    #[test]
    fn list_parameters_and_quirks() {
        let o = list_options(&Query::parse(Some(
            "limit=%202%20&keys=a,b&descending=false&startkey=s&endkey=e&other=1",
        )))
        .unwrap();
        assert_eq!(o.limit, Some(2));
        assert_eq!(o.keys, Some(vec!["a".to_string(), "b".to_string()]));
        assert!(o.descending);
        assert_eq!(
            (o.startkey.as_deref(), o.endkey.as_deref()),
            (Some("s"), Some("e"))
        );
        assert!(
            !list_options(&Query::parse(Some("descending=")))
                .unwrap()
                .descending
        );
        assert_eq!(list_options(&Query::parse(None)).unwrap().limit, None);
        for bad in [
            "limit=abc",
            "keys=a&keys=b",
            "limit=-1",
            "startkey=a&startkey=b",
        ] {
            let err = list_options(&Query::parse(Some(bad))).unwrap_err();
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
