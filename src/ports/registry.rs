//! The registry port: tenants, their keys and their admin-created apps, the roots every scope is resolved against.

use super::BackendError;
use crate::core::keys::KeyGrant;
use crate::core::TenantId;
use async_trait::async_trait;
use futures::stream::BoxStream;
use thiserror::Error;

/// A tenant as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// An API key of a tenant. Its secret is not stored: it is derived from the master key, the id and the salt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Globally unique key id: the `sub` of the client's tokens and the user part of its connection string.
    pub id: String,
    pub tenant: TenantId,
    pub salt: String,
    pub grant: KeyGrant,
    pub created_ms: i64,
}

/// An app stored for a tenant: its name and hostnames, its definition as JSON (the app config as serialized, so
/// fields added to it later are kept, plus its source and assets), and any uploaded module files.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRecord {
    pub tenant: TenantId,
    pub name: String,
    pub hostnames: Vec<String>,
    pub spec: serde_json::Value,
    /// Uploaded module files, path -> source; empty for an app read from a folder.
    pub bundle: std::collections::BTreeMap<String, String>,
    pub updated_ms: i64,
}

/// A version an app had before its current one: `seq` numbers an app's past versions, higher for later ones.
#[derive(Debug, Clone, PartialEq)]
pub struct PastApp {
    pub seq: i64,
    pub app: AppRecord,
}

/// How many past versions of an app the registry keeps.
pub const APP_VERSIONS_KEPT: usize = 10;

/// A row as every registry adapter stores a key: `(host, id, salt, grant_json, created_ms)`.
pub type KeyRow = (String, String, String, String, i64);

/// A row as every registry adapter stores an app, in the order of `AppRecord::COLUMNS`.
pub type AppRow = (String, String, String, String, String, i64);

impl Tenant {
    /// A tenant from its stored `(host, created_ms)` row; a host that is not a valid tenant id is a backend error.
    pub fn from_row((host, created_ms): (String, i64)) -> Result<Self, RegistryError> {
        let id = TenantId::parse(&host).map_err(backend)?;
        Ok(Self { id, created_ms })
    }
}

impl AppRecord {
    /// The stored columns of an app, in `AppRow`'s order.
    pub const COLUMNS: &'static str =
        "host, name, hostnames_json, spec_json, bundle_json, updated_ms";

    /// An app from its stored row; a bad host or JSON column is a backend error.
    pub fn from_row(
        (host, name, hostnames, spec, bundle, updated_ms): AppRow,
    ) -> Result<Self, RegistryError> {
        Ok(Self {
            tenant: TenantId::parse(&host).map_err(backend)?,
            name,
            hostnames: serde_json::from_str(&hostnames).map_err(backend)?,
            spec: serde_json::from_str(&spec).map_err(backend)?,
            bundle: serde_json::from_str(&bundle).map_err(backend)?,
            updated_ms,
        })
    }

    /// The app's JSON columns as stored: `(hostnames_json, spec_json, bundle_json)`.
    pub fn json_columns(&self) -> Result<(String, String, String), RegistryError> {
        Ok((
            serde_json::to_string(&self.hostnames).map_err(backend)?,
            self.spec.to_string(),
            serde_json::to_string(&self.bundle).map_err(backend)?,
        ))
    }
}

impl ApiKey {
    /// A key from its stored row; a bad host or grant is a backend error.
    pub fn from_row(
        (host, id, salt, grant_json, created_ms): KeyRow,
    ) -> Result<Self, RegistryError> {
        Ok(Self {
            tenant: TenantId::parse(&host).map_err(backend)?,
            grant: serde_json::from_str(&grant_json).map_err(backend)?,
            id,
            salt,
            created_ms,
        })
    }
}

/// A stored row or column the registry cannot read back: a backend error that keeps its cause.
fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> RegistryError {
    RegistryError::Backend(BackendError::new(e))
}

