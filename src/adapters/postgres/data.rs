//! The data port on PostgreSQL: documents as JSONB in `data_docs` keyed `(host, db, id)`, Mango queries compiled to
//! SQL over `doc #> path` with `jsonb_typeof` checks, named indexes backed by shared expression indexes on
//! `(host, db, (doc #> path)...)`. Every statement runs in a tenant transaction (row-level security) and filters
//! on `host` itself as well.

use super::mango_pg::{extract_expr, order_by, Compiler, Param};
use super::pool::{connect, PgTarget};
use super::tenant;
use crate::core::clock::now_ms;
use crate::core::mango::{project, Query, SortKey};
use crate::core::{DomainName, TenantScope};
use crate::ports::data::{
    bulk_writes, doc_id, index_fields_from_text, index_fields_text, put_body,
};
use crate::ports::BackendError;
use crate::ports::{DataError, DataStore, ListOptions};
use async_trait::async_trait;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, PgPool, Postgres, Transaction};

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "tenant_role",
        include_str!("../../../migrations/postgres/tenant_role.sql"),
    ),
    (
        "data/001_data",
        include_str!("../../../migrations/postgres/data/001_data.sql"),
    ),
];

/// Documents of every tenant in one PostgreSQL schema, shared by every nano node.
pub struct PgDataStore {
    pool: PgPool,
    use_role: bool,
}

fn backend(e: sqlx::Error) -> DataError {
    DataError::Backend(BackendError::new(e))
}

fn bind_all(params: &[Param]) -> Result<PgArguments, DataError> {
    let mut args = PgArguments::default();
    for p in params {
        let r = match p {
            Param::Json(v) => args.add(v.clone()),
            Param::Int(i) => args.add(*i),
            Param::Text(s) => args.add(s.clone()),
        };
        r.map_err(|e| DataError::Backend(BackendError::boxed(e)))?;
    }
    Ok(args)
}

/// The index serving `fields`: one per distinct field list, shared by every tenant and database.
fn physical_index(fields: &[SortKey]) -> (String, String) {
    let exprs: Vec<String> = fields.iter().map(|k| extract_expr(&k.path)).collect();
    let joined = exprs.join(", ");
    let digest = Sha256::digest(joined.as_bytes());
    let name = format!("data_ix_{}", &hex::encode(digest)[..20]);
    let ddl = format!("CREATE INDEX IF NOT EXISTS {name} ON data_docs (host, db, {joined})");
    (name, ddl)
}

/// The SELECT for a Mango query of one tenant's database, with its arguments.
fn query_sql(
    scope: &TenantScope,
    db: &DomainName,
    query: &Query,
) -> Result<(String, PgArguments), DataError> {
    let compiled = Compiler::new(3).selector(&query.selector);
    let mut params = vec![
        Param::Text(scope.as_str().to_string()),
        Param::Text(db.as_str().to_string()),
    ];
    params.extend(compiled.params);
    let n = params.len();
    let sql = format!(
        "SELECT doc FROM data_docs WHERE host = $1 AND db = $2 AND {}{} LIMIT ${} OFFSET ${}",
        compiled.text,
        order_by(&query.sort),
        n + 1,
        n + 2
    );
    let limit = query
        .limit
        .map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
    params.push(Param::Int(limit));
    params.push(Param::Int(i64::try_from(query.skip).unwrap_or(i64::MAX)));
    Ok((sql, bind_all(&params)?))
}

fn push<'q, T>(args: &mut PgArguments, value: T) -> Result<(), DataError>
where
    T: sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + 'q,
{
    args.add(value)
        .map_err(|e| DataError::Backend(BackendError::boxed(e)))
}

const UPSERT_DOC: &str = "INSERT INTO data_docs (host, db, id, doc) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (host, db, id) DO UPDATE SET doc = excluded.doc";

async fn db_exists(
    tx: &mut Transaction<'static, Postgres>,
    scope: &TenantScope,
    db: &DomainName,
) -> Result<bool, DataError> {
    let row: Option<(i32,)> =
        sqlx::query_as("SELECT 1 FROM data_databases WHERE host = $1 AND db = $2")
            .bind(scope.as_str())
            .bind(db.as_str())
            .fetch_optional(&mut **tx)
            .await
            .map_err(backend)?;
    Ok(row.is_some())
}

async fn require_db(
    tx: &mut Transaction<'static, Postgres>,
    scope: &TenantScope,
    db: &DomainName,
) -> Result<(), DataError> {
    if db_exists(tx, scope, db).await? {
        Ok(())
    } else {
        Err(DataError::DbNotFound)
    }
}

impl PgDataStore {
    /// Connects and migrates. The error names the server (host, port, database), never the password.
    pub async fn open(target: &PgTarget) -> Result<Self, DataError> {
        let pool = connect(target, MIGRATIONS)
            .await
            .map_err(|e| DataError::Backend(BackendError::msg(e)))?;
        let use_role = tenant::needs_role(&pool).await.map_err(backend)?;
        Ok(Self { pool, use_role })
    }

