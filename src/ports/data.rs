//! The data port: hyper's document databases per tenant (create/delete db, documents by `_id`, list, Mango query,
//! indexes, bulk), and what every store does alike to the documents and index fields it is given.

use super::BackendError;
use crate::core::mango::{parse_index_fields, Query, SortDir, SortKey};
use crate::core::{DomainName, TenantScope};
use crate::core::{ErrorKind, HasKind};
use async_trait::async_trait;
use serde_json::Value;
use thiserror::Error;

/// `GET /data/:db` options. `keys` are exact `_id`s; `startkey`/`endkey` are inclusive bounds on `_id`, never
/// swapped by `descending`; `limit: None` means every document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    pub limit: Option<u64>,
    pub startkey: Option<String>,
    pub endkey: Option<String>,
    pub keys: Option<Vec<String>>,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DataError {
    #[error("database already exists")]
    DbExists,
    #[error("database does not exist")]
    DbNotFound,
    #[error("document with _id {0} already exists")]
    DocExists(String),
    #[error("document with _id {0} does not exist")]
    DocNotFound(String),
    #[error("index {0} fields do not match the existing index with the same name")]
    IndexConflict(String),
    /// Input the store cannot accept (a document without `_id` in a bulk, a non-object document).
    #[error("{0}")]
    Invalid(String),
    /// A write refused because it would take the tenant over one of its quotas; the message names the tenant, the
    /// quota and its limit.
    #[error("{0}")]
    Quota(String),
    #[error("data backend failed: {0}")]
    Backend(#[source] BackendError),
}

impl HasKind for DataError {
    fn kind(&self) -> ErrorKind {
        match self {
            DataError::DbExists | DataError::DocExists(_) | DataError::IndexConflict(_) => {
                ErrorKind::Conflict
            }
            DataError::DbNotFound | DataError::DocNotFound(_) => ErrorKind::NotFound,
            DataError::Invalid(_) => ErrorKind::Malformed,
            DataError::Quota(_) => ErrorKind::Quota,
            DataError::Backend(e) => e.kind(),
        }
    }
}

/// Contract:
/// - Databases belong to the scope's tenant: the same db name and `_id`s under two tenants are unrelated; nothing
///   one tenant does (create, put, delete, query, list, bulk, index, delete db) reads or changes the other's.
/// - Every document operation on a database that does not exist fails with `DbNotFound`.
/// - Documents are JSON objects whose `_id` (a string) is their key; `create_doc` fails with `DocExists` on a taken id,
///   `put_doc` replaces or creates, `get_doc`/`delete_doc` fail with `DocNotFound` for a missing id.
/// - `list_docs` is ordered by `_id` (descending when asked), bounded by `startkey`/`endkey` inclusively.
/// - `query_docs` returns the documents the selector matches, sorted, skipped, limited and projected as asked.
///   Comparisons are type-aware: numbers compare with numbers, strings with strings, never across.
/// - `create_index` is idempotent for the same fields and fails with `IndexConflict` for other fields under the
///   same name. Deleting a database deletes its documents and indexes.
/// - `bulk` upserts every document (dropping an `_update` key) and removes those with `_deleted: true`, all or
///   nothing, returning the ids in input order. Every document needs a string `_id`.
/// - A write is durable (committed) when the call returns.
#[async_trait]
pub trait DataStore: Send + Sync + 'static {
    /// Removes everything the scope's tenant owns in this service (tenant deletion); other tenants are untouched.
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), DataError>;
    /// How many documents the scope's tenant stores, over all its databases (what the `documents` quota counts).
    async fn usage(&self, scope: &TenantScope) -> Result<u64, DataError>;

    /// The tenant's databases, ordered by name (tenant export).
    async fn list_dbs(&self, scope: &TenantScope) -> Result<Vec<String>, DataError>;
    async fn create_db(&self, scope: &TenantScope, db: &DomainName) -> Result<(), DataError>;
    /// The database's named indexes with their fields, ordered by name (tenant export).
    async fn list_indexes(
        &self,
        scope: &TenantScope,
        db: &DomainName,
    ) -> Result<Vec<(String, Vec<SortKey>)>, DataError>;
    async fn delete_db(&self, scope: &TenantScope, db: &DomainName) -> Result<(), DataError>;
    /// Stores `doc` (an object with a string `_id`) as a new document.
    async fn create_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        doc: &Value,
    ) -> Result<(), DataError>;
    async fn get_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        id: &str,
    ) -> Result<Value, DataError>;
    /// Replaces (or creates) the document `id` with `doc`, whose `_id` is set to `id`.
    async fn put_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        id: &str,
        doc: &Value,
    ) -> Result<(), DataError>;
    async fn delete_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        id: &str,
    ) -> Result<(), DataError>;
    async fn list_docs(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        options: &ListOptions,
    ) -> Result<Vec<Value>, DataError>;
    async fn query_docs(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        query: &Query,
    ) -> Result<Vec<Value>, DataError>;
    async fn create_index(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        name: &str,
        fields: &[SortKey],
    ) -> Result<(), DataError>;
    /// Applies every document in one transaction; returns their ids in order.
    async fn bulk(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        docs: &[Value],
    ) -> Result<Vec<String>, DataError>;
}

