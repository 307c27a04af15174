//! The registry's database on SQLite: `registry.db`, migrated for the registry that `adapters::sql` implements.

use super::pool::{open_pool, Durability};
use crate::ports::BackendError;
use crate::ports::RegistryError;
use sqlx::SqlitePool;
use std::path::Path;

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "001_tenants",
        include_str!("../../../migrations/sqlite/registry/001_tenants.sql"),
    ),
    (
        "002_keys",
        include_str!("../../../migrations/sqlite/registry/002_keys.sql"),
    ),
    (
        "003_apps",
        include_str!("../../../migrations/sqlite/registry/003_apps.sql"),
    ),
    (
        "004_cluster",
        include_str!("../../../migrations/sqlite/registry/004_cluster.sql"),
    ),
    (
        "005_tenant_deletion",
        include_str!("../../../migrations/sqlite/registry/005_tenant_deletion.sql"),
    ),
    (
        "006_app_versions",
        include_str!("../../../migrations/sqlite/registry/006_app_versions.sql"),
    ),
];

/// Opens the registry database at `path`, creating and migrating it as needed.
pub async fn registry_pool(path: &Path) -> Result<SqlitePool, RegistryError> {
    open_pool(path, Durability::Full, MIGRATIONS)
        .await
        .map_err(|e| RegistryError::Backend(BackendError::new(e)))
}
