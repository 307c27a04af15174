//! The hosted apps of a running nano: gathered from `[[apps]]`, the apps folder and the registry (apps created
//! through the admin API of any node), loaded into the runtime before they take traffic, swapped into the Host table
//! atomically, and drained when replaced or removed.
//!
//! `desired()` gathers the `AppDef`s (config, origin, code or bundle, assets folder) from three sources. `[[apps]]` is
//! re-read from the config file. App folders come from `discover.rs`. Admin-created apps are the registry's: kept
//! there as the JSON of their `AppConfig` (so fields added to it flow through) with their code, and mirrored in
//! memory by `sync_registry`, which reads them again whenever the registry's version moved. In prod an admin app
//! named by a local `path` is stored as the files read from it, so every node loads the same code; in dev it is read
//! from its folder on each reload.
//!
//! `reload()` fingerprints each definition: its config, its bundle, and its module files' names, sizes and mtimes
//! (assets are served live, so they are not part of it). It loads only changed definitions into the runtime. Then it
//! swaps the HTTP adapter's `RouteTable` in one step (`AppRoutes::swap`) and unloads, which drains, removed apps.
//! `watch` (started by `run.rs`) follows the registry and reloads every 500 ms, and at once when the registry
//! notifies a write (PostgreSQL `LISTEN`), so a change made through any node is served by every node within a
//! second; the periodic look heals a missed notice. The admin API reloads on demand.
//!
//! Invariants: a version that fails to load is never routed. The old version keeps serving, and the failure is not
//! retried until its fingerprint changes. Reloads (and admin changes) are serialized by one async mutex. App names
//! and hostnames of admin-created apps are unique across the cluster, decided by the registry (the runtime names apps
//! alone); `[[apps]]` and folders are checked against them on this node only. An app's assets folder becomes an
//! `FsAssets` port, served before its code for GET and HEAD and handed to it as `env.ASSETS`.

mod admin;
pub mod discover;
mod domains;
pub mod events;
pub mod logs;
pub(crate) mod versions;

use crate::adapters::fs::FsAssets;
use crate::adapters::http::apps::{AppRoutes, HostedApp, RouteTable};
use crate::app::config::{AppConfig, Config, Profile};
use crate::core::{AppName, Hostname, TenantId};
use crate::ports::{AppAssets, AppRecord, AppRuntime, AppVersion, Registry, Services};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where an app definition came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// `[[apps]]` in the config file.
    Config,
    /// A folder of `apps_dir`.
    Folder,
    /// Created through the admin API.
    Api,
}

/// One app as nano hosts it: its config, where it came from, its code (a folder or uploaded files) and assets.
#[derive(Debug, Clone, PartialEq)]
pub struct AppDef {
    pub config: AppConfig,
    pub origin: Origin,
    /// Static assets folder.
    pub assets: Option<PathBuf>,
    /// False for an assets-only app.
    pub code: bool,
    /// Uploaded module files (path -> source); `config.entry` is then one of their paths.
    pub bundle: Option<BTreeMap<String, String>>,
    /// The app's folder, when it came from one (watched for changes).
    pub root: Option<PathBuf>,
}

/// Checks an app config's names, hostnames and env (the checks `[[apps]]` gets at start).
pub fn check_app(app: &AppConfig) -> Result<(), String> {
    AppName::parse(&app.name).map_err(|e| e.to_string())?;
    TenantId::parse(&app.tenant).map_err(|e| format!("tenant: {e}"))?;
    for h in &app.hostnames {
        Hostname::parse(h).map_err(|e| format!("hostnames: {e}"))?;
    }
    for cron in &app.triggers.crons {
        crate::core::Cron::parse(cron).map_err(|e| format!("triggers.crons: {e}"))?;
    }
    crate::core::check_env(&app.name, &app.env, &app.limits).map_err(|e| e.to_string())
}

/// A loaded app: its definition and the fingerprint of the code that was loaded.
#[derive(Clone)]
struct Loaded {
    def: AppDef,
    fingerprint: u64,
}

