//! The registry port on PostgreSQL: tenants and keys shared by every nano node.

use super::now_ms;
use super::pool::{connect, PgTarget};
use super::registry_apps as apps;
use crate::core::TenantId;
use crate::ports::registry::KeyRow;
use crate::ports::{ApiKey, AppRecord, Registry, RegistryError, Tenant};
use async_trait::async_trait;
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
];

pub struct PgRegistry {
    pool: PgPool,
}

fn backend(e: sqlx::Error) -> RegistryError {
    RegistryError::Backend(e.to_string())
}

impl PgRegistry {
    /// Connects and migrates. The error names the server (host, port, database), never the password.
    pub async fn open(target: &PgTarget) -> Result<Self, RegistryError> {
        let pool = connect(target, MIGRATIONS)
            .await
            .map_err(RegistryError::Backend)?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Registry for PgRegistry {
    async fn create_tenant(&self, id: &TenantId) -> Result<Tenant, RegistryError> {
        let created_ms = now_ms();
        let done = sqlx::query(
            "INSERT INTO tenants (host, created_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id.as_str())
        .bind(created_ms)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(RegistryError::TenantExists(id.to_string()));
        }
        Ok(Tenant {
            id: id.clone(),
            created_ms,
        })
    }

    async fn ensure_tenant(&self, id: &TenantId) -> Result<Tenant, RegistryError> {
        match self.create_tenant(id).await {
            Err(RegistryError::TenantExists(_)) => self
                .get_tenant(id)
                .await?
                .ok_or_else(|| RegistryError::TenantNotFound(id.to_string())),
            other => other,
        }
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, RegistryError> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT host, created_ms FROM tenants WHERE host = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        row.map(Tenant::from_row).transpose()
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, RegistryError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT host, created_ms FROM tenants ORDER BY host")
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        rows.into_iter().map(Tenant::from_row).collect()
    }

    async fn delete_tenant(&self, id: &TenantId) -> Result<(), RegistryError> {
        let done = sqlx::query("DELETE FROM tenants WHERE host = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(RegistryError::TenantNotFound(id.to_string()));
        }
        Ok(())
    }

    async fn create_key(&self, key: &ApiKey) -> Result<(), RegistryError> {
        let grant =
            serde_json::to_string(&key.grant).map_err(|e| RegistryError::Backend(e.to_string()))?;
        let result = sqlx::query(
            "INSERT INTO keys (host, id, salt, grant_json, created_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(key.tenant.as_str())
        .bind(&key.id)
        .bind(&key.salt)
        .bind(grant)
        .bind(key.created_ms)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(RegistryError::KeyExists(key.id.clone()))
            }
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                Err(RegistryError::TenantNotFound(key.tenant.to_string()))
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn get_key(&self, id: &str) -> Result<Option<ApiKey>, RegistryError> {
        let row: Option<KeyRow> =
            sqlx::query_as("SELECT host, id, salt, grant_json, created_ms FROM keys WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        row.map(ApiKey::from_row).transpose()
    }

    async fn list_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, RegistryError> {
        let rows: Vec<KeyRow> = sqlx::query_as(
            "SELECT host, id, salt, grant_json, created_ms FROM keys WHERE host = $1 ORDER BY created_ms, id",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(ApiKey::from_row).collect()
    }

    async fn delete_key(&self, tenant: &TenantId, id: &str) -> Result<(), RegistryError> {
        let done = sqlx::query("DELETE FROM keys WHERE host = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(RegistryError::KeyNotFound(id.to_string()));
        }
        Ok(())
    }

    async fn put_app(&self, app: &AppRecord) -> Result<(), RegistryError> {
        apps::put(&self.pool, app).await
    }

    async fn get_app(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<Option<AppRecord>, RegistryError> {
        apps::get(&self.pool, tenant, name).await
    }

    async fn list_apps(&self, tenant: &TenantId) -> Result<Vec<AppRecord>, RegistryError> {
        apps::list(&self.pool, Some(tenant)).await
    }

    async fn list_all_apps(&self) -> Result<Vec<AppRecord>, RegistryError> {
        apps::list(&self.pool, None).await
    }

    async fn delete_app(&self, tenant: &TenantId, name: &str) -> Result<(), RegistryError> {
        apps::delete(&self.pool, tenant, name).await
    }
}
