//! The search port: a tenant's full-text indexes of JSON documents, queried with ranked, typo-tolerant matching.

use super::BackendError;
use crate::core::{DomainName, TenantScope};
use crate::core::{ErrorKind, HasKind};
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SearchError {
    #[error("index already exists")]
    IndexExists,
    #[error("index does not exist")]
    IndexNotFound,
    #[error("document conflict")]
    DocumentConflict,
    #[error("not found")]
    NotFound,
    /// An index definition or document that cannot be used; the message names the problem.
    #[error("{0}")]
    Invalid(String),
    /// A write refused because it would take the tenant over one of its quotas; the message names the tenant, the
    /// quota and its limit.
    #[error("{0}")]
    Quota(String),
    #[error("search backend failed: {0}")]
    Backend(#[source] BackendError),
}

impl HasKind for SearchError {
    fn kind(&self) -> ErrorKind {
        match self {
            SearchError::IndexExists | SearchError::DocumentConflict => ErrorKind::Conflict,
            SearchError::IndexNotFound | SearchError::NotFound => ErrorKind::NotFound,
            SearchError::Invalid(_) => ErrorKind::Invalid,
            SearchError::Quota(_) => ErrorKind::Quota,
            SearchError::Backend(e) => e.kind(),
        }
    }
}

/// How an index is built: the fields searched, the fields returned with each match, and per-field boosts.
/// Field names may be dotted paths into nested objects (`author.name`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndexMapping {
    pub fields: Vec<String>,
    pub store_fields: Vec<String>,
    /// Multiplies a field's score; fields not named have boost 1.
    pub boost: BTreeMap<String, f32>,
}

/// The most terms (runs of letters and digits) a query may hold: each term is several index lookups.
pub const MAX_QUERY_TERMS: usize = 1024;

impl SearchQuery {
    /// Refuses (`Invalid`, 422) a query of more than [`MAX_QUERY_TERMS`] terms. Every adapter calls it first.
    pub fn check(&self) -> Result<(), SearchError> {
        let terms = self
            .text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .count();
        if terms > MAX_QUERY_TERMS {
            return Err(SearchError::Invalid(format!(
                "query has {terms} terms; at most {MAX_QUERY_TERMS} are allowed"
            )));
        }
        Ok(())
    }
}

/// A query: free text, optionally restricted to some of the index's fields and filtered by exact values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchQuery {
    pub text: String,
    /// Searched fields; `None` searches every field of the mapping.
    pub fields: Option<Vec<String>>,
    /// Every `field: value` must equal (JSON equality) the document's value at that field.
    pub filter: Map<String, Value>,
    /// Most matches returned.
    pub limit: usize,
}

/// One match, in hyper's (MiniSearch's) result shape.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub id: String,
    pub score: f32,
    /// Document terms that matched.
    pub terms: Vec<String>,
    /// Query terms that matched something.
    pub query_terms: Vec<String>,
    /// For each matched document term, the fields it was found in.
    pub matched: BTreeMap<String, Vec<String>>,
    /// The values of the mapping's `store_fields` present in the document.
    pub stored: Map<String, Value>,
}

/// The outcome of one document of a bulk load.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkOutcome {
    Indexed(String),
    Rejected(String),
}

/// Contract:
/// - Indexes and documents belong to the scope's tenant: the same index name under another tenant is another
///   index, never seen, queried, overwritten or deleted.
/// - `create_index` fails with `IndexExists` when it exists and `Invalid` for a mapping without fields;
///   `delete_index` succeeds whether or not it existed. Document calls on a missing index fail with `IndexNotFound`.
/// - `add` stores the document under `key` (a string `_id` inside the document wins), failing with
///   `DocumentConflict` when that id exists; `update` replaces an existing document (`NotFound` otherwise);
///   `remove` deletes one (`NotFound` otherwise); `get` returns the stored document with `_id` set.
/// - `bulk` adds or replaces each document under its `_id` or `id`, reporting each one.
/// - `query` ranks by relevance (BM25 with per-field boosts), matches case- and accent-insensitively, by prefix,
///   and with one typo for terms of 5 or more letters; equal scores are ordered by id.
/// - Durability: a write is durable and visible to queries when the call returns.
#[async_trait]
pub trait Search: Send + Sync + 'static {
    /// Removes everything the scope's tenant owns in this service (tenant deletion); other tenants are untouched.
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), SearchError>;
    /// How many documents the scope's tenant has indexed, over all its indexes (the `search_docs` quota).
    async fn usage(&self, scope: &TenantScope) -> Result<u64, SearchError>;

    /// The tenant's indexes, ordered by name (tenant export).
    async fn list_indexes(&self, scope: &TenantScope) -> Result<Vec<String>, SearchError>;
    /// The index's mapping and every stored document (with `_id`), ordered by id (tenant export).
    async fn dump(
        &self,
        scope: &TenantScope,
        index: &DomainName,
    ) -> Result<(IndexMapping, Vec<Map<String, Value>>), SearchError>;
    async fn create_index(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        mapping: IndexMapping,
    ) -> Result<(), SearchError>;
    async fn delete_index(
        &self,
        scope: &TenantScope,
        index: &DomainName,
    ) -> Result<(), SearchError>;
    async fn add(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
        doc: Map<String, Value>,
    ) -> Result<(), SearchError>;
    async fn get(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
    ) -> Result<Map<String, Value>, SearchError>;
    async fn update(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
        doc: Map<String, Value>,
    ) -> Result<(), SearchError>;
    async fn remove(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
    ) -> Result<(), SearchError>;
    async fn bulk(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        docs: Vec<Value>,
    ) -> Result<Vec<BulkOutcome>, SearchError>;
    async fn query(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        query: SearchQuery,
    ) -> Result<Vec<SearchHit>, SearchError>;
}
