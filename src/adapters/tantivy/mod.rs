//! The tantivy adapter: full-text search indexes, one directory per tenant and index.

mod analysis;
mod index;
mod search;

pub use search::TantivySearch;
