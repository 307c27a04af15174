//! `App::build`: assembles the adapters of a profile into the ports the HTTP adapter serves.

use super::config::{Config, Profile};
use crate::adapters::http::tenancy::TenantResolver;
use crate::adapters::http::HttpState;
use crate::adapters::http_client::ReqwestWebhook;
use crate::adapters::sqlite::{SqliteCache, SqliteQueue, SqliteRegistry};
use crate::core::TenantId;
use crate::ports::{CacheStore, QueueStore, Registry, Services};
use std::sync::Arc;
use std::time::Duration;

#[path = "queue_delivery.rs"]
pub mod queue_delivery;

/// How long one queue delivery may take (connect, send, answer) before it counts as failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// A built nano: its configuration and the services of its profile, ready to serve.
pub struct App {
    pub config: Config,
    pub services: Services,
}

/// Why nano could not be assembled. The message names the store or setting at fault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

impl App {
    /// Builds every adapter the profile asks for, creating the default and configured tenants.
    pub async fn build(config: Config) -> Result<Self, BuildError> {
        let registry: Arc<dyn Registry> = match config.profile {
            Profile::Dev => Arc::new(
                SqliteRegistry::open(&config.data_dir.join("registry.db"))
                    .await
                    .map_err(|e| BuildError(format!("registry in {}: {e}", config.data_dir.display())))?,
            ),
            Profile::Prod => {
                return Err(BuildError(
                    "the prod profile needs the PostgreSQL and Redis adapters, which this build does not include yet; use --profile dev".into(),
                ))
            }
        };
        for name in config.default_tenant.iter().chain(&config.tenants) {
            let id = TenantId::parse(name).map_err(|e| BuildError(e.to_string()))?;
            registry
                .ensure_tenant(&id)
                .await
                .map_err(|e| BuildError(format!("tenant {name}: {e}")))?;
        }
        let cache: Option<Arc<dyn CacheStore>> = if config.services.cache {
            Some(Arc::new(
                SqliteCache::open(&config.data_dir.join("cache.db"))
                    .await
                    .map_err(|e| {
                        BuildError(format!("cache in {}: {e}", config.data_dir.display()))
                    })?,
            ))
        } else {
            None
        };
        let queue: Option<Arc<dyn QueueStore>> = if config.services.queue {
            let store = SqliteQueue::open(&config.data_dir.join("queue.db"))
                .await
                .map_err(|e| BuildError(format!("queue in {}: {e}", config.data_dir.display())))?;
            let sender = ReqwestWebhook::new(DELIVERY_TIMEOUT)
                .map_err(|e| BuildError(format!("queue delivery client: {e}")))?;
            Some(queue_delivery::start(
                Arc::new(store),
                Arc::new(sender),
                registry.clone(),
            ))
        } else {
            None
        };
        Ok(Self {
            services: Services {
                registry,
                cache,
                queue,
            },
            config,
        })
    }

    /// The state the HTTP adapter serves from.
    pub fn http_state(&self) -> HttpState {
        let default_tenant = self
            .config
            .default_tenant
            .as_deref()
            .and_then(|t| TenantId::parse(t).ok());
        HttpState {
            tenants: TenantResolver::new(self.services.registry.clone(), default_tenant),
            services: self.services.clone(),
        }
    }
}
