//! The tantivy adapter: full-text search indexes, one directory per tenant and index.

mod analysis;
mod directory;
mod expand;
mod index;
mod search;
mod wal;
mod writer;

pub use search::TantivySearch;
