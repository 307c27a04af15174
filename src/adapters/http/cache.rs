//! The cache service's routes (`/cache`, `/cache/:name`, `/cache/:name/:key`, `/cache/:name/_query`): paths,
//! query strings and bodies translated into `services::cache` calls, plus hyper's legacy GET shape.

use super::request::{read_bytes, read_json};
use super::response::{not_found, reply, ApiError, RouteResult};
use super::router::ServiceRequest;
use crate::ports::CacheStore;
use crate::services::cache as service;
use http::{HeaderMap, Method};
use serde_json::Value;

/// Request bodies larger than this are refused with 413 (hyper's `express.json` limit).
const BODY_LIMIT: usize = 10 * 1024 * 1024;

/// Answers a request below `/cache`.
pub async fn route(cache: &dyn CacheStore, req: ServiceRequest) -> RouteResult {
    let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let scope = &req.scope;
    let answer = match (&req.method, segments.as_slice()) {
        (&Method::GET, []) => service::list(cache, scope).await,
        (&Method::PUT, [name]) => service::create_store(cache, scope, name).await,
        (&Method::DELETE, [name]) => service::delete_store(cache, scope, name).await,
        (&Method::POST, [name]) => {
            let body = read_json(req.body, BODY_LIMIT).await?;
            service::add(cache, scope, name, body).await
        }
        (&Method::GET | &Method::POST, [name, "_query"]) => {
            service::query(cache, scope, name, req.query.single("pattern")?).await
        }
        (&Method::GET, [name, key]) => {
            let mut got = service::get(cache, scope, name, key).await?;
            if legacy_get(&req.headers) {
                got.body = got.body["doc"].take();
            }
            Ok(got)
        }
        (&Method::PUT, [name, key]) => {
            let ttl = req.query.single("ttl")?.map(|s| Value::String(s.into()));
            let value = update_value(&read_bytes(req.body, BODY_LIMIT).await?)?;
            service::set(cache, scope, name, key, value, ttl.as_ref()).await
        }
        (&Method::DELETE, [name, key]) => service::remove(cache, scope, name, key).await,
        _ => return Ok(not_found()),
    };
    answer.map(reply)
}

/// Legacy GET (bare value) unless `X-HYPER-LEGACY-GET` is present, non-empty and not `true`.
fn legacy_get(headers: &HeaderMap) -> bool {
    match headers
        .get("x-hyper-legacy-get")
        .and_then(|v| v.to_str().ok())
    {
        None | Some("") => true,
        Some(v) => v.trim() == "true",
    }
}

/// The body of `PUT /cache/:name/:key`: no body (hyper-connect sends none for a falsy value) is no value.
fn update_value(bytes: &[u8]) -> Result<Option<Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("request body is not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_bodies() {
        assert_eq!(update_value(b"").unwrap(), None);
        assert_eq!(update_value(b"null").unwrap(), Some(Value::Null));
        assert_eq!(update_value(b"{\"a\":1}").unwrap().unwrap()["a"], 1);
        assert_eq!(update_value(b"{bad").unwrap_err().status, 400);
    }
}
