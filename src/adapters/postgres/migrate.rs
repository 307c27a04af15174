//! Migrations on PostgreSQL: each embedded script once, in order, under a session advisory lock so several nodes
//! starting together apply them exactly once.

use sqlx::{Connection, PgPool};

/// Advisory lock key shared by every nano node ("nano" in ASCII).
const MIGRATION_LOCK: i64 = 0x6e61_6e6f;

pub async fn apply(pool: &PgPool, migrations: &[(&str, &str)]) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await?;
    let result = apply_locked(&mut conn, migrations).await;
    let unlock = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await;
    result.and(unlock.map(|_| ()))
}

async fn apply_locked(
    conn: &mut sqlx::PgConnection,
    migrations: &[(&str, &str)],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS _nano_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .execute(&mut *conn)
    .await?;
    for (name, sql) in migrations {
        let mut tx = conn.begin().await?;
        let done: Option<(String,)> =
            sqlx::query_as("SELECT name FROM _nano_migrations WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_none() {
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO _nano_migrations (name) VALUES ($1)")
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}
