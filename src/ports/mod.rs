//! Ports: one trait per file, each the contract its adapters must honour. Vocabulary crates only; no engines.

pub mod answer;
pub mod app_control;
pub mod assets;
pub mod backend;
pub mod cache;
pub mod data;
pub mod queue;
pub mod queue_scan;
pub mod rate;
pub mod registry;
pub mod runtime;
pub mod schedule;
pub mod search;
pub mod storage;
pub mod telemetry;
pub mod webhook;
pub mod websocket;

use std::sync::Arc;

pub use app_control::{AppControl, LogStream};
pub use assets::AppAssets;
pub use backend::BackendError;
pub use cache::{CacheError, CacheStore, CacheValue};
pub use data::{DataError, DataStore, ListOptions};
pub use queue::{
    Claimed, Failure, Job, JobCounts, JobStatus, PendingQueue, QueueConfig, QueueError, QueueStore,
};
pub use queue_scan::QueueScan;
pub use rate::RateLimiter;
pub use registry::{ApiKey, AppRecord, PastApp, Registry, RegistryError, Tenant};
pub use runtime::{
    AppBindings, AppRuntime, AppStats, AppVersion, Body, BodyError, Limit, MessageOutcome,
    QueueBatch, QueueMessage, QueueOutcome, RuntimeError, ScheduledEvent,
};
pub use schedule::{Claim, RunClaims, ScheduledRun};
pub use search::{Search, SearchError};
pub use storage::{Storage, StorageError};
pub use telemetry::Telemetry;
pub use webhook::{WebhookError, WebhookRequest, WebhookResponse, WebhookSender};

/// The services a running nano offers, each behind its port. A `None` service is disabled.
#[derive(Clone)]
pub struct Services {
    pub registry: Arc<dyn Registry>,
    pub cache: Option<Arc<dyn CacheStore>>,
    pub data: Option<Arc<dyn DataStore>>,
    pub storage: Option<Arc<dyn Storage>>,
    pub search: Option<Arc<dyn Search>>,
    pub queue: Option<Arc<dyn QueueStore>>,
}

impl Services {
    /// Names of the enabled services in hyper's order (`cache, data, storage, search, queue`), as `GET /` lists them.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.cache.is_some() {
            names.push("cache");
        }
        if self.data.is_some() {
            names.push("data");
        }
        if self.storage.is_some() {
            names.push("storage");
        }
        if self.search.is_some() {
            names.push("search");
        }
        if self.queue.is_some() {
            names.push("queue");
        }
        names
    }
}
