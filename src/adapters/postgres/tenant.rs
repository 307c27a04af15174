//! Tenant transactions: every PostgreSQL adapter touches tenant rows only inside one, which sets `nano.host` for
//! the row-level security policies and, when nano's own user would bypass them (superuser or BYPASSRLS), switches
//! to the `nano_tenant` role for the transaction.

use sqlx::{PgConnection, PgPool, Postgres, Transaction};

/// Whether transactions must `SET LOCAL ROLE nano_tenant` for the policies to apply to nano's user.
pub async fn needs_role(pool: &PgPool) -> Result<bool, sqlx::Error> {
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

/// Confines the open transaction of `conn` to `host` (after any DDL it had to run as nano's own user).
pub async fn confine(
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
    let mut tx = begin(pool, host, use_role).await?;
    for table in tables {
        sqlx::query(&format!("DELETE FROM {table} WHERE host = $1"))
            .bind(host)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}
