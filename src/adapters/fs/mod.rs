//! Filesystem adapters: storage buckets as folders, namespaced by tenant; apps' static assets folders.

mod assets;
mod paths;
mod signing;
mod storage;
mod transfer;

pub use assets::FsAssets;
pub use storage::FsStorage;
