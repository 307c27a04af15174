//! The cache service's routes (`/cache`, `/cache/:name`, `/cache/:name/:key`, `/cache/:name/_query`), hyper's shapes.

use super::request::{read_bytes, read_json, Query};
use super::response::{json, not_found, ok, ApiError, RouteResult};
use super::router::ServiceRequest;
use crate::core::ttl::parse_ttl_ms;
use crate::core::DomainName;
use crate::ports::{CacheError, CacheStore, CacheValue};
use http::{HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

/// Request bodies larger than this are refused with 413 (hyper's `express.json` limit).
const BODY_LIMIT: usize = 10 * 1024 * 1024;

impl From<CacheError> for ApiError {
    fn from(e: CacheError) -> Self {
        match e {
            CacheError::StoreExists => ApiError::conflict(e.to_string()),
            CacheError::StoreNotFound => ApiError::not_found(e.to_string()),
            CacheError::KeyExists => ApiError::conflict(e.to_string()),
            CacheError::Quota(msg) => ApiError::new(http::StatusCode::TOO_MANY_REQUESTS, msg),
            CacheError::Backend(msg) => {
                tracing::error!(error = %msg, "cache backend failed");
                ApiError::internal(msg)
            }
        }
    }
}

/// Answers a request below `/cache`.
pub async fn route(cache: &dyn CacheStore, req: ServiceRequest) -> RouteResult {
    let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match (&req.method, segments.as_slice()) {
        (&Method::GET, []) => {
            let stores = cache.list_stores(&req.scope).await?;
            Ok(json(
                StatusCode::OK,
                &json!({ "name": "cache", "version": "0.0.4", "stores": stores }),
            ))
        }
        (&Method::PUT, [name]) => {
            let store = store_name(&name.to_lowercase())?;
            cache.create_store(&req.scope, &store).await?;
            Ok(ok(StatusCode::CREATED))
        }
        (&Method::DELETE, [name]) => {
            let store = store_name(name)?;
            cache.delete_store(&req.scope, &store).await?;
            Ok(ok(StatusCode::OK))
        }
        (&Method::POST, [name]) => {
            let store = existing_store(name)?;
            let body = read_json(req.body, BODY_LIMIT).await?;
            let (key, value, ttl) = create_args(body)?;
            cache.create(&req.scope, &store, &key, &value, ttl).await?;
            Ok(ok(StatusCode::CREATED))
        }
        (&Method::GET | &Method::POST, [name, "_query"]) => {
            let store = store_name(name)?;
            let pattern = req.query.single("pattern")?.unwrap_or("*").to_string();
            let docs: Vec<Value> = cache
                .query(&req.scope, &store, &pattern)
                .await?
                .into_iter()
                .map(|(key, value)| json!({ "key": key, "value": value }))
                .collect();
            Ok(json(StatusCode::OK, &json!({ "ok": true, "docs": docs })))
        }
        (&Method::GET, [name, key]) => {
            let store = existing_store(name)?;
            check_key(key)?;
            let legacy = legacy_get(&req.headers);
            match cache.get(&req.scope, &store, key).await? {
                None => Err(ApiError::not_found("document not found")),
                Some(value) if legacy => Ok(json(StatusCode::OK, &Value::Object(value))),
                Some(value) => Ok(json(StatusCode::OK, &json!({ "ok": true, "doc": value }))),
            }
        }
        (&Method::PUT, [name, key]) => {
            let store = existing_store(name)?;
            check_key(key)?;
            let ttl = ttl_of(&req.query)?;
            let value = update_value(&read_bytes(req.body, BODY_LIMIT).await?)?;
            cache.set(&req.scope, &store, key, &value, ttl).await?;
            Ok(ok(StatusCode::OK))
        }
        (&Method::DELETE, [name, key]) => {
            let store = existing_store(name)?;
            check_key(key)?;
            cache.delete(&req.scope, &store, key).await?;
            Ok(ok(StatusCode::OK))
        }
        _ => Ok(not_found()),
    }
}

/// hyper's store name rule: a lower-case letter or digit, then lower-case letters, digits, `-`, `~`, `_`.
pub fn is_valid_store_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '~' | '_'))
}

/// hyper's key rule: a lower-case letter, then lower-case letters, digits, `-`, `~`, `_`, `/`, `$`, `+`.
pub fn is_valid_key(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_lowercase())
        && key.chars().all(|c| {
            c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || matches!(c, '-' | '~' | '_' | '/' | '$' | '+')
        })
}

/// A store name for create, delete and query, where hyper validates it: 422 when it breaks the rule.
fn store_name(name: &str) -> Result<DomainName, ApiError> {
    if !is_valid_store_name(name) {
        return Err(ApiError::unprocessable("name is not valid"));
    }
    DomainName::parse(name).map_err(|_| ApiError::unprocessable("name is not valid"))
}

