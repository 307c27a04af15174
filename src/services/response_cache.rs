//! The Workers Cache API (`caches.default`, `caches.open(name)`) on the cache service: each named cache of a tenant
//! is one cache store (`workers-cache-default`, or `workers-cache-<hash of the name>`), created on first use and
//! listed among the tenant's caches like any other; a response is one key (a hash of its URL) holding its status,
//! headers and body, expiring as `core::http_cache` says. Stores are per tenant, so every app of a tenant shares
//! them and no other tenant sees them; in prod they live in Redis, so every node shares them. A body may hold at
//! most `MAX_BODY` bytes.

use crate::core::http_cache::{self, Keep};
use crate::core::{DomainName, TenantScope};
use crate::ports::cache::{CacheError, CacheStore, CacheValue};
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The largest body the Cache API keeps (5 MiB).
pub const MAX_BODY: usize = 5 << 20;

/// A response as the cache keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    pub status: u16,
    pub status_text: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why a response could not be put.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    #[error(
        "the response body of {0} bytes is larger than the Cache API keeps ({MAX_BODY} bytes)"
    )]
    TooLarge(usize),
    #[error("{0}")]
    Cache(#[from] CacheError),
}

/// The cache store of the named cache (`None`: `caches.default`).
fn store_of(name: Option<&str>) -> DomainName {
    let name = match name {
        None => "workers-cache-default".to_string(),
        Some(n) => format!(
            "workers-cache-{}",
            hex::encode(&Sha256::digest(n.as_bytes())[..8])
        ),
    };
    DomainName::parse(&name).expect("hex names are valid store names")
}

/// The key of a URL: `u` and the SHA-256 of the URL in hex (a valid cache key whatever the URL holds).
fn key_of(url: &str) -> String {
    format!("u{}", hex::encode(Sha256::digest(url.as_bytes())))
}

/// Keeps `response` for `url` in the named cache; `Ok(false)` when its headers say not to keep it (nothing is
/// written then, as on Workers).
pub async fn put(
    cache: &dyn CacheStore,
    scope: &TenantScope,
    name: Option<&str>,
    url: &str,
    response: Cached,
    now_unix: i64,
) -> Result<bool, PutError> {
    if response.body.len() > MAX_BODY {
        return Err(PutError::TooLarge(response.body.len()));
    }
    let (ttl, headers) = match http_cache::keep(response.status, &response.headers, now_unix) {
        Keep::For(ttl, headers) => (ttl, headers),
        Keep::Not(_) => return Ok(false),
    };
    let store = store_of(name);
    match cache.create_store(scope, &store).await {
        Ok(()) | Err(CacheError::StoreExists) => {}
        Err(e) => return Err(e.into()),
    }
    let headers: Vec<Value> = headers.iter().map(|(k, v)| json!([k, v])).collect();
    let value = json!({
        "url": url,
        "status": response.status,
        "statusText": response.status_text,
        "headers": headers,
        "body": base64::engine::general_purpose::STANDARD.encode(&response.body),
    });
    let Value::Object(value) = value else {
        unreachable!("a JSON object literal")
    };
    cache
        .set(scope, &store, &key_of(url), &value, Some(ttl * 1000))
        .await?;
    Ok(true)
}

/// The response kept for `url` in the named cache, if any.
pub async fn get(
    cache: &dyn CacheStore,
    scope: &TenantScope,
    name: Option<&str>,
    url: &str,
) -> Result<Option<Cached>, CacheError> {
    let found = match cache.get(scope, &store_of(name), &key_of(url)).await {
        Ok(found) => found,
        Err(CacheError::StoreNotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(found.and_then(|v| decode(&v, url)))
}

/// Removes the response kept for `url`; whether there was one.
pub async fn delete(
    cache: &dyn CacheStore,
    scope: &TenantScope,
    name: Option<&str>,
    url: &str,
) -> Result<bool, CacheError> {
    if get(cache, scope, name, url).await?.is_none() {
        return Ok(false);
    }
    cache.delete(scope, &store_of(name), &key_of(url)).await?;
    Ok(true)
}

/// A kept value back as a response (None when it is not one, or is another URL's).
fn decode(v: &CacheValue, url: &str) -> Option<Cached> {
    if v.get("url")?.as_str()? != url {
        return None;
    }
    let headers = v
        .get("headers")?
        .as_array()?
        .iter()
        .filter_map(|p| Some((p[0].as_str()?.to_string(), p[1].as_str()?.to_string())))
        .collect();
    Some(Cached {
        status: u16::try_from(v.get("status")?.as_u64()?).ok()?,
        status_text: v.get("statusText")?.as_str()?.to_string(),
        headers,
        body: base64::engine::general_purpose::STANDARD
            .decode(v.get("body")?.as_str()?)
            .ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_keys_follow_the_cache_service_rules() {
        assert_eq!(store_of(None).as_str(), "workers-cache-default");
        let named = store_of(Some("custom:cache v1"));
        assert!(crate::services::cache::is_valid_store_name(named.as_str()));
        assert_ne!(named, store_of(Some("custom:cache v2")));
        let key = key_of("https://example.com/a?b#c");
        assert!(crate::services::cache::is_valid_key(&key));
        assert_eq!(key.len(), 65);
    }
}
