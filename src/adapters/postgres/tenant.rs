//! Tenant transactions: every PostgreSQL adapter touches tenant rows only inside one, which sets `nano.host` for
//! the row-level security policies and, when nano's own user would bypass them (superuser or BYPASSRLS), switches
//! to the `nano_tenant` role for the transaction.
//!
//! Each one also checks, first, that the tenant is not being deleted: it takes the tenant's lock shared (an
//! advisory transaction lock keyed by the tenant's name), then reads the registry's `tenants` row. A deletion
//! marks that row while holding the same lock exclusively (`SqlDatabase::TENANT_LOCK`), so it waits for the
//! transactions in flight, and every later one sees the mark and fails: once the mark is made, no write of the
//! tenant commits on any node, and the purge that follows leaves nothing behind. A tenant without a row (only
//! the contract tests make one) is not checked. Purges run unchecked.

use crate::ports::backend::TenantDeleted;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

/// Tenant locks' first key ("tent" in ASCII); the second is `hashtext(host)`.
pub const TENANT_LOCK_CLASS: i32 = 0x7465_6e74;

/// The registry's `tenants` table and its deletion mark, which every tenant transaction reads: applied by every
/// store (by name, so whichever store opens first creates it) before its own tables.
const TENANTS: &[(&str, &str)] = &[
    (
        "registry/001_tenants",
        include_str!("../../../migrations/postgres/registry/001_tenants.sql"),
    ),
    (
        "registry/005_tenant_deletion",
        include_str!("../../../migrations/postgres/registry/005_tenant_deletion.sql"),
    ),
];

/// Prepares a store's pool for tenant transactions: makes sure the `tenants` table exists, and says whether
/// transactions must `SET LOCAL ROLE nano_tenant` for the policies to apply to nano's user.
pub async fn needs_role(pool: &PgPool) -> Result<bool, sqlx::Error> {
    super::migrate::apply(pool, TENANTS).await?;
    let (exempt, role): (bool, bool) = sqlx::query_as(
        "SELECT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user), \
         EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nano_tenant')",
    )
    .fetch_one(pool)
    .await?;
    Ok(exempt && role)
}

/// Begins a transaction confined to `host` by row-level security.
pub async fn begin(
    pool: &PgPool,
    host: &str,
    use_role: bool,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    confine(&mut tx, host, use_role).await?;
    Ok(tx)
}

/// Confines the open transaction of `conn` to `host` (after any DDL it had to run as nano's own user), once it
/// checked that the tenant is not being deleted (an error naming the tenant if it is).
pub async fn confine(
    conn: &mut PgConnection,
    host: &str,
    use_role: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "SELECT set_config('nano.host', $1, true), pg_advisory_xact_lock_shared($2, hashtext($1))",
    )
    .bind(host)
    .bind(TENANT_LOCK_CLASS)
    .execute(&mut *conn)
    .await?;
    // A statement of its own, after the lock: it sees a mark committed while this transaction waited.
    let deleted: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT deleted_ms FROM tenants WHERE host = $1")
            .bind(host)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((Some(_),)) = deleted {
        return Err(sqlx::Error::Decode(Box::new(TenantDeleted(
            host.to_string(),
        ))));
    }
    confine_unchecked(conn, host, use_role).await
}

/// `confine` without the deletion check: for purges, which run after the mark.
pub async fn confine_unchecked(
    conn: &mut PgConnection,
    host: &str,
    use_role: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('nano.host', $1, true)")
        .bind(host)
        .execute(&mut *conn)
        .await?;
    if use_role {
        sqlx::query("SET LOCAL ROLE nano_tenant")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Deletes every row of `host` from `tables` (in order) in one transaction confined to it: a tenant purge.
pub async fn purge(
    pool: &PgPool,
    host: &str,
    use_role: bool,
    tables: &[&str],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    confine_unchecked(&mut tx, host, use_role).await?;
    for table in tables {
        sqlx::query(&format!("DELETE FROM {table} WHERE host = $1"))
            .bind(host)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}
