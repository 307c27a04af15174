//! `TantivySearch`: the search port on tantivy, one index directory per tenant and index,
//! `<root>/<tenant>/<index>/` holding `mapping.json` and the tantivy files. Indexes open lazily on first use
//! (so they reload from disk after a restart) and every call runs on the blocking pool.

use super::index::{backend, OpenIndex};
use crate::core::{DomainName, TenantScope};
use crate::ports::search::{
    BulkOutcome, IndexMapping, Search, SearchError, SearchHit, SearchQuery,
};
use crate::ports::BackendError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const MAPPING: &str = "mapping.json";
const TANTIVY_DIR: &str = "tantivy";

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredMapping {
    fields: Vec<String>,
    store_fields: Vec<String>,
    boost: BTreeMap<String, f32>,
}

/// Search indexes under one root, one folder per tenant.
pub struct TantivySearch {
    root: PathBuf,
    open: Arc<Mutex<HashMap<PathBuf, Arc<OpenIndex>>>>,
}

impl TantivySearch {
    pub fn open(root: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(root)?;
        Ok(Self {
            root: root.to_path_buf(),
            open: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    fn dir(&self, scope: &TenantScope, index: &DomainName) -> PathBuf {
        self.root.join(scope.as_str()).join(index.as_str())
    }

    /// Runs `f` on the open index at `dir` (opening it from disk if needed) on the blocking pool.
    async fn with_index<T: Send + 'static>(
        &self,
        dir: PathBuf,
        f: impl FnOnce(&OpenIndex) -> Result<T, SearchError> + Send + 'static,
    ) -> Result<T, SearchError> {
        let open = self.open.clone();
        blocking(move || {
            let index = {
                let mut map = lock(&open);
                match map.get(&dir) {
                    Some(index) => index.clone(),
                    None => {
                        let mapping = read_mapping(&dir)?.ok_or(SearchError::IndexNotFound)?;
                        let index = Arc::new(OpenIndex::open(&dir.join(TANTIVY_DIR), &mapping)?);
                        map.insert(dir.clone(), index.clone());
                        index
                    }
                }
            };
            f(&index)
        })
        .await
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SearchError> + Send + 'static,
) -> Result<T, SearchError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SearchError::Backend(BackendError::context("search task failed", e)))?
}

/// The index's mapping; `None` when the folder or its mapping file is missing (an index whose creation did not finish).
fn read_mapping(dir: &Path) -> Result<Option<IndexMapping>, SearchError> {
    let text = match std::fs::read_to_string(dir.join(MAPPING)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(backend(e)),
    };
    let stored: StoredMapping = serde_json::from_str(&text).map_err(backend)?;
    Ok(Some(IndexMapping {
        fields: stored.fields,
        store_fields: stored.store_fields,
        boost: stored.boost,
    }))
}

/// Writes the mapping file atomically: it is the commit point of index creation.
fn write_mapping(dir: &Path, mapping: &IndexMapping) -> Result<(), SearchError> {
    let stored = StoredMapping {
        fields: mapping.fields.clone(),
        store_fields: mapping.store_fields.clone(),
        boost: mapping.boost.clone(),
    };
    let temp = dir.join(format!("{MAPPING}.tmp"));
    let bytes = serde_json::to_vec_pretty(&stored).map_err(backend)?;
    let file = std::fs::File::create(&temp).map_err(backend)?;
    std::io::Write::write_all(&mut &file, &bytes).map_err(backend)?;
    file.sync_all().map_err(backend)?;
    std::fs::rename(&temp, dir.join(MAPPING)).map_err(backend)?;
    let _ = super::directory::sync_dir(dir);
    Ok(())
}

fn validate(mapping: &IndexMapping) -> Result<(), SearchError> {
    if mapping.fields.is_empty() {
        return Err(SearchError::Invalid(
            "Invalid Arguments 'mappings': fields must name at least one field.".into(),
        ));
    }
    if let Some((name, b)) = mapping
        .boost
        .iter()
        .find(|(_, b)| !(b.is_finite() && **b > 0.0))
    {
        return Err(SearchError::Invalid(format!(
            "boost of '{name}' must be a positive number, not {b}"
        )));
    }
    Ok(())
}

/// The id a document is stored under: its own string `_id` wins over the key, as in hyper.
fn document_id(key: &str, doc: &mut Map<String, Value>) -> Result<String, SearchError> {
    let id = match doc.get("_id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => key.to_string(),
    };
    if id.is_empty() {
        return Err(SearchError::Invalid("document key is required".into()));
    }
    doc.insert("_id".into(), Value::String(id.clone()));
    Ok(id)
}

#[async_trait]
impl Search for TantivySearch {
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), SearchError> {
        let dir = self.root.join(scope.as_str());
        let indexes = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect::<Vec<_>>(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(backend(e)),
        };
        for i in indexes {
            if let Ok(index) = DomainName::parse(&i) {
                self.delete_index(scope, &index).await?;
            }
        }
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }

    async fn usage(&self, scope: &TenantScope) -> Result<u64, SearchError> {
        let dir = self.root.join(scope.as_str());
        let indexes = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.join(MAPPING).is_file())
                .collect::<Vec<_>>(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(backend(e)),
        };
        let mut docs = 0;
        for index in indexes {
            docs += self.with_index(index, |i| Ok(i.num_docs())).await?;
        }
        Ok(docs)
    }

    async fn list_indexes(&self, scope: &TenantScope) -> Result<Vec<String>, SearchError> {
        let dir = self.root.join(scope.as_str());
        let mut names = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().join(MAPPING).is_file())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| DomainName::parse(n).is_ok())
                .collect::<Vec<_>>(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(backend(e)),
        };
        names.sort();
        Ok(names)
    }

    async fn dump(
        &self,
        scope: &TenantScope,
        index: &DomainName,
    ) -> Result<(IndexMapping, Vec<Map<String, Value>>), SearchError> {
        let dir = self.dir(scope, index);
        let mapping = read_mapping(&dir)?.ok_or(SearchError::IndexNotFound)?;
        let docs = self.with_index(dir, |i| i.all_docs()).await?;
        Ok((mapping, docs))
    }

    async fn create_index(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        mapping: IndexMapping,
    ) -> Result<(), SearchError> {
        validate(&mapping)?;
        let dir = self.dir(scope, index);
        let open = self.open.clone();
        blocking(move || {
            let mut map = lock(&open);
            if map.contains_key(&dir) || read_mapping(&dir)?.is_some() {
                return Err(SearchError::IndexExists);
            }
            // A folder without a mapping is a creation that did not finish: start it over.
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(backend)?;
            }
            std::fs::create_dir_all(&dir).map_err(backend)?;
            let index = OpenIndex::create(&dir.join(TANTIVY_DIR), &mapping)?;
            write_mapping(&dir, &mapping)?;
            map.insert(dir, Arc::new(index));
            Ok(())
        })
        .await
    }

    async fn delete_index(
        &self,
        scope: &TenantScope,
        index: &DomainName,
    ) -> Result<(), SearchError> {
        let dir = self.dir(scope, index);
        let open = self.open.clone();
        blocking(move || {
            let removed = lock(&open).remove(&dir);
            if let Some(index) = removed {
                index.close();
            }
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(backend(e)),
            }
        })
        .await
    }

    async fn add(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
        mut doc: Map<String, Value>,
    ) -> Result<(), SearchError> {
        let id = document_id(key, &mut doc)?;
        self.with_index(self.dir(scope, index), move |i| i.add(&id, doc))
            .await
    }

    async fn get(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
    ) -> Result<Map<String, Value>, SearchError> {
        let key = key.to_string();
        self.with_index(self.dir(scope, index), move |i| i.get(&key))
            .await
    }

    async fn update(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
        mut doc: Map<String, Value>,
    ) -> Result<(), SearchError> {
        // The document keeps the key it is stored under.
        doc.insert("_id".into(), Value::String(key.to_string()));
        let key = key.to_string();
        self.with_index(self.dir(scope, index), move |i| i.update(&key, doc))
            .await
    }

    async fn remove(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
    ) -> Result<(), SearchError> {
        let key = key.to_string();
        self.with_index(self.dir(scope, index), move |i| i.remove(&key))
            .await
    }

    async fn bulk(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        docs: Vec<Value>,
    ) -> Result<Vec<BulkOutcome>, SearchError> {
        self.with_index(self.dir(scope, index), move |i| i.bulk(docs))
            .await
    }

    async fn query(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        query: SearchQuery,
    ) -> Result<Vec<SearchHit>, SearchError> {
        query.check()?;
        self.with_index(self.dir(scope, index), move |i| i.query(&query))
            .await
    }
}