/// A document's key: its `_id`, which must be a non-empty string.
pub fn doc_id(doc: &Value) -> Result<&str, DataError> {
    match doc.get("_id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id),
        _ => Err(DataError::Invalid("document needs a string _id".into())),
    }
}

/// What `put_doc` stores: `doc`, which must be an object, with its `_id` set to `id`.
pub fn put_body(id: &str, doc: &Value) -> Result<Value, DataError> {
    let Value::Object(fields) = doc else {
        return Err(DataError::Invalid("document must be a JSON object".into()));
    };
    let mut fields = fields.clone();
    fields.insert("_id".into(), Value::String(id.to_string()));
    Ok(Value::Object(fields))
}

/// What `bulk` writes, in input order: each document's id with what to store under it (without its `_update` key),
/// or `None` to remove it (`_deleted: true`). Fails, before anything is written, on a document that is not an
/// object or has no string `_id`.
pub fn bulk_writes(docs: &[Value]) -> Result<Vec<(String, Option<Value>)>, DataError> {
    docs.iter()
        .enumerate()
        .map(|(i, doc)| {
            let Value::Object(fields) = doc else {
                return Err(DataError::Invalid(format!(
                    "bulk document {i} is not a JSON object"
                )));
            };
            let id = doc_id(doc)
                .map_err(|_| DataError::Invalid(format!("bulk document {i} needs a string _id")))?;
            if doc.get("_deleted") == Some(&Value::Bool(true)) {
                return Ok((id.to_string(), None));
            }
            let mut fields = fields.clone();
            fields.remove("_update");
            Ok((id.to_string(), Some(Value::Object(fields))))
        })
        .collect()
}

/// An index's fields as a store keeps them (`[{"a":"ASC"}]`, compared to tell a repeated `create_index` from a
/// conflicting one); `Invalid` when there are none.
pub fn index_fields_text(fields: &[SortKey]) -> Result<String, DataError> {
    if fields.is_empty() {
        return Err(DataError::Invalid(
            "index fields must name at least one field".into(),
        ));
    }
    let list: Vec<Value> = fields
        .iter()
        .map(|k| {
            let dir = match k.dir {
                SortDir::Asc => "ASC",
                SortDir::Desc => "DESC",
            };
            serde_json::json!({ k.path.to_string(): dir })
        })
        .collect();
    Ok(Value::Array(list).to_string())
}

/// Index fields as kept (`index_fields_text`) back into sort keys.
pub fn index_fields_from_text(text: &str) -> Result<Vec<SortKey>, DataError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| DataError::Backend(BackendError::new(e)))?;
    parse_index_fields(&value).map_err(|e| DataError::Backend(BackendError::new(e)))
}