/// A store name for key operations, where hyper does not validate it: a name that cannot exist is not found.
fn existing_store(name: &str) -> Result<DomainName, ApiError> {
    store_name(name).map_err(|_| CacheError::StoreNotFound.into())
}

fn check_key(key: &str) -> Result<(), ApiError> {
    if is_valid_key(key) {
        Ok(())
    } else {
        Err(ApiError::unprocessable("key is not valid"))
    }
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

/// zod's name for a JSON value's type, for "Expected object, received <type>".
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn invalid(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::unprocessable(format!("Invalid Arguments '{field}': {why}."))
}

/// A TTL given as text (`ms` syntax) or as a number of milliseconds; empty or null means none.
fn parse_ttl(value: Option<&Value>) -> Result<Option<u64>, ApiError> {
    let bad = |e: crate::core::CoreError| ApiError::unprocessable(e.to_string());
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => parse_ttl_ms(s).map(Some).map_err(bad),
        Some(Value::Number(n)) => parse_ttl_ms(&n.to_string()).map(Some).map_err(bad),
        Some(other) => Err(invalid(
            "ttl",
            format_args!("Expected string, received {}", type_name(other)),
        )),
    }
}

fn ttl_of(query: &Query) -> Result<Option<u64>, ApiError> {
    parse_ttl(
        query
            .single("ttl")?
            .map(|s| Value::String(s.to_string()))
            .as_ref(),
    )
}

/// The `{ key, value, ttl? }` body of `POST /cache/:name`.
fn create_args(body: Value) -> Result<(String, CacheValue, Option<u64>), ApiError> {
    let Value::Object(mut body) = body else {
        return Err(invalid("key", "Required"));
    };
    let key = match body.remove("key") {
        Some(Value::String(key)) => key,
        None => return Err(invalid("key", "Required")),
        Some(other) => {
            return Err(invalid(
                "key",
                format_args!("Expected string, received {}", type_name(&other)),
            ))
        }
    };
    check_key(&key)?;
    let value = match body.remove("value") {
        Some(Value::Object(value)) => value,
        None => return Err(invalid("value", "Required")),
        Some(other) => {
            return Err(invalid(
                "value",
                format_args!("Expected object, received {}", type_name(&other)),
            ))
        }
    };
    let ttl = parse_ttl(body.get("ttl"))?;
    Ok((key, value, ttl))
}

/// The body of `PUT /cache/:name/:key`: a JSON object. No body (hyper-connect sends none for a falsy value) and
/// `null` (Python's `None`) are the empty object; other non-objects are 422.
fn update_value(bytes: &[u8]) -> Result<CacheValue, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(CacheValue::new());
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("request body is not valid JSON: {e}")))?;
    match value {
        Value::Object(value) => Ok(value),
        Value::Null => Ok(CacheValue::new()),
        other => Err(invalid(
            "value",
            format_args!("Expected object, received {}", type_name(&other)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_names() {
        for good in ["test", "a1", "9-a~b_c"] {
            assert!(is_valid_store_name(good), "{good}");
        }
        for bad in ["", "Test", "-a", "_a", "a.b", "a b", "a/b", "é"] {
            assert!(!is_valid_store_name(bad), "{bad}");
        }
    }

    #[test]
    fn keys() {
        for good in ["a", "movie-1", "a/b$c+d~e_f"] {
            assert!(is_valid_key(good), "{good}");
        }
        for bad in ["", "1a", "A", "a.b", "a:b", "a*", "a b", "-a"] {
            assert!(!is_valid_key(bad), "{bad}");
        }
    }

    #[test]
    fn update_bodies() {
        assert!(update_value(b"").unwrap().is_empty());
        assert!(update_value(b"null").unwrap().is_empty());
        assert_eq!(update_value(b"{\"a\":1}").unwrap()["a"], 1);
        assert_eq!(update_value(b"\"s\"").unwrap_err().status, 422);
        assert_eq!(update_value(b"[1]").unwrap_err().status, 422);
        assert_eq!(update_value(b"{bad").unwrap_err().status, 400);
    }

    #[test]
    fn ttls() {
        assert_eq!(parse_ttl(None).unwrap(), None);
        assert_eq!(parse_ttl(Some(&json!(""))).unwrap(), None);
        assert_eq!(parse_ttl(Some(&json!("10s"))).unwrap(), Some(10_000));
        assert_eq!(parse_ttl(Some(&json!(250))).unwrap(), Some(250));
        let err = parse_ttl(Some(&json!("soon"))).unwrap_err();
        assert_eq!(err.status, 422);
        assert!(err.msg.contains("ttl"), "{}", err.msg);
    }
}