/// What a reload did: apps loaded (new or changed), removed, and those that failed (the old version, if any,
/// keeps serving).
#[derive(Debug, Default, Serialize)]
pub struct ReloadReport {
    pub loaded: Vec<String>,
    pub removed: Vec<String>,
    pub failed: BTreeMap<String, String>,
}

/// Where app definitions come from besides the admin API.
struct Sources {
    profile: Profile,
    config_file: Option<PathBuf>,
    /// A hash of the config file's bytes when its apps were last read: an unchanged file is not parsed again.
    config_hash: Option<u64>,
    config_apps: Vec<AppConfig>,
    apps_dir: PathBuf,
    default_tenant: String,
}

/// The apps nano serves and the machinery that changes them.
pub struct Hosting {
    hosts: Arc<AppRoutes>,
    /// Where admin-created apps are stored, so they survive a restart.
    registry: Arc<dyn Registry>,
    runtime: Arc<dyn AppRuntime>,
    /// The services app bindings reach.
    services: Services,
    sources: Mutex<Sources>,
    /// Apps created through the admin API (any node's), by name: the registry's as of `seen_version`.
    api_apps: Mutex<BTreeMap<String, AppDef>>,
    /// The registry version `api_apps` was read at (`None` before the first read); held while reading.
    seen_version: tokio::sync::Mutex<Option<i64>>,
    /// Called after the registry moved (tenants, keys or apps written by any node), to drop what was cached of it.
    on_change: Mutex<Vec<Box<dyn Fn() + Send + Sync>>>,
    /// Loaded apps by name; held across a whole reload so reloads never interleave.
    loaded: tokio::sync::Mutex<BTreeMap<String, Loaded>>,
    /// The last load failure per app name, with the fingerprint that failed (not retried until it changes).
    failures: Mutex<HashMap<String, (u64, String)>>,
    /// Set when nano stops: live log streams end, so they do not hold the drain of their connections.
    log_streams_end: tokio::sync::watch::Sender<bool>,
}

impl Hosting {
    pub fn new(
        runtime: Arc<dyn AppRuntime>,
        registry: Arc<dyn Registry>,
        services: Services,
        config: &Config,
    ) -> Arc<Self> {
        let expose_errors = config.profile == crate::app::Profile::Dev;
        let hosts = Arc::new(AppRoutes::new(runtime.clone(), Vec::new(), expose_errors));
        Arc::new(Self {
            hosts,
            registry,
            runtime,
            services,
            sources: Mutex::new(Sources {
                profile: config.profile,
                config_file: config.config_file.clone(),
                config_hash: None,
                config_apps: config.apps.clone(),
                apps_dir: config.apps_dir.clone(),
                default_tenant: config
                    .default_tenant
                    .clone()
                    .unwrap_or_else(|| "default".to_string()),
            }),
            api_apps: Mutex::new(BTreeMap::new()),
            seen_version: tokio::sync::Mutex::new(None),
            on_change: Mutex::new(Vec::new()),
            loaded: tokio::sync::Mutex::new(BTreeMap::new()),
            failures: Mutex::new(HashMap::new()),
            log_streams_end: tokio::sync::watch::Sender::new(false),
        })
    }

    /// Ends every live log stream (`AppControl::follow_logs`) now and any opened later: nano is stopping.
    pub fn end_log_streams(&self) {
        self.log_streams_end.send_replace(true);
    }

    /// Resolves once `end_log_streams` was called.
    pub(crate) fn log_streams_ended(
        &self,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut ended = self.log_streams_end.subscribe();
        async move {
            let _ = ended.wait_for(|e| *e).await;
        }
    }

    /// Follows the registry: when its version moved since the last look (or at the first), reads every
    /// admin-created app again, so what any node created, changed or deleted is what this node will serve. Returns
    /// whether it moved. A record that cannot be read is logged and skipped.
    pub async fn sync_registry(&self) -> Result<bool, String> {
        let mut seen = self.seen_version.lock().await;
        // Read before the rows: a write landing in between moves the version again, so it is read next time.
        let version = self.registry.version().await.map_err(|e| e.to_string())?;
        if *seen == Some(version) {
            return Ok(false);
        }
        let records = self
            .registry
            .list_all_apps()
            .await
            .map_err(|e| e.to_string())?;
        let mut apps = BTreeMap::new();
        for r in records {
            match def_from_record(&r) {
                Ok(def) => {
                    apps.insert(def.config.name.clone(), def);
                }
                Err(e) => tracing::error!(
                    app = r.name.as_str(),
                    tenant = r.tenant.as_str(),
                    "stored app cannot be read: {e}"
                ),
            }
        }
        *lock(&self.api_apps) = apps;
        let first = seen.replace(version).is_none();
        drop(seen);
        if !first {
            for hook in lock(&self.on_change).iter() {
                hook();
            }
        }
        Ok(true)
    }

