//! The JS app runtime, engine-neutral part: a pool of worker threads owning isolates, fed requests over channels.
//!
//! Each engine (QuickJS, V8) implements `engine::Engine`; the Web API is JS glue in `web/` plus the ops in
//! `isolate_state.rs` and `ops.rs`, shared by every engine. An app version may have isolates on several worker
//! threads (`sched.rs` picks the thread for each request); JS globals are per isolate, as in Workers.
//!
//! The port, `JsRuntime<E: Engine>`:
//! - `load` checks the env limits, then compiles the version on the least loaded background thread (bytecode into the
//!   version's code cache). It evaluates the modules once in a throw-away isolate under the start-up limit, so a
//!   version that cannot start fails to load. A new version replaces the old one at once; the old one drains.
//! - `dispatch` refuses a declared body over the limit (413) and counts the streamed rest. It sends the request to the
//!   thread `sched::pick` chooses, records that thread in the version's `homes` bit set, and awaits the reply.
//! - `dispatch_queue` and `dispatch_scheduled` send their event down the same path: a request whose method is
//!   `nano:queue` or `nano:scheduled` (no HTTP client can send those), the event as JSON. So an event gets a request's
//!   CPU, wall and memory limits and `waitUntil`. The glue answers with a JSON report that these methods read back.
//! - `unload`, and `load` of a new version, mark the old version draining and send `Drain` to every thread in its
//!   `homes`.
//! - `stats` reads shared counters.

pub mod bindings;
mod cache_api;
mod cf_bindings;
pub mod crypto;
pub mod engine;
mod fetch;
pub mod isolate_state;
pub mod meter;
pub mod op_table;
pub mod ops;
#[cfg(feature = "quickjs")]
pub mod quickjs;
mod sched;
#[cfg(feature = "v8")]
pub mod v8;
pub mod web;
mod worker;

use crate::core::{check_env, AppName};
use crate::ports::{
    AppRuntime, AppStats, AppVersion, Body, BodyError, Limit, MessageOutcome, QueueBatch,
    QueueOutcome, RuntimeError, ScheduledEvent,
};
use async_trait::async_trait;
use engine::{Engine, RequestHead};
use futures::StreamExt;
use sched::{Inbox, ThreadLoad};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::oneshot;

/// Joins a relative module specifier to the importing module's path inside the app; bare specifiers (and paths
/// leaving the app folder) give None: apps bundle their dependencies.
pub fn resolve_path(base: &str, name: &str) -> Option<String> {
    if !(name.starts_with("./") || name.starts_with("../") || name.starts_with('/')) {
        return None;
    }
    let mut parts: Vec<&str> = if name.starts_with('/') {
        Vec::new()
    } else {
        let mut p: Vec<&str> = base.split('/').collect();
        p.pop();
        p
    };
    for seg in name.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// A request's URL as the app reads it (`uri`'s text, without going through `Display`'s formatting machinery).
fn url_text(uri: &http::Uri) -> String {
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return uri.to_string();
    };
    let (path, query) = (uri.path(), uri.query());
    let mut url = String::with_capacity(
        scheme.len() + 4 + authority.as_str().len() + path.len() + query.map_or(0, str::len),
    );
    url.push_str(scheme);
    url.push_str("://");
    url.push_str(authority.as_str());
    url.push_str(path);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// Compiled module bytecode of one app version, in the engine's own format, keyed by module path.
pub type CodeCache = Mutex<HashMap<String, Arc<Vec<u8>>>>;

/// Per-app counters, shared by the port and the worker threads.
#[derive(Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub cpu_micros: AtomicU64,
    pub heap_bytes: Arc<AtomicU64>,
    pub isolates: AtomicU64,
    pub isolate_starts: AtomicU64,
    pub terminations: [AtomicU64; 8],
    /// The app's outbound requests under way, over all its isolates and versions.
    pub outbound: OutboundSlots,
    /// Bytes of the app's responses the host holds on their way to clients, over all its isolates and versions (at
    /// most its memory limit, so replacing an isolate does not free room for more).
    pub held_bytes: AtomicUsize,
}

