//! The `search_docs` quota around a search store: adds and bulk loads that would pass the tenant's limit are
//! refused whole before anything is indexed.

use super::{Kind, Limits, Meter};
use crate::core::{DomainName, TenantScope};
use crate::ports::search::{BulkOutcome, IndexMapping, SearchHit, SearchQuery};
use crate::ports::{Search, SearchError};
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

pub struct QuotaSearch {
    inner: Arc<dyn Search>,
    meter: Arc<Meter<SearchError>>,
}

impl QuotaSearch {
    pub fn new(inner: Arc<dyn Search>, limits: &Limits) -> Self {
        Self {
            inner,
            meter: Meter::new(Kind::SearchDocs, limits, SearchError::Quota),
        }
    }

    /// How many documents of a bulk are not indexed yet (only asked for limited tenants).
    async fn new_docs(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        docs: &[Value],
    ) -> Result<u64, SearchError> {
        let ids: BTreeSet<&str> = docs
            .iter()
            .filter_map(|d| d.get("_id").or_else(|| d.get("id")).and_then(Value::as_str))
            .collect();
        let mut added = 0;
        for id in ids {
            match self.inner.get(scope, index, id).await {
                Ok(_) => {}
                Err(SearchError::NotFound) => added += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(added)
    }
}

#[async_trait]
impl Search for QuotaSearch {
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), SearchError> {
        let done = self.inner.purge_tenant(scope).await;
        self.meter.forget(scope);
        done
    }

    async fn usage(&self, scope: &TenantScope) -> Result<u64, SearchError> {
        self.inner.usage(scope).await
    }

    async fn list_indexes(&self, scope: &TenantScope) -> Result<Vec<String>, SearchError> {
        self.inner.list_indexes(scope).await
    }

    async fn dump(
        &self,
        scope: &TenantScope,
        index: &DomainName,
    ) -> Result<(IndexMapping, Vec<Map<String, Value>>), SearchError> {
        self.inner.dump(scope, index).await
    }

    async fn create_index(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        mapping: IndexMapping,
    ) -> Result<(), SearchError> {
        self.inner.create_index(scope, index, mapping).await
    }

    async fn delete_index(
        &self,
        scope: &TenantScope,
        index: &DomainName,
    ) -> Result<(), SearchError> {
        let done = self.inner.delete_index(scope, index).await;
        self.meter.forget(scope);
        done
    }

    async fn add(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
        doc: Map<String, Value>,
    ) -> Result<(), SearchError> {
        let held = self
            .meter
            .reserve(scope, 1, || self.inner.usage(scope))
            .await?;
        self.inner.add(scope, index, key, doc).await?;
        held.keep();
        Ok(())
    }

    async fn get(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
    ) -> Result<Map<String, Value>, SearchError> {
        self.inner.get(scope, index, key).await
    }

    async fn update(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
        doc: Map<String, Value>,
    ) -> Result<(), SearchError> {
        self.inner.update(scope, index, key, doc).await
    }

    async fn remove(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
    ) -> Result<(), SearchError> {
        self.inner.remove(scope, index, key).await?;
        self.meter.release(scope, 1);
        Ok(())
    }

    async fn bulk(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        docs: Vec<Value>,
    ) -> Result<Vec<BulkOutcome>, SearchError> {
        let added = match self.meter.limit(scope) {
            None => 0,
            Some(_) => self.new_docs(scope, index, &docs).await?,
        };
        let held = self
            .meter
            .reserve(scope, added, || self.inner.usage(scope))
            .await?;
        let outcomes = self.inner.bulk(scope, index, docs).await?;
        held.keep();
        // Documents the store rejected were counted: read the usage again on the next write.
        if outcomes
            .iter()
            .any(|o| matches!(o, BulkOutcome::Rejected(_)))
        {
            self.meter.forget(scope);
        }
        Ok(outcomes)
    }

    async fn query(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        query: SearchQuery,
    ) -> Result<Vec<SearchHit>, SearchError> {
        self.inner.query(scope, index, query).await
    }
}
