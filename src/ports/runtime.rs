//! The app runtime port: load app versions, dispatch HTTP requests, queue batches and scheduled events to them,
//! drain them, read their stats.

use super::{CacheStore, DataStore, QueueStore, Search, Storage};
use crate::core::{AppName, AppSpec, EnvError, TenantId};
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, Stream, StreamExt};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use thiserror::Error;

/// A body chunk stream, both for requests into apps and responses out of them; `len` is known for in-memory bodies.
pub struct Body(BoxStream<'static, Result<Bytes, BodyError>>, Option<u64>);

/// A body that failed part-way (client gone, limit hit, app threw while streaming).
#[derive(Debug, Clone, Error)]
#[error("{0}")]
pub struct BodyError(pub String);

impl Body {
    pub fn empty() -> Self {
        Body(stream::empty().boxed(), Some(0))
    }

    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        let len = bytes.len() as u64;
        Body(stream::once(async move { Ok(bytes) }).boxed(), Some(len))
    }

    pub fn from_stream(s: impl Stream<Item = Result<Bytes, BodyError>> + Send + 'static) -> Self {
        Body(s.boxed(), None)
    }

    /// The body's length when it is held in memory (`from_bytes`, `empty`); `None` for streams.
    pub fn known_len(&self) -> Option<u64> {
        self.1
    }

    pub fn into_stream(self) -> BoxStream<'static, Result<Bytes, BodyError>> {
        self.0
    }

    /// Reads the whole body. A body of one chunk (every `from_bytes` body) is that chunk itself, not a copy, so
    /// whatever owns its bytes keeps owning them.
    pub async fn collect(self) -> Result<Bytes, BodyError> {
        let mut s = self.0;
        let first = match s.next().await {
            Some(chunk) => chunk?,
            None => return Ok(Bytes::new()),
        };
        let Some(second) = s.next().await else {
            return Ok(first);
        };
        let mut out = first.to_vec();
        out.extend_from_slice(&second?);
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out.into())
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Body(..)")
    }
}

/// One version of an app's code: its spec plus every module file (path relative to the app folder -> source),
/// and the service ports its bindings (`spec.bindings`) call in process.
#[derive(Debug, Clone)]
pub struct AppVersion {
    pub spec: AppSpec,
    pub modules: BTreeMap<String, String>,
    pub bindings: AppBindings,
}

/// The ports an app's bindings reach and the tenant they act for. A binding whose service has no port here (or
/// that the spec does not name) does not exist for the app. Ports only: the runtime never sees an adapter.
#[derive(Clone, Default)]
pub struct AppBindings {
    pub tenant: Option<TenantId>,
    pub cache: Option<Arc<dyn CacheStore>>,
    pub data: Option<Arc<dyn DataStore>>,
    pub storage: Option<Arc<dyn Storage>>,
    pub search: Option<Arc<dyn Search>>,
    pub queue: Option<Arc<dyn QueueStore>>,
    /// The app's static assets folder, as `env.ASSETS` (absent when the app has none).
    pub assets: Option<Arc<dyn super::AppAssets>>,
    /// The runtime serving the other apps, which service bindings and `http://<app>.localhost` reach in process
    /// (only apps of `tenant`). Weak: the runtime holds this version.
    pub peers: Option<std::sync::Weak<dyn AppRuntime>>,
}

impl AppBindings {
    /// Bindings acting for `tenant` on the given ports.
    pub fn new(tenant: TenantId, services: &super::Services) -> Self {
        Self {
            tenant: Some(tenant),
            cache: services.cache.clone(),
            data: services.data.clone(),
            storage: services.storage.clone(),
            search: services.search.clone(),
            queue: services.queue.clone(),
            assets: None,
            peers: None,
        }
    }
}

impl fmt::Debug for AppBindings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppBindings")
            .field("tenant", &self.tenant)
            .field("cache", &self.cache.is_some())
            .field("data", &self.data.is_some())
            .field("storage", &self.storage.is_some())
            .field("search", &self.search.is_some())
            .field("queue", &self.queue.is_some())
            .field("assets", &self.assets.is_some())
            .field("peers", &self.peers.is_some())
            .finish()
    }
}

/// The limits a runtime enforces; each termination names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    Cpu,
    Wall,
    Memory,
    Subrequests,
    RequestBody,
    Env,
    Startup,
    WaitUntil,
}

impl Limit {
    pub const ALL: [Limit; 8] = [
        Limit::Cpu,
        Limit::Wall,
        Limit::Memory,
        Limit::Subrequests,
        Limit::RequestBody,
        Limit::Env,
        Limit::Startup,
        Limit::WaitUntil,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Cpu => "cpu",
            Limit::Wall => "wall",
            Limit::Memory => "memory",
            Limit::Subrequests => "subrequests",
            Limit::RequestBody => "request_body",
            Limit::Env => "env",
            Limit::Startup => "startup",
            Limit::WaitUntil => "wait_until",
        }
    }

    /// The HTTP status a request terminated by this limit answers.
    pub fn status(self) -> http::StatusCode {
        match self {
            Limit::Wall => http::StatusCode::GATEWAY_TIMEOUT,
            Limit::RequestBody => http::StatusCode::PAYLOAD_TOO_LARGE,
            _ => http::StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn index(self) -> usize {
        Limit::ALL.iter().position(|l| *l == self).unwrap_or(0)
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("app {0} is not loaded")]
    NotLoaded(String),
    #[error("{limit} limit exceeded: {msg}")]
    Limit { limit: Limit, msg: String },
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("app {app} failed to load: {msg}")]
    Load { app: String, msg: String },
    #[error("app threw: {0}")]
    Exception(String),
    #[error("app {0} is draining")]
    Draining(String),
    #[error("runtime failed: {0}")]
    Engine(String),
}