/// Most outbound requests (fetches, from their start to the end of their response body) one app has under way at
/// once; more wait for one to finish, within their request's time limits.
pub const MAX_OUTBOUND_PER_APP: usize = 128;

/// Permits for an app's outbound requests.
pub struct OutboundSlots(pub Arc<tokio::sync::Semaphore>);

impl Default for OutboundSlots {
    fn default() -> Self {
        Self(Arc::new(tokio::sync::Semaphore::new(MAX_OUTBOUND_PER_APP)))
    }
}

impl Counters {
    pub fn terminated(&self, limit: Limit) {
        self.terminations[limit.index()].fetch_add(1, Ordering::Relaxed);
    }
}

/// One loaded app version; it gets an isolate on each worker thread its requests are sent to.
pub struct Loaded {
    pub version: AppVersion,
    pub version_id: u64,
    /// Worker threads this version's requests were sent to (bit per thread): where it may have isolates.
    pub homes: AtomicU64,
    /// Served by the background threads: its turns run long (`sched`).
    pub background: AtomicBool,
    /// Requests of this version sent to a worker thread and not answered yet (`sched::InFlight`).
    pub in_flight: AtomicUsize,
    /// Set once a newer version replaced this one or the app was removed: no new isolates.
    pub draining: AtomicBool,
    /// The version that replaced this one (set before it is marked draining).
    pub successor: std::sync::OnceLock<Arc<Loaded>>,
    /// Running average of this version's JS turns, in microseconds (the scheduler's guess at the next one).
    pub turn_us: AtomicU64,
    /// Running average of starting an isolate of this version, in microseconds (measured first at load).
    pub start_us: AtomicU64,
    pub code: CodeCache,
    pub env_json: String,
    pub counters: Arc<Counters>,
}

/// What every worker thread shares: the I/O runtime handle (body pumps, fetch) and the outbound HTTP client.
pub struct Shared {
    pub handle: tokio::runtime::Handle,
    pub client: reqwest::Client,
    pub idle_evict: Duration,
    /// `RuntimeOptions::websocket_idle`.
    pub websocket_idle: Duration,
    /// Every worker thread's inbox (set once they all run), for a worker that hands a queued request on.
    pub threads: std::sync::OnceLock<Vec<Inbox>>,
    /// Most live isolates over all worker threads (`RuntimeOptions::max_isolates`, resolved).
    pub max_isolates: usize,
    /// Where apps may connect (`RuntimeOptions::outbound`).
    pub outbound: crate::core::outbound::Outbound,
    /// The process's memory budget (`RuntimeOptions::memory`).
    pub memory: Arc<meter::MemoryBudget>,
    /// `RuntimeOptions::telemetry`.
    pub telemetry: Option<Arc<dyn crate::ports::Telemetry>>,
    /// `RuntimeOptions::websockets`.
    pub websockets: Option<Arc<dyn crate::ports::websocket::WsConnector>>,
}

/// How a `JsRuntime` runs: worker threads and when idle isolates are evicted.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Worker threads for apps with short turns (at most 42); 0 means two more than the cores. Half as many
    /// again (at least one) are started as background threads, at the lowest CPU priority, for apps whose turns
    /// run long and for compiling new versions.
    pub threads: usize,
    /// An isolate with no request in flight for this long is dropped (re-created from cached bytecode when needed).
    pub idle_evict: Duration,
    /// An open WebSocket whose client sends nothing for this long ends with its request (and is closed).
    pub websocket_idle: Duration,
    /// Most live isolates of this runtime; past it, a thread starting one first evicts its least recently used idle
    /// ones. 0: as many as the kernel's `vm.max_map_count` leaves room for (no limit for an engine without mappings).
    pub max_isolates: usize,
    /// The node's and tenants' outbound rules; each app's fetch adds its own (`AppSpec::outbound`).
    pub outbound: crate::core::outbound::Outbound,
    /// The client apps' fetches go through; it must resolve names under `outbound`'s address rule and follow no
    /// redirects itself (the composition root builds it so). `None`: a plain client, for runtimes whose outbound
    /// rule admits every address (tests, benchmarks).
    pub client: Option<reqwest::Client>,
    /// Opens apps' outbound WebSockets under the outbound policy; `None`: apps cannot open any.
    pub websockets: Option<Arc<dyn crate::ports::websocket::WsConnector>>,
    /// The memory budget of every isolate of the process (shared by the engines' runtimes): an isolate starts only
    /// if its app's memory limit fits in what is left, else its request gets 503.
    pub memory: Arc<meter::MemoryBudget>,
    /// Where the spans of apps' fetches and their console records go, when exported.
    pub telemetry: Option<Arc<dyn crate::ports::Telemetry>>,
}

