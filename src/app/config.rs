//! Configuration with figment: built-in defaults per profile, then `nano.toml` (top-level keys for every profile,
//! `[dev]` and `[prod]` tables for one), then `NANO_` env vars, then CLI flags. Unknown keys are errors.

use crate::core::outbound::HostRules;
use figment::providers::{Env, Serialized};
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Provider};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A deployment shape chosen at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Everything embedded under one data directory, zero set-up.
    Dev,
    /// External engines, auth required, JSON logs.
    Prod,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Dev => "dev",
            Profile::Prod => "prod",
        }
    }
}

/// How the process log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A value that never appears in `Debug` output, logs or `nano config`: URLs keep all but their password.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value with its secret part replaced by `***`: a URL keeps scheme, user and host.
    pub fn redacted(&self) -> String {
        if let Some((scheme, rest)) = self.0.split_once("://") {
            if let Some((userinfo, host)) = rest.rsplit_once('@') {
                let user = userinfo.split(':').next().unwrap_or_default();
                return format!("{scheme}://{user}:***@{host}");
            }
            return self.0.clone();
        }
        "***".to_string()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

/// Which services are enabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServicesConfig {
    pub data: bool,
    pub cache: bool,
    pub storage: bool,
    pub search: bool,
    pub queue: bool,
}

impl Default for ServicesConfig {
    fn default() -> Self {
        Self {
            data: true,
            cache: true,
            storage: true,
            search: true,
            queue: true,
        }
    }
}

/// Services created at start under one domain of the default tenant, as hyper-nano's flags do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BootstrapConfig {
    /// The domain (db, cache store, bucket, index and queue name).
    pub domain: String,
    /// Services to create: any of `data`, `cache`, `storage`, `search`, `queue`.
    pub services: Vec<String>,
    /// Services to delete first (their data is lost), a subset of `services`.
    pub purge: Vec<String>,
    /// Webhook URL of the bootstrapped queue (required with `queue`).
    pub queue_target: Option<String>,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            domain: "test".to_string(),
            services: Vec::new(),
            purge: Vec::new(),
            queue_target: None,
        }
    }
}

