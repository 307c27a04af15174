//! The Workers Cache API's host side (`caches.default`, `caches.open(name)` in `web/cache.js`): `match`, `put` and
//! `delete` for the app's own tenant, through `services::response_cache` on the cache port.

use crate::core::TenantScope;
use crate::ports::AppBindings;
use crate::services::response_cache::{self, Cached};

/// One call of a cache's methods.
pub enum Call {
    Match,
    Put(Cached),
    Delete,
}

/// What a call gives back to the glue.
pub enum Outcome {
    /// `match` found this response.
    Found(Cached),
    /// `match` found nothing.
    Missing,
    /// `put` kept the response, or `delete` removed one (false: nothing kept, nothing removed).
    Done(bool),
}

/// Runs `call` on the named cache (`None`: `caches.default`) of the app's tenant.
pub async fn call(
    ports: AppBindings,
    name: Option<String>,
    url: String,
    call: Call,
) -> Result<Outcome, String> {
    let (Some(cache), Some(tenant)) = (ports.cache, ports.tenant) else {
        return Err("the Cache API needs the cache service, which is disabled".into());
    };
    let scope = TenantScope::resolved(tenant);
    let name = name.as_deref();
    let cache = cache.as_ref();
    match call {
        Call::Match => match response_cache::get(cache, &scope, name, &url).await {
            Ok(Some(found)) => Ok(Outcome::Found(found)),
            Ok(None) => Ok(Outcome::Missing),
            Err(e) => Err(format!("Cache.match: {e}")),
        },
        Call::Put(response) => {
            let now = crate::core::clock::now_unix() as i64;
            response_cache::put(cache, &scope, name, &url, response, now)
                .await
                .map(Outcome::Done)
                .map_err(|e| format!("Cache.put: {e}"))
        }
        Call::Delete => response_cache::delete(cache, &scope, name, &url)
            .await
            .map(Outcome::Done)
            .map_err(|e| format!("Cache.delete: {e}")),
    }
}