    async fn begin(
        &self,
        scope: &TenantScope,
    ) -> Result<Transaction<'static, Postgres>, DataError> {
        tenant::begin(&self.pool, scope.as_str(), self.use_role)
            .await
            .map_err(backend)
    }

    /// The query plan PostgreSQL picks for `query` (one line per plan step), for tests and diagnostics.
    pub async fn explain_query(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        query: &Query,
    ) -> Result<Vec<String>, DataError> {
        let (sql, args) = query_sql(scope, db, query)?;
        let mut tx = self.begin(scope).await?;
        sqlx::query("SET LOCAL enable_seqscan = off")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let rows: Vec<(String,)> = sqlx::query_as_with(&format!("EXPLAIN {sql}"), args)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// The error for a missing document: the database's absence wins.
    async fn missing_doc(
        tx: &mut Transaction<'static, Postgres>,
        scope: &TenantScope,
        db: &DomainName,
        id: &str,
    ) -> DataError {
        match require_db(tx, scope, db).await {
            Ok(()) => DataError::DocNotFound(id.to_string()),
            Err(e) => e,
        }
    }
}

#[async_trait]
impl DataStore for PgDataStore {
    async fn usage(&self, scope: &TenantScope) -> Result<u64, DataError> {
        let mut tx = self.begin(scope).await?;
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM data_docs WHERE host = $1")
            .bind(scope.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(n.max(0) as u64)
    }

    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), DataError> {
        tenant::purge(
            &self.pool,
            scope.as_str(),
            self.use_role,
            &["data_docs", "data_indexes", "data_databases"],
        )
        .await
        .map_err(backend)
    }

