//! One open search index: its tantivy index, reader and writer, and the blocking operations on it.
//! Writes are group-committed (`OpenIndex::write`): concurrent writes share one commit (one fsync of the write-ahead
//! log, `writer.rs`) and reader reload, and each returns only after its commit: acknowledged means durable and
//! visible.
//!
//! A query ORs, per query term and searched field, a BM25 `TermQuery` for every indexed term the query term matches
//! (`expand`: itself, by prefix, or with one typo), weighed by `search_text::match_weight` times the field's boost.
//! `filter` runs on the stored documents of the ranked candidates, at most `FILTER_CANDIDATES` (10,000).

use super::analysis::{self, ANALYZER};
use super::expand;
use super::wal::Op;
use super::writer::{self, ToDoc, Writer};
use crate::core::search_text;
use crate::ports::search::{BulkOutcome, IndexMapping, SearchError, SearchHit, SearchQuery};
use crate::ports::BackendError;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value as _, STORED, STRING,
};
use tantivy::{IndexReader, ReloadPolicy, TantivyDocument, Term};

/// Candidates examined when a filter is applied after ranking.
const FILTER_CANDIDATES: usize = 10_000;

pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> SearchError {
    SearchError::Backend(BackendError::new(e))
}

struct SearchField {
    name: String,
    field: Field,
    boost: f32,
}

/// A write waiting for the index's group commit.
enum Write {
    Add(String, Map<String, Value>),
    Update(String, Map<String, Value>),
    Remove(String),
    Bulk(Vec<Value>),
}

/// What a committed write answers.
enum Written {
    Done,
    Bulk(Vec<BulkOutcome>),
}

/// A queued write and who to tell how it went.
type Queued = (Write, std::sync::mpsc::Sender<Result<Written, SearchError>>);

fn lock_queue(queued: &Mutex<Vec<Queued>>) -> std::sync::MutexGuard<'_, Vec<Queued>> {
    queued.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct OpenIndex {
    reader: IndexReader,
    /// `None` once the index is deleted: later calls through a stale handle see `IndexNotFound`.
    writer: Mutex<Option<Writer>>,
    /// Set once the index is deleted; queries read it without waiting for the writer.
    closed: AtomicBool,
    /// Writes waiting for the writer, committed together by whoever takes it next.
    queued: Mutex<Vec<Queued>>,
    id: Field,
    doc: Field,
    fields: Vec<SearchField>,
    store_fields: Vec<String>,
}

/// The tantivy document of `json` stored under `key`: the id, the JSON text, and each searched field's text.
fn document(
    id: Field,
    doc: Field,
    fields: &[SearchField],
    key: &str,
    json: &Map<String, Value>,
) -> TantivyDocument {
    let mut d = TantivyDocument::default();
    d.add_text(id, key);
    d.add_text(doc, serde_json::to_string(json).unwrap_or_default());
    for f in fields {
        if let Some(v) = search_text::value_at(json, &f.name) {
            d.add_text(f.field, search_text::text_of(v));
        }
    }
    d
}

fn schema(mapping: &IndexMapping) -> Schema {
    let mut builder = Schema::builder();
    builder.add_text_field("id", STRING | STORED);
    builder.add_text_field("doc", STORED);
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(ANALYZER)
        .set_index_option(IndexRecordOption::WithFreqs);
    for i in 0..mapping.fields.len() {
        builder.add_text_field(
            &format!("f{i}"),
            TextOptions::default().set_indexing_options(indexing.clone()),
        );
    }
    builder.build()
}

impl OpenIndex {
    /// Creates a new index in `dir` (which must be empty or missing).
    pub fn create(dir: &Path, mapping: &IndexMapping) -> Result<Self, SearchError> {
        Self::open_at(dir, mapping, Some(schema(mapping)))
    }

    /// Opens the index in `dir`, built with `mapping`.
    pub fn open(dir: &Path, mapping: &IndexMapping) -> Result<Self, SearchError> {
        Self::open_at(dir, mapping, None)
    }

