//! The V8 engine (the `v8` crate): isolates under the app's heap limit started from a snapshot holding the Web API
//! glue, a CPU watchdog, ES modules from the app's files with a per-version code cache, explicit microtask
//! checkpoints after every turn.
//!
//! `init_once` sets V8's flags once per process, `--single-threaded-gc` among them: an isolate's collections run on its
//! own worker thread at that thread's priority, never on V8's shared helper threads. Then it makes the startup snapshot
//! (`snapshot.rs`). Isolates come from `spare.rs` with the app's heap limit and a near-heap-limit callback. The
//! callback flags the `MemMeter`, terminates the JS and raises the limit, so V8 never aborts.
//!
//! A turn calls one of the glue's entry points (`dispatch`, `complete`, `timer`, `abort`; handles made once per
//! isolate), then runs an explicit microtask checkpoint, then the foreground tasks V8 posted for the isolate.
//! `run_queued` also pumps those tasks between turns, so GC, finalizer and async-compile tasks neither pile up nor wait
//! for a request. Heap usage is read for the app's stats every `HEAP_READ_EVERY` (16) turns; the limit itself is V8's
//! to enforce. Rejections tracked by the promise-reject callback are settled at a turn's end (`settle_rejections`:
//! `unhandledrejection` and `rejectionhandled` events, then a log line if nothing cancelled them). An isolate is entered only during its
//! turns, since several share a thread and are dropped in any order. CPU limits are `watchdog.rs`'s.

mod bind;
mod buffers;
mod modules;
mod snapshot;
mod spare;
mod watchdog;

use super::engine::{Engine, Fault, Isolate, OpValue, RequestHead};
use super::isolate_state::IsolateState;
use super::meter::{CpuMeter, MemMeter};
use super::Loaded;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Once, OnceLock};
use watchdog::Watchdog;

pub struct V8;

/// Flags every isolate runs with; set once, before V8 initializes: the JS stack stays well inside a worker's 2 MB,
/// a dropped isolate's heap pages go back to the system instead of a process-wide pool (so evicting idle
/// isolates frees their memory), and an isolate's garbage is collected on its own worker thread only, never on
/// V8's shared helper threads: an app that allocates without bound then pays for its collections at its own
/// thread's priority (the lowest, once its turns run long) instead of taking the other apps' CPU.
const FLAGS: &str =
    "--stack-size=900 --no-memory-pool-share-memory-on-teardown --single-threaded-gc";

/// Operator-given flags (the `v8_flags` setting), applied after `FLAGS`.
static EXTRA_FLAGS: OnceLock<String> = OnceLock::new();

/// Sets extra V8 flags; only the first call counts, and only before V8 initializes (the first runtime start).
pub fn extra_flags(flags: &str) {
    let _ = EXTRA_FLAGS.set(flags.to_string());
}

/// The V8 platform, kept to run the foreground tasks V8 posts for each isolate (GC steps, finalizers).
static PLATFORM: OnceLock<v8::SharedRef<v8::Platform>> = OnceLock::new();

/// Runs the foreground tasks V8 has posted for `isolate` (which must be entered), so that none piles up.
fn run_posted_tasks(isolate: &v8::Isolate) {
    if let Some(platform) = PLATFORM.get() {
        while v8::Platform::pump_message_loop(platform, isolate, false) {}
    }
}

/// Initializes V8 once per process (flags: `FLAGS`, then `extra_flags`; the platform), then makes the startup
/// snapshot on this thread, so the read-only heap is deserialized before worker threads create their isolates from
/// it.
pub fn init_once() -> Result<&'static snapshot::Snapshot, String> {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let extra = EXTRA_FLAGS.get().map_or("", |f| f.as_str());
        v8::V8::set_flags_from_string(&format!("{FLAGS} {extra}"));
        let platform = v8::new_unprotected_default_platform(0, false).make_shared();
        v8::V8::initialize_platform(platform.clone());
        let _ = PLATFORM.set(platform);
        v8::V8::initialize();
    });
    snapshot::get()
}