/// The effective configuration of one nano process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The profile these values were resolved for (set by nano, not by the file).
    #[serde(default = "default_profile")]
    pub profile: Profile,
    /// Address of the HTTP listener.
    pub listen: SocketAddr,
    /// Address of an optional HTTPS listener (same routes); needs `tls_cert` and `tls_key`.
    pub tls_listen: Option<SocketAddr>,
    /// PEM file of the HTTPS listener's certificate chain.
    pub tls_cert: Option<PathBuf>,
    /// PEM file of the HTTPS listener's private key (PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
    /// Whether responses carry `X-Tenant-Host: <tenant>`, naming the tenant that answered.
    pub tenant_host_header: bool,
    /// Directory of every embedded store (SQLite files, storage files, search indexes).
    pub data_dir: PathBuf,
    /// How long in-flight requests may run after SIGTERM/SIGINT, in seconds.
    pub drain_timeout_secs: f64,
    /// Connections open at once per listener; past it new clients wait in the kernel's backlog.
    pub max_connections: usize,
    /// Connections open at once from one client IP per listener; past it a new one is closed at once.
    pub max_connections_per_ip: usize,
    /// Seconds a client may take to send a request's head (on HTTP/1.1 also the longest wait for the next
    /// request on a keep-alive connection).
    pub header_read_timeout_secs: f64,
    /// Seconds a connection may stay open with no request being handled and no byte moving.
    pub idle_timeout_secs: f64,
    /// `pretty` (dev) or `json` (prod).
    pub log_format: LogFormat,
    /// Log filter in `tracing` syntax, e.g. `info` or `nano=debug`.
    pub log_level: String,
    /// The tenant of requests that name none (Host and path). Unset in prod: such requests get 404.
    pub default_tenant: Option<String>,
    /// Tenants created at start if missing.
    pub tenants: Vec<String>,
    /// Whether services requests need a valid key of the addressed tenant.
    pub auth: bool,
    /// Bearer token of the admin API.
    pub admin_token: Option<Secret>,
    /// Key that API-key secrets derive from; set the same value on every node sharing state.
    /// Unset: `<data_dir>/master.key`, created on first start.
    pub master_key: Option<Secret>,
    /// Key of nano's own signed storage URLs (files storage); set the same value on every node sharing a volume.
    /// Unset: `<data_dir>/storage/.signing-key`, created on first start (dev only: prod needs it set).
    pub storage_signing_key: Option<Secret>,
    /// This node's name in logs, admin answers (`X-Nano-Node`) and metrics, and its own upload folder; unset: the
    /// machine's host name.
    pub node_name: Option<String>,
    /// PostgreSQL URL (prod profile).
    pub postgres_url: Option<Secret>,
    /// Connections each node's PostgreSQL pool may open (idle ones close after a minute); each node also holds one
    /// more for the queue's node lock.
    pub postgres_max_connections: u32,
    /// Seconds before the other nodes take over the claims of a node that stopped answering: the queue jobs it was
    /// delivering (a node that exits loses them at once) and the cron runs it claimed but never started.
    pub takeover_secs: f64,
    /// PostgreSQL schema for nano's tables (created if missing); unset means the server's default (`public`).
    pub postgres_schema: Option<String>,
    /// Redis URL (prod profile).
    pub redis_url: Option<Secret>,
    /// First segment of every Redis key nano writes (`<prefix>:<tenant>:cache:<store>:<key>`).
    pub redis_prefix: String,
    pub services: ServicesConfig,
    /// Where the storage service keeps objects: `fs` (files under `data_dir`, shared by nodes only through a shared
    /// volume) or `s3` (the `[s3]` bucket, shared by every node).
    pub storage: StorageBackend,
    /// The S3 bucket of `storage = "s3"`.
    pub s3: S3Config,
    /// Services created at start (hyper-nano's `--data --cache ...` flags).
    pub bootstrap: BootstrapConfig,
    /// Quotas every tenant gets unless `tenant_quotas` names it; unset means unlimited.
    pub quotas: QuotaConfig,
    /// Per-tenant quotas replacing `quotas` for the tenants named (`tenant_quotas.acme.requests_per_second = 5`).
    pub tenant_quotas: std::collections::BTreeMap<String, QuotaConfig>,
    /// Where apps' fetches and queue deliveries may connect.
    pub outbound: OutboundConfig,
    /// Per-tenant outbound host rules (`tenant_outbound.acme.allow = ["api.example.com"]`), on top of `outbound`'s.
    pub tenant_outbound: std::collections::BTreeMap<String, HostRules>,
    /// `[otel]`: OpenTelemetry export of spans and app logs.
    pub otel: OtelConfig,
    /// The JS engine of apps that name none: `v8` (when compiled in) or `quickjs`.
    pub default_engine: String,
    /// Extra V8 flags (as for `node --v8-options`), set once at start, after nano's own; empty by default.
    pub v8_flags: String,
    /// An app's isolate with no request in flight for this many seconds is dropped, and made again (from cached
    /// bytecode) by its next request.
    pub idle_evict_secs: u64,
    /// An open WebSocket whose client sends nothing for this many seconds is closed (1011), so an idle socket does
    /// not keep its app's isolate forever.
    pub websocket_idle_secs: u64,
    /// Megabytes the memory limits of all live isolates may add up to; past it a new isolate is refused (503).
    /// 0: three quarters of the machine's memory.
    pub max_memory_mb: u64,
    /// Worker threads per JS engine for apps with short turns; 0 means two more than the cores. Half as many again
    /// (at least one) run long-turn apps at the lowest CPU priority.
    pub js_threads: usize,
    /// JS apps, each `[[apps]]` in nano.toml.
    #[serde(default)]
    pub apps: Vec<AppConfig>,
    /// Folder of app folders: each `<apps_dir>/<name>/` is an app (skipped when the folder does not exist).
    pub apps_dir: PathBuf,
    /// Whether a Host no app claims gets 404 JSON instead of reaching the services API (IP addresses, `localhost`
    /// and `services_hosts` still reach it).
    pub unknown_host_404: bool,
    /// Hosts (exact or `*.` wildcard) that always reach the services API.
    pub services_hosts: Vec<String>,
    /// The config file these values were read from, watched for app changes (set by nano, not by the file).
    #[serde(skip)]
    pub config_file: Option<PathBuf>,
}

