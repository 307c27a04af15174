//! The registry's database on PostgreSQL: tenants, keys and apps shared by every nano node, migrated for the registry
//! that `adapters::sql` implements.

use super::pool::{connect, PgTarget};
use crate::ports::BackendError;
use crate::ports::RegistryError;
use sqlx::PgPool;

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "registry/001_tenants",
        include_str!("../../../migrations/postgres/registry/001_tenants.sql"),
    ),
    (
        "registry/002_keys",
        include_str!("../../../migrations/postgres/registry/002_keys.sql"),
    ),
    (
        "registry/003_apps",
        include_str!("../../../migrations/postgres/registry/003_apps.sql"),
    ),
    (
        "registry/004_cluster",
        include_str!("../../../migrations/postgres/registry/004_cluster.sql"),
    ),
    (
        "registry/005_tenant_deletion",
        include_str!("../../../migrations/postgres/registry/005_tenant_deletion.sql"),
    ),
    (
        "registry/006_app_versions",
        include_str!("../../../migrations/postgres/registry/006_app_versions.sql"),
    ),
];

/// Connects and migrates. The error names the server (host, port, database), never the password.
pub async fn registry_pool(target: &PgTarget) -> Result<PgPool, RegistryError> {
    connect(target, MIGRATIONS)
        .await
        .map_err(|e| RegistryError::Backend(BackendError::msg(e)))
}
