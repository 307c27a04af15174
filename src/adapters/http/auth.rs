//! API keys over HTTP: verifying hyper-connect's `Authorization: Bearer <HS256 JWT>` against the registry, and
//! issuing new keys whose secrets are derived from the master key.

use crate::core::keys::{derive_secret, KeyGrant};
use crate::core::{jwt, TenantId};
use crate::ports::{ApiKey, Registry, RegistryError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a looked-up key is reused before asking the registry again (so revocation takes effect within it).
const CACHE_TTL: Duration = Duration::from_secs(2);
const CACHE_MAX_ENTRIES: usize = 10_000;

/// Verifies and issues keys. Holds the master key the secrets derive from.
pub struct Keys {
    registry: Arc<dyn Registry>,
    master_key: Vec<u8>,
    cache: Mutex<HashMap<String, (Option<ApiKey>, Instant)>>,
}

/// Why a request's credentials were refused; logged, never shown to the client.
#[derive(Debug, thiserror::Error)]
pub enum AuthFailure {
    #[error("no bearer token")]
    Missing,
    #[error(transparent)]
    Token(#[from] jwt::JwtError),
    #[error("unknown key {0}")]
    UnknownKey(String),
}

impl Keys {
    pub fn new(registry: Arc<dyn Registry>, master_key: Vec<u8>) -> Self {
        Self {
            registry,
            master_key,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The key an `Authorization` header value proves, if it does.
    pub async fn verify(&self, authorization: Option<&str>) -> Result<ApiKey, AuthFailure> {
        let token = authorization
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(AuthFailure::Missing)?;
        let token = jwt::parse(token)?;
        let key = self
            .lookup(&token.subject)
            .await
            .ok_or_else(|| AuthFailure::UnknownKey(token.subject.clone()))?;
        let secret = derive_secret(&self.master_key, &key.id, &key.salt);
        token.verify(secret.as_bytes(), crate::core::clock::now_unix() as i64)?;
        Ok(key)
    }

    /// Creates a key for `tenant` and returns it with its secret (shown once; nano can re-derive it, never stores it).
    pub async fn issue(
        &self,
        tenant: &TenantId,
        grant: KeyGrant,
    ) -> Result<(ApiKey, String), RegistryError> {
        let key = ApiKey {
            id: format!("k{}", hex::encode(rand::random::<[u8; 8]>())),
            tenant: tenant.clone(),
            salt: hex::encode(rand::random::<[u8; 16]>()),
            grant,
            created_ms: crate::core::clock::now_unix() as i64 * 1000,
        };
        self.registry.create_key(&key).await?;
        let secret = derive_secret(&self.master_key, &key.id, &key.salt);
        Ok((key, secret))
    }

    /// Forgets a cached key (after it is revoked here).
    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Forgets every cached key (after the registry moved, through any node).
    pub fn forget_all(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Option<ApiKey>, Instant)>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn lookup(&self, id: &str) -> Option<ApiKey> {
        if let Some((key, at)) = self.lock().get(id) {
            if at.elapsed() < CACHE_TTL {
                return key.clone();
            }
        }
        let key = match self.registry.get_key(id).await {
            Ok(key) => key,
            Err(e) => {
                tracing::warn!(error = %e, "key lookup failed");
                return None;
            }
        };
        let mut cache = self.lock();
        if cache.len() >= CACHE_MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(id.to_string(), (key.clone(), Instant::now()));
        key
    }
}
