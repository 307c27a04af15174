//! The write-ahead log of one index: every committed batch of writes, appended and fsynced before the batch is
//! acknowledged, so tantivy's own commits need no fsync. The log starts with the id of the boot that wrote it (an
//! OS restart since means files tantivy left unsynced may be lost) and holds records `len | checksum | JSON`, each
//! with the sequence number the tantivy commit holding it carries. A torn last record (a crash mid-append, never
//! acknowledged) fails its checksum and ends the log.

use super::directory::sync_dir;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &str = "nano-search-wal 1";

/// One change to the index, as tantivy applies it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum Op {
    /// Adds a document whose id the index does not hold.
    Add(String, Map<String, Value>),
    /// Replaces (or adds) the document with this id.
    Put(String, Map<String, Value>),
    /// Removes the document with this id.
    Delete(String),
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Record {
    pub seq: u64,
    pub ops: Vec<Op>,
}

/// The log, open for appending.
pub struct Wal {
    file: File,
    path: PathBuf,
    len: u64,
}

/// The id of the running boot of the OS, when it has one (Linux).
pub fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// FNV-1a: detects a torn or garbled record.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn header(boot: Option<&str>) -> String {
    format!("{MAGIC} {}\n", boot.unwrap_or("-"))
}

/// The log at `path`: the boot that wrote it (`None` when unknown or missing) and its intact records.
pub fn read(path: &Path) -> io::Result<(Option<String>, Vec<Record>)> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => f.read_to_end(&mut bytes)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((None, Vec::new())),
        Err(e) => return Err(e),
    };
    let Some(end) = bytes.iter().position(|b| *b == b'\n') else {
        return Ok((None, Vec::new()));
    };
    let line = String::from_utf8_lossy(&bytes[..end]);
    let boot = line
        .strip_prefix(MAGIC)
        .map(str::trim)
        .filter(|b| !b.is_empty() && *b != "-")
        .map(str::to_string);
    let mut records = Vec::new();
    let mut at = end + 1;
    while at + 12 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default()) as usize;
        let sum = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap_or_default());
        let Some(body) = bytes.get(at + 12..at + 12 + len) else {
            break;
        };
        if checksum(body) != sum {
            break;
        }
        match serde_json::from_slice(body) {
            Ok(record) => records.push(record),
            Err(_) => break,
        }
        at += 12 + len;
    }
    Ok((boot, records))
}

impl Wal {
    /// Starts the log at `path` over, durably: empty but for this boot's id.
    pub fn create(path: &Path) -> io::Result<Self> {
        let temp = path.with_extension("tmp");
        let head = header(boot_id().as_deref());
        {
            let mut f = File::create(&temp)?;
            f.write_all(head.as_bytes())?;
            f.sync_data()?;
        }
        std::fs::rename(&temp, path)?;
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            len: head.len() as u64,
        })
    }

    /// Bytes in the log.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Appends `record` and makes it durable; answers the bytes it took. On failure the log is cut back to what it
    /// held before.
    pub fn append(&mut self, record: &Record) -> io::Result<u64> {
        let body = serde_json::to_vec(record)?;
        let len = u32::try_from(body.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "write batch too large"))?;
        let mut bytes = Vec::with_capacity(body.len() + 12);
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&checksum(&body).to_le_bytes());
        bytes.extend_from_slice(&body);
        let written = self
            .file
            .write_all(&bytes)
            .and_then(|_| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(bytes.len() as u64)
            }
            Err(e) => {
                let _ = self.cut(self.len);
                Err(e)
            }
        }
    }

    /// Drops the last record, `appended` bytes long: its batch failed after all.
    pub fn drop_last(&mut self, appended: u64) -> io::Result<()> {
        self.cut(self.len - appended)
    }

    fn cut(&mut self, len: u64) -> io::Result<()> {
        let file = OpenOptions::new().write(true).open(&self.path)?;
        file.set_len(len)?;
        file.sync_data()?;
        self.len = len;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(seq: u64) -> Record {
        let doc = json!({"_id": "a", "title": "Dune"})
            .as_object()
            .unwrap()
            .clone();
        Record {
            seq,
            ops: vec![Op::Add("a".into(), doc), Op::Delete("b".into())],
        }
    }

    #[test]
    fn records_read_back_and_a_torn_tail_ends_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nano-wal");
        assert_eq!(read(&path).unwrap(), (None, Vec::new()));
        let mut wal = Wal::create(&path).unwrap();
        wal.append(&record(1)).unwrap();
        let appended = wal.append(&record(2)).unwrap();
        let (boot, records) = read(&path).unwrap();
        assert_eq!(boot, boot_id());
        assert_eq!(records, vec![record(1), record(2)]);
        wal.drop_last(appended).unwrap();
        assert_eq!(read(&path).unwrap().1, vec![record(1)]);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2, 3]).unwrap();
        assert_eq!(read(&path).unwrap().1, vec![record(1)]);
        let wal = Wal::create(&path).unwrap();
        assert_eq!(read(&path).unwrap(), (boot_id(), Vec::new()));
        assert!(wal.len() > 0);
    }
}