/// HTML's rejection tracking for one isolate, filled by V8's callback during a turn and settled at its end.
#[derive(Default)]
struct Tracked {
    /// Rejected with no handler yet: the promise, its reason and the reason's text for the log.
    unhandled: Vec<(v8::Global<v8::Promise>, v8::Global<v8::Value>, String)>,
    /// Given a handler after their rejection was settled (reported, if the glue says so).
    handled: Vec<v8::Global<v8::Promise>>,
}

impl Tracked {
    fn clear(&mut self) {
        self.unhandled.clear();
        self.handled.clear();
    }
}

type Rejections = Rc<RefCell<Tracked>>;

/// Late handlers kept per turn for `rejectionhandled`; past this many the rest go unreported.
const HANDLED_PER_TURN: usize = 1024;

/// Rounds of settling per turn: `unhandledrejection` listeners may reject more promises.
const SETTLE_ROUNDS: usize = 4;

/// What V8's near-heap-limit callback and the watchdog's memory check need: they flag the isolate out of memory and
/// stop its JS.
struct HeapGuard {
    mem: Arc<MemMeter>,
    buffers: Arc<buffers::Buffers>,
    handle: v8::IsolateHandle,
}

/// Run by V8 on the isolate's thread when the watchdog asks, mid-turn: charges the isolate's WebAssembly memories and
/// stops its JS once they pass the app's memory limit.
unsafe extern "C" fn check_memory(
    mut isolate: v8::UnsafeRawIsolatePtr,
    data: *mut std::ffi::c_void,
) {
    // SAFETY: `data` is the isolate wrapper's boxed HeapGuard, which outlives the isolate (V8 drops pending interrupts
    // with it); the isolate pointer is the one running this callback on its own thread.
    let (guard, isolate) = unsafe {
        (
            &*(data as *const HeapGuard),
            v8::Isolate::ref_from_raw_isolate_ptr_mut(&mut isolate),
        )
    };
    let total = isolate.adjust_amount_of_external_allocated_memory(0);
    if !guard.buffers.charge_external(total) {
        guard.handle.terminate_execution();
    }
}

unsafe extern "C" fn near_heap_limit(
    data: *mut std::ffi::c_void,
    current: usize,
    _initial: usize,
) -> usize {
    // SAFETY: `data` is the isolate wrapper's boxed HeapGuard, which outlives the isolate.
    let guard = unsafe { &*(data as *const HeapGuard) };
    guard.mem.mark_oom();
    guard.handle.terminate_execution();
    // Room for the terminated JS to unwind; the worker then replaces the isolate. V8 never gets to abort.
    current.saturating_mul(2)
}

/// The watchdog's beat for an isolate: `check_memory` on its guard.
fn memory_beat(guard: &HeapGuard) -> watchdog::Beat {
    watchdog::Beat {
        callback: check_memory,
        data: guard as *const HeapGuard as usize,
    }
}

extern "C" fn promise_rejected(msg: v8::PromiseRejectMessage) {
    v8::callback_scope!(unsafe scope, &msg);
    let Some(list) = scope.get_slot::<Rejections>().cloned() else {
        return;
    };
    let promise = msg.get_promise();
    match msg.get_event() {
        v8::PromiseRejectEvent::PromiseRejectWithNoHandler => {
            let reason = msg
                .get_value()
                .unwrap_or_else(|| v8::undefined(scope).into());
            let text = modules::exception_text(scope, reason);
            let entry = (
                v8::Global::new(scope, promise),
                v8::Global::new(scope, reason),
                text,
            );
            list.borrow_mut().unhandled.push(entry);
        }
        v8::PromiseRejectEvent::PromiseHandlerAddedAfterReject => {
            let mut list = list.borrow_mut();
            let before = list.unhandled.len();
            list.unhandled
                .retain(|(p, _, _)| v8::Local::new(scope, p) != promise);
            if list.unhandled.len() == before && list.handled.len() < HANDLED_PER_TURN {
                let g = v8::Global::new(scope, promise);
                list.handled.push(g);
            }
        }
        _ => {}
    }
}