impl RuntimeError {
    pub fn limit(&self) -> Option<Limit> {
        match self {
            RuntimeError::Limit { limit, .. } => Some(*limit),
            RuntimeError::Env(_) => Some(Limit::Env),
            _ => None,
        }
    }

    pub fn status(&self) -> http::StatusCode {
        match self {
            RuntimeError::Limit { limit, .. } => limit.status(),
            RuntimeError::NotLoaded(_) => http::StatusCode::NOT_FOUND,
            RuntimeError::Draining(_) => http::StatusCode::SERVICE_UNAVAILABLE,
            _ => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The client's answer: `{ ok:false, status, msg }`, plus `limit` when a limit ended the request.
    pub fn to_response(&self) -> http::Response<Body> {
        let status = self.status();
        let mut body =
            serde_json::json!({ "ok": false, "status": status.as_u16(), "msg": self.to_string() });
        if let Some(limit) = self.limit() {
            body["limit"] = serde_json::Value::String(limit.as_str().to_string());
        }
        let mut res = http::Response::new(Body::from_bytes(body.to_string()));
        *res.status_mut() = status;
        res.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        res
    }
}

/// Counters of one app, summed over its isolates and versions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppStats {
    pub heap_bytes: u64,
    pub cpu_micros: u64,
    pub requests: u64,
    pub isolates: u64,
    /// Isolates started to serve the app so far (not a load's trial isolate): one per thread it first runs on, and again
    /// after each eviction.
    pub isolate_starts: u64,
    /// Terminations per limit name (`cpu`, `wall`, `memory`, ...); limits never hit are absent.
    pub terminations: BTreeMap<&'static str, u64>,
}

/// One message of a queue batch, as the app's `queue` handler sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueMessage {
    pub id: String,
    /// When the message was enqueued (ms since the Unix epoch): `message.timestamp`.
    pub timestamp_ms: i64,
    pub body: serde_json::Value,
    /// This delivery's attempt number, 1 on the first.
    pub attempts: u32,
}

/// Messages of one queue handed to an app's `queue(batch, env, ctx)` handler at once.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueBatch {
    pub queue: String,
    pub messages: Vec<QueueMessage>,
}

/// What became of one message of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageOutcome {
    /// Done: acknowledged, or the handler returned normally without retrying it.
    Ack,
    /// To be delivered again: `retry()`ed, or not acknowledged by a handler that threw.
    Retry { delay_seconds: Option<u64> },
}

/// The outcome of a `queue` handler run: one entry per message (in batch order), and the handler's error if it
/// threw or rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOutcome {
    pub messages: Vec<MessageOutcome>,
    pub error: Option<String>,
}

/// A cron trigger firing: the app's `scheduled(event, env, ctx)` handler gets `{ cron, scheduledTime, type }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledEvent {
    pub cron: String,
    /// When the trigger was due (ms since the Unix epoch).
    pub scheduled_time_ms: i64,
}

/// Contract:
/// - `load` checks env against the limits (naming app and var), compiles every module and evaluates them once under
///   the start-up CPU limit; a failure (`Env`, `Load`, `Limit{Startup}`) leaves any previous version serving. A new version replaces the old one for new requests; in-flight ones finish on the old.
/// - `dispatch` runs the app's default export's `fetch(request, env, ctx)`; a body larger than the app's
///   `request_body_bytes` is refused with `Limit{RequestBody}` before the app runs. A request exceeding CPU, wall or
///   memory ends with `Limit{..}` (the isolate is replaced after `Memory`); a throw or rejection ends with
///   `Exception` and the isolate keeps serving. One app's termination never affects another app.
/// - Response bodies stream: the app's chunks reach the caller as it writes them.
/// - `dispatch_queue` runs the default export's `queue(batch, env, ctx)` and `dispatch_scheduled` its
///   `scheduled(event, env, ctx)`, each like a request: CPU, wall and memory limits apply (`Limit{..}`), and
///   `ctx.waitUntil` work continues after the handler settles, bounded by the same drain limit. A missing handler
///   or a throw is `Exception` for `scheduled`; for `queue` it is reported in `QueueOutcome::error`, with every
///   message not explicitly acknowledged to be retried.
/// - `unload` stops new requests to the app and returns when in-flight requests are done (bounded by the wall limit).
/// - `stats` counts requests, CPU, heap and terminations per limit.
#[async_trait]
pub trait AppRuntime: Send + Sync + 'static {
    /// Name of the engine behind this runtime (`quickjs`, `v8`).
    fn engine(&self) -> &'static str;
    async fn load(&self, app: AppVersion) -> Result<(), RuntimeError>;
    async fn dispatch(
        &self,
        app: &AppName,
        request: http::Request<Body>,
    ) -> Result<http::Response<Body>, RuntimeError>;
    async fn dispatch_queue(
        &self,
        app: &AppName,
        batch: QueueBatch,
    ) -> Result<QueueOutcome, RuntimeError>;
    async fn dispatch_scheduled(
        &self,
        app: &AppName,
        event: ScheduledEvent,
    ) -> Result<(), RuntimeError>;
    async fn unload(&self, app: &AppName) -> Result<(), RuntimeError>;
    async fn stats(&self, app: &AppName) -> Result<AppStats, RuntimeError>;
    /// The tenant owning loaded app `app` (None when it is not loaded here).
    fn tenant_of(&self, app: &AppName) -> Option<TenantId>;
}
