//! `FsStorage`: the storage port on the local filesystem, `<root>/<tenant>/<bucket>/<object path>`.
//! Uploads stream into `<root>/.uploads/` and are renamed into place when complete; downloads stream from disk.
//!
//! Uploads stream into a random file under the node's `.uploads/<node>` (`transfer.rs` writes them in batches and
//! `fdatasync`s them), then are renamed into place and the folder holding them is synced. A failed or interrupted
//! upload deletes its temp file, and each node empties its own `.uploads/<node>` at start. Downloads stream in large
//! chunks made one ahead (`transfer.rs`) from the range's start, as long as the range. All filesystem calls run on
//! `spawn_blocking`.

use super::paths::{self, backend, bucket_dir};
use super::signing;
use super::transfer;
use crate::core::{DomainName, TenantScope};
use crate::ports::storage::{
    ByteStream, ObjectBody, ObjectInfo, ObjectKey, RangeSpec, Storage, StorageError, UrlSigner,
};
use crate::ports::BackendError;
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

const UPLOADS: &str = ".uploads";

/// Buckets as folders under one root, one folder per tenant.
pub struct FsStorage {
    root: Arc<PathBuf>,
    /// This node's own folder of uploads in progress, `<root>/.uploads/<node>`.
    uploads: PathBuf,
    signer: UrlSigner,
}

impl FsStorage {
    /// Opens (creating) the storage root for a single node, removes uploads a previous run left unfinished, and
    /// loads the signed-URL key from `<root>/.signing-key` (generated on first start).
    pub fn open(root: &Path) -> std::io::Result<Self> {
        Self::open_node(root, "local", None)
    }

    /// Opens the storage root as node `node`, whose unfinished uploads (and only those) are removed: nodes sharing
    /// the root through a volume never delete each other's uploads in flight. `key` signs URLs; `None` reads or
    /// creates `<root>/.signing-key`.
    pub fn open_node(root: &Path, node: &str, key: Option<Vec<u8>>) -> std::io::Result<Self> {
        std::fs::create_dir_all(root)?;
        let key = match key {
            Some(key) => key,
            None => signing::load_or_create_key(root)?,
        };
        let folder: String = node
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let folder = match folder.trim_start_matches('.') {
            "" => "node",
            f => f,
        };
        let uploads = root.join(UPLOADS).join(folder);
        if uploads.exists() {
            std::fs::remove_dir_all(&uploads)?;
        }
        std::fs::create_dir_all(&uploads)?;
        Ok(Self {
            root: Arc::new(root.to_path_buf()),
            uploads,
            signer: UrlSigner::new(key),
        })
    }

    fn bucket(&self, scope: &TenantScope, bucket: &DomainName) -> PathBuf {
        bucket_dir(&self.root, scope, bucket)
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::Backend(BackendError::context("storage task failed", e)))?
}