/// An argument handed to one of the glue's host functions; a request's head is lent, not copied.
enum Arg<'a> {
    Num(f64),
    Str(String),
    Text(&'a str),
    Bool(bool),
    Null,
    Undefined,
    Strings(Vec<String>),
    /// Name/value pairs, handed over as one flat `[name, value, ...]` array.
    Pairs(&'a [(String, String)]),
    Bytes(Vec<u8>),
    List(Vec<Arg<'a>>),
}

fn arg_to_js<'s>(scope: &mut v8::PinScope<'s, '_>, a: Arg<'_>) -> v8::Local<'s, v8::Value> {
    match a {
        Arg::Num(n) => v8::Number::new(scope, n).into(),
        Arg::Str(s) => bind::to_js(scope, bind::Ret::Str(s)),
        Arg::Text(s) => bind::js_str(scope, s),
        Arg::Pairs(pairs) => {
            let mut items = Vec::with_capacity(pairs.len() * 2);
            for (k, v) in pairs {
                items.push(bind::js_str(scope, k));
                items.push(bind::js_str(scope, v));
            }
            v8::Array::new_with_elements(scope, &items).into()
        }
        Arg::Bool(b) => v8::Boolean::new(scope, b).into(),
        Arg::Null => v8::null(scope).into(),
        Arg::Undefined => v8::undefined(scope).into(),
        Arg::Strings(v) => bind::to_js(scope, bind::Ret::Strings(v)),
        Arg::Bytes(b) => bind::u8array(scope, b).into(),
        Arg::List(items) => {
            let items: Vec<_> = items.into_iter().map(|a| arg_to_js(scope, a)).collect();
            v8::Array::new_with_elements(scope, &items).into()
        }
    }
}

/// The glue's entry points a turn calls, in `ENTRIES` order.
#[derive(Clone, Copy)]
enum Entry {
    Dispatch,
    Complete,
    Timer,
    Abort,
    Rejection,
    Handled,
}

const ENTRIES: [&str; 6] = [
    "dispatch",
    "complete",
    "timer",
    "abort",
    "rejection",
    "handled",
];

/// Heap usage is read (and reported to the MemMeter) every this many turns, and after an isolate starts: reading
/// it walks every heap space, and the limit itself is V8's to enforce.
const HEAP_READ_EVERY: u32 = 16;

pub struct V8Isolate {
    // Handles first: they must be released before the isolate is disposed.
    entries: [v8::Global<v8::Function>; 6],
    context: v8::Global<v8::Context>,
    rejections: Rejections,
    isolate: v8::OwnedIsolate,
    handle: v8::IsolateHandle,
    watchdog: Rc<Watchdog>,
    host: Rc<IsolateState>,
    cpu: Rc<CpuMeter>,
    mem: Arc<MemMeter>,
    /// Heap bytes last reported to the MemMeter.
    reported: usize,
    /// Turns since the heap was last read.
    turns: u32,
    // Referenced by V8 (the heap callback): dropped after the isolate.
    _guard: Box<HeapGuard>,
}

/// HTML's rejection tracking at a turn's end: each promise still rejected with no handler goes to the glue's
/// `rejection` (an `unhandledrejection` event) and is logged unless a listener cancelled it; each promise handled
/// after that goes to `handled` (a `rejectionhandled` event). Listeners may reject more: a few rounds, then
/// `report_rejections` logs what is left.
fn settle_rejections(
    scope: &mut v8::PinScope<'_, '_>,
    entries: &[v8::Global<v8::Function>; 6],
    list: &Rejections,
    host: &IsolateState,
) {
    v8::tc_scope!(let tc, scope);
    for _ in 0..SETTLE_ROUNDS {
        let (unhandled, handled) = {
            let mut list = list.borrow_mut();
            (
                std::mem::take(&mut list.unhandled),
                std::mem::take(&mut list.handled),
            )
        };
        if unhandled.is_empty() && handled.is_empty() {
            return;
        }
        let recv = v8::undefined(tc).into();
        let rejection = v8::Local::new(tc, &entries[Entry::Rejection as usize]);
        for (promise, reason, text) in unhandled {
            let args = [
                v8::Local::new(tc, &promise).into(),
                v8::Local::new(tc, &reason),
            ];
            let cancelled = rejection.call(tc, recv, &args).is_some_and(|v| v.is_true());
            if tc.has_terminated() {
                return;
            }
            if !cancelled {
                host.log("error", &format!("unhandled promise rejection: {text}"));
            }
        }
        let on_handled = v8::Local::new(tc, &entries[Entry::Handled as usize]);
        for promise in handled {
            let arg = v8::Local::new(tc, &promise).into();
            on_handled.call(tc, recv, &[arg]);
            if tc.has_terminated() {
                return;
            }
        }
        tc.perform_microtask_checkpoint();
    }
}

