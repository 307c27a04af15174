//! The data service's REST routes at `/data/:db` (hyper's `api/data.ts`): paths, query strings and bodies
//! translated into `services::data` calls, plus hyper's legacy GET shape.

use super::request::{read_json, Query};
use super::response::{json, not_found, reply, ApiError, RouteResult};
use super::router::ServiceRequest;
use crate::ports::DataStore;
use crate::services::data::{self as service, ListParams};
use http::{HeaderMap, Method, StatusCode};
use serde_json::json;

/// Create and update bodies may be 8 MB (hyper's `express.json({limit:'8mb'})` on those routes).
pub const DOC_BODY_LIMIT: usize = 8 * 1024 * 1024;
/// Every other JSON body may be 10 MB.
pub const BODY_LIMIT: usize = 10 * 1024 * 1024;

/// Routes a `/data...` request.
pub async fn route(store: &dyn DataStore, req: ServiceRequest) -> RouteResult {
    let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let scope = &req.scope;
    let answer = match (&req.method, segments.as_slice()) {
        (&Method::GET, []) => {
            return Ok(json(
                StatusCode::OK,
                &json!({ "name": "hyper Data", "version": "1.0.1", "status": "unstable" }),
            ))
        }
        (&Method::PUT, [db]) => service::create_db(store, scope, db).await,
        (&Method::DELETE, [db]) => service::delete_db(store, scope, db).await,
        (&Method::GET, [db]) => service::list(store, scope, db, &list_params(&req.query)?).await,
        (&Method::POST, [db]) => {
            let doc = read_json(req.body, DOC_BODY_LIMIT).await?;
            service::add(store, scope, db, doc).await
        }
        (&Method::POST, [db, "_query"]) => {
            let body = read_json(req.body, BODY_LIMIT).await?;
            service::query(store, scope, db, body).await
        }
        (&Method::POST, [db, "_index"]) => {
            let body = read_json(req.body, BODY_LIMIT).await?;
            service::index(store, scope, db, body).await
        }
        (&Method::POST, [db, "_bulk"]) => {
            let body = read_json(req.body, BODY_LIMIT).await?;
            service::bulk(store, scope, db, body).await
        }
        (&Method::GET, [db, id]) => {
            let mut got = service::get(store, scope, db, id).await?;
            if legacy_get(&req.headers) {
                got.body = got.body["doc"].take();
            }
            Ok(got)
        }
        (&Method::PUT, [db, id]) => {
            let doc = read_json(req.body, DOC_BODY_LIMIT).await?;
            service::update(store, scope, db, id, doc).await
        }
        (&Method::DELETE, [db, id]) => service::remove(store, scope, db, id).await,
        _ => return Ok(not_found()),
    };
    answer.map(reply)
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

/// `GET /data/:db` parameters; a repeated one is 422.
fn list_params(query: &Query) -> Result<ListParams, ApiError> {
    let text = |name| Ok::<_, ApiError>(query.single(name)?.map(str::to_string));
    Ok(ListParams {
        limit: text("limit")?,
        startkey: text("startkey")?,
        endkey: text("endkey")?,
        keys: text("keys")?,
        descending: text("descending")?,
    })
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
    fn list_parameters() {
        let p = list_params(&Query::parse(Some(
            "limit=%202%20&keys=a,b&descending=false&startkey=s&endkey=e&other=1",
        )))
        .unwrap();
        assert_eq!(p.limit.as_deref(), Some(" 2 "));
        assert_eq!(p.keys.as_deref(), Some("a,b"));
        assert_eq!(p.descending.as_deref(), Some("false"));
        for bad in ["keys=a&keys=b", "startkey=a&startkey=b"] {
            let err = list_params(&Query::parse(Some(bad))).unwrap_err();
            assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
    }
}
