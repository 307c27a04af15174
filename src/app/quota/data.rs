//! The `documents` quota around a data store: creates and bulk inserts that would pass the tenant's limit are
//! refused whole before anything is written.

use super::{Kind, Limits, Meter};
use crate::core::mango::{Query, SortKey};
use crate::core::{DomainName, TenantScope};
use crate::ports::{DataError, DataStore, ListOptions};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct QuotaData {
    inner: Arc<dyn DataStore>,
    meter: Arc<Meter<DataError>>,
}

impl QuotaData {
    pub fn new(inner: Arc<dyn DataStore>, limits: &Limits) -> Self {
        Self {
            inner,
            meter: Meter::new(Kind::Documents, limits, DataError::Quota),
        }
    }

    /// How many documents a bulk adds (ids not stored yet) and removes (stored ids marked `_deleted`).
    async fn bulk_delta(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        docs: &[Value],
    ) -> Result<(u64, u64), DataError> {
        let mut last: BTreeMap<&str, bool> = BTreeMap::new();
        for doc in docs {
            if let Some(id) = doc.get("_id").and_then(Value::as_str) {
                let deleted = doc.get("_deleted") == Some(&Value::Bool(true));
                last.insert(id, deleted);
            }
        }
        let options = ListOptions {
            keys: Some(last.keys().map(|k| k.to_string()).collect()),
            ..ListOptions::default()
        };
        let stored = self.inner.list_docs(scope, db, &options).await?;
        let exists = |id: &str| {
            stored
                .iter()
                .any(|d| d.get("_id").and_then(Value::as_str) == Some(id))
        };
        let (mut added, mut removed) = (0, 0);
        for (id, deleted) in last {
            match (deleted, exists(id)) {
                (false, false) => added += 1,
                (true, true) => removed += 1,
                _ => {}
            }
        }
        Ok((added, removed))
    }
}

#[async_trait]
impl DataStore for QuotaData {
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), DataError> {
        let done = self.inner.purge_tenant(scope).await;
        self.meter.forget(scope);
        done
    }

    async fn usage(&self, scope: &TenantScope) -> Result<u64, DataError> {
        self.inner.usage(scope).await
    }

    async fn list_dbs(&self, scope: &TenantScope) -> Result<Vec<String>, DataError> {
        self.inner.list_dbs(scope).await
    }

    async fn list_indexes(
        &self,
        scope: &TenantScope,
        db: &DomainName,
    ) -> Result<Vec<(String, Vec<SortKey>)>, DataError> {
        self.inner.list_indexes(scope, db).await
    }

    async fn create_db(&self, scope: &TenantScope, db: &DomainName) -> Result<(), DataError> {
        self.inner.create_db(scope, db).await
    }

    async fn delete_db(&self, scope: &TenantScope, db: &DomainName) -> Result<(), DataError> {
        let done = self.inner.delete_db(scope, db).await;
        self.meter.forget(scope);
        done
    }

    async fn create_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        doc: &Value,
    ) -> Result<(), DataError> {
        let held = self
            .meter
            .reserve(scope, 1, || self.inner.usage(scope))
            .await?;
        self.inner.create_doc(scope, db, doc).await?;
        held.keep();
        Ok(())
    }

    async fn get_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        id: &str,
    ) -> Result<Value, DataError> {
        self.inner.get_doc(scope, db, id).await
    }

    async fn put_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        id: &str,
        doc: &Value,
    ) -> Result<(), DataError> {
        let added = match self.meter.limit(scope) {
            None => 0,
            Some(_) => match self.inner.get_doc(scope, db, id).await {
                Ok(_) => 0,
                Err(DataError::DocNotFound(_)) => 1,
                Err(e) => return Err(e),
            },
        };
        let held = self
            .meter
            .reserve(scope, added, || self.inner.usage(scope))
            .await?;
        self.inner.put_doc(scope, db, id, doc).await?;
        held.keep();
        Ok(())
    }

    async fn delete_doc(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        id: &str,
    ) -> Result<(), DataError> {
        self.inner.delete_doc(scope, db, id).await?;
        self.meter.release(scope, 1);
        Ok(())
    }

    async fn list_docs(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        options: &ListOptions,
    ) -> Result<Vec<Value>, DataError> {
        self.inner.list_docs(scope, db, options).await
    }

    async fn query_docs(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        query: &Query,
    ) -> Result<Vec<Value>, DataError> {
        self.inner.query_docs(scope, db, query).await
    }

    async fn create_index(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        name: &str,
        fields: &[SortKey],
    ) -> Result<(), DataError> {
        self.inner.create_index(scope, db, name, fields).await
    }

    async fn bulk(
        &self,
        scope: &TenantScope,
        db: &DomainName,
        docs: &[Value],
    ) -> Result<Vec<String>, DataError> {
        let (added, removed) = match self.meter.limit(scope) {
            None => (0, 0),
            Some(_) => self.bulk_delta(scope, db, docs).await?,
        };
        // Deletions in the same bulk make room for its insertions.
        let held = self
            .meter
            .reserve(scope, added.saturating_sub(removed), || {
                self.inner.usage(scope)
            })
            .await?;
        let ids = self.inner.bulk(scope, db, docs).await?;
        held.keep();
        self.meter.release(scope, removed.saturating_sub(added));
        Ok(ids)
    }
}