/// Where the storage service keeps objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    Fs,
    S3,
}

/// `[s3]`: an S3-compatible bucket holding every tenant's objects under `<prefix>/<tenant>/<bucket>/<object>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// `http(s)://host:port` of an S3-compatible service (MinIO, SeaweedFS, R2, Ceph RGW); unset is AWS S3.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<Secret>,
    /// Path-style requests (`endpoint/bucket/key`), as MinIO and SeaweedFS expect; else virtual-hosted style.
    pub path_style: bool,
    /// First segments of every key nano writes; give deployments sharing a bucket different prefixes.
    pub prefix: String,
    /// Whether `useSignedUrl` answers S3 presigned URLs; `false` gives nano's own (for endpoints clients cannot
    /// reach).
    pub presign: bool,
}

/// `[outbound]`: the address rule and the node's host rules of apps' fetches and queue deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundConfig {
    /// Whether loopback and private addresses (RFC 1918, 100.64.0.0/10, fc00::/7) are reachable; link-local
    /// (cloud metadata), unspecified, multicast and reserved addresses never are.
    pub private_networks: bool,
    /// No outbound requests at all.
    pub none: bool,
    /// When non-empty, the only hosts reachable (`api.example.com`, `*.example.com`).
    pub allow: Vec<String>,
    /// Hosts never reachable.
    pub deny: Vec<String>,
}

impl OutboundConfig {
    /// The rules the runtime and queue delivery apply.
    pub fn resolve(
        &self,
        tenants: &std::collections::BTreeMap<String, HostRules>,
    ) -> crate::core::outbound::Outbound {
        crate::core::outbound::Outbound {
            private_networks: self.private_networks,
            node: HostRules {
                none: self.none,
                allow: self.allow.clone(),
                deny: self.deny.clone(),
            },
            tenants: tenants.clone(),
        }
    }
}

/// `[otel]`: where spans and app log records go, as OTLP over HTTP with JSON bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtelConfig {
    /// The collector's base URL (`http://collector:4318`); nano posts to `<endpoint>/v1/traces` and
    /// `<endpoint>/v1/logs`. Unset: nothing is exported.
    pub endpoint: Option<String>,
    /// The `service.name` resource attribute.
    pub service_name: String,
}

/// One `[[apps]]` entry: an app served for its hostnames by the JS runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    pub name: String,
    /// The tenant that owns the app (its bindings are scoped to it).
    pub tenant: String,
    /// Hosts routed to the app: exact names and `*.example.com` wildcards; the port is ignored.
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// The entry module; every `.js`/`.mjs` file in its folder is part of the app.
    pub entry: PathBuf,
    /// Env vars: strings, or any TOML value (given to the app as parsed JSON).
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, crate::core::EnvValue>,
    #[serde(default)]
    pub limits: crate::core::Limits,
    /// `NAME = { service = "data", domain = "movies" }`: the app sees `env.NAME`, granted that one domain.
    #[serde(default)]
    pub bindings: std::collections::BTreeMap<String, BindingConfig>,
    /// The JS engine that runs the app, `v8` or `quickjs`; unset takes `default_engine`.
    #[serde(default)]
    pub engine: Option<String>,
    /// `triggers.crons = ["*/5 * * * *"]`: when the app's `scheduled` handler runs (UTC).
    #[serde(default, skip_serializing_if = "TriggersConfig::is_empty")]
    pub triggers: TriggersConfig,
    /// `outbound = "none"`, or `{ allow = [...], deny = [...] }`: the hosts the app's fetch may reach, on top of
    /// its tenant's and the node's rules.
    #[serde(
        default,
        skip_serializing_if = "HostRules::is_empty",
        deserialize_with = "crate::core::outbound::deserialize_rules"
    )]
    pub outbound: HostRules,
}