    fn open_at(
        dir: &Path,
        mapping: &IndexMapping,
        create: Option<Schema>,
    ) -> Result<Self, SearchError> {
        let (index, directory, replay) = writer::open_index(dir, create).map_err(backend)?;
        index.tokenizers().register(ANALYZER, analysis::analyzer());
        let schema = index.schema();
        let field = |name: &str| schema.get_field(name).map_err(backend);
        let fields = mapping
            .fields
            .iter()
            .enumerate()
            .map(|(i, name)| {
                Ok(SearchField {
                    name: name.clone(),
                    field: field(&format!("f{i}"))?,
                    boost: mapping.boost.get(name).copied().unwrap_or(1.0),
                })
            })
            .collect::<Result<Vec<_>, SearchError>>()?;
        let (id, doc) = (field("id")?, field("doc")?);
        let to_doc = |key: &str, json: &Map<String, Value>| document(id, doc, &fields, key, json);
        let writer = Writer::start(&index, directory, dir, id, replay, &to_doc).map_err(backend)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(backend)?;
        Ok(Self {
            reader,
            writer: Mutex::new(Some(writer)),
            closed: AtomicBool::new(false),
            queued: Mutex::new(Vec::new()),
            id,
            doc,
            fields,
            store_fields: mapping.store_fields.clone(),
        })
    }

