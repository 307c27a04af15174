//! An index's durable writer: tantivy's `IndexWriter` over a `LazyDirectory` (commits without fsync) with the
//! write-ahead log (`wal.rs`). A batch is staged in tantivy, appended to the log and fsynced (one fsync: the
//! batch is durable), then committed in tantivy carrying the batch's sequence number, which makes it visible.
//!
//! A checkpoint (every `CHECKPOINT_BATCHES` batches or `CHECKPOINT_BYTES` of log) fsyncs the files tantivy wrote,
//! copies the commit's `meta.json` to `nano-checkpoint` and starts the log over; the files a checkpoint names are
//! never deleted before the next checkpoint is durable. Opening after any stop: when the log was written in this
//! boot of the OS, tantivy's files are intact (a killed process loses nothing the kernel already holds) and the
//! log's batches past the last commit are applied again; after an OS restart, `meta.json` goes back to the
//! checkpoint's and every batch the log holds past it is applied again. Either way the open ends with a
//! checkpoint.

use super::directory::{sync_dir, LazyDirectory, OWN_PREFIX};
use super::wal::{self, Op, Record, Wal};
use serde_json::{Map, Value};
use std::io;
use std::path::{Path, PathBuf};
use tantivy::indexer::IndexWriterOptions;
use tantivy::schema::{Field, Schema};
use tantivy::{Index, IndexSettings, IndexWriter, TantivyDocument, Term};

/// Writer memory budget (one indexing thread).
const WRITER_BUDGET: usize = 32 * 1024 * 1024;
/// Batches, and bytes of log, between checkpoints: they bound the log replayed on open, and the files of merged
/// segments kept on disk until the next checkpoint.
const CHECKPOINT_BATCHES: u32 = 256;
const CHECKPOINT_BYTES: u64 = 16 * 1024 * 1024;

fn wal_path(root: &Path) -> PathBuf {
    root.join(format!("{OWN_PREFIX}wal"))
}

fn checkpoint_path(root: &Path) -> PathBuf {
    root.join(format!("{OWN_PREFIX}checkpoint"))
}

/// Builds the tantivy document of an id and a JSON document.
pub type ToDoc<'a> = &'a dyn Fn(&str, &Map<String, Value>) -> TantivyDocument;

pub struct Writer {
    tantivy: IndexWriter,
    dir: LazyDirectory,
    root: PathBuf,
    wal: Wal,
    id: Field,
    /// Sequence number of the last batch in the log.
    seq: u64,
    /// Batches since the last checkpoint.
    batches: u32,
}

