//! Ports: one trait per file, each the contract its adapters must honour. Vocabulary crates only; no engines.

pub mod cache;
pub mod queue;
pub mod registry;
pub mod webhook;

use std::sync::Arc;

pub use cache::{CacheError, CacheStore, CacheValue};
pub use queue::{
    Claimed, Failure, Job, JobStatus, PendingQueue, QueueConfig, QueueError, QueueStore,
};
pub use registry::{Registry, RegistryError, Tenant};
pub use webhook::{WebhookError, WebhookRequest, WebhookResponse, WebhookSender};

/// The services a running nano offers, each behind its port. A `None` service is disabled.
#[derive(Clone)]
pub struct Services {
    pub registry: Arc<dyn Registry>,
    pub cache: Option<Arc<dyn CacheStore>>,
    pub queue: Option<Arc<dyn QueueStore>>,
}

impl Services {
    /// Names of the enabled services in hyper's order (`cache, data, storage, search, queue`), as `GET /` lists them.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.cache.is_some() {
            names.push("cache");
        }
        if self.queue.is_some() {
            names.push("queue");
        }
        names
    }
}
