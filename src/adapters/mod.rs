//! Adapters: one folder per technology, each implementing ports. Adapters never call each other.

pub mod fs;
pub mod http;
pub mod http_client;
pub mod js;
pub mod memory;
pub mod otel;
pub mod postgres;
pub mod redis;
pub mod s3;
pub mod sql;
pub mod sqlite;
pub mod tantivy;