    /// Runs `hook` whenever the registry moved (any node wrote a tenant, key or app), once this node has read it.
    pub fn on_registry_change(&self, hook: impl Fn() + Send + Sync + 'static) {
        lock(&self.on_change).push(Box::new(hook));
    }

    /// Whether an admin API app named by a local `path` is stored as the files read from it (prod: every node must
    /// load the same code), rather than read from that folder on each reload (dev: live edits).
    pub fn stores_path_apps(&self) -> bool {
        lock(&self.sources).profile == Profile::Prod
    }

    /// The tenant of apps that name none.
    pub fn default_tenant(&self) -> String {
        lock(&self.sources).default_tenant.clone()
    }

    pub fn hosts(&self) -> Arc<AppRoutes> {
        self.hosts.clone()
    }

    pub fn runtime(&self) -> &Arc<dyn AppRuntime> {
        &self.runtime
    }

    /// The definition of the app `name` as its sources give it now, loaded or not.
    pub fn find(&self, name: &str) -> Option<AppDef> {
        self.desired().0.into_iter().find(|d| d.config.name == name)
    }

    /// Every app definition the sources give now: `[[apps]]` (re-read from the config file when there is one),
    /// then admin-created apps, then folders; a name seen earlier wins. Folder errors are returned with them.
    fn desired(&self) -> (Vec<AppDef>, Vec<(String, String)>) {
        let (config_apps, apps_dir, tenant) = {
            let mut s = lock(&self.sources);
            if let Some(file) = s.config_file.clone() {
                let hash = std::fs::read(&file).ok().map(|bytes| {
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    bytes.hash(&mut h);
                    h.finish()
                });
                if hash.is_none() || hash != s.config_hash {
                    match Config::load(s.profile, Some(&file), Default::default()) {
                        Ok(c) => {
                            s.config_apps = c.apps;
                            s.config_hash = hash;
                        }
                        Err(e) => {
                            tracing::warn!(file = %file.display(), "config file not reloaded: {e}")
                        }
                    }
                }
            }
            (
                s.config_apps.clone(),
                s.apps_dir.clone(),
                s.default_tenant.clone(),
            )
        };
        let mut defs: Vec<AppDef> = config_apps
            .into_iter()
            .map(|config| AppDef {
                assets: config
                    .entry
                    .parent()
                    .map(|d| d.join("public"))
                    .filter(|p| p.is_dir()),
                root: config.entry.parent().map(Path::to_path_buf),
                config,
                origin: Origin::Config,
                code: true,
                bundle: None,
            })
            .collect();
        defs.extend(lock(&self.api_apps).values().cloned());
        let (folders, errors) = discover::discover(&apps_dir, &tenant);
        defs.extend(folders);
        let mut seen = std::collections::HashSet::new();
        defs.retain(|d| seen.insert(d.config.name.clone()));
        (defs, errors)
    }

    /// Brings the served apps in line with their sources: changed apps are loaded before they take traffic, the
    /// Host table is swapped in one step, and replaced or removed versions drain.
    pub async fn reload(&self) -> ReloadReport {
        let loaded = self.loaded.lock().await;
        self.reload_locked(loaded).await
    }

    /// `reload` with the loaded apps' lock already held (released before removed apps drain).
    async fn reload_locked(&self, loaded: LoadedGuard<'_>) -> ReloadReport {
        let (desired, errors) = self.desired();
        let mut report = self.apply(loaded, desired).await;
        for (name, e) in errors {
            report.failed.insert(name, e);
        }
        report
    }

