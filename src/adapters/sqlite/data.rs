//! The data port on SQLite: documents as JSON text in `data_docs` keyed `(host, db, id)`, Mango queries compiled to
//! SQL over `json_extract`, named indexes backed by shared expression indexes on `(host, db, json_extract(...))`.
//!
//! Tables: `data_databases (host, db)`, `data_docs (host, db, id, doc)` and `data_indexes (host, db, name, fields,
//! physical)`. A named index maps to a physical expression index `data_ix_<hash>` on `data_docs (host, db,
//! json_extract(doc, '$."f"')...)`. It is shared by every tenant and database with the same fields, since SQLite cannot
//! bind parameters in a partial index's WHERE. It is dropped when no named index uses it. Every write goes through
//! the file's group commit (`group_commit.rs`): a bulk write, an index's creation or a database's deletion is one
//! write, all or nothing, and reads use the pool. A list or query asks whether the database exists only when it
//! found no document: a document lives only in an existing database.

use super::group_commit::{run, GroupCommit};
use super::mango_sql::{extract_expr, order_by, Compiler, Param};
use super::pool::{open_pool, open_writer, Durability};
use crate::core::clock::now_ms;
use crate::core::mango::{project, Query, SortKey};
use crate::core::{DomainName, TenantScope};
use crate::ports::data::{
    bulk_writes, doc_id, index_fields_from_text, index_fields_text, put_body,
};
use crate::ports::BackendError;
use crate::ports::{DataError, DataStore, ListOptions};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, SqlitePool};
use std::error::Error;
use std::path::Path;

const MIGRATIONS: &[(&str, &str)] = &[(
    "001_data",
    include_str!("../../../migrations/sqlite/data/001_data.sql"),
)];

/// Documents of every tenant in one SQLite file (`data.db`), durable on commit.
pub struct SqliteDataStore {
    /// Reads.
    pool: SqlitePool,
    /// Writes, committed together.
    writer: GroupCommit,
}

fn backend<E: Error + Send + Sync + 'static>(e: E) -> DataError {
    DataError::Backend(BackendError::new(e))
}

/// Whether `e` refused a row because its key is taken.
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn parse_doc(text: &str) -> Result<Value, DataError> {
    serde_json::from_str(text)
        .map_err(|e| DataError::Backend(BackendError::context("stored document", e)))
}

fn bind_all(params: &[Param]) -> Result<SqliteArguments<'static>, DataError> {
    let mut args = SqliteArguments::default();
    for p in params {
        let r = match p {
            Param::Int(i) => args.add(*i),
            Param::Real(f) => args.add(*f),
            Param::Text(s) => args.add(s.clone()),
        };
        r.map_err(|e| DataError::Backend(BackendError::boxed(e)))?;
    }
    Ok(args)
}

/// The SQLite index serving `fields`: one per distinct field list, shared by every tenant and database.
fn physical_index(fields: &[SortKey]) -> (String, String) {
    let exprs: Vec<String> = fields.iter().map(|k| extract_expr(&k.path)).collect();
    let joined = exprs.join(", ");
    let digest = Sha256::digest(joined.as_bytes());
    let name = format!("data_ix_{}", &hex::encode(digest)[..20]);
    let ddl = format!("CREATE INDEX IF NOT EXISTS {name} ON data_docs (host, db, {joined})");
    (name, ddl)
}

impl SqliteDataStore {
    /// Opens (creating and migrating) the data database at `path`.
    pub async fn open(path: &Path) -> Result<Self, DataError> {
        let pool = open_pool(path, Durability::Full, MIGRATIONS)
            .await
            .map_err(backend)?;
        let writer = open_writer(path, Durability::Full).map_err(backend)?;
        let writer = GroupCommit::start(writer).map_err(backend)?;
        Ok(Self { pool, writer })
    }

    /// Runs `write` in the writer's next group commit and answers once it is durable.
    async fn write<T, F>(&self, write: F) -> Result<T, DataError>
    where
        F: FnOnce(&Connection) -> Result<T, DataError> + Send + 'static,
        T: Send + 'static,
    {
        self.writer
            .write(write)
            .await
            .map_err(|e| DataError::Backend(BackendError::new(e)))?
    }