/// In a context made from the snapshot (the glue already evaluated, `host_obj` its host object): evaluates the app's
/// entry module and hands the glue the default export and the env.
fn set_up<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    host_obj: v8::Local<'s, v8::Object>,
    app: &Loaded,
    map: &Rc<RefCell<modules::ModuleMap>>,
) -> Result<[v8::Global<v8::Function>; 6], String> {
    let name = app.version.spec.name.as_str();
    v8::tc_scope!(let tc, scope);
    let recv = v8::undefined(tc).into();
    let default = modules::evaluate_entry(tc, app, map)?;
    let init = modules::get_fn(tc, host_obj, "init")?;
    let env = v8::String::new(tc, &app.env_json).ok_or("env too large")?;
    if init.call(tc, recv, &[default, env.into()]).is_none() {
        return Err(format!("app {name}: {}", modules::caught(tc)));
    }
    tc.perform_microtask_checkpoint();
    let mut entries = Vec::with_capacity(ENTRIES.len());
    for entry in ENTRIES {
        let f = modules::get_fn(tc, host_obj, entry)?;
        entries.push(v8::Global::new(tc, f));
    }
    Ok(entries.try_into().expect("one function per entry"))
}

impl Engine for V8 {
    const NAME: &'static str = "v8";
    /// 11.2 measured (its heap pages, code range and stack guard), rounded up.
    const MAPS_PER_ISOLATE: usize = 14;
    type Isolate = V8Isolate;
    type Spare = spare::Spare;

    fn init() -> Result<(), String> {
        init_once().map(drop)
    }

    fn compile(app: &Arc<Loaded>, spare: &mut spare::Spare) -> Result<(), String> {
        // From the snapshot too: V8 takes a code cache only in isolates made from the snapshot it was made in. No JS
        // runs there (modules are compiled, not evaluated), so the thread keeps its compiler isolate and context for
        // every next version.
        let compiler = spare.compiler(init_once()?);
        let isolate = &mut compiler.isolate;
        // SAFETY: paired with the exit below; the compiler isolate is entered only here, never in a turn.
        unsafe { isolate.enter() };
        let map = Rc::new(RefCell::new(modules::ModuleMap::default()));
        isolate.set_slot(map.clone());
        let r = {
            v8::scope!(let scope, &mut *isolate);
            let context = v8::Local::new(scope, &compiler.context);
            let scope = &mut v8::ContextScope::new(scope, context);
            modules::load(scope, app, &app.version.spec.entry, &map).map(drop)
        };
        map.borrow_mut().clear();
        // SAFETY: exits the entry made above.
        unsafe { isolate.exit() };
        r
    }

    fn wants_prepare(spare: &spare::Spare) -> bool {
        spare.wanted()
    }

    fn expect(spare: &mut spare::Spare, memory_mb: u64) {
        spare.expect(spare::mb(memory_mb));
    }

    fn prepare(spare: &mut spare::Spare) {
        if let Ok(snap) = init_once() {
            spare.prepare(snap);
        }
    }

