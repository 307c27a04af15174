//! The registry's apps on SQLite: one row per admin-created app, keyed by tenant and (globally unique) name.

use crate::core::TenantId;
use crate::ports::{AppRecord, RegistryError};
use sqlx::SqlitePool;

type AppRow = (String, String, String, String, String, i64);

const COLUMNS: &str = "host, name, hostnames_json, spec_json, bundle_json, updated_ms";

fn corrupt(e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Backend(e.to_string())
}

fn from_row(
    (host, name, hostnames, spec, bundle, updated_ms): AppRow,
) -> Result<AppRecord, RegistryError> {
    Ok(AppRecord {
        tenant: TenantId::parse(&host).map_err(corrupt)?,
        name,
        hostnames: serde_json::from_str(&hostnames).map_err(corrupt)?,
        spec: serde_json::from_str(&spec).map_err(corrupt)?,
        bundle: serde_json::from_str(&bundle).map_err(corrupt)?,
        updated_ms,
    })
}

pub async fn put(pool: &SqlitePool, app: &AppRecord) -> Result<(), RegistryError> {
    let result = sqlx::query(
        "INSERT INTO apps (host, name, hostnames_json, spec_json, bundle_json, updated_ms) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT (host, name) DO UPDATE SET hostnames_json = excluded.hostnames_json, \
         spec_json = excluded.spec_json, bundle_json = excluded.bundle_json, updated_ms = excluded.updated_ms",
    )
    .bind(app.tenant.as_str())
    .bind(&app.name)
    .bind(serde_json::to_string(&app.hostnames).map_err(corrupt)?)
    .bind(app.spec.to_string())
    .bind(serde_json::to_string(&app.bundle).map_err(corrupt)?)
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
    pool: &SqlitePool,
    tenant: &TenantId,
    name: &str,
) -> Result<Option<AppRecord>, RegistryError> {
    let row: Option<AppRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM apps WHERE host = ? AND name = ?"
    ))
    .bind(tenant.as_str())
    .bind(name)
    .fetch_optional(pool)
    .await
    .map_err(corrupt)?;
    row.map(from_row).transpose()
}

pub async fn list(
    pool: &SqlitePool,
    tenant: Option<&TenantId>,
) -> Result<Vec<AppRecord>, RegistryError> {
    let rows: Vec<AppRow> = match tenant {
        Some(t) => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM apps WHERE host = ? ORDER BY name"
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
    rows.into_iter().map(from_row).collect()
}

pub async fn delete(pool: &SqlitePool, tenant: &TenantId, name: &str) -> Result<(), RegistryError> {
    let done = sqlx::query("DELETE FROM apps WHERE host = ? AND name = ?")
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
