//! The folder an index's tantivy files live in, written without fsync: a commit only has to make its files visible,
//! because the write-ahead log (`wal.rs`) is what makes a write durable. `sync_written` makes every file written so
//! far durable (a checkpoint), and tantivy's deletes wait in `deferred` until a later checkpoint is durable, so the
//! files of the last checkpoint survive any crash.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use tantivy::directory::error::{DeleteError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    AntiCallToken, Directory, FileHandle, MmapDirectory, TerminatingWrite, WatchCallback,
    WatchHandle, WritePtr,
};

/// Files nano keeps in the folder beside tantivy's start with this (tantivy's never do).
pub const OWN_PREFIX: &str = "nano-";
/// tantivy's list of the files it created, which garbage collection may delete.
const MANAGED: &str = ".managed.json";
/// Temporary files of `atomic_write`.
const TEMP_PREFIX: &str = ".nano-tmp-";

#[derive(Default, Debug)]
struct Pending {
    /// Files completely written since the last checkpoint.
    written: HashSet<PathBuf>,
    /// Files tantivy deleted since the last checkpoint, still on disk.
    deferred: Vec<PathBuf>,
}

/// A tantivy directory over `MmapDirectory` whose writes skip fsync and whose deletes wait for a checkpoint.
#[derive(Clone, Debug)]
pub struct LazyDirectory {
    inner: MmapDirectory,
    root: PathBuf,
    pending: Arc<Mutex<Pending>>,
}

impl LazyDirectory {
    pub fn open(root: &Path) -> tantivy::Result<Self> {
        Ok(Self {
            inner: MmapDirectory::open(root)?,
            root: root.to_path_buf(),
            pending: Arc::default(),
        })
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The deletes deferred so far: once a checkpoint taken after this call is durable, they may be removed.
    pub fn take_deferred(&self) -> Vec<PathBuf> {
        std::mem::take(&mut self.pending().deferred)
    }

    /// Makes every file written so far (and not deleted since) durable, with the folder's entries.
    pub fn sync_written(&self) -> io::Result<()> {
        let written = {
            let mut pending = self.pending();
            let mut written = std::mem::take(&mut pending.written);
            for d in &pending.deferred {
                written.remove(d);
            }
            written
        };
        for path in written {
            match File::open(self.root.join(&path)) {
                Ok(file) => file.sync_data()?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        sync_dir(&self.root)
    }

    /// Makes every file in the folder durable: after a restart, nothing says which ones the last run left unsynced.
    pub fn sync_everything(&self) -> io::Result<()> {
        for name in self.file_names()? {
            match File::open(self.root.join(name)) {
                Ok(file) => file.sync_data()?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        self.pending().written.clear();
        sync_dir(&self.root)
    }

    /// Removes files whose delete a durable checkpoint made safe.
    pub fn remove(&self, paths: Vec<PathBuf>) {
        for p in paths {
            let _ = std::fs::remove_file(self.root.join(p));
        }
    }

    /// Rewrites tantivy's list of managed files as every tantivy file in the folder, and clears leftover temporary
    /// files: garbage collection then removes what the current commit does not use (files whose delete was
    /// deferred when the last run stopped, or written after the checkpoint a restore went back to).
    pub fn adopt_all_files(&self) -> io::Result<()> {
        let mut managed = Vec::new();
        for name in self.file_names()? {
            if name.starts_with(TEMP_PREFIX) {
                std::fs::remove_file(self.root.join(&name))?;
            } else if !name.starts_with('.') && !name.starts_with(OWN_PREFIX) {
                managed.push(name);
            }
        }
        let mut bytes = serde_json::to_vec(&managed)?;
        bytes.push(b'\n');
        replace(&self.root, Path::new(MANAGED), &bytes)
    }

    /// Names of the regular files in the folder.
    fn file_names(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.root)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                if let Some(name) = entry.file_name().to_str() {
                    names.push(name.to_string());
                }
            }
        }
        Ok(names)
    }
}

/// fsync of a folder, which makes its entries (created, renamed, removed files) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `data` to a temporary file in `root`, then renames it over `path`.
fn replace(root: &Path, path: &Path, data: &[u8]) -> io::Result<()> {
    let temp = root.join(format!("{TEMP_PREFIX}{}", path.to_string_lossy()));
    std::fs::write(&temp, data)?;
    std::fs::rename(&temp, root.join(path))
}

/// A file being written: flushed on terminate, recorded as written, not synced.
struct LazyFile {
    file: File,
    path: PathBuf,
    pending: Arc<Mutex<Pending>>,
}

impl Write for LazyFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TerminatingWrite for LazyFile {
    fn terminate_ref(&mut self, _: AntiCallToken) -> io::Result<()> {
        self.file.flush()?;
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.written.insert(self.path.clone());
        Ok(())
    }
}

impl Directory for LazyDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.inner.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        if !self.root.join(path).exists() {
            return Err(DeleteError::FileDoesNotExist(path.to_path_buf()));
        }
        self.pending().deferred.push(path.to_path_buf());
        Ok(())
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.inner.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.root.join(path))
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    OpenWriteError::FileAlreadyExists(path.to_path_buf())
                } else {
                    OpenWriteError::wrap_io_error(e, path.to_path_buf())
                }
            })?;
        Ok(io::BufWriter::new(Box::new(LazyFile {
            file,
            path: path.to_path_buf(),
            pending: self.pending.clone(),
        })))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.inner.atomic_read(path)
    }

    /// Write to a temporary file, then rename over `path`: readers see the old or the new content, never a part.
    /// tantivy's list of managed files is not written: tantivy reads it only when it opens the index, and
    /// `adopt_all_files` rebuilds it before every open.
    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        if path == Path::new(MANAGED) {
            return Ok(());
        }
        replace(&self.root, path, data)
    }

    fn sync_directory(&self) -> io::Result<()> {
        Ok(())
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }

    fn acquire_lock(
        &self,
        lock: &tantivy::directory::Lock,
    ) -> Result<tantivy::directory::DirectoryLock, tantivy::directory::error::LockError> {
        self.inner.acquire_lock(lock)
    }
}
