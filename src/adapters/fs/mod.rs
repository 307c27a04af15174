//! Filesystem adapters: storage buckets as folders, namespaced by tenant.

mod paths;
mod signing;
mod storage;

pub use storage::FsStorage;