/// Opens the index in `root`, or creates it there with `schema`, recovering its files as the module says, and
/// answers the log's batches its last commit does not hold.
pub fn open_index(
    root: &Path,
    create: Option<Schema>,
) -> tantivy::Result<(Index, LazyDirectory, Vec<Record>)> {
    std::fs::create_dir_all(root)?;
    let dir = LazyDirectory::open(root)?;
    let (boot, records) = wal::read(&wal_path(root))?;
    let same_boot = boot.is_some() && boot == wal::boot_id();
    if !same_boot {
        match std::fs::read(checkpoint_path(root)) {
            Ok(meta) => {
                std::fs::write(root.join("meta.json"), meta)?;
                std::fs::File::open(root.join("meta.json"))?.sync_all()?;
            }
            // An index no checkpoint ever named: tantivy synced all its files itself.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    dir.adopt_all_files()?;
    let index = match create {
        Some(schema) => {
            // Documents are compressed on the indexing thread: a commit then starts no thread for it.
            let settings = IndexSettings {
                docstore_compress_dedicated_thread: false,
                ..IndexSettings::default()
            };
            Index::create(dir.clone(), schema, settings)?
        }
        None => Index::open(dir.clone())?,
    };
    let committed = committed_seq(&index)?;
    let replay = records.into_iter().filter(|r| r.seq > committed).collect();
    Ok((index, dir, replay))
}

/// The sequence number the last commit carries (0 before any).
fn committed_seq(index: &Index) -> tantivy::Result<u64> {
    Ok(index
        .load_metas()?
        .payload
        .and_then(|p| p.parse().ok())
        .unwrap_or(0))
}

impl Writer {
    /// The writer of an index `open_index` answered, once `replay` (its batches to apply again) is committed and
    /// checkpointed.
    pub fn start(
        index: &Index,
        dir: LazyDirectory,
        root: &Path,
        id: Field,
        replay: Vec<Record>,
        to_doc: ToDoc<'_>,
    ) -> tantivy::Result<Self> {
        // One indexing thread and one merge thread per open index (tantivy's default is four merge threads):
        // a process may hold many tenants' indexes open.
        let options = IndexWriterOptions::builder()
            .memory_budget_per_thread(WRITER_BUDGET)
            .num_worker_threads(1)
            .num_merge_threads(1)
            .build();
        let mut tantivy = index.writer_with_options(options)?;
        let mut seq = committed_seq(index)?;
        if let Some(last) = replay.last().map(|r| r.seq) {
            for record in &replay {
                for op in &record.ops {
                    stage(&tantivy, id, op, to_doc)?;
                }
            }
            let mut commit = tantivy.prepare_commit()?;
            commit.set_payload(&last.to_string());
            commit.commit()?;
            seq = last;
        }
        // A checkpoint of everything in the folder: which files the last run left unsynced is unknown.
        dir.sync_everything()?;
        let wal = checkpoint(&dir, root)?;
        Ok(Self {
            tantivy,
            dir,
            root: root.to_path_buf(),
            wal,
            id,
            seq,
            batches: 0,
        })
    }

    /// Stages one change in tantivy (visible once committed).
    pub fn stage(&self, op: &Op, to_doc: ToDoc<'_>) -> tantivy::Result<()> {
        stage(&self.tantivy, self.id, op, to_doc)
    }

    /// Makes the staged `ops` durable (the log) and visible (a tantivy commit). On failure nothing of them stays.
    pub fn commit(&mut self, ops: Vec<Op>) -> tantivy::Result<()> {
        let record = Record {
            seq: self.seq + 1,
            ops,
        };
        let appended = match self.wal.append(&record) {
            Ok(n) => n,
            Err(e) => {
                let _ = self.tantivy.rollback();
                return Err(e.into());
            }
        };
        let committed = self.tantivy.prepare_commit().and_then(|mut c| {
            c.set_payload(&record.seq.to_string());
            c.commit()
        });
        if let Err(e) = committed {
            let _ = self.wal.drop_last(appended);
            let _ = self.tantivy.rollback();
            return Err(e);
        }
        self.seq = record.seq;
        self.batches += 1;
        if self.batches >= CHECKPOINT_BATCHES || self.wal.len() >= CHECKPOINT_BYTES {
            // The batch is durable in the log whatever becomes of the checkpoint; a failed one is retried later.
            if let Ok(wal) = checkpoint(&self.dir, &self.root) {
                self.wal = wal;
                self.batches = 0;
            }
        }
        Ok(())
    }

    /// Drops staged changes.
    pub fn rollback(&mut self) {
        let _ = self.tantivy.rollback();
    }

    /// Stops the writer, waiting for its merges.
    pub fn close(self) {
        let _ = self.tantivy.wait_merging_threads();
    }
}

fn stage(w: &IndexWriter, id: Field, op: &Op, to_doc: ToDoc<'_>) -> tantivy::Result<()> {
    match op {
        Op::Add(key, doc) => {
            w.add_document(to_doc(key, doc))?;
        }
        Op::Put(key, doc) => {
            w.delete_term(Term::from_field_text(id, key));
            w.add_document(to_doc(key, doc))?;
        }
        Op::Delete(key) => {
            w.delete_term(Term::from_field_text(id, key));
        }
    }
    Ok(())
}

/// Makes the last commit durable: syncs the files written since the last checkpoint, records the commit's
/// `meta.json` as the checkpoint, starts the log over, then removes the files tantivy deleted before (the new
/// checkpoint does not name them). Runs under the writer, after a commit: the log holds nothing past it.
fn checkpoint(dir: &LazyDirectory, root: &Path) -> io::Result<Wal> {
    let deletable = dir.take_deferred();
    let meta = std::fs::read(root.join("meta.json"))?;
    dir.sync_written()?;
    let temp = root.join(format!(".{OWN_PREFIX}checkpoint.tmp"));
    std::fs::write(&temp, &meta)?;
    std::fs::File::open(&temp)?.sync_all()?;
    std::fs::rename(&temp, checkpoint_path(root))?;
    sync_dir(root)?;
    let wal = Wal::create(&wal_path(root))?;
    dir.remove(deletable);
    Ok(wal)
}

#[cfg(test)]
mod tests {
    use super::super::index::OpenIndex;
    use super::*;
    use crate::ports::search::IndexMapping;
    use serde_json::json;

    fn mapping() -> IndexMapping {
        IndexMapping {
            fields: vec!["title".into()],
            store_fields: vec![],
            boost: Default::default(),
        }
    }

    fn doc(id: &str, title: &str) -> Map<String, Value> {
        json!({ "_id": id, "title": title })
            .as_object()
            .unwrap()
            .clone()
    }

    fn titles(index: &OpenIndex) -> Vec<String> {
        index
            .all_docs()
            .unwrap()
            .iter()
            .map(|d| d["title"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_logged_batch_the_index_missed_is_applied_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tantivy");
        drop(OpenIndex::create(&root, &mapping()).unwrap());
        // As if the process died after the log's fsync, before tantivy's commit.
        let mut log = Wal::create(&wal_path(&root)).unwrap();
        log.append(&Record {
            seq: 1,
            ops: vec![Op::Add("a".into(), doc("a", "Dune"))],
        })
        .unwrap();
        let index = OpenIndex::open(&root, &mapping()).unwrap();
        assert_eq!(titles(&index), vec!["Dune"]);
        index.add("b", doc("b", "Hyperion")).unwrap();
        drop(index);
        let index = OpenIndex::open(&root, &mapping()).unwrap();
        assert_eq!(titles(&index), vec!["Dune", "Hyperion"]);
    }

    #[test]
    fn after_an_os_restart_the_checkpoint_and_the_log_rebuild_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tantivy");
        let index = OpenIndex::create(&root, &mapping()).unwrap();
        index.add("a", doc("a", "Dune")).unwrap();
        drop(index);
        // Opening checkpointed "Dune"; what follows is only in the log and in unsynced files.
        let index = OpenIndex::open(&root, &mapping()).unwrap();
        let checkpointed: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        for (i, title) in ["Hyperion", "Endymion", "Solaris"].iter().enumerate() {
            let id = format!("k{i}");
            index.add(&id, doc(&id, title)).unwrap();
        }
        index.remove("a").unwrap();
        drop(index);
        // An OS crash: another boot, tantivy's unsynced files and meta.json lost or garbled.
        let log = std::fs::read(wal_path(&root)).unwrap();
        let end = log.iter().position(|b| *b == b'\n').unwrap();
        let mut other = b"nano-search-wal 1 another-boot".to_vec();
        other.extend_from_slice(&log[end..]);
        std::fs::write(wal_path(&root), other).unwrap();
        for e in std::fs::read_dir(&root).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            if !checkpointed.contains(&name) {
                std::fs::write(root.join(&name), b"garbage").unwrap();
            }
        }
        std::fs::write(root.join("meta.json"), b"{").unwrap();
        std::fs::write(root.join(".managed.json"), b"[").unwrap();
        let index = OpenIndex::open(&root, &mapping()).unwrap();
        assert_eq!(titles(&index), vec!["Hyperion", "Endymion", "Solaris"]);
        drop(index);
        let index = OpenIndex::open(&root, &mapping()).unwrap();
        assert_eq!(index.num_docs(), 3);
    }
}