impl Default for RuntimeOptions {
    /// Every address reachable (loopback included) and no host rules: for tests and benchmarks.
    fn default() -> Self {
        Self {
            threads: 0,
            idle_evict: Duration::from_secs(300),
            websocket_idle: Duration::from_secs(300),
            max_isolates: 0,
            outbound: crate::core::outbound::Outbound {
                private_networks: true,
                ..Default::default()
            },
            client: None,
            websockets: None,
            memory: Arc::default(),
            telemetry: None,
        }
    }
}

/// Messages into a worker thread.
pub enum Msg {
    Compile {
        app: Arc<Loaded>,
        reply: oneshot::Sender<Result<(), RuntimeError>>,
    },
    Dispatch {
        app: Arc<Loaded>,
        req: u64,
        head: RequestHead,
        body: Option<Body>,
        reply: isolate_state::Reply,
    },
    OpDone {
        instance: u64,
        op: u64,
        result: isolate_state::OpDone,
    },
    Drain {
        version_id: u64,
        reply: oneshot::Sender<()>,
    },
    /// Apps of this memory limit run here: the thread readies its spare for them before its first isolate starts.
    Expect {
        memory_mb: u64,
    },
    Shutdown,
}

/// The runtime port on engine `E`.
pub struct JsRuntime<E: Engine> {
    threads: Vec<Inbox>,
    next_version: AtomicU64,
    next_request: AtomicU64,
    apps: RwLock<foldhash::HashMap<AppName, Arc<Loaded>>>,
    /// Whether the foreground threads were told what memory limit to ready spares for (`Msg::Expect`).
    expected: AtomicBool,
    counters: Mutex<foldhash::HashMap<AppName, Arc<Counters>>>,
    _engine: PhantomData<fn() -> E>,
}

/// `asked`, or (when 0) as many isolates of `maps_each` mappings as fit in `vm.max_map_count` beside a reserve for the
/// rest of the process (stores, thread stacks, libraries); unlimited when an isolate holds none.
fn max_isolates(asked: usize, maps_each: usize) -> usize {
    if asked > 0 {
        return asked;
    }
    if maps_each == 0 {
        return usize::MAX;
    }
    let max_maps = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(65_530);
    (max_maps.saturating_sub(8_192) / maps_each).max(64)
}

impl<E: Engine> JsRuntime<E> {
    /// Starts `threads` worker threads (0: two more than the cores) with the default options. Must be called inside a tokio
    /// runtime, whose handle carries body pumping and outbound fetches.
    pub fn new(threads: usize) -> Result<Self, RuntimeError> {
        Self::with_options(RuntimeOptions {
            threads,
            ..Default::default()
        })
    }

