//! hyper-nano's start-up flags carried out: create (after purging, when asked) the chosen services under one domain
//! of the default tenant, so `connect('http://127.0.0.1:6363/<domain>')` works at once.

use super::build::BuildError;
use super::config::BootstrapConfig;
use crate::core::{DomainName, TenantId, TenantScope};
use crate::ports::search::IndexMapping;
use crate::ports::{
    CacheError, DataError, QueueConfig, QueueError, SearchError, Services, StorageError,
};

/// What happened to one service: `created`, `kept` (it existed), or `purged and created`.
pub type Outcome = (&'static str, &'static str);

/// Carries out `config` for `tenant`. A service that is disabled is an error naming it; one that exists is kept.
pub async fn bootstrap(
    services: &Services,
    tenant: &TenantId,
    config: &BootstrapConfig,
) -> Result<Vec<Outcome>, BuildError> {
    let domain = DomainName::parse(&config.domain).map_err(|e| BuildError(e.to_string()))?;
    let scope = TenantScope::resolved(tenant.clone());
    let mut outcomes = Vec::new();
    for name in ["data", "cache", "storage", "search", "queue"] {
        if !config.services.iter().any(|s| s == name) {
            continue;
        }
        let purge = config.purge.iter().any(|s| s == name);
        let disabled = || BuildError(format!("bootstrap: the {name} service is disabled"));
        let fail = |e: String| BuildError(format!("bootstrap {name} '{domain}': {e}"));
        let created = match name {
            "data" => {
                let store = services.data.as_ref().ok_or_else(disabled)?;
                if purge {
                    match store.delete_db(&scope, &domain).await {
                        Ok(()) | Err(DataError::DbNotFound) => {}
                        Err(e) => return Err(fail(e.to_string())),
                    }
                }
                match store.create_db(&scope, &domain).await {
                    Ok(()) => true,
                    Err(DataError::DbExists) => false,
                    Err(e) => return Err(fail(e.to_string())),
                }
            }
            "cache" => {
                let store = services.cache.as_ref().ok_or_else(disabled)?;
                if purge {
                    match store.delete_store(&scope, &domain).await {
                        Ok(()) | Err(CacheError::StoreNotFound) => {}
                        Err(e) => return Err(fail(e.to_string())),
                    }
                }
                match store.create_store(&scope, &domain).await {
                    Ok(()) => true,
                    Err(CacheError::StoreExists) => false,
                    Err(e) => return Err(fail(e.to_string())),
                }
            }
            "storage" => {
                let store = services.storage.as_ref().ok_or_else(disabled)?;
                if purge {
                    match store.delete_bucket(&scope, &domain).await {
                        Ok(()) | Err(StorageError::BucketNotFound) => {}
                        Err(e) => return Err(fail(e.to_string())),
                    }
                }
                match store.create_bucket(&scope, &domain).await {
                    Ok(()) => true,
                    Err(StorageError::BucketExists) => false,
                    Err(e) => return Err(fail(e.to_string())),
                }
            }
            "search" => {
                let store = services.search.as_ref().ok_or_else(disabled)?;
                if purge {
                    match store.delete_index(&scope, &domain).await {
                        Ok(()) | Err(SearchError::IndexNotFound) => {}
                        Err(e) => return Err(fail(e.to_string())),
                    }
                }
                let fields = vec!["title".to_string(), "type".to_string()];
                let mapping = IndexMapping {
                    store_fields: fields.clone(),
                    fields,
                    boost: Default::default(),
                };
                match store.create_index(&scope, &domain, mapping).await {
                    Ok(()) => true,
                    Err(SearchError::IndexExists) => false,
                    Err(e) => return Err(fail(e.to_string())),
                }
            }
            _ => {
                let store = services.queue.as_ref().ok_or_else(disabled)?;
                if purge {
                    match store.delete_queue(&scope, &domain).await {
                        Ok(()) | Err(QueueError::QueueNotFound) => {}
                        Err(e) => return Err(fail(e.to_string())),
                    }
                }
                let target = config.queue_target.clone().unwrap_or_default();
                match store
                    .create_queue(&scope, &domain, &QueueConfig::new(target, None))
                    .await
                {
                    Ok(()) => true,
                    Err(QueueError::QueueExists) => false,
                    Err(e) => return Err(fail(e.to_string())),
                }
            }
        };
        let outcome = match (purge, created) {
            (true, _) => "purged and created",
            (false, true) => "created",
            (false, false) => "kept",
        };
        tracing::info!(service = name, domain = %domain, tenant = %tenant, "bootstrap: {outcome}");
        outcomes.push((name, outcome));
    }
    Ok(outcomes)
}
