//! `App::build`: assembles the adapters of a profile into the ports the HTTP adapter serves.

use super::config::{Config, Profile, StorageBackend};
use crate::adapters::fs::FsStorage;
use crate::adapters::http::admin::{Admin, AdminAccess};
use crate::adapters::http::auth::Keys;
use crate::adapters::http::quota::RateQuotas;
use crate::adapters::http::tenancy::TenantResolver;
use crate::adapters::http::HttpState;
use crate::adapters::http_client::HttpWebhook;
use crate::adapters::memory::MemoryRateLimiter;
use crate::adapters::postgres::{self, PgDataStore, PgSearch, PgTarget};
use crate::adapters::redis::{RedisCache, RedisRateLimiter, RedisTarget};
use crate::adapters::s3::{S3Storage, S3Target};
use crate::adapters::sql::{SqlQueue, SqlRegistry, SqlRunClaims};
use crate::adapters::sqlite::{self, SqliteCache, SqliteDataStore};
use crate::adapters::tantivy::TantivySearch;
use crate::core::TenantId;
use crate::ports::{
    AppRuntime, CacheStore, DataStore, QueueScan, QueueStore, RateLimiter, Registry, RunClaims,
    Search, Services, Storage,
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
    /// The hosted apps: `[[apps]]`, the apps folder and admin-created apps, on the JS runtime.
    pub hosting: Arc<super::hosting::Hosting>,
    /// Counts requests of tenants with a `requests_per_second`: per node in dev, per cluster (Redis) in prod.
    rate_limiter: Arc<dyn RateLimiter>,
    /// Where the cron loop claims each run before firing it, shared by the nodes of the cluster.
    pub claims: Arc<dyn RunClaims>,
    /// The OpenTelemetry exporter, when `otel.endpoint` is set.
    telemetry: Option<Arc<dyn crate::ports::Telemetry>>,
}

/// Why nano could not be assembled. The message names the store or setting at fault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

