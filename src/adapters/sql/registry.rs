//! The registry port on a SQL database: tenants, keys and apps, in the tables that the `sqlite` and `postgres`
//! adapters' registry migrations create. Every statement numbers its parameters `$1..$N` in order of appearance,
//! which PostgreSQL and sqlx's SQLite driver (binding `$N` to the N-th argument) both read the same way.
//!
//! The database decides what must be decided once for a cluster: app names are unique by the `apps` table's keys,
//! hostnames by `app_hostnames` (one row per hostname, written in the app's own transaction). Triggers on `tenants`,
//! `keys` and `apps` bump `registry_version` in the writer's transaction, and on PostgreSQL also notify the nodes
//! listening (`SqlDatabase::registry_changes`).

use super::SqlDatabase;
use crate::core::clock::now_ms;
use crate::core::TenantId;
use crate::ports::registry::{AppRow, KeyRow, PastApp, APP_VERSIONS_KEPT};
use crate::ports::BackendError;
use crate::ports::{ApiKey, AppRecord, Registry, RegistryError, Tenant};
use async_trait::async_trait;
use futures::stream::BoxStream;
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
    (String,): for<'r> FromRow<'r, DB::Row>,
    (i64,): for<'r> FromRow<'r, DB::Row>,
    (i64, String, String, String, String, String, i64): for<'r> FromRow<'r, DB::Row>,
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

    async fn is_deleted(&self, id: &TenantId) -> Result<bool, RegistryError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT host FROM tenants WHERE host = $1 AND deleted_ms IS NOT NULL")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        Ok(row.is_some())
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
        for table in ["keys", "apps", "app_versions"] {
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

    /// One row per app, keyed by tenant and name; its hostnames claimed in `app_hostnames` in the same
    /// transaction, whose keys make names and hostnames unique for every writer at once.
    async fn create_app(&self, app: &AppRecord) -> Result<(), RegistryError> {
        let (hostnames, spec, bundle) = app.json_columns()?;
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let result = sqlx::query(&format!(
            "INSERT INTO apps ({APP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(app.tenant.as_str())
        .bind(app.name.as_str())
        .bind(hostnames.as_str())
        .bind(spec.as_str())
        .bind(bundle.as_str())
        .bind(app.updated_ms)
        .execute(&mut *tx)
        .await;
        match result {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(RegistryError::AppExists(app.name.clone()))
            }
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                return Err(RegistryError::TenantNotFound(app.tenant.to_string()))
            }
            Err(e) => return Err(backend(e)),
        }
        if let Err(taken) = self.claim_hostnames(&mut tx, app).await {
            drop(tx);
            return Err(self.taken(taken).await);
        }
        tx.commit().await.map_err(backend)
    }

    /// Replaces the tenant's app of that name and its hostnames, in one transaction.
    async fn update_app(&self, app: &AppRecord) -> Result<(), RegistryError> {
        let (hostnames, spec, bundle) = app.json_columns()?;
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // The version replaced is kept first (the row is locked by this no-op update on PostgreSQL, so two
        // writers number their versions one after the other), then only the latest few.
        sqlx::query("UPDATE apps SET updated_ms = updated_ms WHERE host = $1 AND name = $2")
            .bind(app.tenant.as_str())
            .bind(app.name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(
            "INSERT INTO app_versions (host, name, seq, hostnames_json, spec_json, bundle_json, updated_ms) \
             SELECT a.host, a.name, \
             (SELECT COALESCE(MAX(v.seq), 0) + 1 FROM app_versions v WHERE v.host = a.host AND v.name = a.name), \
             a.hostnames_json, a.spec_json, a.bundle_json, a.updated_ms \
             FROM apps a WHERE a.host = $1 AND a.name = $2",
        )
        .bind(app.tenant.as_str())
        .bind(app.name.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "DELETE FROM app_versions WHERE host = $1 AND name = $2 AND seq <= \
             (SELECT MAX(seq) FROM app_versions WHERE host = $3 AND name = $4) - $5",
        )
        .bind(app.tenant.as_str())
        .bind(app.name.as_str())
        .bind(app.tenant.as_str())
        .bind(app.name.as_str())
        .bind(APP_VERSIONS_KEPT as i64)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let done = sqlx::query(
            "UPDATE apps SET hostnames_json = $1, spec_json = $2, bundle_json = $3, updated_ms = $4 \
             WHERE host = $5 AND name = $6",
        )
        .bind(hostnames.as_str())
        .bind(spec.as_str())
        .bind(bundle.as_str())
        .bind(app.updated_ms)
        .bind(app.tenant.as_str())
        .bind(app.name.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if DB::rows_affected(&done) == 0 {
            drop(tx);
            let elsewhere: Option<(String,)> =
                sqlx::query_as("SELECT host FROM apps WHERE name = $1")
                    .bind(app.name.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
            return Err(match elsewhere {
                Some(_) => RegistryError::AppExists(app.name.clone()),
                None => RegistryError::AppNotFound(app.name.clone()),
            });
        }
        sqlx::query("DELETE FROM app_hostnames WHERE host = $1 AND name = $2")
            .bind(app.tenant.as_str())
            .bind(app.name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if let Err(taken) = self.claim_hostnames(&mut tx, app).await {
            drop(tx);
            return Err(self.taken(taken).await);
        }
        tx.commit().await.map_err(backend)
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let done = sqlx::query("DELETE FROM apps WHERE host = $1 AND name = $2")
            .bind(tenant.as_str())
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if DB::rows_affected(&done) == 0 {
            return Err(RegistryError::AppNotFound(name.to_string()));
        }
        sqlx::query("DELETE FROM app_versions WHERE host = $1 AND name = $2")
            .bind(tenant.as_str())
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn app_versions(
        &self,
        tenant: &TenantId,
        name: &str,
    ) -> Result<Vec<PastApp>, RegistryError> {
        let rows: Vec<(i64, String, String, String, String, String, i64)> = sqlx::query_as(
            "SELECT seq, host, name, hostnames_json, spec_json, bundle_json, updated_ms FROM app_versions \
             WHERE host = $1 AND name = $2 ORDER BY seq DESC",
        )
        .bind(tenant.as_str())
        .bind(name)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter()
            .map(|(seq, host, name, hostnames, spec, bundle, updated_ms)| {
                AppRecord::from_row((host, name, hostnames, spec, bundle, updated_ms))
                    .map(|app| PastApp { seq, app })
            })
            .collect()
    }

    async fn version(&self) -> Result<i64, RegistryError> {
        let (version,): (i64,) =
            sqlx::query_as("SELECT version FROM registry_version WHERE id = 1")
                .fetch_one(&self.pool)
                .await
                .map_err(backend)?;
        Ok(version)
    }

    async fn changes(&self) -> Option<BoxStream<'static, ()>> {
        DB::registry_changes(&self.pool).await
    }
}

/// Why an app's hostnames could not be claimed: one is taken (by the app `taken` then looks up), or the store failed.
enum Claim {
    Taken(String),
    Failed(RegistryError),
}

impl<DB> SqlRegistry<DB>
where
    DB: SqlDatabase,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    (String,): for<'r> FromRow<'r, DB::Row>,
{
    /// Inserts one `app_hostnames` row per hostname of `app`, within the caller's transaction.
    async fn claim_hostnames(
        &self,
        conn: &mut DB::Connection,
        app: &AppRecord,
    ) -> Result<(), Claim> {
        let unique: std::collections::BTreeSet<&str> =
            app.hostnames.iter().map(String::as_str).collect();
        for hostname in unique {
            let result =
                sqlx::query("INSERT INTO app_hostnames (hostname, host, name) VALUES ($1, $2, $3)")
                    .bind(hostname)
                    .bind(app.tenant.as_str())
                    .bind(app.name.as_str())
                    .execute(&mut *conn)
                    .await;
            match result {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    return Err(Claim::Taken(hostname.to_string()))
                }
                Err(e) => return Err(Claim::Failed(backend(e))),
            }
        }
        Ok(())
    }

    /// The error of a failed claim, naming the app that holds the hostname (looked up after the rollback).
    async fn taken(&self, claim: Claim) -> RegistryError {
        let hostname = match claim {
            Claim::Taken(h) => h,
            Claim::Failed(e) => return e,
        };
        let owner: Option<(String,)> =
            sqlx::query_as("SELECT name FROM app_hostnames WHERE hostname = $1")
                .bind(hostname.as_str())
                .fetch_optional(&self.pool)
                .await
                .unwrap_or(None);
        RegistryError::HostnameTaken {
            hostname,
            app: owner.map_or_else(|| "another app".to_string(), |(name,)| name),
        }
    }
}