    /// The query plan SQLite picks for `query` (one line per plan step), for tests and diagnostics.
    pub async fn explain_query(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        query: &Query,
    ) -> Result<Vec<String>, DataError> {
        let (sql, args) = query_sql(scope, db, query)?;
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        // EXPLAIN does not check the schema cookie: run a real read first so this connection sees new indexes.
        sqlx::query("SELECT 1 FROM data_docs LIMIT 0")
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as_with(&format!("EXPLAIN QUERY PLAN {sql}"), args)
                .persistent(false)
                .fetch_all(&mut *conn)
                .await
                .map_err(backend)?;
        Ok(rows.into_iter().map(|r| r.3).collect())
    }

    async fn require_db(&self, scope: &TenantScope, db: &DomainName) -> Result<(), DataError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM data_databases WHERE host = ? AND db = ?")
                .bind(scope.as_str())
                .bind(db.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        match row {
            Some(_) => Ok(()),
            None => Err(DataError::DbNotFound),
        }
    }

    /// The error for a missing document: the database's absence wins.
    async fn missing_doc(&self, scope: &TenantScope, db: &DomainName, id: &str) -> DataError {
        match self.require_db(scope, db).await {
            Ok(()) => DataError::DocNotFound(id.to_string()),
            Err(e) => e,
        }
    }
}

/// Whether the database exists, as the writer's transaction sees it.
fn db_exists(conn: &Connection, host: &str, db: &str) -> Result<bool, DataError> {
    conn.prepare_cached("SELECT 1 FROM data_databases WHERE host = ? AND db = ?")
        .and_then(|mut s| s.exists(params![host, db]))
        .map_err(backend)
}

/// The tenant and database a write closure owns.
fn owned(scope: &TenantScope, db: &DomainName) -> (String, String) {
    (scope.as_str().to_string(), db.as_str().to_string())
}

/// The SELECT for a Mango query of one tenant's database, with its arguments.
fn query_sql(
    scope: &TenantScope,
    db: &DomainName,
    query: &Query,
) -> Result<(String, SqliteArguments<'static>), DataError> {
    let compiled = Compiler::default().selector(&query.selector);
    let mut params = vec![
        Param::Text(scope.as_str().to_string()),
        Param::Text(db.as_str().to_string()),
    ];
    params.extend(compiled.params);
    let mut sql = format!(
        "SELECT doc FROM data_docs WHERE host = ? AND db = ? AND {}{}",
        compiled.text,
        order_by(&query.sort)
    );
    let limit = query
        .limit
        .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    sql.push_str(" LIMIT ? OFFSET ?");
    params.push(Param::Int(limit));
    params.push(Param::Int(i64::try_from(query.skip).unwrap_or(i64::MAX)));
    Ok((sql, bind_all(&params)?))
}

const INSERT_DOC: &str = "INSERT INTO data_docs (host, db, id, doc) \
     SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM data_databases WHERE host = ?1 AND db = ?2)";
const UPSERT_DOC: &str = "INSERT INTO data_docs (host, db, id, doc) \
     SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM data_databases WHERE host = ?1 AND db = ?2) \
     ON CONFLICT (host, db, id) DO UPDATE SET doc = excluded.doc";