impl App {
    /// Builds every adapter the profile asks for, creating the default and configured tenants.
    pub async fn build(config: Config) -> Result<Self, BuildError> {
        // Set once the hosted apps exist: queues targeting `app://<name>` are consumed by them.
        let app_consumer: super::queue_delivery::AppConsumerSlot = Arc::default();
        let pg = prod_pg(&config)?;
        let services = open_services_on(&config, pg.clone(), Some(&app_consumer)).await?;
        let claims = open_claims(&config, pg).await?;
        let master_key = master_key(&config)?;
        let rate_limiter = rate_limiter(&config).await?;
        if !config.bootstrap.services.is_empty() {
            let tenant = config.default_tenant.as_deref().ok_or_else(|| {
                BuildError(
                    "bootstrap flags create services for the default tenant: set default_tenant"
                        .into(),
                )
            })?;
            let tenant = TenantId::parse(tenant).map_err(|e| BuildError(e.to_string()))?;
            super::bootstrap::bootstrap(&services, &tenant, &config.bootstrap).await?;
        }
        let js_err = |e: crate::ports::RuntimeError| BuildError(format!("JS runtime: {e}"));
        #[cfg(feature = "v8")]
        crate::adapters::js::v8::extra_flags(&config.v8_flags);
        let outbound = config.outbound.resolve(&config.tenant_outbound);
        let client = crate::adapters::http_client::guarded::builder(outbound.policy("", None))
            .user_agent("nano")
            .build()
            .map_err(|e| BuildError(format!("outbound HTTP client: {e}")))?;
        let telemetry = match &config.otel.endpoint {
            Some(endpoint) => Some(
                crate::adapters::otel::OtlpExporter::start(endpoint, &config.otel.service_name)
                    .map_err(BuildError)? as Arc<dyn crate::ports::Telemetry>,
            ),
            None => None,
        };
        let runtimes = super::engines::start_with(crate::adapters::js::RuntimeOptions {
            idle_evict: std::time::Duration::from_secs(config.idle_evict_secs),
            websocket_idle: std::time::Duration::from_secs(config.websocket_idle_secs),
            threads: config.js_threads,
            max_isolates: 0,
            outbound,
            client: Some(client),
            websockets: Some(Arc::new(crate::adapters::http::WsClient::default())),
            memory: Arc::new(crate::adapters::js::meter::MemoryBudget::new(
                config.memory_budget_bytes(),
            )),
            telemetry: telemetry.clone(),
        })
        .map_err(js_err)?;
        let runtime: Arc<dyn AppRuntime> = Arc::new(
            super::engines::EngineRouter::new(runtimes, &config.default_engine).map_err(js_err)?,
        );
        let hosting = super::hosting::Hosting::new(
            runtime,
            services.registry.clone(),
            services.clone(),
            &config,
        );
        if let Some(telemetry) = &telemetry {
            hosting.hosts().set_telemetry(telemetry.clone());
        }
        let _ = app_consumer.set(hosting.clone());
        hosting
            .sync_registry()
            .await
            .map_err(|e| BuildError(format!("stored apps: {e}")))?;
        let report = hosting.reload().await;
        // An `[[apps]]` entry that does not load stops start-up; a broken app folder is only reported.
        if let Some((name, e)) = report
            .failed
            .iter()
            .find(|(name, _)| config.apps.iter().any(|a| &a.name == *name))
        {
            return Err(BuildError(format!("app {name}: {e}")));
        }
        Ok(Self {
            services,
            config,
            master_key,
            hosting,
            rate_limiter,
            claims,
            telemetry,
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
            admin: Admin {
                access,
                registry,
                services: self.services.clone(),
                apps: Some(self.hosting.clone()),
                node: http::HeaderValue::from_str(&self.config.node())
                    .unwrap_or_else(|_| http::HeaderValue::from_static("nano")),
                telemetry: self.telemetry.clone(),
            },
            auth: self.config.auth,
            tenant_header: self.config.tenant_host_header,
            rates: RateQuotas::new(
                self.config.quotas.requests_per_second,
                self.config
                    .tenant_quotas
                    .iter()
                    .map(|(t, q)| (t.clone(), q.requests_per_second))
                    .collect(),
                self.rate_limiter.clone(),
            ),
            services: self.services.clone(),
            apps: Some(self.hosting.hosts()),
            unknown_host_404: self.config.unknown_host_404,
            services_hosts: services_hosts(&self.config),
            telemetry: self.telemetry.clone(),
        }
    }
}

/// Opens the services of the profile (registry first, creating the default and configured tenants). With `deliver`
/// (where hosted apps will be found), queue jobs are delivered from this process; without it (`nano repl`) jobs are
/// only stored.
pub async fn open_services(
    config: &Config,
    deliver: Option<&super::queue_delivery::AppConsumerSlot>,
) -> Result<Services, BuildError> {
    open_services_on(config, prod_pg(config)?, deliver).await
}

/// The PostgreSQL target of the prod profile (`None` in dev): one per node, so its prod stores share one pool.
fn prod_pg(config: &Config) -> Result<Option<PgTarget>, BuildError> {
    match config.profile {
        Profile::Prod => pg_target(config).map(Some),
        Profile::Dev => Ok(None),
    }
}

/// Opens the run claims of the profile: `schedule.db` in the data folder (dev), the shared PostgreSQL (prod, on
/// `pg`), so every node firing the same crons claims each run in one place.
async fn open_claims(
    config: &Config,
    pg: Option<PgTarget>,
) -> Result<Arc<dyn RunClaims>, BuildError> {
    Ok(match pg {
        None => {
            let path = config.data_dir.join("schedule.db");
            Arc::new(SqlRunClaims::new(
                sqlite::schedule_pool(&path).await.map_err(|e| {
                    BuildError(format!("run claims in {}: {e}", config.data_dir.display()))
                })?,
                config.takeover(),
            ))
        }
        Some(pg) => Arc::new(SqlRunClaims::new(
            postgres::schedule_pool(&pg)
                .await
                .map_err(|e| BuildError(format!("run claims: {e}")))?,
            config.takeover(),
        )),
    })
}

/// `open_services` on `pg`, the node's PostgreSQL target in prod.
async fn open_services_on(
    config: &Config,
    pg: Option<PgTarget>,
    deliver: Option<&super::queue_delivery::AppConsumerSlot>,
) -> Result<Services, BuildError> {
    let shared_pg = || {
        pg.clone()
            .ok_or_else(|| BuildError("the dev profile has no PostgreSQL".into()))
    };
    let registry: Arc<dyn Registry> = match config.profile {
        Profile::Dev => Arc::new(SqlRegistry::new(
            sqlite::registry_pool(&config.data_dir.join("registry.db"))
                .await
                .map_err(|e| {
                    BuildError(format!("registry in {}: {e}", config.data_dir.display()))
                })?,
        )),
        Profile::Prod => Arc::new(SqlRegistry::new(
            postgres::registry_pool(&shared_pg()?)
                .await
                .map_err(|e| BuildError(format!("registry: {e}")))?,
        )),
    };
    for name in config.default_tenant.iter().chain(&config.tenants) {
        let id = TenantId::parse(name).map_err(|e| BuildError(e.to_string()))?;
        registry
            .ensure_tenant(&id)
            .await
            .map_err(|e| BuildError(format!("tenant {name}: {e}")))?;
    }
    let cache: Option<Arc<dyn CacheStore>> = match (config.services.cache, config.profile) {
        (false, _) => None,
        (true, Profile::Dev) => Some(Arc::new(
            SqliteCache::open(&config.data_dir.join("cache.db"))
                .await
                .map_err(|e| BuildError(format!("cache in {}: {e}", config.data_dir.display())))?,
        )),
        (true, Profile::Prod) => Some(Arc::new(
            RedisCache::open(&redis_target(config)?)
                .await
                .map_err(|e| BuildError(format!("cache: {e}")))?,
        )),
    };
    let queue = if config.services.queue {
        Some(open_queue(config, pg.clone(), deliver).await?)
    } else {
        None
    };
    let data: Option<Arc<dyn DataStore>> = match (config.services.data, config.profile) {
        (false, _) => None,
        (true, Profile::Dev) => {
            let path = config.data_dir.join("data.db");
            let store = SqliteDataStore::open(&path)
                .await
                .map_err(|e| BuildError(format!("data store {}: {e}", path.display())))?;
            Some(Arc::new(store))
        }
        (true, Profile::Prod) => Some(Arc::new(
            PgDataStore::open(&shared_pg()?)
                .await
                .map_err(|e| BuildError(format!("data store: {e}")))?,
        )),
    };
    let storage: Option<Arc<dyn Storage>> = match (config.services.storage, config.storage) {
        (false, _) => None,
        (true, StorageBackend::Fs) => {
            let root = config.data_dir.join("storage");
            let key = match (&config.storage_signing_key, config.profile) {
                (Some(key), _) => Some(key.expose().as_bytes().to_vec()),
                (None, Profile::Dev) => None,
                (None, Profile::Prod) => {
                    return Err(BuildError(
                        "storage = \"fs\" in prod needs storage_signing_key (or NANO_STORAGE_SIGNING_KEY), the same \
                         on every node sharing the volume, so no node creates its own"
                            .into(),
                    ))
                }
            };
            Some(Arc::new(
                FsStorage::open_node(&root, &config.node(), key)
                    .map_err(|e| BuildError(format!("storage in {}: {e}", root.display())))?,
            ))
        }
        (true, StorageBackend::S3) => Some(Arc::new(
            S3Storage::open(&s3_target(config)?)
                .await
                .map_err(|e| BuildError(format!("storage: {e}")))?,
        )),
    };
    let search: Option<Arc<dyn Search>> = match (config.services.search, config.profile) {
        (false, _) => None,
        (true, Profile::Dev) => {
            let root = config.data_dir.join("search");
            Some(Arc::new(TantivySearch::open(&root).map_err(|e| {
                BuildError(format!("search in {}: {e}", root.display()))
            })?))
        }
        (true, Profile::Prod) => Some(Arc::new(
            PgSearch::open(&shared_pg()?)
                .await
                .map_err(|e| BuildError(format!("search: {e}")))?,
        )),
    };
    let mut services = Services {
        registry,
        cache,
        queue,
        data,
        storage,
        search,
    };
    super::quota::wrap(&mut services, &super::quota::Limits::from_config(config));
    let registry = services.registry.clone();
    services.storage = services.storage.take().map(|s| {
        Arc::new(super::deleted_tenants::LiveTenantStorage::new(
            s,
            registry.clone(),
        )) as Arc<dyn Storage>
    });
    services.cache = services.cache.take().map(|c| {
        Arc::new(super::deleted_tenants::LiveTenantCache::new(
            c,
            registry.clone(),
        )) as Arc<dyn CacheStore>
    });
    Ok(services)
}

/// Opens the queue store of the profile (on `pg`, the node's shared PostgreSQL target, when given). With `deliver`
/// (where hosted apps will be found), jobs are delivered from this process. The SQLite store
/// releases claims left by an earlier process when it opens.
pub async fn open_queue(
    config: &Config,
    pg: Option<PgTarget>,
    deliver: Option<&super::queue_delivery::AppConsumerSlot>,
) -> Result<Arc<dyn QueueStore>, BuildError> {
    let (store, scan): (Arc<dyn QueueStore>, Arc<dyn QueueScan>) = match config.profile {
        Profile::Dev => {
            let failed = |e| BuildError(format!("queue in {}: {e}", config.data_dir.display()));
            let db = sqlite::queue_database(&config.data_dir.join("queue.db"))
                .await
                .map_err(failed)?;
            let store = Arc::new(SqlQueue::sqlite(db).await.map_err(failed)?);
            (store.clone(), store)
        }
        Profile::Prod => {
            let pg = match pg {
                Some(pg) => pg,
                None => pg_target(config)?,
            };
            let failed = |e| BuildError(format!("queue: {e}"));
            let (pool, confine) = postgres::queue_tables(&pg).await.map_err(failed)?;
            let store = Arc::new(
                SqlQueue::postgres(pool, confine, config.takeover())
                    .await
                    .map_err(failed)?,
            );
            (store.clone(), store)
        }
    };
    // Quota first, so jobs that delivery removes count down.
    let store = super::quota::wrap_queue(store, &super::quota::Limits::from_config(config));
    let Some(consumer) = deliver else {
        return Ok(store);
    };
    let outbound = config.outbound.resolve(&config.tenant_outbound);
    let sender = HttpWebhook::new(DELIVERY_TIMEOUT, outbound.policy("", None))
        .map_err(|e| BuildError(format!("queue delivery client: {e}")))?;
    Ok(super::queue_delivery::start(
        store,
        Arc::new(sender),
        scan,
        consumer.clone(),
        outbound,
    ))
}

/// The `services_hosts` of the config as a Host table (invalid names were refused when the config loaded).
fn services_hosts(config: &Config) -> crate::core::routing::HostnameTable<()> {
    let mut table = crate::core::routing::HostnameTable::new();
    for h in &config.services_hosts {
        if let Ok(host) = crate::core::Hostname::parse(h) {
            table.insert(&host, ());
        }
    }
    table
}

/// The PostgreSQL the prod profile uses: `postgres_url`, in the optional `postgres_schema`.
fn pg_target(config: &Config) -> Result<PgTarget, BuildError> {
    let url = config.postgres_url.as_ref().ok_or_else(|| {
        BuildError("the prod profile needs postgres_url (or NANO_POSTGRES_URL)".into())
    })?;
    let mut target = PgTarget::new(url.expose().to_string(), config.postgres_schema.clone());
    target.max_connections = config.postgres_max_connections;
    Ok(target)
}

/// The Redis the prod profile's cache uses: `redis_url`, every key under `redis_prefix`.
/// The request-rate limiter: in this node's memory in dev (and in prod when no tenant has a `requests_per_second`, so
/// nothing is counted), else on Redis so the nodes of a cluster share one bucket per tenant.
async fn rate_limiter(config: &Config) -> Result<Arc<dyn RateLimiter>, BuildError> {
    let limited = config.quotas.requests_per_second.is_some()
        || config
            .tenant_quotas
            .values()
            .any(|q| q.requests_per_second.is_some());
    if config.profile == Profile::Dev || !limited {
        return Ok(Arc::new(MemoryRateLimiter::new()));
    }
    let target = redis_target_for(config, "requests_per_second quota")?;
    let limiter = RedisRateLimiter::open(&target, crate::adapters::redis::ADMIT_TIMEOUT)
        .await
        .map_err(|e| BuildError(format!("request-rate limiter: {e}")))?;
    Ok(Arc::new(limiter))
}

fn redis_target(config: &Config) -> Result<RedisTarget, BuildError> {
    redis_target_for(config, "cache")
}

/// The Redis of the prod profile's `what` (`cache`, ...): `redis_url` is required.
fn redis_target_for(config: &Config, what: &str) -> Result<RedisTarget, BuildError> {
    let url = config.redis_url.as_ref().ok_or_else(|| {
        BuildError(format!(
            "the prod profile's {what} needs redis_url (or NANO_REDIS_URL)"
        ))
    })?;
    Ok(RedisTarget {
        url: url.expose().to_string(),
        prefix: config.redis_prefix.clone(),
    })
}

/// The S3 bucket of `storage = "s3"`: `s3.bucket` and both keys are required.
fn s3_target(config: &Config) -> Result<S3Target, BuildError> {
    let s3 = &config.s3;
    let missing = |key: &str| {
        BuildError(format!(
            "storage = \"s3\" needs s3.{key} (or NANO_S3__{})",
            key.to_uppercase()
        ))
    };
    Ok(S3Target {
        endpoint: s3.endpoint.clone(),
        region: s3.region.clone(),
        bucket: s3.bucket.clone().ok_or_else(|| missing("bucket"))?,
        access_key: s3.access_key.clone().ok_or_else(|| missing("access_key"))?,
        secret_key: s3
            .secret_key
            .as_ref()
            .map(|s| s.expose().to_string())
            .ok_or_else(|| missing("secret_key"))?,
        path_style: s3.path_style,
        prefix: s3.prefix.clone(),
        presign: s3.presign,
    })
}

/// The master key: `master_key` from config (required in prod, where nodes share state), else (dev) the file
/// `<data_dir>/master.key`, created with 32 random bytes (mode 0600) on first start.
fn master_key(config: &Config) -> Result<Vec<u8>, BuildError> {
    if let Some(key) = &config.master_key {
        return Ok(key.expose().as_bytes().to_vec());
    }
    if config.profile == Profile::Prod {
        return Err(BuildError(
            "the prod profile needs master_key (or NANO_MASTER_KEY), the same on every node, so no node creates its \
             own"
            .into(),
        ));
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
