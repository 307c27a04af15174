//! The search port on PostgreSQL: documents as JSONB with their folded terms; candidates found through GIN indexes
//! (prefix `term:*` on a tsvector, one-typo candidates on one-deletion variants), then matched exactly and ranked
//! with BM25 and per-field boosts in nano, in MiniSearch's result shape. Every statement runs in a tenant
//! transaction (row-level security) and filters on `host` as well.

use super::pool::{connect, PgTarget};
use super::tenant;
use super::text::{deletions, tokens};
use crate::core::search_text::{match_weight, text_of, value_at, FUZZY_MIN_CHARS};
use crate::core::{DomainName, TenantScope};
use crate::ports::search::{BulkOutcome, IndexMapping, SearchHit, SearchQuery};
use crate::ports::BackendError;
use crate::ports::{Search, SearchError};
use async_trait::async_trait;
use serde_json::{json, Map, Value};
use sqlx::{PgPool, Postgres, Transaction};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "tenant_role",
        include_str!("../../../migrations/postgres/tenant_role.sql"),
    ),
    (
        "search/001_search",
        include_str!("../../../migrations/postgres/search/001_search.sql"),
    ),
];

/// BM25 parameters.
const K1: f32 = 1.2;
const B: f32 = 0.7;

pub struct PgSearch {
    pool: PgPool,
    use_role: bool,
}

fn backend(e: sqlx::Error) -> SearchError {
    SearchError::Backend(BackendError::new(e))
}

fn mapping_json(m: &IndexMapping) -> Value {
    json!({"fields": m.fields, "storeFields": m.store_fields, "boost": m.boost})
}