    async fn apply(&self, mut loaded: LoadedGuard<'_>, desired: Vec<AppDef>) -> ReloadReport {
        let mut report = ReloadReport::default();
        let mut next = BTreeMap::new();
        // Apps that failed to load with no earlier version serving: their hostnames answer 503 with the error.
        let mut broken: Vec<(AppDef, String)> = Vec::new();
        for def in desired {
            let name = def.config.name.clone();
            let fingerprint = fingerprint(&def);
            if let Some(old) = loaded.get(&name).filter(|l| l.fingerprint == fingerprint) {
                next.insert(name, old.clone());
                continue;
            }
            let known_failure = lock(&self.failures)
                .get(&name)
                .filter(|(fp, _)| *fp == fingerprint)
                .map(|(_, e)| e.clone());
            let result = match known_failure {
                Some(e) => Err(e),
                None => self.load(&def).await,
            };
            match result {
                Ok(()) => {
                    lock(&self.failures).remove(&name);
                    tracing::info!(app = name.as_str(), tenant = def.config.tenant.as_str(),
                        hostnames = ?def.config.hostnames, "app loaded");
                    report.loaded.push(name.clone());
                    next.insert(name, Loaded { def, fingerprint });
                }
                Err(e) => {
                    let new = lock(&self.failures)
                        .insert(name.clone(), (fingerprint, e.clone()))
                        .is_none_or(|(fp, _)| fp != fingerprint);
                    if new {
                        tracing::error!(
                            app = name.as_str(),
                            tenant = def.config.tenant.as_str(),
                            "app not loaded{}: {e}",
                            if loaded.contains_key(&name) {
                                " (the previous version keeps serving)"
                            } else {
                                ""
                            }
                        );
                    }
                    report.failed.insert(name.clone(), e.clone());
                    match loaded.get(&name) {
                        Some(old) => {
                            next.insert(name, old.clone());
                        }
                        None => broken.push((def, e)),
                    }
                }
            }
        }
        let removed: Vec<Loaded> = loaded
            .iter()
            .filter(|(n, _)| !next.contains_key(*n))
            .map(|(_, l)| l.clone())
            .collect();
        self.hosts.swap(table(&next, &broken));
        *loaded = next;
        drop(loaded);
        for gone in removed {
            report.removed.push(gone.def.config.name.clone());
            lock(&self.failures).remove(&gone.def.config.name);
            tracing::info!(
                app = gone.def.config.name.as_str(),
                tenant = gone.def.config.tenant.as_str(),
                "app removed; draining"
            );
            if gone.def.code {
                if let Ok(name) = AppName::parse(&gone.def.config.name) {
                    if let Err(e) = self.runtime.unload(&name).await {
                        tracing::warn!(app = name.as_str(), "drain: {e}");
                    }
                }
            }
        }
        report
    }

    /// Loads one app's code into the runtime (nothing for an assets-only app).
    async fn load(&self, def: &AppDef) -> Result<(), String> {
        check_app(&def.config)?;
        if !def.code {
            return Ok(());
        }
        let mut version = match &def.bundle {
            Some(files) => bundle_version(&def.config, files, &self.services)?,
            None => versions::read_app_skipping(&def.config, def.assets.as_deref(), &self.services)
                .map_err(|e| e.0)?,
        };
        version.bindings.assets = assets_port(def.assets.as_deref());
        version.bindings.peers = Some(Arc::downgrade(&self.runtime));
        domains::ensure(&def.config, &self.services).await?;
        self.runtime
            .load(version)
            .await
            .map_err(|e| crate::core::load_hints::with_hint(e.to_string()))
    }

