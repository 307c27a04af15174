//! The cache service's rules: store names and keys (hyper's character rules), TTLs (`ms` syntax or milliseconds),
//! values (JSON objects) and the result shapes of create, get, set, delete and pattern queries.

use super::{invalid, type_name, Answer, ApiError, Reply};
use crate::core::ttl::parse_ttl_ms;
use crate::core::{DomainName, TenantScope};
use crate::ports::{CacheError, CacheStore, CacheValue};
use http::StatusCode;
use serde_json::{json, Value};

/// The tenant's stores, hyper's service description.
pub async fn list(cache: &dyn CacheStore, scope: &TenantScope) -> Answer {
    let stores = cache.list_stores(scope).await?;
    Ok(Reply::new(
        StatusCode::OK,
        json!({ "name": "cache", "version": "0.0.4", "stores": stores }),
    ))
}

/// Creates store `name` (lower-cased).
pub async fn create_store(cache: &dyn CacheStore, scope: &TenantScope, name: &str) -> Answer {
    cache
        .create_store(scope, &store_name(&name.to_lowercase())?)
        .await?;
    Ok(Reply::ok(StatusCode::CREATED))
}

pub async fn delete_store(cache: &dyn CacheStore, scope: &TenantScope, name: &str) -> Answer {
    cache.delete_store(scope, &store_name(name)?).await?;
    Ok(Reply::ok(StatusCode::OK))
}

/// Creates a key from hyper's `{ key, value, ttl? }`; 409 when a live key exists.
pub async fn add(cache: &dyn CacheStore, scope: &TenantScope, store: &str, body: Value) -> Answer {
    let store = existing_store(store)?;
    let (key, value, ttl) = create_args(body)?;
    cache.create(scope, &store, &key, &value, ttl).await?;
    Ok(Reply::ok(StatusCode::CREATED))
}

/// `{ ok, doc }` for a live key.
pub async fn get(cache: &dyn CacheStore, scope: &TenantScope, store: &str, key: &str) -> Answer {
    let store = existing_store(store)?;
    check_key(key)?;
    match cache.get(scope, &store, key).await? {
        None => Err(ApiError::not_found("document not found")),
        Some(value) => Ok(Reply::new(
            StatusCode::OK,
            json!({ "ok": true, "doc": value }),
        )),
    }
}

/// Sets a key to `value` (an object; nothing or `null` is the empty object) with an optional TTL.
pub async fn set(
    cache: &dyn CacheStore,
    scope: &TenantScope,
    store: &str,
    key: &str,
    value: Option<Value>,
    ttl: Option<&Value>,
) -> Answer {
    let store = existing_store(store)?;
    check_key(key)?;
    let ttl = parse_ttl(ttl)?;
    let value = set_value(value)?;
    cache.set(scope, &store, key, &value, ttl).await?;
    Ok(Reply::ok(StatusCode::OK))
}

pub async fn remove(cache: &dyn CacheStore, scope: &TenantScope, store: &str, key: &str) -> Answer {
    let store = existing_store(store)?;
    check_key(key)?;
    cache.delete(scope, &store, key).await?;
    Ok(Reply::ok(StatusCode::OK))
}

/// The live keys matching `pattern` (`*` when none), `{ ok, docs: [{ key, value }] }`.
pub async fn query(
    cache: &dyn CacheStore,
    scope: &TenantScope,
    store: &str,
    pattern: Option<&str>,
) -> Answer {
    let store = store_name(store)?;
    let docs: Vec<Value> = cache
        .query(scope, &store, pattern.unwrap_or("*"))
        .await?
        .into_iter()
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect();
    Ok(Reply::new(
        StatusCode::OK,
        json!({ "ok": true, "docs": docs }),
    ))
}

/// The value of a set: an object; nothing or `null` (Python's `None`) is the empty object, anything else is 422.
fn set_value(value: Option<Value>) -> Result<CacheValue, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(CacheValue::new()),
        Some(Value::Object(value)) => Ok(value),
        Some(other) => Err(invalid(
            "value",
            format_args!("Expected object, received {}", type_name(&other)),
        )),
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
pub fn existing_store(name: &str) -> Result<DomainName, ApiError> {
    store_name(name).map_err(|_| CacheError::StoreNotFound.into())
}

fn check_key(key: &str) -> Result<(), ApiError> {
    if is_valid_key(key) {
        Ok(())
    } else {
        Err(ApiError::unprocessable("key is not valid"))
    }
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

/// The `{ key, value, ttl? }` body of a create.
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
    fn set_values() {
        assert!(set_value(None).unwrap().is_empty());
        assert!(set_value(Some(Value::Null)).unwrap().is_empty());
        assert_eq!(set_value(Some(json!({"a": 1}))).unwrap()["a"], 1);
        assert_eq!(set_value(Some(json!("s"))).unwrap_err().status, 422);
        assert_eq!(set_value(Some(json!([1]))).unwrap_err().status, 422);
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