#[derive(Debug, Error)]
pub enum RegistryError {
    #[error("tenant {0} already exists")]
    TenantExists(String),
    #[error("tenant {0} does not exist")]
    TenantNotFound(String),
    #[error("key {0} does not exist")]
    KeyNotFound(String),
    #[error("key {0} already exists")]
    KeyExists(String),
    #[error("app {0} does not exist")]
    AppNotFound(String),
    #[error("app {0} already exists")]
    AppExists(String),
    #[error("hostname {hostname} already belongs to app {app}")]
    HostnameTaken { hostname: String, app: String },
    #[error("registry backend failed: {0}")]
    Backend(#[source] BackendError),
}

impl crate::core::HasKind for RegistryError {
    fn kind(&self) -> crate::core::ErrorKind {
        use crate::core::ErrorKind;
        match self {
            RegistryError::TenantExists(_)
            | RegistryError::KeyExists(_)
            | RegistryError::AppExists(_)
            | RegistryError::HostnameTaken { .. } => ErrorKind::Conflict,
            RegistryError::TenantNotFound(_)
            | RegistryError::KeyNotFound(_)
            | RegistryError::AppNotFound(_) => ErrorKind::NotFound,
            RegistryError::Backend(_) => ErrorKind::Backend,
        }
    }
}

/// Contract:
/// - `create_tenant` fails with `TenantExists` when the id is taken; `ensure_tenant` never fails for that.
/// - `get_tenant` returns `None` for unknown ids; `list_tenants` is ordered by id.
/// - Deleting a tenant takes two calls around the purge of its data. `mark_tenant_deleted` first: from its return
///   on, `get_tenant` and `list_tenants` no longer see the tenant, its keys are gone, and every tenant transaction
///   of a store sharing the registry's database refuses the tenant (PostgreSQL: the mark waits for the ones in
///   flight). Marking again is allowed (a retried deletion). `delete_tenant` then finishes: the tenant's apps go,
///   and it may be created again (empty). Both fail with `TenantNotFound` for ids that are unknown or deleted.
///   `is_deleted` is true from the mark until the tenant is created again, and false for ids never known: a store
///   that cannot refuse a marked tenant in its own transaction asks it after a write, and undoes the write.
/// - Key ids are unique across tenants (`KeyExists` otherwise); `get_key` finds a key by id alone, since the key
///   is what names the tenant; `list_keys` and `delete_key` are limited to the tenant given.
/// - App names and hostnames are unique across tenants, decided by the store in one step, so two writers (two nodes)
///   can never both have one. `create_app` fails with `AppExists` when any tenant has the name, `update_app` with
///   `AppNotFound` when the tenant has no app of that name (`AppExists` when another tenant has it); both fail with
///   `HostnameTaken` when another app has one of the hostnames (nothing is written then), and `TenantNotFound` when
///   the tenant does not exist. `get_app`, `list_apps` and `delete_app` (`AppNotFound` when missing) see only the
///   tenant given; `list_all_apps` lists every tenant's apps, ordered by tenant then name.
/// - `update_app` keeps the version it replaces, in the same step: `app_versions` lists the tenant's past versions
///   of the app, newest first, at most `APP_VERSIONS_KEPT` of them, empty for an unknown app or another tenant's.
///   Deleting the app (or its tenant) deletes them; an app created again under the name starts with none.
/// - Deleting a tenant deletes its keys and apps, and frees the apps' names and hostnames.
/// - `version` is a number that every write of a tenant, key or app makes larger, visible together with the write:
///   a reader that saw a version saw every write before it. `changes` is an optional stream that yields soon after
///   any writer (any node) commits such a write, and also whenever notices may have been missed (a lost
///   connection); without it (`None`) a follower polls `version`. It is a hint, never the truth: a follower reads
///   `version` and the rows after every notice.
/// - Writes are durable when the call returns.
#[async_trait]
pub trait Registry: Send + Sync + 'static {
    async fn create_tenant(&self, id: &TenantId) -> Result<Tenant, RegistryError>;
    async fn ensure_tenant(&self, id: &TenantId) -> Result<Tenant, RegistryError>;
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, RegistryError>;
    async fn list_tenants(&self) -> Result<Vec<Tenant>, RegistryError>;
    async fn mark_tenant_deleted(&self, id: &TenantId) -> Result<(), RegistryError>;
    async fn is_deleted(&self, id: &TenantId) -> Result<bool, RegistryError>;
    async fn delete_tenant(&self, id: &TenantId) -> Result<(), RegistryError>;
    async fn create_key(&self, key: &ApiKey) -> Result<(), RegistryError>;
    async fn get_key(&self, id: &str) -> Result<Option<ApiKey>, RegistryError>;
    async fn list_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, RegistryError>;
    async fn delete_key(&self, tenant: &TenantId, id: &str) -> Result<(), RegistryError>;
    async fn create_app(&self, app: &AppRecord) -> Result<(), RegistryError>;
    async fn update_app(&self, app: &AppRecord) -> Result<(), RegistryError>;
    async fn get_app(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<Option<AppRecord>, RegistryError>;
    async fn list_apps(&self, tenant: &TenantId) -> Result<Vec<AppRecord>, RegistryError>;
    async fn list_all_apps(&self) -> Result<Vec<AppRecord>, RegistryError>;
    async fn delete_app(&self, tenant: &TenantId, name: &str) -> Result<(), RegistryError>;
    async fn app_versions(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<Vec<PastApp>, RegistryError>;
    async fn version(&self) -> Result<i64, RegistryError>;
    async fn changes(&self) -> Option<BoxStream<'static, ()>>;
}