    fn create(
        app: &Arc<Loaded>,
        host: Rc<IsolateState>,
        cpu: Rc<CpuMeter>,
        mem: Arc<MemMeter>,
        spare: &mut spare::Spare,
    ) -> Result<V8Isolate, Fault> {
        let limit = spare::mb(app.version.spec.limits.memory_mb);
        let fresh = match spare.take(limit) {
            Some(f) => f,
            None => {
                let snap = init_once().map_err(Fault::Error)?;
                spare::Fresh::new(snap, limit).map_err(Fault::Error)?
            }
        };
        // From here on the isolate's ArrayBuffers count against the app's memory limit.
        fresh.buffers.attach(mem.clone());
        let handle = fresh.isolate.thread_safe_handle();
        // Bound in this order so they drop in the reverse one: handles, then the isolate, then the guard V8's
        // near-heap-limit callback reads.
        let guard = Box::new(HeapGuard {
            mem: mem.clone(),
            buffers: fresh.buffers.clone(),
            handle: handle.clone(),
        });
        let mut isolate = fresh.isolate;
        let context = fresh.context;
        let host_fns = fresh.host_fns;
        // SAFETY: a fresh isolate is handed over not entered; it stays entered until the end of this call (or until
        // it is dropped on an error), like one just made.
        unsafe { isolate.enter() };
        isolate
            .add_near_heap_limit_callback(near_heap_limit, &*guard as *const HeapGuard as *mut _);
        bind::bind_isolate(&mut isolate, host.clone(), cpu.clone());
        let rejections: Rejections = Rc::default();
        isolate.set_slot(rejections.clone());
        isolate.set_promise_reject_callback(promise_rejected);
        let map = Rc::new(RefCell::new(modules::ModuleMap::default()));
        isolate.set_slot(map.clone());
        let watchdog = Watchdog::current();
        watchdog.arm(cpu.deadline(), &handle, memory_beat(&guard));
        let setup = {
            v8::scope!(let scope, &mut isolate);
            let context = v8::Local::new(scope, &context);
            let scope = &mut v8::ContextScope::new(scope, context);
            let host_obj = v8::Local::new(scope, &host_fns);
            set_up(scope, host_obj, app, &map)
                .inspect(|entries| settle_rejections(scope, entries, &rejections, &host))
        };
        let fired = watchdog.disarm();
        isolate.cancel_terminate_execution();
        map.borrow_mut().clear();
        if mem.out_of_memory() {
            rejections.borrow_mut().clear();
            return Err(Fault::OutOfMemory);
        }
        if fired {
            cpu.expired();
            rejections.borrow_mut().clear();
            return Err(Fault::Interrupted);
        }
        // Only the entry points are kept; the host object goes with this call.
        drop(host_fns);
        let entries = match setup {
            Ok(entries) => entries,
            Err(e) => {
                rejections.borrow_mut().clear();
                return Err(Fault::Error(e));
            }
        };
        let mut iso = V8Isolate {
            entries,
            context,
            rejections,
            isolate,
            handle,
            watchdog,
            host,
            cpu,
            mem,
            reported: 0,
            turns: 0,
            _guard: guard,
        };
        iso.account_heap();
        iso.report_rejections();
        // Several isolates share a worker thread and are dropped in any order: none stays entered between turns.
        // SAFETY: the isolate was entered when created, and every later turn enters and exits it in pairs.
        unsafe { iso.isolate.exit() };
        Ok(iso)
    }
}

impl V8Isolate {
    /// Reports the heap in use to the MemMeter (and so to the app's stats).
    fn account_heap(&mut self) {
        let used = self.isolate.get_heap_statistics().used_heap_size();
        if used > self.reported {
            self.mem.add(used - self.reported);
        } else {
            self.mem.release(self.reported - used);
        }
        self.reported = used;
    }

    /// Logs the rejections a turn could not settle (it was stopped, or its listeners kept rejecting).
    fn report_rejections(&mut self) {
        let unhandled = {
            let mut list = self.rejections.borrow_mut();
            list.handled.clear();
            std::mem::take(&mut list.unhandled)
        };
        for (_, _, text) in unhandled {
            self.host
                .log("error", &format!("unhandled promise rejection: {text}"));
        }
    }

    /// One turn: calls the glue's entry point (none: only the tasks V8 posted), then runs a microtask checkpoint and
    /// the tasks V8 posted meanwhile, under the CPU watchdog.
    fn call(&mut self, entry: Option<Entry>, args: Vec<Arg<'_>>) -> Result<(), Fault> {
        // SAFETY: paired with the exit below; turns never nest.
        unsafe { self.isolate.enter() };
        let r = self.turn(entry, args);
        // SAFETY: exits the entry made above.
        unsafe { self.isolate.exit() };
        r
    }

