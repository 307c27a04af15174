//! The host side of one isolate: its requests, resources, timers and pending ops, reached by the engine's ops.
//!
//! Async ops (body reads, response writes, `fetch`, bindings) run on the tokio handle and post their results back to
//! the worker thread's channel; a later turn completes them in JS.
//!
//! Background work is a turn of no live request: timers and promise jobs after the response. It draws on one CPU
//! limit's worth of CPU, renewed by each incoming request. When that is spent, or `wait_until_ms` after the last
//! request ended, the timers no live request owns are cancelled (`cancel_background`, with a log line). Only request
//! turns update an isolate's last use.
//!
//! A streamed response ends cleanly only through `close`. A body whose sender goes any other way fails on the wire (no
//! final chunk on HTTP/1.1, a reset stream on h2), never as a short body that looks whole. `wall_ms` applies until
//! `close`. A console line is cut at `MAX_LOG_LINE_BYTES` (16 KB).
//!
//! A response body, whole or streamed chunk by chunk, leaves the isolate as bytes the host holds until the client
//! has taken them (`Held`). Until then they are charged to the isolate's memory meter, and to the app's held bytes,
//! which may not pass the app's memory limit over all its isolates (past it, that request alone fails with the
//! memory limit): slow clients cannot make the host hold more of an app's output than that, even as its isolates are
//! replaced.

use super::engine::OpValue;
use super::meter::MemMeter;
use super::sched::Inbox;
use super::{Loaded, Msg, Shared};
use crate::ports::websocket::{AppEnd, WebSocketUpgrade, WsMessage, MAX_MESSAGE};
use crate::ports::{Body, BodyError, Limit, RuntimeError};
use bytes::Bytes;
use foldhash::HashMap;
use futures::stream::{BoxStream, StreamExt};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Bytes the host holds for an app on their way to a client, charged to the isolate's memory meter until the last
/// reference to them is dropped.
struct Held {
    data: Vec<u8>,
    mem: Arc<MemMeter>,
    app: Arc<Loaded>,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.mem.release(self.data.len());
        self.app
            .counters
            .held_bytes
            .fetch_sub(self.data.len(), std::sync::atomic::Ordering::Relaxed);
    }
}

/// Why output could not be held for a client.
enum Refused {
    /// The app's output on its way to clients would pass its memory limit: the request fails, the isolate goes on.
    App(String),
    /// The isolate would pass its memory limit: it is flagged out of memory.
    Isolate,
}

impl Refused {
    /// What an op refused this way fails with.
    fn message(self) -> String {
        match self {
            Refused::App(msg) => msg,
            Refused::Isolate => "memory limit exceeded".into(),
        }
    }
}

/// A response head with the app's status and headers.
fn response<T>(
    status: u16,
    headers: &[(String, String)],
    body: T,
) -> Result<http::Response<T>, String> {
    let mut response = http::Response::new(body);
    *response.status_mut() = http::StatusCode::from_u16(status).map_err(|e| e.to_string())?;
    let map = response.headers_mut();
    map.reserve(headers.len());
    for (k, v) in headers {
        let name = http::HeaderName::from_bytes(k.as_bytes()).map_err(|e| e.to_string())?;
        let value = http::HeaderValue::from_str(v).map_err(|e| e.to_string())?;
        map.append(name, value);
    }
    Ok(response)
}

/// The longest console line an app logs; longer ones are cut and marked `[truncated: <bytes> bytes]`.
pub const MAX_LOG_LINE_BYTES: usize = 16 * 1024;

/// Why a streamed response body failed when its app did not end it.
const CUT_SHORT: &str = "the app's response ended before it was complete";

pub type Reply = oneshot::Sender<Result<http::Response<Body>, RuntimeError>>;
type Resource = Arc<tokio::sync::Mutex<BoxStream<'static, Result<Bytes, BodyError>>>>;

/// An op's result as it travels back to the worker thread.
pub enum OpDone {
    Value(OpValue),
    /// Something from outside arrived for the op's request (a WebSocket message): its turn starts a fresh CPU
    /// budget, and the request's idle time starts again.
    Event(OpValue),
    Chunk(Option<Bytes>),
    Fetched {
        status: u16,
        status_text: String,
        headers: Vec<(String, String)>,
        /// The URL the response came from, when redirects were followed.
        url: Option<String>,
        body: BoxStream<'static, Result<Bytes, BodyError>>,
    },
    /// An outbound WebSocket opened: the app's end (kept under a new resource id) and the server's subprotocol.
    Socket(crate::ports::websocket::WsConnected),
    Error(String),
}

/// The app's end of one open WebSocket, owned by the request that accepted it.
struct Socket {
    req: u64,
    send: futures::channel::mpsc::UnboundedSender<WsMessage>,
    recv: Arc<futures::lock::Mutex<futures::channel::mpsc::Receiver<WsMessage>>>,
}

/// One request in flight on an isolate.
pub struct ReqState {
    pub reply: Option<Reply>,
    pub stream: Option<mpsc::Sender<Result<Bytes, BodyError>>>,
    pub cpu: Duration,
    pub deadline: Instant,
    pub subrequests: u32,
    /// The request chain's hop count (`core::outbound::HOPS_HEADER`); the app's fetches carry one more.
    pub hops: u32,
    /// Body resources (its own request body, fetched bodies) dropped with the request.
    pub resources: Vec<u64>,
    /// The request's span, when it is traced.
    pub trace: Option<crate::core::trace::TraceContext>,
}

