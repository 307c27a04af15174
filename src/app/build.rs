//! `App::build`: assembles the adapters of a profile into the ports the HTTP adapter serves.

use super::config::{Config, Profile};
use crate::adapters::fs::FsStorage;
use crate::adapters::http::admin::{Admin, AdminAccess};
use crate::adapters::http::apps::{AppHosts, AppRoute};
use crate::adapters::http::auth::Keys;
use crate::adapters::http::tenancy::TenantResolver;
use crate::adapters::http::HttpState;
use crate::adapters::http_client::ReqwestWebhook;
use crate::adapters::postgres::{PgRegistry, PgTarget};
use crate::adapters::sqlite::{SqliteCache, SqliteDataStore, SqliteQueue, SqliteRegistry};
use crate::adapters::tantivy::TantivySearch;
use crate::core::TenantId;
use crate::ports::{
    AppRuntime, CacheStore, DataStore, QueueStore, Registry, Search, Services, Storage,
};
use std::sync::Arc;
use std::time::Duration;
/// How long one queue delivery may take (connect, send, answer) before it counts as failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// A built nano: its configuration and the services of its profile, ready to serve.
pub struct App {
    pub config: Config,
    pub services: Services,
    /// The key API-key secrets derive from (`master_key` in config, else `<data_dir>/master.key`).
    master_key: Vec<u8>,
    /// The JS runtime and the Host routes of the configured apps, when there are any.
    pub apps: Option<(Arc<dyn AppRuntime>, Vec<AppRoute>)>,
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
                    .map_err(|e| {
                        BuildError(format!("registry in {}: {e}", config.data_dir.display()))
                    })?,
            ),
            Profile::Prod => Arc::new(
                PgRegistry::open(&pg_target(&config)?)
                    .await
                    .map_err(|e| BuildError(format!("registry: {e}")))?,
            ),
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
            Some(super::queue_delivery::start(
                Arc::new(store),
                Arc::new(sender),
                registry.clone(),
            ))
        } else {
            None
        };
        let data: Option<Arc<dyn DataStore>> = if config.services.data {
            let path = config.data_dir.join("data.db");
            let store = SqliteDataStore::open(&path)
                .await
                .map_err(|e| BuildError(format!("data store {}: {e}", path.display())))?;
            Some(Arc::new(store))
        } else {
            None
        };
        let storage: Option<Arc<dyn Storage>> = if config.services.storage {
            let root = config.data_dir.join("storage");
            Some(Arc::new(FsStorage::open(&root).map_err(|e| {
                BuildError(format!("storage in {}: {e}", root.display()))
            })?))
        } else {
            None
        };
        let search: Option<Arc<dyn Search>> = if config.services.search {
            let root = config.data_dir.join("search");
            Some(Arc::new(TantivySearch::open(&root).map_err(|e| {
                BuildError(format!("search in {}: {e}", root.display()))
            })?))
        } else {
            None
        };
        let master_key = master_key(&config)?;
        let apps = if config.apps.is_empty() {
            None
        } else {
            let js_err = |e: crate::ports::RuntimeError| BuildError(format!("JS runtime: {e}"));
            let runtimes = super::engines::start_all(0).map_err(js_err)?;
            let runtime: Arc<dyn AppRuntime> = Arc::new(
                super::engines::EngineRouter::new(runtimes, &config.default_engine)
                    .map_err(js_err)?,
            );
            let routes = super::apps::load_apps(runtime.as_ref(), &config.apps).await?;
            Some((runtime, routes))
        };
        Ok(Self {
            services: Services {
                registry,
                cache,
                queue,
                data,
                storage,
                search,
            },
            config,
            master_key,
            apps,
        })
    }

    /// The state the HTTP adapter serves from.
    pub fn http_state(&self) -> HttpState {
        let default_tenant = self
            .config
            .default_tenant
            .as_deref()
            .and_then(|t| TenantId::parse(t).ok());
        let access = match (&self.config.admin_token, self.config.profile) {
            (Some(token), _) => AdminAccess::Token(token.expose().to_string()),
            (None, Profile::Dev) => AdminAccess::Open,
            (None, Profile::Prod) => AdminAccess::Disabled,
        };
        let registry = self.services.registry.clone();
        HttpState {
            tenants: TenantResolver::new(registry.clone(), default_tenant),
            keys: Keys::new(registry.clone(), self.master_key.clone()),
            admin: Admin { access, registry },
            auth: self.config.auth,
            services: self.services.clone(),
            apps: self
                .apps
                .as_ref()
                .map(|(runtime, routes)| AppHosts::new(runtime.clone(), routes.clone())),
        }
    }
}

/// The PostgreSQL the prod profile uses: `postgres_url`, in the optional `postgres_schema`.
fn pg_target(config: &Config) -> Result<PgTarget, BuildError> {
    let url = config.postgres_url.as_ref().ok_or_else(|| {
        BuildError("the prod profile needs postgres_url (or NANO_POSTGRES_URL)".into())
    })?;
    Ok(PgTarget {
        url: url.expose().to_string(),
        schema: config.postgres_schema.clone(),
    })
}

/// The master key: `master_key` from config (required when several nodes share state), else the file
/// `<data_dir>/master.key`, created with 32 random bytes (mode 0600) on first start.
fn master_key(config: &Config) -> Result<Vec<u8>, BuildError> {
    if let Some(key) = &config.master_key {
        return Ok(key.expose().as_bytes().to_vec());
    }
    let path = config.data_dir.join("master.key");
    match std::fs::read(&path) {
        Ok(bytes) if !bytes.is_empty() => return Ok(bytes),
        Ok(_) => return Err(BuildError(format!("{} is empty", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(BuildError(format!("cannot read {}: {e}", path.display()))),
    }
    let key = hex::encode(rand::random::<[u8; 32]>()).into_bytes();
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::create_dir_all(&config.data_dir)?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        file.write_all(&key)?;
        file.sync_all()
    };
    write().map_err(|e| BuildError(format!("cannot create {}: {e}", path.display())))?;
    Ok(key)
}