    pub fn with_options(options: RuntimeOptions) -> Result<Self, RuntimeError> {
        let threads = options.threads;
        let n = if threads == 0 {
            sched::cores() + 2
        } else {
            threads
        }
        .min(42);
        E::init().map_err(RuntimeError::Engine)?;
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|e| RuntimeError::Engine(format!("no tokio runtime: {e}")))?;
        let client = match options.client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .user_agent("nano")
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| RuntimeError::Engine(e.to_string()))?,
        };
        let shared = Arc::new(Shared {
            handle,
            client,
            idle_evict: options.idle_evict,
            websocket_idle: options.websocket_idle,
            threads: std::sync::OnceLock::new(),
            max_isolates: max_isolates(options.max_isolates, E::MAPS_PER_ISOLATE),
            outbound: options.outbound,
            memory: options.memory,
            telemetry: options.telemetry,
            websockets: options.websockets,
        });
        let background = (n / 2).max(1);
        let mut senders = Vec::with_capacity(n + background);
        let epoch = std::time::Instant::now();
        for i in 0..n + background {
            let (tx, rx) = std::sync::mpsc::channel();
            let low = i >= n;
            let inbox = Inbox::new(tx, Arc::new(ThreadLoad::new(epoch, low)));
            let (shared, own) = (shared.clone(), inbox.clone());
            let kind = if low { "bg" } else { "js" };
            std::thread::Builder::new()
                .name(format!("{}-{kind}-{i}", E::NAME))
                .spawn(move || {
                    sched::no_wakeup_preemption();
                    if low {
                        sched::lowest_priority();
                    }
                    worker::run::<E>(rx, own, shared)
                })
                .map_err(|e| RuntimeError::Engine(e.to_string()))?;
            senders.push(inbox);
        }
        let _ = shared.threads.set(senders.clone());
        Ok(Self {
            threads: senders,
            next_version: AtomicU64::new(1),
            next_request: AtomicU64::new(1),
            apps: RwLock::new(foldhash::HashMap::default()),
            expected: AtomicBool::new(false),
            counters: Mutex::new(foldhash::HashMap::default()),
            _engine: PhantomData,
        })
    }

    fn send(&self, thread: usize, msg: Msg) -> Result<(), RuntimeError> {
        self.threads[thread]
            .send(msg)
            .map_err(|_| RuntimeError::Engine("worker thread is gone".into()))
    }

    fn loaded(&self, app: &AppName) -> Result<Arc<Loaded>, RuntimeError> {
        self.apps
            .read()
            .expect("apps lock")
            .get(app)
            .cloned()
            .ok_or_else(|| RuntimeError::NotLoaded(app.to_string()))
    }

    /// Runs the app's `handler` (`queue`, `scheduled`) on `payload` like a request and returns the glue's JSON report.
    async fn dispatch_event(
        &self,
        app: &AppName,
        handler: &str,
        payload: serde_json::Value,
    ) -> Result<serde_json::Value, RuntimeError> {
        let loaded = self.loaded(app)?;
        loaded.counters.requests.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let _in_flight = sched::InFlight::new(&loaded);
        let thread = sched::pick(&self.threads, &loaded);
        loaded.homes.fetch_or(1u64 << thread, Ordering::SeqCst);
        self.send(
            thread,
            Msg::Dispatch {
                req: self.next_request.fetch_add(1, Ordering::Relaxed),
                app: loaded,
                head: RequestHead::event(handler, &payload),
                body: None,
                reply: tx,
            },
        )?;
        let res = rx
            .await
            .map_err(|_| RuntimeError::Engine("the isolate went away".into()))??;
        let bytes = res
            .into_body()
            .collect()
            .await
            .map_err(|e| RuntimeError::Exception(e.to_string()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| RuntimeError::Engine(format!("{handler} report is not JSON: {e}")))
    }

    /// Marks `old` draining and tells every thread that may hold it to drain it; each receiver resolves once that
    /// thread has.
    fn drain(&self, old: &Loaded) -> Vec<oneshot::Receiver<()>> {
        old.draining.store(true, Ordering::SeqCst);
        let homes = old.homes.load(Ordering::SeqCst);
        (0..self.threads.len())
            .filter(|t| homes & (1u64 << t) != 0)
            .filter_map(|t| {
                let (tx, rx) = oneshot::channel();
                let msg = Msg::Drain {
                    version_id: old.version_id,
                    reply: tx,
                };
                self.send(t, msg).ok().map(|()| rx)
            })
            .collect()
    }

    fn counters_of(&self, app: &AppName) -> Arc<Counters> {
        self.counters
            .lock()
            .expect("counters lock")
            .entry(app.clone())
            .or_default()
            .clone()
    }
}

impl Loaded {
    /// The newest version that replaced this one, when one did (itself otherwise).
    pub fn latest(self: &Arc<Self>) -> &Arc<Self> {
        let mut v = self;
        while let Some(next) = v.successor.get() {
            v = next;
        }
        v
    }
}

