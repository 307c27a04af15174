//! Adapters: one folder per technology, each implementing ports. Adapters never call each other.

pub mod http;
pub mod http_client;
pub mod sqlite;