    /// Stops the writer (waiting for merges), so the files can be removed.
    /// How many documents the index holds (as of its last commit).
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Every stored document, ordered by id.
    pub fn all_docs(&self) -> Result<Vec<Map<String, Value>>, SearchError> {
        let searcher = self.reader.searcher();
        let mut docs = Vec::new();
        for segment in searcher.segment_readers() {
            let store = segment.get_store_reader(1).map_err(backend)?;
            for stored in store.iter::<TantivyDocument>(segment.alive_bitset()) {
                docs.push(self.stored_json(&stored.map_err(backend)?)?);
            }
        }
        let id = |d: &Map<String, Value>| d.get("_id").and_then(Value::as_str).map(str::to_string);
        docs.sort_by_key(id);
        Ok(docs)
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let writer = self.lock().take();
        if let Some(w) = writer {
            w.close();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Writer>> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn id_term(&self, id: &str) -> Term {
        Term::from_field_text(self.id, id)
    }

    fn find(&self, id: &str) -> Result<Option<Map<String, Value>>, SearchError> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(self.id_term(id), IndexRecordOption::Basic);
        let top = searcher
            .search(&query, &TopDocs::with_limit(1).order_by_score())
            .map_err(backend)?;
        match top.first() {
            None => Ok(None),
            Some((_, address)) => {
                let stored: TantivyDocument = searcher.doc(*address).map_err(backend)?;
                Ok(Some(self.stored_json(&stored)?))
            }
        }
    }

    fn stored_json(&self, stored: &TantivyDocument) -> Result<Map<String, Value>, SearchError> {
        let text = stored
            .get_first(self.doc)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        match serde_json::from_str(&text).map_err(backend)? {
            Value::Object(m) => Ok(m),
            _ => Err(SearchError::Backend(BackendError::msg(
                "stored document is not an object",
            ))),
        }
    }

    /// Group commit: `write` waits in `queued`, and whoever takes the writer next applies every queued write and
    /// commits them once (one set of fsyncs), reloads the reader, then answers each. A lone write is committed at
    /// once; writes arriving during a commit form the next batch. Each write is answered only after the commit
    /// that holds it, so an acknowledged write is durable and visible to the next query.
    fn write(&self, write: Write) -> Result<Written, SearchError> {
        let (answer, answered) = std::sync::mpsc::channel();
        lock_queue(&self.queued).push((write, answer));
        {
            let mut guard = self.lock();
            let batch = std::mem::take(&mut *lock_queue(&self.queued));
            if !batch.is_empty() {
                self.commit_batch(guard.as_mut(), batch);
            }
        }
        // Answered by now: by this call's batch, or by the one that took it before this call took the writer.
        answered.recv().unwrap_or_else(|_| {
            Err(SearchError::Backend(BackendError::msg(
                "the search write was dropped",
            )))
        })
    }

    /// Applies `batch` in order, commits it and answers each write. Writes check documents against the last commit
    /// and the batch's own earlier writes. A failed commit (or a write the engine failed) fails the whole batch,
    /// whose changes are rolled back.
    fn commit_batch(&self, writer: Option<&mut Writer>, batch: Vec<Queued>) {
        let Some(writer) = writer else {
            for (_, answer) in batch {
                let _ = answer.send(Err(SearchError::IndexNotFound));
            }
            return;
        };
        let to_doc = |key: &str, json: &Map<String, Value>| {
            document(self.id, self.doc, &self.fields, key, json)
        };
        let mut staged: HashMap<String, bool> = HashMap::new();
        let mut ops = Vec::new();
        let mut answers = Vec::with_capacity(batch.len());
        let mut failed = None;
        for (write, answer) in batch {
            if failed.is_some() {
                answers.push((answer, Err(SearchError::IndexNotFound)));
                continue;
            }
            match self.apply(writer, &to_doc, &mut staged, &mut ops, write) {
                Err(SearchError::Backend(cause)) => {
                    failed = Some(cause);
                    answers.push((answer, Err(SearchError::IndexNotFound)));
                }
                outcome => answers.push((answer, outcome)),
            }
        }
        let committed = match failed {
            Some(cause) => {
                writer.rollback();
                Err(cause)
            }
            None if ops.is_empty() => Ok(()),
            None => writer
                .commit(ops)
                .map_err(BackendError::new)
                .and_then(|_| self.reader.reload().map_err(BackendError::new)),
        };
        if let Err(cause) = committed {
            for (answer, _) in answers {
                let _ = answer.send(Err(SearchError::Backend(cause.clone())));
            }
            return;
        }
        for (answer, outcome) in answers {
            let _ = answer.send(outcome);
        }
    }

    /// Stages one write, recording its changes in `ops`; `staged` says which ids the batch's earlier writes left
    /// present (`true`) or removed.
    fn apply(
        &self,
        w: &Writer,
        to_doc: ToDoc<'_>,
        staged: &mut HashMap<String, bool>,
        ops: &mut Vec<Op>,
        write: Write,
    ) -> Result<Written, SearchError> {
        let exists = |id: &str, staged: &HashMap<String, bool>| -> Result<bool, SearchError> {
            match staged.get(id) {
                Some(present) => Ok(*present),
                None => Ok(self.find(id)?.is_some()),
            }
        };
        let mut stage = |op: Op, staged: &mut HashMap<String, bool>| -> Result<(), SearchError> {
            w.stage(&op, to_doc).map_err(backend)?;
            match &op {
                Op::Add(id, _) | Op::Put(id, _) => staged.insert(id.clone(), true),
                Op::Delete(id) => staged.insert(id.clone(), false),
            };
            ops.push(op);
            Ok(())
        };
        match write {
            Write::Add(id, doc) => {
                if exists(&id, staged)? {
                    return Err(SearchError::DocumentConflict);
                }
                stage(Op::Add(id, doc), staged)?;
            }
            Write::Update(id, doc) => {
                if !exists(&id, staged)? {
                    return Err(SearchError::NotFound);
                }
                stage(Op::Put(id, doc), staged)?;
            }
            Write::Remove(id) => {
                if !exists(&id, staged)? {
                    return Err(SearchError::NotFound);
                }
                stage(Op::Delete(id), staged)?;
            }
            Write::Bulk(docs) => {
                let mut outcomes = Vec::with_capacity(docs.len());
                for doc in docs {
                    let Value::Object(mut doc) = doc else {
                        outcomes.push(BulkOutcome::Rejected("document must be an object".into()));
                        continue;
                    };
                    let id = match doc.get("_id").or_else(|| doc.get("id")) {
                        Some(Value::String(s)) if !s.is_empty() => s.clone(),
                        Some(Value::Number(n)) => n.to_string(),
                        _ => {
                            outcomes.push(BulkOutcome::Rejected(
                                "document needs a string _id or id".into(),
                            ));
                            continue;
                        }
                    };
                    doc.insert("_id".into(), Value::String(id.clone()));
                    stage(Op::Put(id.clone(), doc), staged)?;
                    outcomes.push(BulkOutcome::Indexed(id));
                }
                return Ok(Written::Bulk(outcomes));
            }
        }
        Ok(Written::Done)
    }

    pub fn add(&self, id: &str, doc: Map<String, Value>) -> Result<(), SearchError> {
        self.write(Write::Add(id.to_string(), doc)).map(|_| ())
    }

    pub fn update(&self, id: &str, doc: Map<String, Value>) -> Result<(), SearchError> {
        self.write(Write::Update(id.to_string(), doc)).map(|_| ())
    }

    pub fn remove(&self, id: &str) -> Result<(), SearchError> {
        self.write(Write::Remove(id.to_string())).map(|_| ())
    }

    pub fn get(&self, id: &str) -> Result<Map<String, Value>, SearchError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(SearchError::IndexNotFound);
        }
        self.find(id)?.ok_or(SearchError::NotFound)
    }

    pub fn bulk(&self, docs: Vec<Value>) -> Result<Vec<BulkOutcome>, SearchError> {
        match self.write(Write::Bulk(docs))? {
            Written::Bulk(outcomes) => Ok(outcomes),
            Written::Done => Ok(Vec::new()),
        }
    }

    fn searched(&self, only: Option<&[String]>) -> Result<Vec<&SearchField>, SearchError> {
        let Some(only) = only else {
            return Ok(self.fields.iter().collect());
        };
        if let Some(unknown) = only
            .iter()
            .find(|n| !self.fields.iter().any(|f| &f.name == *n))
        {
            return Err(SearchError::Invalid(format!(
                "field '{unknown}' is not a searched field of this index"
            )));
        }
        Ok(self
            .fields
            .iter()
            .filter(|f| only.contains(&f.name))
            .collect())
    }

    pub fn query(&self, q: &SearchQuery) -> Result<Vec<SearchHit>, SearchError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(SearchError::IndexNotFound);
        }
        let fields = self.searched(q.fields.as_deref())?;
        let query_terms = analysis::terms(&mut analysis::analyzer(), &q.text);
        let searcher = self.reader.searcher();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for t in &query_terms {
            for f in &fields {
                for (term, weight) in expand::expand(&searcher, f.field, t).map_err(backend)? {
                    let term = Term::from_field_text(f.field, &term);
                    let query = TermQuery::new(term, IndexRecordOption::WithFreqs);
                    clauses.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(query), f.boost * weight)),
                    ));
                }
            }
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = if q.filter.is_empty() {
            q.limit
        } else {
            FILTER_CANDIDATES.max(q.limit)
        };
        let top = searcher
            .search(
                &BooleanQuery::new(clauses),
                &TopDocs::with_limit(wanted.max(1)).order_by_score(),
            )
            .map_err(backend)?;
        let mut analyzer = analysis::analyzer();
        let mut hits = Vec::new();
        for (score, address) in top {
            let stored: TantivyDocument = searcher.doc(address).map_err(backend)?;
            let doc = self.stored_json(&stored)?;
            let passes = q
                .filter
                .iter()
                .all(|(k, v)| search_text::value_at(&doc, k) == Some(v));
            if !passes {
                continue;
            }
            hits.push(self.explain(&mut analyzer, &fields, &query_terms, &doc, score));
            if hits.len() >= q.limit {
                break;
            }
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        Ok(hits)
    }

    /// The hit in MiniSearch's shape: which document terms matched which query terms, in which fields.
    fn explain(
        &self,
        analyzer: &mut tantivy::tokenizer::TextAnalyzer,
        fields: &[&SearchField],
        query_terms: &[String],
        doc: &Map<String, Value>,
        score: f32,
    ) -> SearchHit {
        let mut matched: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut terms: Vec<String> = Vec::new();
        let mut used: Vec<String> = Vec::new();
        for f in fields {
            let Some(value) = search_text::value_at(doc, &f.name) else {
                continue;
            };
            for doc_term in analysis::terms(analyzer, &search_text::text_of(value)) {
                for qt in query_terms {
                    if search_text::term_matches(&doc_term, qt) {
                        let in_fields = matched.entry(doc_term.clone()).or_default();
                        if !in_fields.contains(&f.name) {
                            in_fields.push(f.name.clone());
                        }
                        if !terms.contains(&doc_term) {
                            terms.push(doc_term.clone());
                        }
                        if !used.contains(qt) {
                            used.push(qt.clone());
                        }
                    }
                }
            }
        }
        let mut stored = Map::new();
        for name in &self.store_fields {
            if let Some(v) = search_text::value_at(doc, name) {
                stored.insert(name.clone(), v.clone());
            }
        }
        let id = match doc.get("_id") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        SearchHit {
            id,
            score,
            terms,
            query_terms: used,
            matched,
            stored,
        }
    }
}