fn mapping_from(v: &Value) -> IndexMapping {
    let strings = |k: &str| -> Vec<String> {
        v[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    IndexMapping {
        fields: strings("fields"),
        store_fields: strings("storeFields"),
        boost: v["boost"]
            .as_object()
            .map(|o| {
                o.iter()
                    .filter_map(|(k, b)| Some((k.clone(), b.as_f64()? as f32)))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The distinct terms of the mapped fields of `doc`, and those terms with their one-deletion variants.
fn doc_terms(mapping: &IndexMapping, doc: &Map<String, Value>) -> (Vec<String>, Vec<String>) {
    let mut terms = BTreeSet::new();
    for f in &mapping.fields {
        if let Some(v) = value_at(doc, f) {
            terms.extend(tokens(&text_of(v)));
        }
    }
    let mut keys = BTreeSet::new();
    for t in &terms {
        if t.chars().count() + 1 >= FUZZY_MIN_CHARS {
            keys.extend(deletions(t));
        } else {
            keys.insert(t.clone());
        }
    }
    (terms.into_iter().collect(), keys.into_iter().collect())
}

impl PgSearch {
    /// Connects and migrates. The error names the server (host, port, database), never the password.
    pub async fn open(target: &PgTarget) -> Result<Self, SearchError> {
        let pool = connect(target, MIGRATIONS)
            .await
            .map_err(|e| SearchError::Backend(BackendError::msg(e)))?;
        let use_role = tenant::needs_role(&pool).await.map_err(backend)?;
        Ok(Self { pool, use_role })
    }

    async fn begin(
        &self,
        scope: &TenantScope,
    ) -> Result<Transaction<'static, Postgres>, SearchError> {
        tenant::begin(&self.pool, scope.as_str(), self.use_role)
            .await
            .map_err(backend)
    }

    /// The index's mapping, locking its row against a concurrent delete (`IndexNotFound` when missing).
    async fn mapping(
        tx: &mut Transaction<'static, Postgres>,
        scope: &TenantScope,
        index: &DomainName,
    ) -> Result<IndexMapping, SearchError> {
        let row: Option<(Value,)> = sqlx::query_as(
            "SELECT mapping FROM search_indexes WHERE host = $1 AND name = $2 FOR SHARE",
        )
        .bind(scope.as_str())
        .bind(index.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(backend)?;
        row.map(|(m,)| mapping_from(&m))
            .ok_or(SearchError::IndexNotFound)
    }

    /// Writes one document: `Some(true)` inserts only, `Some(false)` replaces only, `None` upserts.
    /// Returns whether a row was written.
    async fn write(
        tx: &mut Transaction<'static, Postgres>,
        scope: &TenantScope,
        index: &DomainName,
        mapping: &IndexMapping,
        id: &str,
        mut doc: Map<String, Value>,
        new: Option<bool>,
    ) -> Result<bool, SearchError> {
        doc.insert("_id".into(), Value::String(id.to_string()));
        let (terms, keys) = doc_terms(mapping, &doc);
        let sql = match new {
            Some(true) => {
                "INSERT INTO search_docs (host, idx, id, doc, terms, keys) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT DO NOTHING"
            }
            Some(false) => {
                "UPDATE search_docs SET doc = $4, terms = $5, keys = $6 \
                 WHERE host = $1 AND idx = $2 AND id = $3"
            }
            None => {
                "INSERT INTO search_docs (host, idx, id, doc, terms, keys) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (host, idx, id) DO UPDATE SET doc = excluded.doc, terms = excluded.terms, \
                 keys = excluded.keys"
            }
        };
        let done = sqlx::query(sql)
            .bind(scope.as_str())
            .bind(index.as_str())
            .bind(id)
            .bind(Value::Object(doc))
            .bind(terms)
            .bind(keys)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
    }
}

#[async_trait]
impl Search for PgSearch {
    async fn usage(&self, scope: &TenantScope) -> Result<u64, SearchError> {
        let mut tx = self.begin(scope).await?;
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM search_docs WHERE host = $1")
            .bind(scope.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(n.max(0) as u64)
    }

    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), SearchError> {
        tenant::purge(
            &self.pool,
            scope.as_str(),
            self.use_role,
            &["search_docs", "search_indexes"],
        )
        .await
        .map_err(backend)
    }

    async fn list_indexes(&self, scope: &TenantScope) -> Result<Vec<String>, SearchError> {
        let mut tx = self.begin(scope).await?;
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM search_indexes WHERE host = $1 ORDER BY name COLLATE \"C\"",
        )
        .bind(scope.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    async fn dump(
        &self,
        scope: &TenantScope,
        index: &DomainName,
    ) -> Result<(IndexMapping, Vec<Map<String, Value>>), SearchError> {
        let mut tx = self.begin(scope).await?;
        let mapping = Self::mapping(&mut tx, scope, index).await?;
        let rows: Vec<(Value,)> = sqlx::query_as(
            "SELECT doc FROM search_docs WHERE host = $1 AND idx = $2 ORDER BY id COLLATE \"C\"",
        )
        .bind(scope.as_str())
        .bind(index.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        let docs = rows
            .into_iter()
            .filter_map(|(d,)| match d {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .collect();
        Ok((mapping, docs))
    }

    async fn create_index(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        mapping: IndexMapping,
    ) -> Result<(), SearchError> {
        if mapping.fields.is_empty() {
            return Err(SearchError::Invalid(
                "fields must name at least one field".into(),
            ));
        }
        let mut tx = self.begin(scope).await?;
        let done = sqlx::query(
            "INSERT INTO search_indexes (host, name, mapping) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(scope.as_str())
        .bind(index.as_str())
        .bind(mapping_json(&mapping))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(SearchError::IndexExists);
        }
        tx.commit().await.map_err(backend)
    }

    async fn delete_index(
        &self,
        scope: &TenantScope,
        index: &DomainName,
    ) -> Result<(), SearchError> {
        let mut tx = self.begin(scope).await?;
        sqlx::query("DELETE FROM search_indexes WHERE host = $1 AND name = $2")
            .bind(scope.as_str())
            .bind(index.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn add(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
        doc: Map<String, Value>,
    ) -> Result<(), SearchError> {
        let id = match doc.get("_id") {
            Some(Value::String(own)) => own.clone(),
            _ => key.to_string(),
        };
        let mut tx = self.begin(scope).await?;
        let mapping = Self::mapping(&mut tx, scope, index).await?;
        if !Self::write(&mut tx, scope, index, &mapping, &id, doc, Some(true)).await? {
            return Err(SearchError::DocumentConflict);
        }
        tx.commit().await.map_err(backend)
    }

    async fn get(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
    ) -> Result<Map<String, Value>, SearchError> {
        let mut tx = self.begin(scope).await?;
        Self::mapping(&mut tx, scope, index).await?;
        let row: Option<(Value,)> =
            sqlx::query_as("SELECT doc FROM search_docs WHERE host = $1 AND idx = $2 AND id = $3")
                .bind(scope.as_str())
                .bind(index.as_str())
                .bind(key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        match row {
            Some((Value::Object(doc),)) => Ok(doc),
            _ => Err(SearchError::NotFound),
        }
    }

    async fn update(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
        doc: Map<String, Value>,
    ) -> Result<(), SearchError> {
        let mut tx = self.begin(scope).await?;
        let mapping = Self::mapping(&mut tx, scope, index).await?;
        if !Self::write(&mut tx, scope, index, &mapping, key, doc, Some(false)).await? {
            return Err(SearchError::NotFound);
        }
        tx.commit().await.map_err(backend)
    }

    async fn remove(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        key: &str,
    ) -> Result<(), SearchError> {
        let mut tx = self.begin(scope).await?;
        Self::mapping(&mut tx, scope, index).await?;
        let done = sqlx::query("DELETE FROM search_docs WHERE host = $1 AND idx = $2 AND id = $3")
            .bind(scope.as_str())
            .bind(index.as_str())
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(SearchError::NotFound);
        }
        tx.commit().await.map_err(backend)
    }

    async fn bulk(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        docs: Vec<Value>,
    ) -> Result<Vec<BulkOutcome>, SearchError> {
        let mut tx = self.begin(scope).await?;
        let mapping = Self::mapping(&mut tx, scope, index).await?;
        let mut outcomes = Vec::with_capacity(docs.len());
        for doc in docs {
            let Value::Object(doc) = doc else {
                outcomes.push(BulkOutcome::Rejected("document must be an object".into()));
                continue;
            };
            let id = match doc.get("_id").or_else(|| doc.get("id")) {
                Some(Value::String(id)) if !id.is_empty() => id.clone(),
                _ => {
                    outcomes.push(BulkOutcome::Rejected(
                        "document needs a string _id or id".into(),
                    ));
                    continue;
                }
            };
            Self::write(&mut tx, scope, index, &mapping, &id, doc, None).await?;
            outcomes.push(BulkOutcome::Indexed(id));
        }
        tx.commit().await.map_err(backend)?;
        Ok(outcomes)
    }

    async fn query(
        &self,
        scope: &TenantScope,
        index: &DomainName,
        query: SearchQuery,
    ) -> Result<Vec<SearchHit>, SearchError> {
        query.check()?;
        let mut tx = self.begin(scope).await?;
        let mapping = Self::mapping(&mut tx, scope, index).await?;
        let fields = match &query.fields {
            Some(fs) => {
                if let Some(bad) = fs.iter().find(|f| !mapping.fields.contains(f)) {
                    return Err(SearchError::Invalid(format!(
                        "{bad} is not a field of the index"
                    )));
                }
                fs.clone()
            }
            None => mapping.fields.clone(),
        };
        let mut query_terms: Vec<String> = Vec::new();
        for t in tokens(&query.text) {
            if !query_terms.contains(&t) {
                query_terms.push(t);
            }
        }
        if query_terms.is_empty() || query.limit == 0 {
            return Ok(Vec::new());
        }
        // Candidates: any term equal to or starting with a query term, or sharing a one-deletion variant with one.
        let prefixes: Vec<String> = query_terms
            .iter()
            .map(|t| format!("'{}':*", t.replace('\'', "''").replace('\\', "\\\\")))
            .collect();
        let fuzzy: Vec<String> = query_terms
            .iter()
            .filter(|t| t.chars().count() >= FUZZY_MIN_CHARS)
            .flat_map(|t| deletions(t))
            .collect();
        let rows: Vec<(String, Value)> = sqlx::query_as(
            "SELECT id, doc FROM search_docs WHERE host = $1 AND idx = $2 \
             AND (tsv @@ to_tsquery('simple', $3) OR keys && $4)",
        )
        .bind(scope.as_str())
        .bind(index.as_str())
        .bind(prefixes.join(" | "))
        .bind(&fuzzy)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let (total,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM search_docs WHERE host = $1 AND idx = $2")
                .bind(scope.as_str())
                .bind(index.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
        tx.commit().await.map_err(backend)?;

        // Per candidate and field: term counts and length.
        struct Candidate {
            id: String,
            doc: Map<String, Value>,
            fields: Vec<(String, HashMap<String, u32>, usize)>,
        }
        let mut candidates = Vec::new();
        for (id, doc) in rows {
            let Value::Object(doc) = doc else { continue };
            if !query
                .filter
                .iter()
                .all(|(k, v)| value_at(&doc, k) == Some(v))
            {
                continue;
            }
            let per_field = fields
                .iter()
                .map(|f| {
                    let toks = value_at(&doc, f)
                        .map(|v| tokens(&text_of(v)))
                        .unwrap_or_default();
                    let mut tf = HashMap::new();
                    for t in &toks {
                        *tf.entry(t.clone()).or_insert(0u32) += 1;
                    }
                    (f.clone(), tf, toks.len())
                })
                .collect();
            candidates.push(Candidate {
                id,
                doc,
                fields: per_field,
            });
        }
        // Document frequency per (field, term) and average field length, over the candidates (every document
        // holding a matching term is a candidate, so frequencies of matching terms are exact).
        let mut df: HashMap<(String, String), u32> = HashMap::new();
        let mut len_sum: HashMap<String, usize> = HashMap::new();
        for c in &candidates {
            for (f, tf, len) in &c.fields {
                *len_sum.entry(f.clone()).or_default() += len;
                for t in tf.keys() {
                    *df.entry((f.clone(), t.clone())).or_default() += 1;
                }
            }
        }
        let n = total.max(1) as f32;
        let mut hits = Vec::new();
        for c in candidates {
            let mut score = 0.0f32;
            let mut terms: Vec<String> = Vec::new();
            let mut matched_q: Vec<String> = Vec::new();
            let mut matched: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for q in &query_terms {
                for (f, tf, len) in &c.fields {
                    let avg = (len_sum[f] as f32 / n.min(f32::MAX)).max(1.0);
                    let boost = mapping.boost.get(f).copied().unwrap_or(1.0);
                    for (t, &count) in tf {
                        let Some(weight) = match_weight(q, t) else {
                            continue;
                        };
                        let d = df[&(f.clone(), t.clone())] as f32;
                        let idf = (1.0 + (n - d + 0.5) / (d + 0.5)).ln();
                        let tfn = count as f32 * (K1 + 1.0)
                            / (count as f32 + K1 * (1.0 - B + B * *len as f32 / avg));
                        score += weight * boost * idf * tfn;
                        if !terms.contains(t) {
                            terms.push(t.clone());
                        }
                        if !matched_q.contains(q) {
                            matched_q.push(q.clone());
                        }
                        let in_fields = matched.entry(t.clone()).or_default();
                        if !in_fields.contains(f) {
                            in_fields.push(f.clone());
                        }
                    }
                }
            }
            if terms.is_empty() {
                continue;
            }
            let stored = mapping
                .store_fields
                .iter()
                .filter_map(|f| value_at(&c.doc, f).map(|v| (f.clone(), v.clone())))
                .collect();
            hits.push(SearchHit {
                id: c.id,
                score,
                terms,
                query_terms: matched_q,
                matched,
                stored,
            });
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        hits.truncate(query.limit);
        Ok(hits)
    }
}
