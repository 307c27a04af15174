//! The search service's routes, `/search/:index` (hyper's §2.6), with `PUT /search/:index/:key` updating
//! documents instead of hyper-nano's 501: paths and bodies translated into `services::search` calls.

use super::request::read_json;
use super::response::{json, not_found, reply, RouteResult};
use super::router::ServiceRequest;
use crate::ports::search::Search;
use crate::services::search as service;
use http::{Method, StatusCode};
use serde_json::json;

/// hyper's JSON body limit.
const BODY_LIMIT: usize = 10 * 1024 * 1024;

pub async fn route(search: &dyn Search, req: ServiceRequest) -> RouteResult {
    let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let scope = &req.scope;
    let answer = match (&req.method, segments.as_slice()) {
        (&Method::GET | &Method::HEAD, []) => {
            return Ok(json(
                StatusCode::OK,
                &json!({"name": "hyper63 Search", "version": "1.0", "status": "unstable"}),
            ))
        }
        (&Method::PUT, [index]) => {
            let body = read_json(req.body, BODY_LIMIT).await?;
            service::create(search, scope, index, body).await
        }
        (&Method::DELETE, [index]) => service::delete(search, scope, index).await,
        (&Method::POST, [index]) => {
            let body = read_json(req.body, BODY_LIMIT).await?;
            service::add(search, scope, index, body).await
        }
        (&Method::POST, [index, "_query"]) => {
            let body = read_json(req.body, BODY_LIMIT).await?;
            service::query(search, scope, index, body).await
        }
        (&Method::POST, [index, "_bulk"]) => {
            let body = read_json(req.body, BODY_LIMIT).await?;
            service::bulk(search, scope, index, body).await
        }
        (&Method::GET, [index, key]) => service::get(search, scope, index, key).await,
        (&Method::PUT, [index, key]) => {
            let doc = read_json(req.body, BODY_LIMIT).await?;
            service::update(search, scope, index, key, doc).await
        }
        (&Method::DELETE, [index, key]) => service::remove(search, scope, index, key).await,
        _ => return Ok(not_found()),
    };
    answer.map(reply)
}