#[async_trait]
impl DataStore for SqliteDataStore {
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), DataError> {
        let dbs: Vec<(String,)> = sqlx::query_as("SELECT db FROM data_databases WHERE host = ?")
            .bind(scope.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        for (db,) in dbs {
            let db =
                DomainName::parse(&db).map_err(|e| DataError::Backend(BackendError::new(e)))?;
            match self.delete_db(scope, &db).await {
                Ok(()) | Err(DataError::DbNotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn usage(&self, scope: &TenantScope) -> Result<u64, DataError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM data_docs WHERE host = ?")
            .bind(scope.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(n.max(0) as u64)
    }

    async fn list_dbs(&self, scope: &TenantScope) -> Result<Vec<String>, DataError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT db FROM data_databases WHERE host = ? ORDER BY db")
                .bind(scope.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    async fn list_indexes(
        &self,
        scope: &TenantScope,
        db: &DomainName,
    ) -> Result<Vec<(String, Vec<SortKey>)>, DataError> {
        self.require_db(scope, db).await?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, fields FROM data_indexes WHERE host = ? AND db = ? ORDER BY name",
        )
        .bind(scope.as_str())
        .bind(db.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter()
            .map(|(name, fields)| Ok((name, index_fields_from_text(&fields)?)))
            .collect()
    }

    async fn create_db(&self, scope: &TenantScope, db: &DomainName) -> Result<(), DataError> {
        let (host, db) = owned(scope, db);
        self.write(move |conn| {
            let done = run(
                conn,
                "INSERT INTO data_databases (host, db, created_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                params![host, db, now_ms()],
            )
            .map_err(backend)?;
            if done == 0 {
                return Err(DataError::DbExists);
            }
            Ok(())
        })
        .await
    }

    async fn delete_db(&self, scope: &TenantScope, db: &DomainName) -> Result<(), DataError> {
        let (host, db) = owned(scope, db);
        self.write(move |conn| {
            let physicals: Vec<String> = conn
                .prepare_cached(
                    "SELECT DISTINCT physical FROM data_indexes WHERE host = ? AND db = ?",
                )
                .and_then(|mut s| s.query_map(params![host, db], |row| row.get(0))?.collect())
                .map_err(backend)?;
            for table in ["data_docs", "data_indexes"] {
                run(
                    conn,
                    &format!("DELETE FROM {table} WHERE host = ? AND db = ?"),
                    params![host, db],
                )
                .map_err(backend)?;
            }
            let done = run(
                conn,
                "DELETE FROM data_databases WHERE host = ? AND db = ?",
                params![host, db],
            )
            .map_err(backend)?;
            if done == 0 {
                return Err(DataError::DbNotFound);
            }
            for physical in physicals {
                let used = conn
                    .prepare_cached("SELECT 1 FROM data_indexes WHERE physical = ? LIMIT 1")
                    .and_then(|mut s| s.exists([&physical]))
                    .map_err(backend)?;
                if !used && physical.starts_with("data_ix_") {
                    conn.execute(&format!("DROP INDEX IF EXISTS {physical}"), [])
                        .map_err(backend)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn create_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        doc: &Value,
    ) -> Result<(), DataError> {
        let id = doc_id(doc)?.to_string();
        let text = doc.to_string();
        let (host, db) = owned(scope, db);
        self.write(
            move |conn| match run(conn, INSERT_DOC, params![host, db, id, text]) {
                Ok(0) => Err(DataError::DbNotFound),
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) => Err(DataError::DocExists(id)),
                Err(e) => Err(backend(e)),
            },
        )
        .await
    }

    async fn get_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        id: &str,
    ) -> Result<Value, DataError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT doc FROM data_docs WHERE host = ? AND db = ? AND id = ?")
                .bind(scope.as_str())
                .bind(db.as_str())
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        match row {
            Some((text,)) => parse_doc(&text),
            None => Err(self.missing_doc(scope, db, id).await),
        }
    }

    async fn put_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        id: &str,
        doc: &Value,
    ) -> Result<(), DataError> {
        let text = put_body(id, doc)?.to_string();
        let id = id.to_string();
        let (host, db) = owned(scope, db);
        self.write(move |conn| {
            let done = run(conn, UPSERT_DOC, params![host, db, id, text]).map_err(backend)?;
            if done == 0 {
                return Err(DataError::DbNotFound);
            }
            Ok(())
        })
        .await
    }

    async fn delete_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        id: &str,
    ) -> Result<(), DataError> {
        let (host, name) = owned(scope, db);
        let key = id.to_string();
        let deleted = self
            .write(move |conn| {
                run(
                    conn,
                    "DELETE FROM data_docs WHERE host = ? AND db = ? AND id = ?",
                    params![host, name, key],
                )
                .map_err(backend)
            })
            .await?;
        if deleted == 0 {
            return Err(self.missing_doc(scope, db, id).await);
        }
        Ok(())
    }

    async fn list_docs(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        options: &ListOptions,
    ) -> Result<Vec<Value>, DataError> {
        let mut sql = String::from("SELECT doc FROM data_docs WHERE host = ? AND db = ?");
        let mut params = vec![
            Param::Text(scope.as_str().to_string()),
            Param::Text(db.as_str().to_string()),
        ];
        if let Some(start) = &options.startkey {
            sql.push_str(" AND id >= ?");
            params.push(Param::Text(start.clone()));
        }
        if let Some(end) = &options.endkey {
            sql.push_str(" AND id <= ?");
            params.push(Param::Text(end.clone()));
        }
        if let Some(keys) = &options.keys {
            if keys.is_empty() {
                self.require_db(scope, db).await?;
                return Ok(Vec::new());
            }
            sql.push_str(" AND id IN (SELECT value FROM json_each(?))");
            params.push(Param::Text(Value::from(keys.clone()).to_string()));
        }
        sql.push_str(if options.descending {
            " ORDER BY id DESC"
        } else {
            " ORDER BY id ASC"
        });
        if let Some(limit) = options.limit {
            sql.push_str(" LIMIT ?");
            params.push(Param::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
        }
        let rows: Vec<(String,)> = sqlx::query_as_with(&sql, bind_all(&params)?)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        if rows.is_empty() {
            self.require_db(scope, db).await?;
        }
        rows.iter().map(|(t,)| parse_doc(t)).collect()
    }

    async fn query_docs(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        query: &Query,
    ) -> Result<Vec<Value>, DataError> {
        let (sql, args) = query_sql(scope, db, query)?;
        let rows: Vec<(String,)> = sqlx::query_as_with(&sql, args)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        if rows.is_empty() {
            self.require_db(scope, db).await?;
        }
        rows.iter()
            .map(|(t,)| {
                let doc = parse_doc(t)?;
                Ok(match &query.fields {
                    Some(fields) => project(&doc, fields),
                    None => doc,
                })
            })
            .collect()
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
        let (host, db) = owned(scope, db);
        let name = name.to_string();
        self.write(move |conn| {
            if !db_exists(conn, &host, &db)? {
                return Err(DataError::DbNotFound);
            }
            let existing: Option<String> = conn
                .query_row(
                    "SELECT fields FROM data_indexes WHERE host = ? AND db = ? AND name = ?",
                    params![host, db, name],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)?;
            match existing {
                Some(have) if have == wanted => return Ok(()),
                Some(_) => return Err(DataError::IndexConflict(name)),
                None => {}
            }
            conn.execute(&ddl, []).map_err(backend)?;
            run(
                conn,
                "INSERT INTO data_indexes (host, db, name, fields, physical) VALUES (?, ?, ?, ?, ?)",
                params![host, db, name, wanted, physical],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn bulk(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        docs: &[Value],
    ) -> Result<Vec<String>, DataError> {
        let writes = bulk_writes(docs)?;
        let writes: Vec<(String, Option<String>)> = writes
            .into_iter()
            .map(|(id, body)| (id, body.map(|b| b.to_string())))
            .collect();
        let (host, db) = owned(scope, db);
        self.write(move |conn| {
            if !db_exists(conn, &host, &db)? {
                return Err(DataError::DbNotFound);
            }
            for (id, body) in &writes {
                match body {
                    None => run(
                        conn,
                        "DELETE FROM data_docs WHERE host = ? AND db = ? AND id = ?",
                        params![host, db, id],
                    ),
                    Some(body) => run(conn, UPSERT_DOC, params![host, db, id, body]),
                }
                .map_err(backend)?;
            }
            Ok(writes.into_iter().map(|(id, _)| id).collect())
        })
        .await
    }
}
