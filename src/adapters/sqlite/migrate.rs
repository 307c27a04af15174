//! A minimal migrator: applies each embedded SQL script once, in order, recording it in `_nano_migrations`.

use crate::core::clock::now_ms;
use sqlx::SqlitePool;

pub async fn apply(pool: &SqlitePool, migrations: &[(&str, &str)]) -> Result<(), sqlx::Error> {
    sqlx::query("CREATE TABLE IF NOT EXISTS _nano_migrations (name TEXT PRIMARY KEY, applied_ms INTEGER NOT NULL)")
        .execute(pool)
        .await?;
    for (name, sql) in migrations {
        let mut tx = pool.begin().await?;
        let done: Option<(String,)> =
            sqlx::query_as("SELECT name FROM _nano_migrations WHERE name = ?")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_none() {
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO _nano_migrations (name, applied_ms) VALUES (?, ?)")
                .bind(name)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}