/// An app's `[apps.triggers]`, as Workers' `[triggers]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriggersConfig {
    /// 5-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC.
    pub crons: Vec<String>,
    /// Queues whose messages the app's `queue` handler consumes, as Workers' `[[queues.consumers]]`.
    pub queues: Vec<QueueConsumerConfig>,
}

impl TriggersConfig {
    pub fn is_empty(&self) -> bool {
        self.crons.is_empty() && self.queues.is_empty()
    }
}

/// One `[[apps.triggers.queues]]` entry: the queue the app consumes, created on load if missing with the app as
/// its target (`app://<name>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConsumerConfig {
    pub queue: String,
    /// Most messages per batch (the queue's concurrency); default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_batch_size: Option<u32>,
    /// Retries after the first delivery before a message is set aside as failed; default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// Seconds before a retried message is delivered again; default 1 (then the queue's exponential backoff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay: Option<u64>,
}

/// A tenant's quotas; unset means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaConfig {
    /// Requests per second (services and apps), with bursts of up to one second's worth; over it: 429.
    pub requests_per_second: Option<u32>,
    /// Documents stored in the data service, over all databases; a write that would pass it gets 429.
    pub documents: Option<u64>,
    /// Live keys in the cache service, over all stores.
    pub cache_keys: Option<u64>,
    /// Bytes of objects in the storage service, over all buckets.
    pub storage_bytes: Option<u64>,
    /// Documents indexed by the search service, over all indexes.
    pub search_docs: Option<u64>,
    /// Jobs (ready and failed) held by the queue service, over all queues.
    pub queue_jobs: Option<u64>,
}

/// One `[apps.bindings]` entry: `{ service = "data", domain = "movies" }`, or `{ service = "app", app = "other" }`
/// (a service binding: `domain` and `app` are one field).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BindingConfig {
    pub service: crate::core::ServiceKind,
    #[serde(alias = "app")]
    pub domain: String,
}

fn default_profile() -> Profile {
    Profile::Dev
}

impl Config {
    /// The built-in defaults of a profile.
    pub fn defaults(profile: Profile) -> Self {
        let dev = profile == Profile::Dev;
        Self {
            profile,
            listen: SocketAddr::from(([127, 0, 0, 1], 6363)),
            tls_listen: None,
            tls_cert: None,
            tls_key: None,
            tenant_host_header: false,
            data_dir: PathBuf::from(".nano"),
            drain_timeout_secs: 15.0,
            max_connections: 10_000,
            max_connections_per_ip: 1_000,
            header_read_timeout_secs: 30.0,
            idle_timeout_secs: 60.0,
            log_format: if dev {
                LogFormat::Pretty
            } else {
                LogFormat::Json
            },
            log_level: "info".to_string(),
            default_tenant: dev.then(|| "default".to_string()),
            tenants: Vec::new(),
            auth: !dev,
            admin_token: None,
            master_key: None,
            storage_signing_key: None,
            node_name: None,
            postgres_url: None,
            postgres_max_connections: 20,
            takeover_secs: 15.0,
            postgres_schema: None,
            redis_url: None,
            redis_prefix: "nano".to_string(),
            services: ServicesConfig::default(),
            storage: StorageBackend::Fs,
            s3: S3Config {
                endpoint: None,
                region: "us-east-1".to_string(),
                bucket: None,
                access_key: None,
                secret_key: None,
                path_style: false,
                prefix: "nano".to_string(),
                presign: true,
            },
            bootstrap: BootstrapConfig::default(),
            quotas: QuotaConfig::default(),
            tenant_quotas: Default::default(),
            outbound: OutboundConfig {
                private_networks: dev,
                none: false,
                allow: Vec::new(),
                deny: Vec::new(),
            },
            tenant_outbound: Default::default(),
            otel: OtelConfig {
                endpoint: None,
                service_name: "nano".to_string(),
            },
            default_engine: crate::app::engines::DEFAULT_ENGINE.to_string(),
            v8_flags: String::new(),
            idle_evict_secs: 300,
            websocket_idle_secs: 300,
            js_threads: 0,
            max_memory_mb: 0,
            apps: Vec::new(),
            apps_dir: PathBuf::from("apps"),
            unknown_host_404: !dev,
            services_hosts: Vec::new(),
            config_file: None,
        }
    }