    async fn list_dbs(&self, scope: &TenantScope) -> Result<Vec<String>, DataError> {
        let mut tx = self.begin(scope).await?;
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT db FROM data_databases WHERE host = $1 ORDER BY db COLLATE \"C\"",
        )
        .bind(scope.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    async fn list_indexes(
        &self,
        scope: &TenantScope,
        db: &DomainName,
    ) -> Result<Vec<(String, Vec<SortKey>)>, DataError> {
        let mut tx = self.begin(scope).await?;
        require_db(&mut tx, scope, db).await?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, fields FROM data_indexes WHERE host = $1 AND db = $2 ORDER BY name COLLATE \"C\"",
        )
        .bind(scope.as_str())
        .bind(db.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        rows.into_iter()
            .map(|(name, fields)| Ok((name, index_fields_from_text(&fields)?)))
            .collect()
    }

    async fn create_db(&self, scope: &TenantScope, db: &DomainName) -> Result<(), DataError> {
        let mut tx = self.begin(scope).await?;
        let done = sqlx::query(
            "INSERT INTO data_databases (host, db, created_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(scope.as_str())
        .bind(db.as_str())
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(DataError::DbExists);
        }
        tx.commit().await.map_err(backend)
    }

    async fn delete_db(&self, scope: &TenantScope, db: &DomainName) -> Result<(), DataError> {
        let mut tx = self.begin(scope).await?;
        let done = sqlx::query("DELETE FROM data_databases WHERE host = $1 AND db = $2")
            .bind(scope.as_str())
            .bind(db.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(DataError::DbNotFound);
        }
        tx.commit().await.map_err(backend)
    }

    async fn create_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        doc: &Value,
    ) -> Result<(), DataError> {
        let id = doc_id(doc)?;
        let mut tx = self.begin(scope).await?;
        require_db(&mut tx, scope, db).await?;
        let done = sqlx::query(
            "INSERT INTO data_docs (host, db, id, doc) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(scope.as_str())
        .bind(db.as_str())
        .bind(id)
        .bind(doc)
        .execute(&mut *tx)
        .await;
        match done {
            Ok(r) if r.rows_affected() == 0 => Err(DataError::DocExists(id.to_string())),
            Ok(_) => tx.commit().await.map_err(backend),
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                Err(DataError::DbNotFound)
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn get_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        id: &str,
    ) -> Result<Value, DataError> {
        let mut tx = self.begin(scope).await?;
        let row: Option<(Value,)> =
            sqlx::query_as("SELECT doc FROM data_docs WHERE host = $1 AND db = $2 AND id = $3")
                .bind(scope.as_str())
                .bind(db.as_str())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        match row {
            Some((doc,)) => Ok(doc),
            None => Err(Self::missing_doc(&mut tx, scope, db, id).await),
        }
    }

    async fn put_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        id: &str,
        doc: &Value,
    ) -> Result<(), DataError> {
        let body = put_body(id, doc)?;
        let mut tx = self.begin(scope).await?;
        require_db(&mut tx, scope, db).await?;
        sqlx::query(UPSERT_DOC)
            .bind(scope.as_str())
            .bind(db.as_str())
            .bind(id)
            .bind(body)
            .execute(&mut *tx)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(d) if d.is_foreign_key_violation() => DataError::DbNotFound,
                e => backend(e),
            })?;
        tx.commit().await.map_err(backend)
    }

    async fn delete_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        id: &str,
    ) -> Result<(), DataError> {
        let mut tx = self.begin(scope).await?;
        let done = sqlx::query("DELETE FROM data_docs WHERE host = $1 AND db = $2 AND id = $3")
            .bind(scope.as_str())
            .bind(db.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(Self::missing_doc(&mut tx, scope, db, id).await);
        }
        tx.commit().await.map_err(backend)
    }

    async fn list_docs(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        options: &ListOptions,
    ) -> Result<Vec<Value>, DataError> {
        let mut tx = self.begin(scope).await?;
        require_db(&mut tx, scope, db).await?;
        let mut sql = String::from("SELECT doc FROM data_docs WHERE host = $1 AND db = $2");
        let mut args = PgArguments::default();
        let mut n = 2;
        push(&mut args, scope.as_str().to_string())?;
        push(&mut args, db.as_str().to_string())?;
        if let Some(start) = &options.startkey {
            n += 1;
            sql.push_str(&format!(" AND id >= ${n}"));
            push(&mut args, start.clone())?;
        }
        if let Some(end) = &options.endkey {
            n += 1;
            sql.push_str(&format!(" AND id <= ${n}"));
            push(&mut args, end.clone())?;
        }
        if let Some(keys) = &options.keys {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            n += 1;
            sql.push_str(&format!(" AND id = ANY(${n})"));
            push(&mut args, keys.clone())?;
        }
        sql.push_str(if options.descending {
            " ORDER BY id DESC"
        } else {
            " ORDER BY id ASC"
        });
        if let Some(limit) = options.limit {
            n += 1;
            sql.push_str(&format!(" LIMIT ${n}"));
            push(&mut args, i64::try_from(limit).unwrap_or(i64::MAX))?;
        }
        let rows: Vec<(Value,)> = sqlx::query_as_with(&sql, args)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(|(d,)| d).collect())
    }

    async fn query_docs(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        query: &Query,
    ) -> Result<Vec<Value>, DataError> {
        let mut tx = self.begin(scope).await?;
        require_db(&mut tx, scope, db).await?;
        let (sql, args) = query_sql(scope, db, query)?;
        let rows: Vec<(Value,)> = sqlx::query_as_with(&sql, args)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(d) if d.code().as_deref() == Some("2201B") => {
                    DataError::Invalid(format!("invalid $regex: {}", d.message()))
                }
                e => backend(e),
            })?;
        Ok(rows
            .into_iter()
            .map(|(doc,)| match &query.fields {
                Some(fields) => project(&doc, fields),
                None => doc,
            })
            .collect())
    }

    async fn create_index(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        name: &str,
        fields: &[SortKey],
    ) -> Result<(), DataError> {
        let wanted = index_fields_text(fields)?;
        let (physical, ddl) = physical_index(fields);
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // The shared index is DDL, run as nano's own user before the transaction is confined to the tenant;
        // concurrent builders of the same index take turns on an advisory lock named after it.
        let lock = i64::from_str_radix(&physical[8..23], 16).unwrap_or(0);
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(lock)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(&ddl).execute(&mut *tx).await.map_err(backend)?;
        tenant::confine(&mut tx, scope.as_str(), self.use_role)
            .await
            .map_err(backend)?;
        require_db(&mut tx, scope, db).await?;
        let existing: Option<(String,)> = sqlx::query_as(
            "SELECT fields FROM data_indexes WHERE host = $1 AND db = $2 AND name = $3",
        )
        .bind(scope.as_str())
        .bind(db.as_str())
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        match existing {
            Some((have,)) if have == wanted => return tx.commit().await.map_err(backend),
            Some(_) => return Err(DataError::IndexConflict(name.to_string())),
            None => {}
        }
        sqlx::query(
            "INSERT INTO data_indexes (host, db, name, fields, physical) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(scope.as_str())
        .bind(db.as_str())
        .bind(name)
        .bind(&wanted)
        .bind(&physical)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn bulk(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        docs: &[Value],
    ) -> Result<Vec<String>, DataError> {
        let writes = bulk_writes(docs)?;
        let mut tx = self.begin(scope).await?;
        // Lock the database row so a concurrent delete_db waits for this bulk (or this bulk sees it gone).
        let row: Option<(i32,)> =
            sqlx::query_as("SELECT 1 FROM data_databases WHERE host = $1 AND db = $2 FOR SHARE")
                .bind(scope.as_str())
                .bind(db.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        if row.is_none() {
            return Err(DataError::DbNotFound);
        }
        for (id, body) in &writes {
            match body {
                None => {
                    sqlx::query("DELETE FROM data_docs WHERE host = $1 AND db = $2 AND id = $3")
                        .bind(scope.as_str())
                        .bind(db.as_str())
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                Some(body) => {
                    sqlx::query(UPSERT_DOC)
                        .bind(scope.as_str())
                        .bind(db.as_str())
                        .bind(id)
                        .bind(body)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
            }
        }
        tx.commit().await.map_err(backend)?;
        Ok(writes.into_iter().map(|(id, _)| id).collect())
    }
}