#[derive(Default)]
pub struct IsolateTables {
    pub current: Option<u64>,
    pub requests: HashMap<u64, ReqState>,
    resources: HashMap<u64, Resource>,
    pub timers: BTreeMap<(Instant, u64), Option<u64>>,
    timer_at: HashMap<u64, Instant>,
    next_op: u64,
    next_rid: u64,
    op_owner: HashMap<u64, u64>,
    codecs: HashMap<u64, super::ops::Codec>,
    /// Open WebSockets by resource id.
    sockets: HashMap<u64, Socket>,
    next_codec: u64,
    /// Requests ended by the host whose `request.signal` the app has not been told about yet.
    pub aborted: Vec<(u64, String)>,
    /// Streaming bodies of outbound fetches, by the fetch's op id.
    sinks: HashMap<u64, mpsc::Sender<Result<Bytes, std::io::Error>>>,
    /// CPU used by background work (turns of no live request: timers and promise jobs after a response) since the
    /// last request arrived; at the CPU limit its timers are cancelled.
    pub background_cpu: Duration,
    /// Since when no request has been in flight; `wait_until_ms` later, background timers are cancelled.
    quiet_since: Option<Instant>,
}

/// One isolate's state: its bookkeeping tables plus what ops need to reach the outside: the worker's inbox and the
/// shared tokio handle and client.
pub struct IsolateState {
    pub instance: u64,
    pub app: Arc<Loaded>,
    inbox: Inbox,
    shared: Arc<Shared>,
    mem: Arc<MemMeter>,
    pub state: RefCell<IsolateTables>,
}

impl IsolateState {
    pub fn new(
        instance: u64,
        app: Arc<Loaded>,
        inbox: Inbox,
        shared: Arc<Shared>,
        mem: Arc<MemMeter>,
    ) -> Self {
        Self {
            instance,
            app,
            inbox,
            shared,
            mem,
            state: RefCell::new(IsolateTables::default()),
        }
    }

    fn next_op(&self) -> u64 {
        let mut st = self.state.borrow_mut();
        st.next_op += 1;
        let op = st.next_op;
        if let Some(r) = st.current {
            st.op_owner.insert(op, r);
        }
        op
    }

    /// The request on whose behalf op `op` was started (it pays for the JS its completion runs).
    pub fn op_owner(&self, op: u64) -> Option<u64> {
        self.state.borrow_mut().op_owner.remove(&op)
    }

    /// Runs `fut` on the I/O runtime and posts its result back to this isolate as op `op`.
    fn spawn_op(&self, op: u64, fut: impl std::future::Future<Output = OpDone> + Send + 'static) {
        let inbox = self.inbox.clone();
        let instance = self.instance;
        self.shared.handle.spawn(async move {
            let result = fut.await;
            let _ = inbox.send(Msg::OpDone {
                instance,
                op,
                result,
            });
        });
    }

    /// Registers a body stream for JS to read; it is dropped when `owner` (if any) ends.
    pub fn add_resource(
        &self,
        body: BoxStream<'static, Result<Bytes, BodyError>>,
        owner: Option<u64>,
    ) -> u64 {
        let mut st = self.state.borrow_mut();
        st.next_rid += 1;
        let rid = st.next_rid;
        st.resources
            .insert(rid, Arc::new(tokio::sync::Mutex::new(body)));
        if let Some(rs) = owner.and_then(|r| st.requests.get_mut(&r)) {
            rs.resources.push(rid);
        }
        rid
    }

    /// Removes a request and the body resources it owned.
    fn remove_request(&self, req: u64) -> Option<ReqState> {
        let mut st = self.state.borrow_mut();
        let rs = st.requests.remove(&req)?;
        for rid in &rs.resources {
            st.resources.remove(rid);
        }
        st.sockets.retain(|_, s| s.req != req);
        if st.requests.is_empty() {
            st.quiet_since = Some(Instant::now());
        }
        Some(rs)
    }

    /// Takes in a new request: background work gets a fresh CPU allowance and the quiet period ends.
    pub fn add_request(&self, req: u64, rs: ReqState) {
        let mut st = self.state.borrow_mut();
        st.requests.insert(req, rs);
        st.background_cpu = Duration::ZERO;
        st.quiet_since = None;
    }

    /// Whether no request has been in flight for longer than `wait_until_ms`: background work must stop.
    pub fn background_overdue(&self, now: Instant) -> bool {
        let wait = Duration::from_millis(self.app.version.spec.limits.wait_until_ms);
        let st = self.state.borrow();
        st.requests.is_empty()
            && st
                .quiet_since
                .is_some_and(|q| now.duration_since(q) >= wait)
    }

    /// Cancels every timer no live request owns (background work), with a log line saying why, if there were any.
    pub fn cancel_background(&self, why: &str) {
        let cancelled = {
            let mut st = self.state.borrow_mut();
            let live: Vec<u64> = st.requests.keys().copied().collect();
            let gone: Vec<(Instant, u64)> = st
                .timers
                .iter()
                .filter(|(_, owner)| owner.is_none_or(|o| !live.contains(&o)))
                .map(|(k, _)| *k)
                .collect();
            for key in &gone {
                st.timers.remove(key);
                st.timer_at.remove(&key.1);
            }
            gone.len()
        };
        if cancelled > 0 {
            self.log(
                "warn",
                &format!("{why}; {cancelled} pending timer(s) cancelled"),
            );
        }
    }

    /// How request `req` is named in logs: this version's id and the request's number.
    fn request_id(&self, req: u64) -> String {
        format!("{:x}-{req}", self.app.version_id)
    }

