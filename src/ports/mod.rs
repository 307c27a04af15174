//! Ports: one trait per file, each the contract its adapters must honour. Vocabulary crates only; no engines.

pub mod data;
pub mod registry;
pub mod runtime;
pub mod search;
pub mod storage;

use std::sync::Arc;

pub use data::{DataError, DataStore, ListOptions};
pub use registry::{ApiKey, Registry, RegistryError, Tenant};
pub use runtime::{AppRuntime, AppStats, AppVersion, Body, BodyError, Limit, RuntimeError};
pub use search::{Search, SearchError};
pub use storage::{Storage, StorageError};

/// The services a running nano offers, each behind its port. A `None` service is disabled.
#[derive(Clone)]
pub struct Services {
    pub registry: Arc<dyn Registry>,
    pub data: Option<Arc<dyn DataStore>>,
    pub storage: Option<Arc<dyn Storage>>,
    pub search: Option<Arc<dyn Search>>,
}

impl Services {
    /// Names of the enabled services in hyper's order (`cache, data, storage, search, queue`), as `GET /` lists them.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.data.is_some() {
            names.push("data");
        }
        if self.storage.is_some() {
            names.push("storage");
        }
        if self.search.is_some() {
            names.push("search");
        }
        names
    }
}