    /// This node's name: `node_name`, else the machine's host name, else `nano`.
    pub fn node(&self) -> String {
        self.node_name
            .clone()
            .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "nano".to_string())
    }

    /// Resolves the configuration of `profile` from defaults, the optional file, `NANO_*` env vars and `overrides`
    /// (CLI flags, as a partial TOML-like map).
    pub fn load(
        profile: Profile,
        file: Option<&Path>,
        overrides: Dict,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::new().merge(Serialized::defaults(Self::defaults(profile)));
        if let Some(path) = file {
            figment = figment.merge(ConfigFile::read(path)?);
        }
        let figment = figment
            .merge(
                Env::prefixed("NANO_")
                    .split("__")
                    .ignore(&["profile", "config"])
                    .global(),
            )
            .merge(Serialized::globals(overrides))
            .merge(Serialized::globals(Dict::from([(
                "profile".to_string(),
                profile.as_str().into(),
            )])))
            .select(profile.as_str());
        let config: Self = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(describe(e)))?;
        config.validate()?;
        let mut config = config;
        config.config_file = file.map(Path::to_path_buf);
        Ok(config)
    }

    /// `max_memory_mb` in bytes, its 0 resolved to three quarters of the machine's memory (`MemTotal` of
    /// `/proc/meminfo`; no budget where that cannot be read).
    pub fn memory_budget_bytes(&self) -> usize {
        let mb = match self.max_memory_mb {
            0 => std::fs::read_to_string("/proc/meminfo")
                .ok()
                .and_then(|m| {
                    m.lines()
                        .find_map(|l| l.strip_prefix("MemTotal:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                })
                .map_or(0, |kb| kb / 1024 * 3 / 4),
            mb => mb,
        };
        (mb as usize).saturating_mul(1024 * 1024)
    }

    /// `takeover_secs` as a duration.
    pub fn takeover(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.takeover_secs)
    }

    /// The connection limits every listener applies.
    pub fn conn_limits(&self) -> crate::adapters::http::ConnLimits {
        crate::adapters::http::ConnLimits {
            max: self.max_connections,
            max_per_ip: self.max_connections_per_ip,
            header_read_timeout: std::time::Duration::from_secs_f64(self.header_read_timeout_secs),
            idle_timeout: std::time::Duration::from_secs_f64(self.idle_timeout_secs),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: String| Err(ConfigError::Invalid(format!("{key}: {why}")));
        if !(self.drain_timeout_secs.is_finite() && self.drain_timeout_secs >= 0.0) {
            return bad("drain_timeout_secs", "must be a non-negative number".into());
        }
        if !(self.takeover_secs > 0.0 && self.takeover_secs <= 86_400.0) {
            return bad(
                "takeover_secs",
                "must be a positive number of seconds, at most a day (86400)".into(),
            );
        }
        for (key, secs) in [
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
        ] {
            if !(secs.is_finite() && secs > 0.0) {
                return bad(key, "must be a positive number of seconds".into());
            }
        }
        let node = self.outbound.resolve(&self.tenant_outbound);
        for (key, rules) in std::iter::once(("outbound".to_string(), &node.node))
            .chain(
                self.tenant_outbound
                    .iter()
                    .map(|(t, r)| (format!("tenant_outbound.{t}"), r)),
            )
            .chain(
                self.apps
                    .iter()
                    .map(|a| (format!("apps.{}.outbound", a.name), &a.outbound)),
            )
        {
            if let Some(p) = rules.invalid_pattern() {
                return bad(
                    &key,
                    format!("'{p}' is not a host name, `*.` wildcard or IP address"),
                );
            }
        }
        for t in self.tenant_outbound.keys() {
            if let Err(e) = crate::core::TenantId::parse(t) {
                return bad("tenant_outbound", e.to_string());
            }
        }
        if self.max_connections == 0 || self.max_connections_per_ip == 0 {
            return bad(
                "max_connections",
                "max_connections and max_connections_per_ip must be at least 1".into(),
            );
        }
        if let Some(t) = &self.default_tenant {
            if let Err(e) = crate::core::TenantId::parse(t) {
                return bad("default_tenant", e.to_string());
            }
        }
        for t in &self.tenants {
            if let Err(e) = crate::core::TenantId::parse(t) {
                return bad("tenants", e.to_string());
            }
        }
        self.validate_bootstrap()?;
        let mut names = std::collections::HashSet::new();
        for app in &self.apps {
            let key = format!("apps.{}", app.name);
            if let Err(e) = crate::core::AppName::parse(&app.name) {
                return bad("apps.name", e.to_string());
            }
            if !names.insert(app.name.as_str()) {
                return bad(&key, "is declared twice".into());
            }
            if let Err(e) = crate::core::TenantId::parse(&app.tenant) {
                return bad(&format!("{key}.tenant"), e.to_string());
            }
            for h in &app.hostnames {
                if let Err(e) = crate::core::Hostname::parse(h) {
                    return bad(&format!("{key}.hostnames"), e.to_string());
                }
            }
            if let Err(e) = crate::core::check_env(&app.name, &app.env, &app.limits) {
                return bad(&format!("{key}.env"), e.to_string());
            }
        }
        for h in &self.services_hosts {
            if let Err(e) = crate::core::Hostname::parse(h) {
                return bad("services_hosts", e.to_string());
            }
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log_level) {
            return bad("log_level", e.to_string());
        }
        Ok(())
    }

    fn validate_bootstrap(&self) -> Result<(), ConfigError> {
        let b = &self.bootstrap;
        let bad = |why: String| Err(ConfigError::Invalid(format!("bootstrap: {why}")));
        if b.services.is_empty() && b.purge.is_empty() {
            return Ok(());
        }
        if let Err(e) = crate::core::DomainName::parse(&b.domain) {
            return bad(format!("--domain {}", e));
        }
        const KNOWN: [&str; 5] = ["data", "cache", "storage", "search", "queue"];
        for s in &b.services {
            if !KNOWN.contains(&s.as_str()) {
                return bad(format!(
                    "unknown service '{s}' (known: {})",
                    KNOWN.join(", ")
                ));
            }
        }
        for s in &b.purge {
            if !b.services.contains(s) {
                return bad(format!(
                    "--purge names '{s}', which is not one of the services being created ({})",
                    b.services.join(", ")
                ));
            }
        }
        if b.services.iter().any(|s| s == "queue") {
            match b.queue_target.as_deref() {
                Some(t) if t.starts_with("http://") || t.starts_with("https://") => {}
                Some(t) => return bad(format!("--queue-target '{t}' is not an http(s) URL")),
                None => return bad("--queue needs --queue-target URL".into()),
            }
        }
        Ok(())
    }

    /// The configuration as TOML, secrets redacted: what `nano config` prints.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }
}

/// Why configuration failed. The message names the key or file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            // The key as the user wrote it: without the profile figment files top-level keys under.
            let mut path: &[String] = &e.path;
            if path.len() > 1 && matches!(path[0].as_str(), "default" | "global" | "dev" | "prod") {
                path = &path[1..];
            }
            let key = path.join(".");
            let source = e.metadata.as_ref().map(|m| match &m.source {
                Some(figment::Source::File(file)) => file.display().to_string(),
                _ => m.name.to_string(),
            });
            match (key.is_empty(), source) {
                (false, Some(source)) => format!("{key} (in {source}): {}", e.kind),
                (false, None) => format!("{key}: {}", e.kind),
                (true, Some(source)) => format!("{source}: {}", e.kind),
                (true, None) => e.kind.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `nano.toml` as a figment provider: top-level keys go to every profile, `[dev]` and `[prod]` to one.
struct ConfigFile {
    path: PathBuf,
    common: Dict,
    per_profile: Map<figment::Profile, Dict>,
}

impl ConfigFile {
    fn read(path: &Path) -> Result<Self, ConfigError> {
        let unreadable = |reason: String| ConfigError::Unreadable {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
        let mut common: Dict = toml::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
        let mut per_profile = Map::new();
        for name in ["dev", "prod"] {
            if let Some(table) = common.remove(name) {
                let dict = table
                    .into_dict()
                    .ok_or_else(|| unreadable(format!("[{name}] must be a table of settings")))?;
                per_profile.insert(figment::Profile::new(name), dict);
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            common,
            per_profile,
        })
    }
}

impl Provider for ConfigFile {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("config file {}", self.path.display()))
            .source(figment::Source::File(self.path.clone()))
    }

    fn data(&self) -> figment::Result<Map<figment::Profile, Dict>> {
        let mut data = self.per_profile.clone();
        data.insert(figment::Profile::Default, self.common.clone());
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        use std::io::Write;
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn profile_tables_override_common_keys() {
        let f = write(
            "log_level = \"debug\"\n[prod]\nlog_level = \"warn\"\n[dev]\ndata_dir = \"/tmp/x\"\n",
        );
        let dev = Config::load(Profile::Dev, Some(f.path()), Dict::new()).unwrap();
        assert_eq!(dev.log_level, "debug");
        assert_eq!(dev.data_dir, PathBuf::from("/tmp/x"));
        let prod = Config::load(Profile::Prod, Some(f.path()), Dict::new()).unwrap();
        assert_eq!(prod.log_level, "warn");
        assert!(prod.auth);
        assert_eq!(prod.default_tenant, None);
    }

    #[test]
    fn cloudflare_bindings_and_queue_consumers_read_from_toml() {
        let app: AppConfig = toml::from_str(
            r#"
name = "shop"
tenant = "acme"
entry = "index.js"
bindings = { OTHER = { service = "app", app = "auth" }, CARTS = { service = "kv", domain = "carts" } }
triggers = { queues = [{ queue = "orders", max_retries = 1 }] }
"#,
        )
        .unwrap();
        assert_eq!(app.bindings["OTHER"].service, crate::core::ServiceKind::App);
        assert_eq!(app.bindings["OTHER"].domain, "auth");
        assert_eq!(app.bindings["CARTS"].service, crate::core::ServiceKind::Kv);
        assert_eq!(app.triggers.queues[0].queue, "orders");
        assert_eq!(app.triggers.queues[0].max_retries, Some(1));
    }

    #[test]
    fn unknown_keys_are_named() {
        let f = write("listen = \"127.0.0.1:1\"\nbogus_key = 1\n");
        let err = Config::load(Profile::Dev, Some(f.path()), Dict::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus_key"), "{err}");
        // The key as written, once, with the file it is in: no `default.` prefix, no file named twice.
        let file = f.path().display().to_string();
        assert!(err.contains(&format!("bogus_key (in {file})")), "{err}");
        assert!(!err.contains("default."), "{err}");
        assert_eq!(err.matches(&file).count(), 1, "{err}");
    }

    #[test]
    fn bad_values_and_files_are_named() {
        let f = write("listen = \"not an address\"\n");
        let err = Config::load(Profile::Dev, Some(f.path()), Dict::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen"), "{err}");
        let err = Config::load(
            Profile::Dev,
            Some(Path::new("/nonexistent/nano.toml")),
            Dict::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("/nonexistent/nano.toml"), "{err}");
        let f = write("default_tenant = \"Bad Name\"\n");
        let err = Config::load(Profile::Dev, Some(f.path()), Dict::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("default_tenant"), "{err}");
    }

    #[test]
    fn apps_are_read_and_checked() {
        let f = write(
            "[[apps]]\nname = \"hello\"\ntenant = \"acme\"\nhostnames = [\"hello.test\", \"*.apps.test\"]\nentry = \"apps/hello/index.js\"\nenv = { GREETING = \"hi\", CFG = { n = 1 } }\nlimits = { cpu_ms = 20 }\n",
        );
        let c = Config::load(Profile::Dev, Some(f.path()), Dict::new()).unwrap();
        assert_eq!(c.apps.len(), 1);
        let app = &c.apps[0];
        assert_eq!(app.limits.cpu_ms, 20);
        assert_eq!(app.limits.wall_ms, crate::core::Limits::default().wall_ms);
        assert_eq!(
            app.env["GREETING"],
            crate::core::EnvValue::Text("hi".into())
        );
        assert_eq!(
            app.env["CFG"],
            crate::core::EnvValue::Json(serde_json::json!({"n": 1}))
        );
        let f = write("[[apps]]\nname = \"hello\"\ntenant = \"acme\"\nentry = \"x.js\"\nlimits = { env_vars = 0 }\nenv = { A = \"1\" }\n");
        let err = Config::load(Profile::Dev, Some(f.path()), Dict::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("hello"), "{err}");
    }

    #[test]
    fn outbound_rules_are_read_at_every_level_and_checked() {
        let f = write(
            "[outbound]\ndeny = [\"evil.example\"]\n[tenant_outbound.acme]\nallow = [\"*.stripe.com\"]\n[[apps]]\nname = \"a\"\ntenant = \"acme\"\nentry = \"a.js\"\noutbound = \"none\"\n[[apps]]\nname = \"b\"\ntenant = \"acme\"\nentry = \"b.js\"\noutbound = { deny = [\"api.example.com\"] }\n",
        );
        let c = Config::load(Profile::Prod, Some(f.path()), Dict::new()).unwrap();
        assert!(
            !c.outbound.private_networks,
            "prod refuses private networks"
        );
        assert_eq!(c.outbound.deny, vec!["evil.example"]);
        assert_eq!(c.tenant_outbound["acme"].allow, vec!["*.stripe.com"]);
        assert!(c.apps[0].outbound.none);
        assert_eq!(c.apps[1].outbound.deny, vec!["api.example.com"]);
        let policy = c
            .outbound
            .resolve(&c.tenant_outbound)
            .policy("acme", Some(&c.apps[1].outbound));
        assert!(policy.refuses_host("api.stripe.com").is_none());
        assert!(policy.refuses_host("evil.example").is_some());
        assert!(policy.refuses_host("example.org").is_some());
        for bad in [
            "[[apps]]\nname = \"a\"\ntenant = \"acme\"\nentry = \"a.js\"\noutbound = \"all\"\n",
            "[outbound]\nallow = [\"http://x/\"]\n",
            "[tenant_outbound.Not_A_Tenant]\ndeny = [\"x\"]\n",
        ] {
            let f = write(bad);
            let err = Config::load(Profile::Dev, Some(f.path()), Dict::new())
                .unwrap_err()
                .to_string();
            assert!(err.contains("outbound"), "{bad}: {err}");
        }
    }

    #[test]
    fn overrides_win() {
        let f = write("listen = \"127.0.0.1:1\"\n");
        let overrides = Dict::from([("listen".to_string(), "127.0.0.1:2".into())]);
        let c = Config::load(Profile::Dev, Some(f.path()), overrides).unwrap();
        assert_eq!(c.listen.port(), 2);
    }

    #[test]
    fn secrets_are_redacted() {
        let s = Secret::new("postgres://nano:hunter2@db.internal:5432/nano");
        assert_eq!(
            format!("{s:?}"),
            "postgres://nano:***@db.internal:5432/nano"
        );
        assert_eq!(format!("{:?}", Secret::new("token-value")), "***");
        let mut c = Config::defaults(Profile::Prod);
        c.admin_token = Some(Secret::new("hunter2"));
        c.postgres_url = Some(s);
        let text = c.to_toml();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("db.internal"), "{text}");
    }
}