    /// Adds (or, with `replace`, replaces) an admin-created app and loads it; on failure nothing changes. The
    /// registry decides names and hostnames for the cluster (`AppExists`, `HostnameTaken`); this node's own
    /// `[[apps]]` and folders are checked here. The version is loaded before it is stored, so a version that does
    /// not load is never registered, and reloads wait meanwhile, so none sees a half-made change.
    pub async fn put_api_app(
        &self,
        mut def: AppDef,
        replace: bool,
    ) -> Result<ReloadReport, PutError> {
        check_app(&def.config).map_err(PutError::Invalid)?;
        let mut hostnames = Vec::new();
        for h in &def.config.hostnames {
            let h = Hostname::parse(h)
                .map_err(|e| PutError::Invalid(e.to_string()))?
                .as_str()
                .to_string();
            if !hostnames.contains(&h) {
                hostnames.push(h);
            }
        }
        def.config.hostnames = hostnames;
        let name = def.config.name.clone();
        if let Err(e) = self.sync_registry().await {
            return Err(PutError::Internal(format!("registry: {e}")));
        }
        let mut loaded = self.loaded.lock().await;
        {
            let (current, _) = self.desired();
            let exists = current.iter().find(|d| d.config.name == name);
            match (exists, replace) {
                (Some(d), false) => {
                    return Err(PutError::Conflict(format!(
                        "app {name} already exists ({:?})",
                        d.origin
                    )))
                }
                (Some(d), true) if d.origin != Origin::Api => {
                    return Err(PutError::Conflict(format!(
                        "app {name} comes from the {} and cannot be changed through the API",
                        if d.origin == Origin::Config {
                            "config file"
                        } else {
                            "apps folder"
                        }
                    )))
                }
                (None, true) => {
                    return Err(PutError::NotFound(format!("app {name} does not exist")))
                }
                _ => {}
            }
            for other in current.iter().filter(|d| d.config.name != name) {
                if let Some(h) = other
                    .config
                    .hostnames
                    .iter()
                    .find(|h| def.config.hostnames.contains(h))
                {
                    return Err(PutError::Conflict(format!(
                        "hostname {h} already belongs to app {}",
                        other.config.name
                    )));
                }
            }
        }
        let tenant =
            TenantId::parse(&def.config.tenant).map_err(|e| PutError::Invalid(e.to_string()))?;
        match self.registry.get_tenant(&tenant).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(PutError::Invalid(format!("tenant {tenant} does not exist"))),
            Err(e) => return Err(PutError::Internal(e.to_string())),
        }
        lock(&self.failures).remove(&name);
        self.load(&def).await.map_err(PutError::Invalid)?;
        let record = record_of(&def, tenant).map_err(PutError::Internal)?;
        let stored = if replace {
            self.registry.update_app(&record).await
        } else {
            self.registry.create_app(&record).await
        };
        if let Err(e) = stored {
            // The runtime took the new version: put back what this node serves, as the registry still has it.
            match loaded.get(&name).filter(|l| l.def.code) {
                Some(old) => {
                    if let Err(e) = self.load(&old.def.clone()).await {
                        tracing::error!(app = name.as_str(), "previous version not restored: {e}");
                    }
                }
                None => {
                    if let Ok(app) = AppName::parse(&name) {
                        let _ = self.runtime.unload(&app).await;
                    }
                }
            }
            use crate::ports::RegistryError;
            return Err(match e {
                RegistryError::AppExists(m) => {
                    PutError::Conflict(format!("app {m} already exists"))
                }
                RegistryError::AppNotFound(m) => {
                    PutError::NotFound(format!("app {m} does not exist"))
                }
                e @ RegistryError::HostnameTaken { .. } => PutError::Conflict(e.to_string()),
                RegistryError::TenantNotFound(t) => {
                    PutError::Invalid(format!("tenant {t} does not exist"))
                }
                e => PutError::Internal(e.to_string()),
            });
        }
        if let Err(e) = self.sync_registry().await {
            tracing::warn!(app = name.as_str(), "registry not read after a write: {e}");
            lock(&self.api_apps).insert(name.clone(), def.clone());
        }
        let fingerprint = fingerprint(&def);
        loaded.insert(name, Loaded { def, fingerprint });
        Ok(self.reload_locked(loaded).await)
    }

    /// Removes an admin-created app; it drains before this returns.
    pub async fn delete_api_app(&self, name: &str) -> Result<(), PutError> {
        if let Err(e) = self.sync_registry().await {
            return Err(PutError::Internal(format!("registry: {e}")));
        }
        let (current, _) = self.desired();
        match current.iter().find(|d| d.config.name == name) {
            None => return Err(PutError::NotFound(format!("app {name} does not exist"))),
            Some(d) if d.origin != Origin::Api => {
                return Err(PutError::Conflict(format!(
                    "app {name} comes from the {}: remove it there",
                    if d.origin == Origin::Config {
                        "config file"
                    } else {
                        "apps folder"
                    }
                )))
            }
            _ => {}
        }
        let def = lock(&self.api_apps).get(name).cloned();
        if let Some(def) = def {
            let tenant = TenantId::parse(&def.config.tenant)
                .map_err(|e| PutError::Internal(e.to_string()))?;
            match self.registry.delete_app(&tenant, name).await {
                Ok(()) | Err(crate::ports::RegistryError::AppNotFound(_)) => {}
                Err(e) => return Err(PutError::Internal(e.to_string())),
            }
        }
        if let Err(e) = self.sync_registry().await {
            tracing::warn!(app = name, "registry not read after a write: {e}");
            lock(&self.api_apps).remove(name);
        }
        self.reload().await;
        Ok(())
    }

    /// Every app served now, and the definitions that failed to load (never registered).
    pub async fn apps(&self) -> (Vec<AppDef>, BTreeMap<String, String>) {
        let loaded = self.loaded.lock().await;
        let defs = loaded.values().map(|l| l.def.clone()).collect();
        let failures = lock(&self.failures)
            .iter()
            .map(|(n, (_, e))| (n.clone(), e.clone()))
            .collect();
        (defs, failures)
    }

    /// A served app with code: its tenant and cron triggers; `None` when no such app is served.
    pub async fn code_app(&self, name: &str) -> Option<(String, Vec<String>)> {
        let loaded = self.loaded.lock().await;
        loaded.get(name).filter(|l| l.def.code).map(|l| {
            (
                l.def.config.tenant.clone(),
                l.def.config.triggers.crons.clone(),
            )
        })
    }

    /// Every served app with cron triggers, with its crons.
    pub async fn crons(&self) -> Vec<(String, Vec<String>)> {
        let loaded = self.loaded.lock().await;
        loaded
            .values()
            .filter(|l| l.def.code && !l.def.config.triggers.crons.is_empty())
            .map(|l| {
                (
                    l.def.config.name.clone(),
                    l.def.config.triggers.crons.clone(),
                )
            })
            .collect()
    }

    /// Every `every`, and at once on a registry notice (another node's write), follows the registry and reloads
    /// what changed in it, the config file or the app folders. A registry that cannot be read is logged once until
    /// it can again; meanwhile the apps last read keep serving.
    pub fn watch(self: &Arc<Self>, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut notices = me.registry.changes().await;
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    Some(()) = next_notice(&mut notices) => {}
                }
                match me.sync_registry().await {
                    Ok(_) if failing => {
                        tracing::info!("registry readable again");
                        failing = false;
                    }
                    Ok(_) => {}
                    Err(e) if !failing => {
                        tracing::warn!("registry not read; serving the apps last read: {e}");
                        failing = true;
                    }
                    Err(_) => {}
                }
                me.reload().await;
            }
        })
    }

    /// Unloads every app with code, letting in-flight requests finish.
    pub async fn drain_all(&self) {
        let loaded = self.loaded.lock().await;
        for l in loaded.values().filter(|l| l.def.code) {
            if let Ok(name) = AppName::parse(&l.def.config.name) {
                let _ = self.runtime.unload(&name).await;
            }
        }
    }
}

