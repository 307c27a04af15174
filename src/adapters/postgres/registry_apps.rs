//! The registry's apps on PostgreSQL: one row per admin-created app, keyed by tenant and (globally unique) name.

use crate::core::TenantId;
use crate::ports::registry::AppRow;
use crate::ports::{AppRecord, RegistryError};
use sqlx::PgPool;

const COLUMNS: &str = AppRecord::COLUMNS;

fn corrupt(e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Backend(e.to_string())
}

pub async fn put(pool: &PgPool, app: &AppRecord) -> Result<(), RegistryError> {
    let (hostnames, spec, bundle) = app.json_columns()?;
    let result = sqlx::query(
        "INSERT INTO apps (host, name, hostnames_json, spec_json, bundle_json, updated_ms) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (host, name) DO UPDATE SET hostnames_json = excluded.hostnames_json, \
         spec_json = excluded.spec_json, bundle_json = excluded.bundle_json, updated_ms = excluded.updated_ms",
    )
    .bind(app.tenant.as_str())
    .bind(&app.name)
    .bind(hostnames)
    .bind(spec)
    .bind(bundle)
    .bind(app.updated_ms)
    .execute(pool)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(RegistryError::AppExists(app.name.clone()))
        }
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            Err(RegistryError::TenantNotFound(app.tenant.to_string()))
        }
        Err(e) => Err(corrupt(e)),
    }
}

pub async fn get(
    pool: &PgPool,
    tenant: &TenantId,
    name: &str,
) -> Result<Option<AppRecord>, RegistryError> {
    let row: Option<AppRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM apps WHERE host = $1 AND name = $2"
    ))
    .bind(tenant.as_str())
    .bind(name)
    .fetch_optional(pool)
    .await
    .map_err(corrupt)?;
    row.map(AppRecord::from_row).transpose()
}

pub async fn list(
    pool: &PgPool,
    tenant: Option<&TenantId>,
) -> Result<Vec<AppRecord>, RegistryError> {
    let rows: Vec<AppRow> = match tenant {
        Some(t) => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM apps WHERE host = $1 ORDER BY name"
            ))
            .bind(t.as_str())
            .fetch_all(pool)
            .await
        }
        None => {
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM apps ORDER BY host, name"))
                .fetch_all(pool)
                .await
        }
    }
    .map_err(corrupt)?;
    rows.into_iter().map(AppRecord::from_row).collect()
}

pub async fn delete(pool: &PgPool, tenant: &TenantId, name: &str) -> Result<(), RegistryError> {
    let done = sqlx::query("DELETE FROM apps WHERE host = $1 AND name = $2")
        .bind(tenant.as_str())
        .bind(name)
        .execute(pool)
        .await
        .map_err(corrupt)?;
    if done.rows_affected() == 0 {
        return Err(RegistryError::AppNotFound(name.to_string()));
    }
    Ok(())
}
