//! Ports: one trait per file, each the contract its adapters must honour. Vocabulary crates only; no engines.

pub mod cache;
pub mod registry;

use std::sync::Arc;

pub use cache::{CacheError, CacheStore, CacheValue};
pub use registry::{Registry, RegistryError, Tenant};

/// The services a running nano offers, each behind its port. A `None` service is disabled.
#[derive(Clone)]
pub struct Services {
    pub registry: Arc<dyn Registry>,
    pub cache: Option<Arc<dyn CacheStore>>,
}

impl Services {
    /// Names of the enabled services in hyper's order (`cache, data, storage, search, queue`), as `GET /` lists them.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.cache.is_some() {
            names.push("cache");
        }
        names
    }
}