/// Why an admin change to an app was refused.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Internal(String),
}

/// An admin-created app as the registry stores it: the definition as JSON (the config as serialized, so fields
/// added to it later flow through), the uploaded files apart.
fn record_of(def: &AppDef, tenant: TenantId) -> Result<AppRecord, String> {
    let spec = serde_json::json!({
        "config": serde_json::to_value(&def.config).map_err(|e| e.to_string())?,
        "assets": def.assets,
        "code": def.code,
        "root": def.root,
    });
    Ok(AppRecord {
        tenant,
        name: def.config.name.clone(),
        hostnames: def.config.hostnames.clone(),
        spec,
        bundle: def.bundle.clone().unwrap_or_default(),
        updated_ms: crate::core::clock::now_ms(),
    })
}

fn def_from_record(r: &AppRecord) -> Result<AppDef, String> {
    let config: AppConfig =
        serde_json::from_value(r.spec["config"].clone()).map_err(|e| e.to_string())?;
    let path = |v: &serde_json::Value| v.as_str().map(PathBuf::from);
    Ok(AppDef {
        config,
        origin: Origin::Api,
        assets: path(&r.spec["assets"]),
        code: r.spec["code"].as_bool().unwrap_or(true),
        bundle: (!r.bundle.is_empty()).then(|| r.bundle.clone()),
        root: path(&r.spec["root"]),
    })
}