    fn turn(&mut self, entry: Option<Entry>, args: Vec<Arg<'_>>) -> Result<(), Fault> {
        self.watchdog
            .arm(self.cpu.deadline(), &self.handle, memory_beat(&self._guard));
        let result = {
            let isolate = &mut self.isolate;
            v8::scope!(let scope, isolate);
            let context = v8::Local::new(scope, &self.context);
            let scope = &mut v8::ContextScope::new(scope, context);
            v8::tc_scope!(let tc, scope);
            let r = match entry {
                Some(entry) => {
                    let f = v8::Local::new(tc, &self.entries[entry as usize]);
                    let args: Vec<_> = args.into_iter().map(|a| arg_to_js(tc, a)).collect();
                    let recv = v8::undefined(tc).into();
                    match f.call(tc, recv, &args) {
                        Some(_) => Ok(()),
                        None => Err(modules::caught(tc)),
                    }
                }
                None => {
                    run_posted_tasks(tc);
                    Ok(())
                }
            };
            if !tc.has_terminated() {
                tc.perform_microtask_checkpoint();
                settle_rejections(tc, &self.entries, &self.rejections, &self.host);
            }
            r
        };
        run_posted_tasks(&self.isolate);
        let fired = self.watchdog.disarm();
        self.isolate.cancel_terminate_execution();
        let external = self.isolate.adjust_amount_of_external_allocated_memory(0);
        self._guard.buffers.charge_external(external);
        self.turns += 1;
        if self.turns >= HEAP_READ_EVERY {
            self.turns = 0;
            self.account_heap();
        }
        self.report_rejections();
        if self.mem.out_of_memory() {
            return Err(Fault::OutOfMemory);
        }
        if fired {
            self.cpu.expired();
            return Err(Fault::Interrupted);
        }
        result.map_err(Fault::Error)
    }
}

impl Drop for V8Isolate {
    fn drop(&mut self) {
        // OwnedIsolate's drop exits the isolate and expects it to be the current one.
        // SAFETY: balanced by that exit.
        unsafe { self.isolate.enter() };
        self.rejections.borrow_mut().clear();
        self.mem.release(self.reported);
        self.reported = 0;
        self._guard.buffers.discharge_external();
    }
}

impl Isolate for V8Isolate {
    fn dispatch(
        &mut self,
        req: u64,
        head: &RequestHead,
        body_rid: Option<u64>,
    ) -> Result<(), Fault> {
        self.call(
            Some(Entry::Dispatch),
            vec![
                Arg::Num(req as f64),
                Arg::Text(&head.method),
                Arg::Text(&head.url),
                Arg::Pairs(&head.headers),
                body_rid.map_or(Arg::Null, |r| Arg::Num(r as f64)),
            ],
        )
    }

    fn complete(&mut self, op: u64, value: Result<OpValue, String>) -> Result<(), Fault> {
        let (ok, v) = match value {
            Err(e) => (false, Arg::Str(e)),
            Ok(OpValue::Undefined) => (true, Arg::Undefined),
            Ok(OpValue::Null) => (true, Arg::Null),
            Ok(OpValue::Bytes(b)) => (true, Arg::Bytes(b)),
            Ok(OpValue::Response {
                status,
                status_text,
                headers,
                rid,
                url,
            }) => {
                let flat: Vec<String> = headers.into_iter().flat_map(|(k, v)| [k, v]).collect();
                let mut head = vec![
                    Arg::Num(status as f64),
                    Arg::Str(status_text),
                    Arg::Strings(flat),
                    Arg::Num(rid as f64),
                ];
                head.extend(url.map(Arg::Str));
                (true, Arg::List(head))
            }
        };
        self.call(
            Some(Entry::Complete),
            vec![Arg::Num(op as f64), Arg::Bool(ok), v],
        )
    }

    fn fire_timer(&mut self, id: u64) -> Result<(), Fault> {
        self.call(Some(Entry::Timer), vec![Arg::Num(id as f64)])
    }

    fn run_queued(&mut self) -> Result<(), Fault> {
        self.call(None, Vec::new())
    }

    fn abort(&mut self, req: u64, reason: &str) -> Result<(), Fault> {
        self.call(
            Some(Entry::Abort),
            vec![Arg::Num(req as f64), Arg::Str(reason.to_string())],
        )
    }
}