impl<E: Engine> Drop for JsRuntime<E> {
    fn drop(&mut self) {
        for t in &self.threads {
            let _ = t.send(Msg::Shutdown);
        }
    }
}

#[async_trait]
impl<E: Engine> AppRuntime for JsRuntime<E> {
    fn engine(&self) -> &'static str {
        E::NAME
    }

    async fn load(&self, app: AppVersion) -> Result<(), RuntimeError> {
        let spec = &app.spec;
        check_env(spec.name.as_str(), &spec.env, &spec.limits)?;
        if !app.modules.contains_key(&spec.entry) {
            return Err(RuntimeError::Load {
                app: spec.name.to_string(),
                msg: format!("entry module {} is not among the app's files", spec.entry),
            });
        }
        let env: serde_json::Map<String, serde_json::Value> = spec
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect();
        let name = spec.name.clone();
        let thread = sched::least_loaded(&self.threads);
        // A new version of an app starts with the scheduler's picture of the one it replaces (its turns' length, the
        // kind of thread it runs on): its first requests then go where the old version's went, not all to the one
        // thread starting it while its first turn is unknown.
        let (turn_us, background) =
            self.apps
                .read()
                .expect("apps lock")
                .get(&name)
                .map_or((0, false), |old| {
                    (
                        old.turn_us.load(Ordering::Relaxed),
                        old.background.load(Ordering::Relaxed),
                    )
                });
        let loaded = Arc::new(Loaded {
            version_id: self.next_version.fetch_add(1, Ordering::Relaxed),
            homes: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            background: AtomicBool::new(background),
            draining: AtomicBool::new(false),
            successor: std::sync::OnceLock::new(),
            turn_us: AtomicU64::new(turn_us),
            start_us: AtomicU64::new(0),
            code: Mutex::new(HashMap::new()),
            env_json: serde_json::Value::Object(env).to_string(),
            counters: self.counters_of(&name),
            version: app,
        });
        let (tx, rx) = oneshot::channel();
        self.send(
            thread,
            Msg::Compile {
                app: loaded.clone(),
                reply: tx,
            },
        )?;
        rx.await
            .map_err(|_| RuntimeError::Engine("worker thread is gone".into()))??;
        let old = self
            .apps
            .write()
            .expect("apps lock")
            .insert(name, loaded.clone());
        if !self.expected.swap(true, Ordering::Relaxed) {
            // The runtime's first app: every foreground thread readies a spare for it while idle, so that no app's
            // first request there waits for a whole isolate to be made.
            let memory_mb = loaded.version.spec.limits.memory_mb;
            for (t, inbox) in self.threads.iter().enumerate() {
                if !inbox.load.background {
                    let _ = self.send(t, Msg::Expect { memory_mb });
                }
            }
        }
        if let Some(old) = old {
            let _ = old.successor.set(loaded);
            self.drain(&old);
        }
        Ok(())
    }

    fn tenant_of(&self, app: &AppName) -> Option<crate::core::TenantId> {
        self.loaded(app).ok().map(|l| l.version.spec.tenant.clone())
    }

    async fn dispatch(
        &self,
        app: &AppName,
        request: http::Request<Body>,
    ) -> Result<http::Response<Body>, RuntimeError> {
        let loaded = self.loaded(app)?;
        loaded.counters.requests.fetch_add(1, Ordering::Relaxed);
        let max = loaded.version.spec.limits.request_body_bytes;
        let declared = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max) {
            loaded.counters.terminated(Limit::RequestBody);
            return Err(RuntimeError::Limit {
                limit: Limit::RequestBody,
                msg: format!(
                    "request body of {} bytes is over {max}",
                    declared.unwrap_or(0)
                ),
            });
        }
        let (parts, body) = request.into_parts();
        let has_body = !matches!(parts.method, http::Method::GET | http::Method::HEAD);
        let body = has_body.then(|| {
            let mut seen = 0u64;
            Body::from_stream(body.into_stream().map(move |chunk| {
                let chunk = chunk?;
                seen += chunk.len() as u64;
                if seen > max {
                    return Err(BodyError(format!("request body is over {max} bytes")));
                }
                Ok(chunk)
            }))
        });
        let head = RequestHead {
            method: parts.method.as_str().to_owned(),
            url: url_text(&parts.uri),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            trace: parts
                .extensions
                .get::<crate::core::trace::TraceContext>()
                .copied(),
        };
        let (tx, rx) = oneshot::channel();
        let _in_flight = sched::InFlight::new(&loaded);
        let thread = sched::pick(&self.threads, &loaded);
        loaded.homes.fetch_or(1u64 << thread, Ordering::SeqCst);
        self.send(
            thread,
            Msg::Dispatch {
                req: self.next_request.fetch_add(1, Ordering::Relaxed),
                app: loaded,
                head,
                body,
                reply: tx,
            },
        )?;
        rx.await
            .map_err(|_| RuntimeError::Engine("the isolate went away".into()))?
    }

    async fn dispatch_queue(
        &self,
        app: &AppName,
        batch: QueueBatch,
    ) -> Result<QueueOutcome, RuntimeError> {
        let n = batch.messages.len();
        let payload = serde_json::json!({
            "queue": batch.queue,
            "messages": batch.messages.iter().map(|m| serde_json::json!({
                "id": m.id, "timestamp": m.timestamp_ms, "body": m.body, "attempts": m.attempts,
            })).collect::<Vec<_>>(),
        });
        let report = self.dispatch_event(app, "queue", payload).await?;
        let messages: Vec<MessageOutcome> = report["outcomes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| match o["retry"].as_bool() {
                        Some(true) => MessageOutcome::Retry {
                            delay_seconds: o["delaySeconds"].as_u64(),
                        },
                        _ => MessageOutcome::Ack,
                    })
                    .collect()
            })
            .unwrap_or_default();
        if messages.len() != n {
            return Err(RuntimeError::Engine(format!(
                "queue report has {} outcomes for {n} messages",
                messages.len()
            )));
        }
        Ok(QueueOutcome {
            messages,
            error: report["error"].as_str().map(str::to_string),
        })
    }

    async fn dispatch_scheduled(
        &self,
        app: &AppName,
        event: ScheduledEvent,
    ) -> Result<(), RuntimeError> {
        let payload =
            serde_json::json!({ "cron": event.cron, "scheduledTime": event.scheduled_time_ms });
        let report = self.dispatch_event(app, "scheduled", payload).await?;
        match report["error"].as_str() {
            Some(e) => Err(RuntimeError::Exception(e.to_string())),
            None => Ok(()),
        }
    }

    async fn unload(&self, app: &AppName) -> Result<(), RuntimeError> {
        let loaded = self
            .apps
            .write()
            .expect("apps lock")
            .remove(app)
            .ok_or_else(|| RuntimeError::NotLoaded(app.to_string()))?;
        for rx in self.drain(&loaded) {
            let _ = rx.await;
        }
        Ok(())
    }

    async fn stats(&self, app: &AppName) -> Result<AppStats, RuntimeError> {
        let c = self
            .counters
            .lock()
            .expect("counters lock")
            .get(app)
            .cloned()
            .ok_or_else(|| RuntimeError::NotLoaded(app.to_string()))?;
        let mut terminations = std::collections::BTreeMap::new();
        for limit in Limit::ALL {
            let n = c.terminations[limit.index()].load(Ordering::Relaxed);
            if n > 0 {
                terminations.insert(limit.as_str(), n);
            }
        }
        Ok(AppStats {
            heap_bytes: c.heap_bytes.load(Ordering::Relaxed),
            cpu_micros: c.cpu_micros.load(Ordering::Relaxed),
            requests: c.requests.load(Ordering::Relaxed),
            isolates: c.isolates.load(Ordering::Relaxed),
            isolate_starts: c.isolate_starts.load(Ordering::Relaxed),
            terminations,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_url_reads_as_its_uri_displays() {
        for text in [
            "http://a.test/",
            "http://a.test/p/q?x=1&y",
            "https://a.test:8443/?",
            "/relative?q",
            "http://a.test",
        ] {
            let uri: http::Uri = text.parse().unwrap();
            assert_eq!(super::url_text(&uri), uri.to_string(), "{text}");
        }
    }
}