    /// Logs one console line (or an error) of the app, cut at [`MAX_LOG_LINE_BYTES`] and marked when cut.
    pub fn log(&self, level: &str, msg: &str) {
        let cut;
        let msg = if msg.len() > MAX_LOG_LINE_BYTES {
            let mut end = MAX_LOG_LINE_BYTES;
            while !msg.is_char_boundary(end) {
                end -= 1;
            }
            cut = format!("{} [truncated: {} bytes]", &msg[..end], msg.len());
            cut.as_str()
        } else {
            msg
        };
        let st = self.state.borrow();
        let current = st.current.filter(|r| st.requests.contains_key(r));
        let rid = current
            .map(|r| self.request_id(r))
            .unwrap_or_else(|| "-".into());
        let (app, tenant) = (
            self.app.version.spec.name.as_str(),
            self.app.version.spec.tenant.as_str(),
        );
        if let Some(telemetry) = &self.shared.telemetry {
            use crate::core::trace::{AttrValue, LogRecord};
            telemetry.log(LogRecord {
                time_nanos: crate::core::clock::now_nanos(),
                level: level.to_string(),
                body: msg.to_string(),
                context: current.and_then(|r| st.requests[&r].trace),
                attributes: vec![
                    ("nano.tenant", AttrValue::Str(tenant.to_string())),
                    ("nano.app", AttrValue::Str(app.to_string())),
                    ("nano.request_id", AttrValue::Str(rid.clone())),
                ],
            });
        }
        match level {
            "error" => {
                tracing::error!(target: "nano::app", app, tenant, request_id = rid.as_str(), "{msg}")
            }
            "warn" => {
                tracing::warn!(target: "nano::app", app, tenant, request_id = rid.as_str(), "{msg}")
            }
            "debug" => {
                tracing::debug!(target: "nano::app", app, tenant, request_id = rid.as_str(), "{msg}")
            }
            _ => {
                tracing::info!(target: "nano::app", app, tenant, request_id = rid.as_str(), "{msg}")
            }
        }
    }

    pub fn timer_start(&self, id: u64, ms: f64) {
        let at = Instant::now() + Duration::from_micros((ms.max(0.0) * 1000.0) as u64);
        let mut st = self.state.borrow_mut();
        let owner = st.current;
        if let Some(old) = st.timer_at.insert(id, at) {
            st.timers.remove(&(old, id));
        }
        st.timers.insert((at, id), owner);
    }

    pub fn timer_cancel(&self, id: u64) {
        let mut st = self.state.borrow_mut();
        if let Some(at) = st.timer_at.remove(&id) {
            st.timers.remove(&(at, id));
        }
    }

    /// Removes and returns the timers due by `now`, with the request each belongs to.
    pub fn due_timers(&self, now: Instant) -> Vec<(u64, Option<u64>)> {
        let mut st = self.state.borrow_mut();
        let mut due = Vec::new();
        while let Some((&(at, id), &owner)) = st.timers.iter().next() {
            if at > now {
                break;
            }
            st.timers.remove(&(at, id));
            st.timer_at.remove(&id);
            due.push((id, owner));
        }
        due
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        let st = self.state.borrow();
        let t = st.timers.keys().next().map(|(at, _)| *at);
        let r = st.requests.values().map(|r| r.deadline).min();
        t.into_iter().chain(r).min()
    }

    /// The app's response head (and body, unless it streams).
    pub fn respond(
        &self,
        req: u64,
        status: u16,
        headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
        streaming: bool,
    ) -> Result<(), String> {
        // Read before the match: `terminate` below borrows the state again.
        let live = self.state.borrow().requests.contains_key(&req);
        let whole = match (streaming, live) {
            (_, false) => return Ok(()),
            (true, true) => None,
            (false, true) => match self.hold(body.unwrap_or_default()) {
                Ok(bytes) => Some(bytes),
                Err(Refused::App(msg)) => {
                    self.terminate(req, Limit::Memory, &msg);
                    return Ok(());
                }
                // Past the isolate's limit: the worker ends the isolate's requests after this turn.
                Err(Refused::Isolate) => return Ok(()),
            },
        };
        let mut st = self.state.borrow_mut();
        let limits = &self.app.version.spec.limits;
        let Some(rs) = st.requests.get_mut(&req) else {
            return Ok(());
        };
        let body = if let Some(bytes) = whole {
            Body::from_bytes(bytes)
        } else {
            let (tx, rx) = mpsc::channel(4);
            rs.stream = Some(tx);
            // Only `close` ends the body cleanly (with the empty chunk `write` never sends); a body whose sender
            // goes any other way (a limit, an exception, the isolate replaced) fails, so the client sees an error
            // on the wire (HTTP/1.1: no final chunk; h2: a reset stream), never a short body that looks whole.
            Body::from_stream(futures::stream::unfold(Some(rx), |rx| async move {
                let mut rx = rx?;
                match rx.recv().await {
                    Some(Ok(chunk)) if chunk.is_empty() => None,
                    Some(item) => Some((item, Some(rx))),
                    None => Some((Err(BodyError(CUT_SHORT.into())), None)),
                }
            }))
        };
        let mut response = response(status, &headers, body)?;
        response
            .extensions_mut()
            .insert(crate::core::trace::Served {
                version: self.app.version_id,
                cpu_micros: rs.cpu.as_micros() as u64,
            });
        if let Some(reply) = rs.reply.take() {
            let _ = reply.send(Ok(response));
        }
        if !streaming {
            // The response is whole: `waitUntil` work may go on (a streamed body stays under `wall_ms` until `close`).
            rs.deadline = rs
                .deadline
                .max(Instant::now() + Duration::from_millis(limits.wait_until_ms));
        }
        Ok(())
    }

    /// `data` as bytes charged to the app's memory until the client has taken them. Refused when the app's output
    /// on its way to clients would pass its memory limit (only this request fails), or when the isolate would (it is
    /// flagged out of memory, and replaced).
    fn hold(&self, data: Vec<u8>) -> Result<Bytes, Refused> {
        use std::sync::atomic::Ordering::Relaxed;
        let len = data.len();
        let limits = &self.app.version.spec.limits;
        let limit = (limits.memory_mb as usize).saturating_mul(1024 * 1024);
        let held = &self.app.counters.held_bytes;
        if held.fetch_add(len, Relaxed) + len > limit {
            held.fetch_sub(len, Relaxed);
            return Err(Refused::App(format!(
                "the app's responses waiting for their clients would hold more than its {} MB",
                limits.memory_mb
            )));
        }
        if !self.mem.allows(len) {
            held.fetch_sub(len, Relaxed);
            return Err(Refused::Isolate);
        }
        self.mem.add(len);
        let (mem, app) = (self.mem.clone(), self.app.clone());
        Ok(Bytes::from_owner(Held { data, mem, app }))
    }

