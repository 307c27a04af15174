//! Resolving a services request to a `TenantScope`: hyper's cloud path prefix, then the Host header, then the dev default.

use crate::core::names::strip_port;
use crate::core::{TenantId, TenantScope};
use crate::ports::Registry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The service names that follow a tenant in hyper's cloud layout `/<tenant>/<service>/<domain>`.
pub const SERVICE_NAMES: [&str; 5] = ["cache", "data", "storage", "search", "queue"];

/// How long a registry answer (tenant known or unknown) is reused before asking again.
const CACHE_TTL: Duration = Duration::from_secs(2);
const CACHE_MAX_ENTRIES: usize = 10_000;

/// Resolves requests to tenants against the registry, remembering answers briefly so the hot path
/// does not query the registry on every request.
pub struct TenantResolver {
    registry: Arc<dyn Registry>,
    default_tenant: Option<TenantId>,
    known: Mutex<HashMap<String, (bool, Instant)>>,
}

/// A request's tenant and how many leading path segments named it (1 for the cloud layout, else 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub scope: TenantScope,
    pub prefix_segments: usize,
    /// True when neither the path nor the Host named the tenant and the dev default was used.
    pub from_default: bool,
}

impl TenantResolver {
    pub fn new(registry: Arc<dyn Registry>, default_tenant: Option<TenantId>) -> Self {
        Self {
            registry,
            default_tenant,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// Resolves a request with this Host header and these raw path segments (without the leading empty one).
    /// `None` means no tenant: the caller answers 404 without naming tenants.
    pub async fn resolve(&self, host: Option<&str>, segments: &[&str]) -> Option<Resolved> {
        if let [first, second, ..] = segments {
            if SERVICE_NAMES.contains(&second.to_ascii_lowercase().as_str()) {
                if let Ok(tenant) = TenantId::parse(first) {
                    if self.is_tenant(&tenant).await {
                        return Some(Resolved {
                            scope: TenantScope::resolved(tenant),
                            prefix_segments: 1,
                            from_default: false,
                        });
                    }
                }
            }
        }
        if let Some(tenant) = host.and_then(tenant_label) {
            if self.is_tenant(&tenant).await {
                return Some(Resolved {
                    scope: TenantScope::resolved(tenant),
                    prefix_segments: 0,
                    from_default: false,
                });
            }
        }
        self.default_tenant.clone().map(|tenant| Resolved {
            scope: TenantScope::resolved(tenant),
            prefix_segments: 0,
            from_default: true,
        })
    }

    /// The scope of a tenant proven by a verified key, when the request itself named none.
    pub fn scope_of_key(&self, tenant: &TenantId) -> Resolved {
        Resolved {
            scope: TenantScope::resolved(tenant.clone()),
            prefix_segments: 0,
            from_default: false,
        }
    }

    /// Forgets what was remembered about `tenant` (after it is created or deleted here).
    pub fn forget(&self, tenant: &TenantId) {
        self.lock().remove(tenant.as_str());
    }

    /// Forgets every tenant look-up (after the registry moved, through any node).
    pub fn forget_all(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (bool, Instant)>> {
        self.known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn is_tenant(&self, tenant: &TenantId) -> bool {
        if let Some((known, at)) = self.lock().get(tenant.as_str()) {
            if at.elapsed() < CACHE_TTL {
                return *known;
            }
        }
        let known = match self.registry.get_tenant(tenant).await {
            Ok(found) => found.is_some(),
            Err(e) => {
                tracing::warn!(error = %e, "tenant lookup failed");
                return false;
            }
        };
        let mut cache = self.lock();
        if cache.len() >= CACHE_MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(tenant.to_string(), (known, Instant::now()));
        known
    }
}

/// The tenant a Host names: its first label, when the host has at least two labels and is not an IP address.
fn tenant_label(host: &str) -> Option<TenantId> {
    let host = strip_port(host);
    if host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok() {
        return None;
    }
    let (label, rest) = host.split_once('.')?;
    if rest.is_empty() {
        return None;
    }
    TenantId::parse(&label.to_ascii_lowercase()).ok()
}

#[cfg(test)]
mod tests {
    use super::tenant_label;

    #[test]
    fn host_labels() {
        assert_eq!(
            tenant_label("acme.localhost:6363").unwrap().as_str(),
            "acme"
        );
        assert_eq!(tenant_label("ACME.example.com").unwrap().as_str(), "acme");
        assert!(tenant_label("localhost:6363").is_none());
        assert!(tenant_label("127.0.0.1:6363").is_none());
        assert!(tenant_label("[::1]:6363").is_none());
    }
}