/// An app's static assets folder behind the assets port (served before its code and as `env.ASSETS`).
pub fn assets_port(dir: Option<&Path>) -> Option<Arc<dyn AppAssets>> {
    dir.map(|d| Arc::new(FsAssets::new(d)) as Arc<dyn AppAssets>)
}

/// The next registry notice; never, without a notice stream.
async fn next_notice(notices: &mut Option<futures::stream::BoxStream<'static, ()>>) -> Option<()> {
    use futures::StreamExt;
    match notices {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

/// The loaded apps by name, locked for one reload (or one admin change and its reload).
type LoadedGuard<'a> = tokio::sync::MutexGuard<'a, BTreeMap<String, Loaded>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The Host table of these apps, then of the `broken` ones (failed to load, nothing older serving), whose
/// hostnames answer 503 naming the error rather than falling through to the services API; a hostname two apps claim
/// goes to the first by name, a loaded app first.
fn table(apps: &BTreeMap<String, Loaded>, broken: &[(AppDef, String)]) -> RouteTable {
    let mut table = RouteTable::new();
    let served = apps.values().map(|l| (&l.def, None));
    let failed = broken.iter().map(|(def, e)| (def, Some(e.clone())));
    for (def, load_error) in served.chain(failed) {
        let Ok(name) = AppName::parse(&def.config.name) else {
            continue;
        };
        let app = Arc::new(HostedApp {
            name,
            tenant: def.config.tenant.clone(),
            code: def.code,
            assets: assets_port(def.assets.as_deref()),
            load_error,
        });
        for h in &def.config.hostnames {
            let Ok(host) = Hostname::parse(h) else {
                continue;
            };
            if table.lookup_exact(&host).is_some() {
                tracing::warn!(
                    hostname = h.as_str(),
                    app = def.config.name.as_str(),
                    "hostname already belongs to another app; ignored"
                );
                continue;
            }
            table.insert(&host, app.clone());
        }
    }
    table
}

/// An uploaded bundle as an app version.
fn bundle_version(
    cfg: &AppConfig,
    files: &BTreeMap<String, String>,
    services: &Services,
) -> Result<AppVersion, String> {
    let entry = cfg.entry.to_string_lossy().into_owned();
    if !files.contains_key(&entry) {
        return Err(format!("entry {entry} is not one of the uploaded files"));
    }
    versions::version_from(cfg, entry, files.clone(), services).map_err(|e| e.0)
}

/// A hash of everything that makes an app's version: its config, its uploaded files, and the names, sizes and
/// modification times of the files in its folder (assets excepted: they are served live).
fn fingerprint(def: &AppDef) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(&def.config)
        .unwrap_or_default()
        .hash(&mut h);
    def.code.hash(&mut h);
    def.assets.hash(&mut h);
    def.bundle.hash(&mut h);
    if def.code && def.bundle.is_none() {
        if let Some(dir) = def.config.entry.parent() {
            let mut stack = vec![dir.to_path_buf()];
            let mut files = Vec::new();
            while let Some(d) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&d) else {
                    continue;
                };
                for e in entries.flatten() {
                    let p = e.path();
                    if Some(p.as_path()) == def.assets.as_deref() || p.ends_with("node_modules") {
                        continue;
                    }
                    let Ok(m) = e.metadata() else { continue };
                    if m.is_dir() {
                        stack.push(p);
                    } else {
                        files.push((p, m.len(), m.modified().ok()));
                    }
                }
            }
            files.sort();
            files.hash(&mut h);
        }
    }
    h.finish()
}