fn modified_ms(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Streams `body` into a new temp file under `uploads`, flushed to disk. Removes the file on failure.
async fn spool(uploads: &Path, body: ByteStream) -> Result<(PathBuf, u64), StorageError> {
    let temp = uploads.join(format!("{:032x}", rand::random::<u128>()));
    let file = {
        let temp = temp.clone();
        blocking(move || {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
                .map_err(backend)
        })
        .await?
    };
    match transfer::write_synced(file, body).await {
        Ok(size) => Ok((temp, size)),
        Err(e) => {
            let _ = tokio::fs::remove_file(&temp).await;
            Err(e)
        }
    }
}

fn list_files(bucket: &Path, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError> {
    let mut out = Vec::new();
    let mut stack = vec![(bucket.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(backend)? {
            let entry = entry.map_err(backend)?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = std::fs::symlink_metadata(entry.path()).map_err(backend)?;
            if meta.is_dir() {
                let as_dir = format!("{path}/");
                if as_dir.starts_with(prefix) || prefix.starts_with(&as_dir) {
                    stack.push((entry.path(), path));
                }
            } else if meta.is_file() && path.starts_with(prefix) {
                out.push(ObjectInfo {
                    name: path,
                    size: meta.len(),
                    modified_ms: modified_ms(&meta),
                });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[async_trait]
impl Storage for FsStorage {
    async fn purge_tenant(&self, scope: &TenantScope) -> Result<(), StorageError> {
        let dir = self.root.join(scope.as_str());
        let buckets = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect::<Vec<_>>(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(backend(e)),
        };
        for b in buckets {
            if let Ok(bucket) = DomainName::parse(&b) {
                match self.delete_bucket(scope, &bucket).await {
                    Ok(()) | Err(StorageError::BucketNotFound) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }

    async fn usage(&self, scope: &TenantScope) -> Result<u64, StorageError> {
        let dir = self.root.join(scope.as_str());
        blocking(move || match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => Ok(list_files(&dir, "")?.iter().map(|o| o.size).sum()),
            Ok(_) => Ok(0),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(backend(e)),
        })
        .await
    }

    async fn list_buckets(&self, scope: &TenantScope) -> Result<Vec<String>, StorageError> {
        let dir = self.root.join(scope.as_str());
        blocking(move || {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(backend(e)),
            };
            let mut names = Vec::new();
            for entry in entries {
                let entry = entry.map_err(backend)?;
                let is_dir = std::fs::symlink_metadata(entry.path())
                    .map_err(backend)?
                    .is_dir();
                if let Some(name) = entry.file_name().to_str() {
                    if is_dir && DomainName::parse(name).is_ok() {
                        names.push(name.to_string());
                    }
                }
            }
            names.sort();
            Ok(names)
        })
        .await
    }

    async fn create_bucket(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
    ) -> Result<(), StorageError> {
        let dir = self.bucket(scope, bucket);
        blocking(move || {
            if let Some(tenant_dir) = dir.parent() {
                std::fs::create_dir_all(tenant_dir).map_err(backend)?;
            }
            match std::fs::create_dir(&dir) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    Err(StorageError::BucketExists)
                }
                Err(e) => Err(backend(e)),
            }
        })
        .await
    }

    async fn delete_bucket(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
    ) -> Result<(), StorageError> {
        let dir = self.bucket(scope, bucket);
        blocking(move || {
            paths::require_bucket(&dir)?;
            // remove_dir_all does not follow symlinks: it removes the links themselves.
            std::fs::remove_dir_all(&dir).map_err(backend)
        })
        .await
    }

    async fn bucket_exists(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
    ) -> Result<bool, StorageError> {
        let dir = self.bucket(scope, bucket);
        blocking(move || match paths::require_bucket(&dir) {
            Ok(()) => Ok(true),
            Err(StorageError::BucketNotFound) => Ok(false),
            Err(e) => Err(e),
        })
        .await
    }

    async fn put_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        body: ByteStream,
    ) -> Result<u64, StorageError> {
        let dir = self.bucket(scope, bucket);
        {
            let (dir, key) = (dir.clone(), object.clone());
            // Fail fast (before reading the body) on a missing bucket or an unusable path.
            blocking(move || paths::writable_object(&dir, &key, false).map(drop)).await?;
        }
        let (temp, size) = spool(&self.uploads, body).await?;
        let key = object.clone();
        let placed = blocking({
            let temp = temp.clone();
            move || {
                let target = paths::writable_object(&dir, &key, true)?;
                std::fs::rename(&temp, &target).map_err(backend)?;
                let folder = target.parent().unwrap_or(&dir);
                transfer::sync_dir(folder).map_err(backend)
            }
        })
        .await;
        if placed.is_err() {
            let _ = tokio::fs::remove_file(&temp).await;
        }
        placed.map(|()| size)
    }

    async fn head_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
    ) -> Result<ObjectInfo, StorageError> {
        let dir = self.bucket(scope, bucket);
        let key = object.clone();
        blocking(move || {
            let path = paths::existing_object(&dir, &key)?;
            let meta = paths::open_nofollow(&path)?.metadata().map_err(backend)?;
            Ok(ObjectInfo {
                name: key.as_str().to_string(),
                size: meta.len(),
                modified_ms: modified_ms(&meta),
            })
        })
        .await
    }

    async fn get_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
        range: Option<RangeSpec>,
    ) -> Result<ObjectBody, StorageError> {
        let dir = self.bucket(scope, bucket);
        let key = object.clone();
        let (file, size, selected) = blocking(move || {
            let path = paths::existing_object(&dir, &key)?;
            let file = paths::open_nofollow(&path)?;
            let size = file.metadata().map_err(backend)?.len();
            let selected = match range {
                None => None,
                Some(spec) => Some(
                    spec.resolve(size)
                        .ok_or(StorageError::RangeNotSatisfiable { size })?,
                ),
            };
            Ok((file, size, selected))
        })
        .await?;
        let (start, length) = selected.map_or((0, size), |(start, end)| (start, end - start + 1));
        Ok(ObjectBody {
            size,
            range: selected,
            stream: transfer::read_stream(file, start, length),
        })
    }

    async fn delete_object(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        object: &ObjectKey,
    ) -> Result<(), StorageError> {
        let dir = self.bucket(scope, bucket);
        let key = object.clone();
        blocking(move || {
            let path = paths::existing_object(&dir, &key)?;
            std::fs::remove_file(&path).map_err(backend)?;
            paths::prune_empty_parents(&dir, &path);
            Ok(())
        })
        .await
    }

    async fn list_objects(
        &self,
        scope: &TenantScope,
        bucket: &DomainName,
        prefix: &str,
    ) -> Result<Vec<ObjectInfo>, StorageError> {
        let dir = self.bucket(scope, bucket);
        let prefix = prefix.to_string();
        blocking(move || {
            paths::require_bucket(&dir)?;
            list_files(&dir, &prefix)
        })
        .await
    }

    fn url_signer(&self) -> &UrlSigner {
        &self.signer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_filters_by_prefix_and_sorts() {
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path();
        std::fs::create_dir_all(b.join("a/b")).unwrap();
        std::fs::create_dir_all(b.join("c")).unwrap();
        for f in ["a/b/x.txt", "a/y.txt", "c/z.txt", "top.txt"] {
            std::fs::write(b.join(f), f).unwrap();
        }
        let names = |p: &str| -> Vec<String> {
            list_files(b, p)
                .unwrap()
                .into_iter()
                .map(|o| o.name)
                .collect()
        };
        assert_eq!(
            names(""),
            vec!["a/b/x.txt", "a/y.txt", "c/z.txt", "top.txt"]
        );
        assert_eq!(names("a/"), vec!["a/b/x.txt", "a/y.txt"]);
        assert_eq!(names("a/b"), vec!["a/b/x.txt"]);
        assert_eq!(names("t"), vec!["top.txt"]);
        assert_eq!(std::fs::read(b.join("top.txt")).unwrap(), b"top.txt");
    }
}
