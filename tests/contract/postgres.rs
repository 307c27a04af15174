//! PostgreSQL only: row-level security covers every tenant-data table of every adapter, and a transaction that has
//! not set `nano.host` sees none of their rows.

use crate::support::{fresh_name, pg_target};
use bytes::Bytes;
use nano::adapters::postgres::{PgDataStore, PgSearch};
use nano::core::{DomainName, TenantId, TenantScope};
use nano::ports::search::IndexMapping;
use nano::ports::{DataStore, QueueConfig, QueueStore, Search};
use serde_json::json;

#[tokio::test]
async fn every_tenant_table_forces_row_level_security() {
    let target = pg_target();
    let data = PgDataStore::open(&target).await.unwrap();
    let queue = crate::queue::postgres_at(&target).await;
    let search = PgSearch::open(&target).await.unwrap();
    let scope = TenantScope::resolved(TenantId::parse(&fresh_name("t")).unwrap());
    let name = DomainName::parse(&fresh_name("n")).unwrap();
    data.create_db(&scope, &name).await.unwrap();
    data.create_doc(&scope, &name, &json!({"_id": "a"}))
        .await
        .unwrap();
    let fields = nano::core::mango::parse_index_fields(&json!(["title"])).unwrap();
    data.create_index(&scope, &name, "by-title", &fields)
        .await
        .unwrap();
    queue
        .create_queue(
            &scope,
            &name,
            &QueueConfig::new("http://127.0.0.1:9/", None),
        )
        .await
        .unwrap();
    queue
        .enqueue(&scope, &name, Bytes::from_static(b"{}"), 1)
        .await
        .unwrap();
    let mapping = IndexMapping {
        fields: vec!["title".into()],
        ..Default::default()
    };
    search.create_index(&scope, &name, mapping).await.unwrap();
    search
        .add(
            &scope,
            &name,
            "a",
            json!({"title": "x"}).as_object().unwrap().clone(),
        )
        .await
        .unwrap();

    let schema = target.schema.clone().unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(
            target
                .url
                .parse::<sqlx::postgres::PgConnectOptions>()
                .unwrap()
                .options([("search_path", schema.as_str())]),
        )
        .await
        .unwrap();
    let tables: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind = 'r' \
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'host') \
         ORDER BY 1",
    )
    .bind(&schema)
    .fetch_all(&pool)
    .await
    .unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t.0.as_str()).collect();
    for want in ["data_docs", "queue_jobs", "search_docs"] {
        assert!(names.contains(&want), "{names:?}");
    }
    for (table, enabled, forced) in &tables {
        // The registry's tables are read before a tenant is known (key lookup): not under RLS by design.
        if ["tenants", "keys"].contains(&table.as_str()) {
            continue;
        }
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SET LOCAL ROLE nano_tenant")
            .execute(&mut *tx)
            .await
            .unwrap();
        let (visible,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(visible, 0, "{table}: rows visible without nano.host");
        drop(tx);
        assert!(enabled & forced, "{table}: row-level security not forced");
        let (stored,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(
            stored > 0,
            "{table} is empty: the check above proves nothing"
        );
    }
}
