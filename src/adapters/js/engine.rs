//! What a JS engine adapter provides to the engine-neutral worker loop: compiling, creating and driving isolates.

use super::isolate_state::IsolateState;
use super::meter::{CpuMeter, MemMeter};
use super::Loaded;
use std::rc::Rc;
use std::sync::Arc;

/// Why a JS turn did not complete.
#[derive(Debug)]
pub enum Fault {
    /// The CPU meter interrupted the running JS.
    Interrupted,
    /// The isolate's heap hit its limit.
    OutOfMemory,
    /// An error escaped the glue (a defect, or a failure while starting the app).
    Error(String),
}

/// A value an async op completes with, in engine-neutral form.
pub enum OpValue {
    Undefined,
    Null,
    Bytes(Vec<u8>),
    /// An outbound fetch's response head; the body is the resource `rid`.
    Response {
        status: u16,
        status_text: String,
        headers: Vec<(String, String)>,
        rid: u64,
        /// The URL the response came from, when redirects were followed.
        url: Option<String>,
    },
}

/// The head of a request handed to an isolate.
///
/// An event for another handler (`queue`, `scheduled`) travels the same way, as a head whose method is
/// `nano:<handler>` (not an HTTP token, so no client can send it) and whose url is the event as JSON; the glue
/// answers it with a JSON body (`RequestHead::event`).
pub struct RequestHead {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// The span of the request, when it is traced: the app's fetches and console records belong to it.
    pub trace: Option<crate::core::trace::TraceContext>,
}

impl RequestHead {
    /// The head carrying an event for the app's `handler` (`queue`, `scheduled`).
    pub fn event(handler: &str, payload: &serde_json::Value) -> Self {
        Self {
            method: format!("nano:{handler}"),
            url: payload.to_string(),
            headers: Vec::new(),
            trace: None,
        }
    }
}

/// A JS engine. `create` runs on a worker thread; the isolate never leaves it.
pub trait Engine: 'static {
    const NAME: &'static str;
    /// Memory mappings one live isolate holds (with margin), against the kernel's per-process `vm.max_map_count`;
    /// 0 for an engine that allocates through malloc only.
    const MAPS_PER_ISOLATE: usize;
    type Isolate: Isolate;
    /// What a worker thread keeps ready for its next new isolate, with nothing of any app in it (V8: an isolate and
    /// context made ahead of time from the startup snapshot); `()` when the engine keeps nothing.
    type Spare: Default;

    /// Process-wide set-up, run on the thread starting a runtime before any worker thread exists.
    fn init() -> Result<(), String> {
        Ok(())
    }

    /// Compiles the app's entry module and every module it imports, storing engine bytecode in the app's code
    /// cache; a syntax error or an unresolvable import is returned as text. `spare` is the compiling thread's (an
    /// engine may keep what it compiles with there).
    fn compile(app: &Arc<Loaded>, spare: &mut Self::Spare) -> Result<(), String>;

    /// Whether the worker thread's spare needs readying (`prepare`): false when it is ready, or kept empty.
    fn wants_prepare(_spare: &Self::Spare) -> bool {
        false
    }

    /// Readies the worker thread's spare while the thread is idle; cheap when it is ready already.
    fn prepare(_spare: &mut Self::Spare) {}

    /// Apps of `memory_mb` are about to run on this thread: the spare it readies before its first isolate starts is
    /// for them (nothing when the thread already started one, or the engine keeps no spare).
    fn expect(_spare: &mut Self::Spare, _memory_mb: u64) {}

    /// Creates an isolate (from the spare when it fits the app): installs the Web API glue and ops, evaluates the
    /// app's entry module under the startup CPU budget already armed on `cpu`, and hands the default export and env
    /// to the glue.
    fn create(
        app: &Arc<Loaded>,
        host: Rc<IsolateState>,
        cpu: Rc<CpuMeter>,
        mem: Arc<MemMeter>,
        spare: &mut Self::Spare,
    ) -> Result<Self::Isolate, Fault>;
}

/// One isolate. Each call is one turn: the call itself, then every microtask it queued.
pub trait Isolate {
    fn dispatch(
        &mut self,
        req: u64,
        head: &RequestHead,
        body_rid: Option<u64>,
    ) -> Result<(), Fault>;
    fn complete(&mut self, op: u64, value: Result<OpValue, String>) -> Result<(), Fault>;
    fn fire_timer(&mut self, id: u64) -> Result<(), Fault>;
    /// The host ended request `req` (a limit, or the client went away): abort its `request.signal`.
    fn abort(&mut self, req: u64, reason: &str) -> Result<(), Fault>;
    /// Runs, as a turn, what the engine queued for the isolate since its last turn (V8: tasks its platform was
    /// given, such as the end of an async WebAssembly compile); nothing for an engine that queues nothing.
    fn run_queued(&mut self) -> Result<(), Fault> {
        Ok(())
    }
}