    /// Answers `req` with `101` and a new WebSocket (the app returned the client end of a `WebSocketPair`); the
    /// resource id of the app's end. The HTTP front end completes the upgrade.
    pub fn respond_websocket(
        &self,
        req: u64,
        headers: Vec<(String, String)>,
    ) -> Result<u64, String> {
        let (channels, end) = crate::ports::websocket::channels();
        let upgrade = WebSocketUpgrade::new(channels);
        let mut response = response(101, &headers, Body::empty())?;
        response.extensions_mut().insert(upgrade);
        let mut st = self.state.borrow_mut();
        let Some(rs) = st.requests.get_mut(&req) else {
            return Err("the request has ended".into());
        };
        let Some(reply) = rs.reply.take() else {
            return Err("the request was already answered".into());
        };
        rs.deadline = Instant::now() + self.shared.websocket_idle;
        let _ = reply.send(Ok(response));
        Ok(Self::add_socket(&mut st, end, req))
    }

    /// Keeps the app's end of a WebSocket, owned by `req` (dropped, and so closed, when that request ends); its
    /// resource id.
    fn add_socket(st: &mut IsolateTables, end: AppEnd, req: u64) -> u64 {
        st.next_rid += 1;
        let rid = st.next_rid;
        let socket = Socket {
            req,
            send: end.send,
            recv: Arc::new(futures::lock::Mutex::new(end.recv)),
        };
        st.sockets.insert(rid, socket);
        rid
    }

