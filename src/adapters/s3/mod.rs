//! S3 adapters: the storage port on any S3-compatible service (AWS S3, MinIO, Ceph RGW, SeaweedFS, R2), one S3
//! bucket holding every tenant under `<prefix>/<tenant>/<bucket>/<object>`.

mod keys;
mod storage;

pub use storage::{S3Storage, S3Target};
