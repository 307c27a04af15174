//! Where a tenant's buckets and objects live on disk, and the walk that reaches an object without ever
//! leaving its bucket or following a symbolic link. Blocking: call from `spawn_blocking`.

use crate::core::{DomainName, TenantScope};
use crate::ports::storage::{ObjectKey, StorageError};
use crate::ports::BackendError;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// `<root>/<tenant>/<bucket>`: the tenant comes from the scope only.
pub fn bucket_dir(root: &Path, scope: &TenantScope, bucket: &DomainName) -> PathBuf {
    root.join(scope.as_str()).join(bucket.as_str())
}

pub fn backend(e: io::Error) -> StorageError {
    StorageError::Backend(BackendError::new(e))
}

fn symlink_error() -> StorageError {
    StorageError::InvalidObject(
        "object path crosses a symbolic link, which nano does not follow".into(),
    )
}

/// Fails with `BucketNotFound` unless `dir` is a real directory (not a symlink).
pub fn require_bucket(dir: &Path) -> Result<(), StorageError> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(StorageError::BucketNotFound),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StorageError::BucketNotFound),
        Err(e) => Err(backend(e)),
    }
}

/// The object's path for reading: every parent must be a real directory and the object a regular file.
pub fn existing_object(bucket: &Path, key: &ObjectKey) -> Result<PathBuf, StorageError> {
    require_bucket(bucket)?;
    let mut path = bucket.to_path_buf();
    for segment in key.segments() {
        path.push(segment);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => return Err(symlink_error()),
            Ok(_) => {}
            Err(e) if is_missing(&e) => return Err(StorageError::ObjectNotFound),
            Err(e) => return Err(backend(e)),
        }
    }
    match fs::symlink_metadata(&path) {
        Ok(m) if m.is_file() => Ok(path),
        Ok(_) => Err(StorageError::ObjectNotFound),
        Err(e) if is_missing(&e) => Err(StorageError::ObjectNotFound),
        Err(e) => Err(backend(e)),
    }
}

/// The object's path for writing: checks that no parent is a symlink or a file and that the object itself is not a
/// folder or a symlink; with `create`, makes the missing parent folders (without, it only checks what exists).
pub fn writable_object(
    bucket: &Path,
    key: &ObjectKey,
    create: bool,
) -> Result<PathBuf, StorageError> {
    require_bucket(bucket)?;
    let segments: Vec<&str> = key.segments().collect();
    let (last, parents) = segments.split_last().expect("object keys are never empty");
    let mut path = bucket.to_path_buf();
    for segment in parents {
        path.push(segment);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => return Err(symlink_error()),
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(StorageError::Conflict(format!(
                    "object path '{}' runs through an existing object",
                    key.as_str()
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && !create => {
                return Ok(bucket.join(key.as_str()))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => match fs::create_dir(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(backend(e)),
            },
            Err(e) => return Err(backend(e)),
        }
    }
    path.push(last);
    match fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => Err(symlink_error()),
        Ok(m) if m.is_dir() => Err(StorageError::Conflict(format!(
            "object path '{}' is a folder of other objects",
            key.as_str()
        ))),
        Ok(_) => Ok(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(path),
        Err(e) => Err(backend(e)),
    }
}

/// Opens a regular file for reading, refusing a symlink in its last component (`O_NOFOLLOW`).
pub fn open_nofollow(path: &Path) -> Result<File, StorageError> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    match options.open(path) {
        Ok(f) => Ok(f),
        Err(e) if is_missing(&e) => Err(StorageError::ObjectNotFound),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(symlink_error()),
        Err(e) => Err(backend(e)),
    }
}

/// Removes now-empty folders from `path`'s parent up to (not including) `bucket`.
pub fn prune_empty_parents(bucket: &Path, path: &Path) {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == bucket || !d.starts_with(bucket) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

fn is_missing(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory
}