    /// Opens an outbound WebSocket to `url` (`ws:`, `wss:`, or their `http:`/`https:` forms) with the request
    /// `headers` (a `Sec-WebSocket-Protocol` among them asks for subprotocols), counted as a subrequest, under the
    /// app's outbound policy. Completes with `{ rid, protocol }` as JSON; the socket belongs to the current
    /// request and closes when it ends.
    pub fn ws_connect(&self, url: &str, mut headers: Vec<(String, String)>) -> Result<u64, String> {
        use crate::core::outbound::HOPS_HEADER;
        let Some(connector) = self.shared.websockets.clone() else {
            return Err("outbound WebSockets are not available in this runtime".into());
        };
        let mut parsed = url::Url::parse(url).map_err(|e| format!("invalid URL {url}: {e}"))?;
        let scheme = match parsed.scheme() {
            "ws" | "http" => "http",
            "wss" | "https" => "https",
            other => {
                return Err(format!(
                    "a WebSocket URL is ws: or wss: (or http: or https:), not {other}:"
                ))
            }
        };
        if parsed.fragment().is_some() {
            return Err(format!("a WebSocket URL has no fragment: {url}"));
        }
        let _ = parsed.set_scheme(scheme);
        let hops = self.subrequest()?;
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case(HOPS_HEADER));
        headers.push((HOPS_HEADER.to_string(), hops.to_string()));
        let spec = &self.app.version.spec;
        let policy = self
            .shared
            .outbound
            .policy(spec.tenant.as_str(), Some(&spec.outbound));
        let op = self.next_op();
        self.spawn_op(op, async move {
            match connector.connect(&parsed, headers, &policy).await {
                Ok(connected) => OpDone::Socket(connected),
                Err(e) => OpDone::Error(e),
            }
        });
        Ok(op)
    }

    /// Keeps an opened WebSocket's end for `owner`, the request that opened it; `{ rid, protocol }` as JSON bytes.
    /// When that request has ended meanwhile, the end is dropped (closing the socket) and the open fails.
    pub fn opened_socket(
        &self,
        connected: crate::ports::websocket::WsConnected,
        owner: Option<u64>,
    ) -> Result<Vec<u8>, String> {
        let mut st = self.state.borrow_mut();
        let Some(req) = owner.filter(|r| st.requests.contains_key(r)) else {
            return Err("the request that opened the WebSocket has ended".into());
        };
        let rid = Self::add_socket(&mut st, connected.end, req);
        Ok(
            serde_json::json!({ "rid": rid, "protocol": connected.protocol })
                .to_string()
                .into_bytes(),
        )
    }

    /// Sends a message on WebSocket `rid` (charged to the app's memory until the client takes it).
    pub fn ws_send(&self, rid: u64, text: bool, data: Vec<u8>) -> Result<(), String> {
        if data.len() > MAX_MESSAGE {
            return Err(format!(
                "a WebSocket message may hold at most {MAX_MESSAGE} bytes, not {}",
                data.len()
            ));
        }
        if text && std::str::from_utf8(&data).is_err() {
            return Err("a WebSocket text message must be UTF-8".into());
        }
        let bytes = self.hold(data).map_err(Refused::message)?;
        let st = self.state.borrow();
        let socket = st.sockets.get(&rid).ok_or("the WebSocket is closed")?;
        let message = if text {
            WsMessage::Text(bytes)
        } else {
            WsMessage::Binary(bytes)
        };
        socket
            .send
            .unbounded_send(message)
            .map_err(|_| "the WebSocket is closed".to_string())
    }

    /// Closes WebSocket `rid` with `code` and `reason`.
    pub fn ws_close(&self, rid: u64, code: u16, reason: String) {
        if let Some(socket) = self.state.borrow().sockets.get(&rid) {
            let _ = socket.send.unbounded_send(WsMessage::Close(code, reason));
            socket.send.close_channel();
        }
    }

    /// The next message from the client of WebSocket `rid`, as tagged bytes: `T` and UTF-8 text, `B` and binary
    /// data, `C`, a 2-byte code and the reason when the socket closed.
    pub fn ws_recv(&self, rid: u64) -> Result<u64, String> {
        let recv = self
            .state
            .borrow()
            .sockets
            .get(&rid)
            .map(|s| s.recv.clone())
            .ok_or("the WebSocket is closed")?;
        let op = self.next_op();
        self.spawn_op(op, async move {
            let message = recv.lock().await.next().await;
            let mut out = Vec::new();
            match message {
                Some(WsMessage::Text(t)) => {
                    out.push(b'T');
                    out.extend_from_slice(&t);
                }
                Some(WsMessage::Binary(b)) => {
                    out.push(b'B');
                    out.extend_from_slice(&b);
                }
                Some(WsMessage::Close(code, reason)) => {
                    out.push(b'C');
                    out.extend_from_slice(&code.to_be_bytes());
                    out.extend_from_slice(reason.as_bytes());
                }
                None => out.extend_from_slice(&[b'C', 0x03, 0xed]),
            }
            OpDone::Event(OpValue::Bytes(out))
        });
        Ok(op)
    }

    /// A WebSocket message arrived for `req`: its next turn has a whole CPU budget, and its idle time starts again.
    pub fn fresh_event(&self, req: u64) {
        if let Some(rs) = self.state.borrow_mut().requests.get_mut(&req) {
            rs.cpu = Duration::ZERO;
            rs.deadline = rs.deadline.max(Instant::now() + self.shared.websocket_idle);
        }
    }

    /// Sends one chunk of a streaming response; the op completes once the client's side accepted it.
    pub fn write(&self, req: u64, chunk: Vec<u8>) -> u64 {
        let op = self.next_op();
        let chunk = self.hold(chunk).map_err(Refused::message);
        let tx = self
            .state
            .borrow()
            .requests
            .get(&req)
            .and_then(|r| r.stream.clone());
        self.spawn_op(op, async move {
            match tx {
                // An empty chunk would read as the end of the body; there is nothing to send.
                Some(_) if chunk.as_ref().is_ok_and(Bytes::is_empty) => {
                    OpDone::Value(OpValue::Undefined)
                }
                Some(tx) => match chunk {
                    Ok(chunk) => match tx.send(Ok(chunk)).await {
                        Ok(()) => OpDone::Value(OpValue::Undefined),
                        Err(_) => OpDone::Error("response body closed".into()),
                    },
                    Err(msg) => OpDone::Error(msg),
                },
                None => OpDone::Error("response body closed".into()),
            }
        });
        op
    }

    /// Ends a streaming response (`error` set: the body fails with it), after the chunks already written. A clean
    /// end lets `waitUntil` work go on for `wait_until_ms`.
    pub fn close(&self, req: u64, error: Option<String>) {
        let tx = {
            let mut st = self.state.borrow_mut();
            let Some(rs) = st.requests.get_mut(&req) else {
                return;
            };
            if error.is_none() {
                let wait = Duration::from_millis(self.app.version.spec.limits.wait_until_ms);
                rs.deadline = rs.deadline.max(Instant::now() + wait);
            }
            rs.stream.take()
        };
        if let Some(tx) = tx {
            let last = match error {
                Some(e) => Err(BodyError(e)),
                None => Ok(Bytes::new()),
            };
            self.shared.handle.spawn(async move {
                let _ = tx.send(last).await;
            });
        }
    }

    /// The app threw or rejected: 500 if nothing was sent yet, a failed body otherwise; always a log line.
    pub fn fail(&self, req: u64, msg: &str) {
        if self.mem.out_of_memory() {
            // The worker ends every request of this isolate with the memory limit after this turn.
            return;
        }
        let text = crate::core::load_hints::with_hint(msg.to_string());
        self.log("error", &format!("uncaught exception: {text}"));
        let mut st = self.state.borrow_mut();
        if let Some(rs) = st.requests.get_mut(&req) {
            if let Some(reply) = rs.reply.take() {
                let _ = reply.send(Err(RuntimeError::Exception(first_line(msg))));
            }
            if let Some(tx) = rs.stream.take() {
                let _ = tx.try_send(Err(BodyError(first_line(msg))));
            }
        }
    }

    /// The request is complete: response sent and `waitUntil` work settled.
    pub fn finish(&self, req: u64) {
        if self.mem.out_of_memory() {
            return;
        }
        if let Some(mut rs) = self.remove_request(req) {
            if let Some(reply) = rs.reply.take() {
                let _ = reply.send(Err(RuntimeError::Exception(
                    "the app finished without a response".into(),
                )));
            }
        }
    }

    /// Ends a request because it broke `limit`, whatever state it is in.
    pub fn terminate(&self, req: u64, limit: Limit, msg: &str) {
        let Some(mut rs) = self.remove_request(req) else {
            return;
        };
        let spec = &self.app.version.spec;
        tracing::warn!(target: "nano::app", app = spec.name.as_str(), tenant = spec.tenant.as_str(),
            request_id = self.request_id(req).as_str(), limit = limit.as_str(), "request terminated: {msg}");
        self.app.counters.terminated(limit);
        self.state
            .borrow_mut()
            .aborted
            .push((req, format!("{limit} limit exceeded: {msg}")));
        if let Some(reply) = rs.reply.take() {
            let _ = reply.send(Err(RuntimeError::Limit {
                limit,
                msg: msg.to_string(),
            }));
        } else if let Some(tx) = rs.stream.take() {
            let _ = tx.try_send(Err(BodyError(format!("{limit} limit exceeded: {msg}"))));
        }
    }

    /// The client went away before the response was complete: end the request quietly and abort its signal.
    pub fn client_gone(&self, req: u64) {
        if let Some(_request) = self.remove_request(req) {
            tracing::debug!(target: "nano::app", app = self.app.version.spec.name.as_str(),
                request_id = self.request_id(req).as_str(), "client went away");
            self.state
                .borrow_mut()
                .aborted
                .push((req, "the client went away".into()));
        }
    }

    pub fn codec_new(&self, format: &str, compress: bool) -> Result<u64, String> {
        let codec = super::ops::Codec::new(format, compress)?;
        let mut st = self.state.borrow_mut();
        st.next_codec += 1;
        let id = st.next_codec;
        st.codecs.insert(id, codec);
        Ok(id)
    }

    pub fn codec_push(&self, id: u64, data: &[u8], finish: bool) -> Result<Vec<u8>, String> {
        let mut st = self.state.borrow_mut();
        let codec = st.codecs.get_mut(&id).ok_or("the stream is closed")?;
        let out = codec.push(data, finish);
        if finish || out.is_err() {
            st.codecs.remove(&id);
        }
        out
    }

    pub fn codec_free(&self, id: u64) {
        self.state.borrow_mut().codecs.remove(&id);
    }

    /// Reads the next chunk of a body resource (`None` at its end).
    pub fn body_read(&self, rid: u64) -> u64 {
        let op = self.next_op();
        let res = self.state.borrow().resources.get(&rid).cloned();
        self.spawn_op(op, async move {
            let Some(res) = res else {
                return OpDone::Chunk(None);
            };
            let mut s = res.lock().await;
            match s.next().await {
                Some(Ok(b)) => OpDone::Chunk(Some(b)),
                Some(Err(e)) => OpDone::Error(e.0),
                None => OpDone::Chunk(None),
            }
        });
        op
    }

    pub fn body_cancel(&self, rid: u64) {
        self.state.borrow_mut().resources.remove(&rid);
    }

    /// Starts an outbound fetch, counted against the current request's subrequest limit, under the app's outbound
    /// policy, following redirects as `redirect` (`follow`, `manual`, `error`) says.
    pub fn fetch(
        &self,
        method: &str,
        url: &str,
        headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
        streaming: bool,
        redirect: &str,
    ) -> Result<u64, String> {
        let hops = self.subrequest()?;
        let mut headers = headers;
        let span = self.fetch_span(&mut headers);
        let method = http::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let parsed = url::Url::parse(url).map_err(|e| format!("invalid URL {url}: {e}"))?;
        if let Some(app) = self.local_app(&parsed) {
            let body = body.map(Bytes::from);
            return self.app_fetch(app, method, parsed.as_str(), headers, body, streaming, hops);
        }
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "fetch supports http and https, not {}",
                parsed.scheme()
            ));
        }
        let spec = &self.app.version.spec;
        let policy = self
            .shared
            .outbound
            .policy(spec.tenant.as_str(), Some(&spec.outbound));
        let op = self.next_op();
        let body = if streaming {
            // The app writes the body chunk by chunk (`sink_write`) while the request is under way.
            let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
            self.state.borrow_mut().sinks.insert(op, tx);
            super::fetch::OutBody::Stream(reqwest::Body::wrap_stream(futures::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|c| (c, rx)) },
            )))
        } else {
            body.map_or(super::fetch::OutBody::None, |b| {
                super::fetch::OutBody::Bytes(b.into())
            })
        };
        let outgoing = super::fetch::Outgoing {
            method,
            url: parsed,
            headers,
            body,
            redirect: super::fetch::Redirect::parse(redirect),
            hops,
        };
        let client = self.shared.client.clone();
        let slots = self.app.counters.outbound.0.clone();
        let span = span.map(|(telemetry, mut span)| {
            span.name = format!("fetch {}", outgoing.method);
            span.attributes.extend([
                (
                    "http.request.method",
                    crate::core::trace::AttrValue::Str(outgoing.method.to_string()),
                ),
                (
                    "url.full",
                    crate::core::trace::AttrValue::Str(outgoing.url.to_string()),
                ),
            ]);
            (telemetry, span)
        });
        self.spawn_op(op, async move {
            let Ok(slot) = slots.acquire_owned().await else {
                return OpDone::Error("EFETCH outbound requests are closed".into());
            };
            let fetched = super::fetch::send(&client, &policy, outgoing).await;
            if let Some((telemetry, mut span)) = span {
                span.end_nanos = crate::core::clock::now_nanos();
                match &fetched {
                    Ok(f) => {
                        span.error = f.status >= 500;
                        span.attributes.push((
                            "http.response.status_code",
                            crate::core::trace::AttrValue::Int(f.status.into()),
                        ));
                    }
                    Err(_) => span.error = true,
                }
                telemetry.span(span);
            }
            match fetched {
                Ok(f) => OpDone::Fetched {
                    status: f.status,
                    status_text: f.status_text,
                    headers: f.headers,
                    url: f.redirected_to,
                    // The slot is the app's until the body ends or is dropped.
                    body: f
                        .body
                        .map(move |chunk| {
                            let _held = &slot;
                            chunk
                        })
                        .boxed(),
                },
                Err(e) => OpDone::Error(e),
            }
        });
        Ok(op)
    }

    /// When the current request is traced and spans are exported: a child span for an outbound call, its
    /// `traceparent` set in `headers` (replacing the app's own), and where the span goes when it ends.
    fn fetch_span(
        &self,
        headers: &mut Vec<(String, String)>,
    ) -> Option<(Arc<dyn crate::ports::Telemetry>, crate::core::trace::Span)> {
        use crate::core::trace::{SpanKind, TRACEPARENT};
        let (telemetry, span) = self.call_span("fetch".into(), SpanKind::Client)?;
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case(TRACEPARENT));
        headers.push((TRACEPARENT.to_string(), span.context.traceparent()));
        Some((telemetry, span))
    }

    /// When the current request is traced and spans are exported: a child span of it, started now, and where
    /// the span goes when it ends.
    fn call_span(
        &self,
        name: String,
        kind: crate::core::trace::SpanKind,
    ) -> Option<(Arc<dyn crate::ports::Telemetry>, crate::core::trace::Span)> {
        use crate::core::trace::{AttrValue, Span};
        let telemetry = self.shared.telemetry.clone()?;
        let parent = {
            let st = self.state.borrow();
            st.current
                .and_then(|r| st.requests.get(&r))
                .and_then(|rs| rs.trace)?
        };
        let spec = &self.app.version.spec;
        let span = Span {
            context: parent.child(),
            parent_span_id: Some(parent.span_id),
            name,
            kind,
            start_nanos: crate::core::clock::now_nanos(),
            end_nanos: 0,
            attributes: vec![
                (
                    "nano.tenant",
                    AttrValue::Str(spec.tenant.as_str().to_string()),
                ),
                ("nano.app", AttrValue::Str(spec.name.as_str().to_string())),
            ],
            error: false,
        };
        Some((telemetry, span))
    }

    /// Counts one subrequest of the current request against its limit; the hop count the subrequest carries.
    fn subrequest(&self) -> Result<u32, String> {
        let mut st = self.state.borrow_mut();
        let limit = self.app.version.spec.limits.subrequests;
        match st.current.and_then(|r| st.requests.get_mut(&r)) {
            Some(rs) => {
                if rs.subrequests >= limit {
                    return Err(format!("subrequest limit of {limit} per request exceeded"));
                }
                rs.subrequests += 1;
                Ok(rs.hops + 1)
            }
            None => Ok(1),
        }
    }

    /// The app of this tenant that `http://<app>.localhost/...` names, when the peers serve one.
    fn local_app(&self, url: &url::Url) -> Option<crate::core::AppName> {
        let label = url.host_str()?.strip_suffix(".localhost")?;
        let app = crate::core::AppName::parse(label).ok()?;
        let peers = self.app.version.bindings.peers.as_ref()?.upgrade()?;
        (peers.tenant_of(&app).as_ref() == Some(&self.app.version.spec.tenant)).then_some(app)
    }

    /// Sends a request to `app`, another app of this tenant, in process (a service binding's `fetch`, or a fetch
    /// of `http://<app>.localhost`): it completes like a fetch. `hops` is the count the request carries; past
    /// the limit it fails, as a request back into nano would get 508.
    #[allow(clippy::too_many_arguments)]
    fn app_fetch(
        &self,
        app: crate::core::AppName,
        method: http::Method,
        url: &str,
        headers: Vec<(String, String)>,
        body: Option<Bytes>,
        streaming: bool,
        hops: u32,
    ) -> Result<u64, String> {
        use crate::core::outbound::{HOPS_HEADER, MAX_HOPS};
        if hops >= MAX_HOPS {
            return Err(format!(
                "request loop: {hops} hops between apps reached the limit of {MAX_HOPS}"
            ));
        }
        let tenant = self.app.version.spec.tenant.clone();
        let peers = self.app.version.bindings.peers.clone();
        let mut req = http::Request::builder().method(method).uri(url);
        for (k, v) in &headers {
            if !k.eq_ignore_ascii_case(HOPS_HEADER) {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        req = req.header(HOPS_HEADER, hops.to_string());
        let op = self.next_op();
        let body = if streaming {
            let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
            self.state.borrow_mut().sinks.insert(op, tx);
            crate::ports::Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
                rx.recv()
                    .await
                    .map(|c| (c.map_err(|e| BodyError(e.to_string())), rx))
            }))
        } else {
            body.map_or_else(crate::ports::Body::empty, crate::ports::Body::from_bytes)
        };
        let req = req.body(body).map_err(|e| e.to_string())?;
        self.spawn_op(op, async move {
            let missing = || OpDone::Error(format!("no app {app} of tenant {tenant} is served"));
            let Some(peers) = peers.and_then(|p| p.upgrade()) else {
                return missing();
            };
            if peers.tenant_of(&app).as_ref() != Some(&tenant) {
                return missing();
            }
            let res = match peers.dispatch(&app, req).await {
                Ok(res) => res,
                Err(e) => e.to_response(),
            };
            OpDone::Fetched {
                status: res.status().as_u16(),
                status_text: res.status().canonical_reason().unwrap_or("").to_string(),
                headers: super::fetch::header_pairs(res.headers()),
                url: None,
                body: res.into_body().into_stream(),
            }
        });
        Ok(op)
    }

    /// The app's bindings as JSON `{ NAME: service }`, for the glue to put on `env`.
    pub fn binding_names(&self) -> String {
        let v = &self.app.version;
        super::bindings::names(&v.spec.bindings, &v.bindings).to_string()
    }

    /// Starts a call of `method` on the binding `name` with JSON `args` (an array). With `streaming`, the call
    /// reads an upload body the app writes with `sink_write`/`sink_close` under the returned op id. Completes
    /// with the JSON result as bytes, or (a download) a response head whose body is a resource.
    pub fn binding(
        &self,
        name: &str,
        method: &str,
        args: &str,
        streaming: bool,
    ) -> Result<u64, String> {
        let v = &self.app.version;
        let args: Vec<serde_json::Value> =
            serde_json::from_str(args).map_err(|e| format!("binding arguments: {e}"))?;
        let spec = match (v.spec.bindings.get(name), &v.bindings.assets) {
            (Some(spec), _) => spec.clone(),
            (None, Some(assets)) if name == super::bindings::ASSETS => {
                return Ok(self.assets_fetch(assets.clone(), args))
            }
            (None, _) => return Err(format!("the app has no binding {name}")),
        };
        if spec.service == crate::core::ServiceKind::App {
            // `[method, url, flat headers]`; the body streams when there is one.
            let text = |i: usize| args.get(i).and_then(|v| v.as_str()).unwrap_or_default();
            let method = http::Method::from_bytes(text(0).as_bytes()).map_err(|e| e.to_string())?;
            let headers = args
                .get(2)
                .and_then(|v| v.as_array())
                .map(|flat| {
                    flat.chunks(2)
                        .filter_map(|p| {
                            Some((p[0].as_str()?.to_string(), p.get(1)?.as_str()?.to_string()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let app =
                crate::core::AppName::parse(spec.domain.as_str()).map_err(|e| e.to_string())?;
            let hops = self.subrequest()?;
            return self.app_fetch(app, method, text(1), headers, None, streaming, hops);
        }
        let op = self.next_op();
        let upload: Option<crate::ports::storage::ByteStream> = streaming.then(|| {
            let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
            self.state.borrow_mut().sinks.insert(op, tx);
            Box::pin(futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|c| (c, rx))
            })) as crate::ports::storage::ByteStream
        });
        let span = self
            .call_span(
                format!("{name}.{method}"),
                crate::core::trace::SpanKind::Internal,
            )
            .map(|(telemetry, mut span)| {
                use crate::core::trace::AttrValue;
                span.attributes.extend([
                    ("nano.binding", AttrValue::Str(name.to_string())),
                    ("nano.binding.method", AttrValue::Str(method.to_string())),
                    (
                        "nano.service",
                        AttrValue::Str(spec.service.as_str().to_string()),
                    ),
                ]);
                (telemetry, span)
            });
        let fut = super::bindings::call(v.bindings.clone(), spec, method.to_string(), args, upload);
        self.spawn_op(op, async move {
            let outcome = fut.await;
            if let Some((telemetry, mut span)) = span {
                span.end_nanos = crate::core::clock::now_nanos();
                if let super::bindings::Outcome::Json(value) = &outcome {
                    // A failed call answers hyper's `{ ok: false, status, msg }`.
                    span.error = value.get("ok") == Some(&serde_json::Value::Bool(false));
                }
                telemetry.span(span);
            }
            match outcome {
                super::bindings::Outcome::Json(value) => {
                    OpDone::Value(OpValue::Bytes(value.to_string().into_bytes()))
                }
                super::bindings::Outcome::Download { size, stream, head } => OpDone::Fetched {
                    status: 200,
                    status_text: "OK".into(),
                    url: None,
                    headers: std::iter::once(("content-length".into(), size.to_string()))
                        .chain(head.map(|h| ("x-nano-object".into(), h.to_string())))
                        .collect(),
                    body: stream
                        .map(|r| r.map_err(|e| BodyError(e.to_string())))
                        .boxed(),
                },
            }
        });
        Ok(op)
    }

    /// A call of the Cache API (`caches.default`, `caches.open(name)`): `match` completes like a fetch (or with
    /// `null` on a miss), `put` and `delete` with `true` or `false`.
    pub fn cache_api(
        &self,
        name: Option<String>,
        url: String,
        call: super::cache_api::Call,
    ) -> u64 {
        let op = self.next_op();
        let fut = super::cache_api::call(self.app.version.bindings.clone(), name, url, call);
        self.spawn_op(op, async move {
            match fut.await {
                Ok(super::cache_api::Outcome::Found(found)) => OpDone::Fetched {
                    status: found.status,
                    status_text: found.status_text,
                    headers: found.headers,
                    url: None,
                    body: futures::stream::once(async move { Ok(Bytes::from(found.body)) }).boxed(),
                },
                Ok(super::cache_api::Outcome::Missing) => OpDone::Value(OpValue::Null),
                Ok(super::cache_api::Outcome::Done(done)) => {
                    OpDone::Value(OpValue::Bytes(done.to_string().into_bytes()))
                }
                Err(e) => OpDone::Error(e),
            }
        });
        op
    }

    /// `env.ASSETS.fetch`: completes like a fetch, the file's body a resource.
    fn assets_fetch(
        &self,
        assets: std::sync::Arc<dyn crate::ports::AppAssets>,
        args: Vec<serde_json::Value>,
    ) -> u64 {
        let op = self.next_op();
        self.spawn_op(op, async move {
            match super::bindings::assets_fetch(assets, args).await {
                Ok(res) => OpDone::Fetched {
                    status: res.status().as_u16(),
                    status_text: res.status().canonical_reason().unwrap_or("").to_string(),
                    headers: super::fetch::header_pairs(res.headers()),
                    url: None,
                    body: res.into_body().into_stream(),
                },
                Err(e) => OpDone::Error(format!("ASSETS.fetch: {e}")),
            }
        });
        op
    }

    /// Sends one chunk of a streaming fetch body; completes once the connection accepted it.
    pub fn sink_write(&self, fetch: u64, chunk: Vec<u8>) -> u64 {
        let op = self.next_op();
        let tx = self.state.borrow().sinks.get(&fetch).cloned();
        self.spawn_op(op, async move {
            match tx {
                Some(tx) if tx.send(Ok(Bytes::from(chunk))).await.is_ok() => {
                    OpDone::Value(OpValue::Undefined)
                }
                _ => OpDone::Error("the request body is closed".into()),
            }
        });
        op
    }

    /// Ends a streaming fetch body (`error` set: the request fails with it).
    pub fn sink_close(&self, fetch: u64, error: Option<String>) {
        let tx = self.state.borrow_mut().sinks.remove(&fetch);
        if let (Some(tx), Some(e)) = (tx, error) {
            let _ = tx.try_send(Err(std::io::Error::other(e)));
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}
