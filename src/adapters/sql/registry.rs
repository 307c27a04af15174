//! The registry port on a SQL database: tenants, keys and apps, in the tables that the `sqlite` and `postgres`
//! adapters' registry migrations create. Every statement numbers its parameters `$1..$N` in order of appearance,
//! which PostgreSQL and sqlx's SQLite driver (binding `$N` to the N-th argument) both read the same way.

use super::SqlDatabase;
use crate::core::clock::now_ms;
use crate::core::TenantId;
use crate::ports::registry::{AppRow, KeyRow};
use crate::ports::BackendError;
use crate::ports::{ApiKey, AppRecord, Registry, RegistryError, Tenant};
use async_trait::async_trait;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

const APP_COLUMNS: &str = AppRecord::COLUMNS;

/// The registry over a pool whose database holds the registry's tables.
pub struct SqlRegistry<DB: Database> {
    pool: Pool<DB>,
}

impl<DB: Database> SqlRegistry<DB> {
    /// The registry in `pool`'s database, already migrated by the adapter that opened it.
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

fn backend(e: sqlx::Error) -> RegistryError {
    RegistryError::Backend(BackendError::new(e))
}

#[async_trait]
impl<DB> Registry for SqlRegistry<DB>
where
    DB: SqlDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    i64: for<'q> Encode<'q, DB> + Type<DB>,
    (String, i64): for<'r> FromRow<'r, DB::Row>,
    KeyRow: for<'r> FromRow<'r, DB::Row>,
    AppRow: for<'r> FromRow<'r, DB::Row>,
{
    /// A new row, or a purged tombstone of the same id made new again.
    async fn create_tenant(&self, id: &TenantId) -> Result<Tenant, RegistryError> {
        let created_ms = now_ms();
        let done = sqlx::query(
            "INSERT INTO tenants (host, created_ms) VALUES ($1, $2) ON CONFLICT (host) DO UPDATE \
             SET created_ms = excluded.created_ms, deleted_ms = NULL, purged_ms = NULL \
             WHERE tenants.purged_ms IS NOT NULL",
        )
        .bind(id.as_str())
        .bind(created_ms)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if DB::rows_affected(&done) == 0 {
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
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT host, created_ms FROM tenants WHERE host = $1 AND deleted_ms IS NULL",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(Tenant::from_row).transpose()
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, RegistryError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT host, created_ms FROM tenants WHERE deleted_ms IS NULL ORDER BY host",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(Tenant::from_row).collect()
    }

    /// In one transaction: waits for the tenant's transactions in flight (`TENANT_LOCK`), marks the row and deletes
    /// the keys.
    async fn mark_tenant_deleted(&self, id: &TenantId) -> Result<(), RegistryError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        if let Some(lock) = DB::TENANT_LOCK {
            sqlx::query(lock)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        let done = sqlx::query(
            "UPDATE tenants SET deleted_ms = COALESCE(deleted_ms, $2) WHERE host = $1 AND purged_ms IS NULL",
        )
        .bind(id.as_str())
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if DB::rows_affected(&done) == 0 {
            return Err(RegistryError::TenantNotFound(id.to_string()));
        }
        sqlx::query("DELETE FROM keys WHERE host = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    /// Deletes the apps and keeps the row as a purged tombstone (so late writes still find the mark).
    async fn delete_tenant(&self, id: &TenantId) -> Result<(), RegistryError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let done = sqlx::query(
            "UPDATE tenants SET deleted_ms = COALESCE(deleted_ms, $2), purged_ms = $2 \
             WHERE host = $1 AND purged_ms IS NULL",
        )
        .bind(id.as_str())
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if DB::rows_affected(&done) == 0 {
            return Err(RegistryError::TenantNotFound(id.to_string()));
        }
        for table in ["keys", "apps"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE host = $1"))
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn create_key(&self, key: &ApiKey) -> Result<(), RegistryError> {
        let grant = serde_json::to_string(&key.grant)
            .map_err(|e| RegistryError::Backend(BackendError::new(e)))?;
        let result = sqlx::query(
            "INSERT INTO keys (host, id, salt, grant_json, created_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(key.tenant.as_str())
        .bind(key.id.as_str())
        .bind(key.salt.as_str())
        .bind(grant.as_str())
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
        if DB::rows_affected(&done) == 0 {
            return Err(RegistryError::KeyNotFound(id.to_string()));
        }
        Ok(())
    }

    /// One row per admin-created app, keyed by tenant and name; names are unique across tenants, so another
    /// tenant's name is `AppExists`.
    async fn put_app(&self, app: &AppRecord) -> Result<(), RegistryError> {
        let (hostnames, spec, bundle) = app.json_columns()?;
        let result = sqlx::query(
            "INSERT INTO apps (host, name, hostnames_json, spec_json, bundle_json, updated_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (host, name) DO UPDATE SET hostnames_json = excluded.hostnames_json, \
             spec_json = excluded.spec_json, bundle_json = excluded.bundle_json, updated_ms = excluded.updated_ms",
        )
        .bind(app.tenant.as_str())
        .bind(app.name.as_str())
        .bind(hostnames.as_str())
        .bind(spec.as_str())
        .bind(bundle.as_str())
        .bind(app.updated_ms)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(RegistryError::AppExists(app.name.clone()))
            }
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                Err(RegistryError::TenantNotFound(app.tenant.to_string()))
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn get_app(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<Option<AppRecord>, RegistryError> {
        let row: Option<AppRow> = sqlx::query_as(&format!(
            "SELECT {APP_COLUMNS} FROM apps WHERE host = $1 AND name = $2"
        ))
        .bind(tenant.as_str())
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(AppRecord::from_row).transpose()
    }

    async fn list_apps(&self, tenant: &TenantId) -> Result<Vec<AppRecord>, RegistryError> {
        let rows: Vec<AppRow> = sqlx::query_as(&format!(
            "SELECT {APP_COLUMNS} FROM apps WHERE host = $1 ORDER BY name"
        ))
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(AppRecord::from_row).collect()
    }

    async fn list_all_apps(&self) -> Result<Vec<AppRecord>, RegistryError> {
        let rows: Vec<AppRow> = sqlx::query_as(&format!(
            "SELECT {APP_COLUMNS} FROM apps ORDER BY host, name"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(AppRecord::from_row).collect()
    }

    async fn delete_app(&self, tenant: &TenantId, name: &str) -> Result<(), RegistryError> {
        let done = sqlx::query("DELETE FROM apps WHERE host = $1 AND name = $2")
            .bind(tenant.as_str())
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if DB::rows_affected(&done) == 0 {
            return Err(RegistryError::AppNotFound(name.to_string()));
        }
        Ok(())
    }
}
