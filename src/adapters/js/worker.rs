//! One worker thread's loop: owns isolates, runs their turns for requests, op completions, timers and deadlines.
//!
//! A *turn* is one event (a request, an op completion, a due timer): the JS call plus every microtask, with the CPU
//! meter armed for the owning request's remaining budget. A turn of no live request is background work
//! (`isolate_state.rs`).
//!
//! A message touches only the isolate it concerns plus what is due. Timers and request deadlines wait in a queue
//! ordered by instant. Isolates with no request in flight wait in an index ordered by last use. Only isolates with
//! requests in flight are checked: every 100 ms for clients that went away, and after 5 ms without a turn for work
//! their engine queued meanwhile (`Isolate::run_queued`, such as the end of a V8 async WebAssembly compile). So the
//! cost of a message does not grow with the number of isolates on the thread.
//!
//! The loop owns at most one isolate per app version, created on its first request. It ends requests past their wall or
//! `waitUntil` deadline, and requests whose client went away (reply or body channel closed), aborting their
//! `request.signal`. It replaces an isolate whose heap hit the limit. It drops drained versions; a request that picked
//! a version just before it was replaced is still served, by the version that replaced it where the thread has no
//! isolate of the old one. It evicts isolates idle longer than
//! `RuntimeOptions::idle_evict` (default 5 min); the next request re-creates them from cached bytecode.
//!
//! Before it starts an isolate it admits the app's `memory_mb` into the process's `MemoryBudget` (`meter.rs`), dropping
//! its own idle isolates first; if it still does not fit, the request gets 503. At the runtime's cap on live isolates
//! (`RuntimeOptions::max_isolates`) it also evicts its own least recently used idle ones first. By default that cap is
//! what `vm.max_map_count` leaves room for at `Engine::MAPS_PER_ISOLATE` mappings each: about 4,000 V8 isolates at the
//! usual 65,530, no cap for QuickJS. A V8 isolate that cannot map memory takes the process down.
//!
//! When no message is queued and nothing is due, the thread readies its engine's spare (`Engine::prepare`), which its
//! next isolate start takes. After compiling a version or evicting isolates it hands free memory back to the system
//! (mimalloc's, and malloc's after evictions).

use super::engine::{Engine, Fault, Isolate, OpValue};
use super::isolate_state::{IsolateState, OpDone, ReqState};
use super::meter::{thread_cpu, thread_cpu_recent, CpuMeter, MemMeter};
use super::sched::{self, Inbox};
use super::{Loaded, Msg, Shared};
use crate::ports::{Limit, RuntimeError};
use foldhash::{HashMap, HashMapExt};
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashSet};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

struct Slot<E: Engine> {
    iso: E::Isolate,
    host: Rc<IsolateState>,
    cpu: Rc<CpuMeter>,
    mem: Arc<MemMeter>,
    app: Arc<Loaded>,
    dead: bool,
    drains: Vec<oneshot::Sender<()>>,
    draining: bool,
    last_used: Instant,
    /// The earliest entry this slot has in the worker's wake queue.
    wake: Option<Instant>,
    /// This slot's key in the worker's idle index, while it has no request in flight.
    idle_key: Option<Instant>,
    /// Its app's memory limit, held in the process's budget while it lives (none for a load's trial isolate).
    admission: Option<super::meter::Admission>,
}

impl<E: Engine> Drop for Slot<E> {
    fn drop(&mut self) {
        self.app.counters.isolates.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How often slots with requests in flight are checked for clients that went away.
const GONE_CHECK: Duration = Duration::from_millis(100);

/// A slot with requests in flight and no turn for this long gets one for the work its engine queued meanwhile (V8:
/// platform tasks, such as the end of an async WebAssembly compile); checked as often.
const QUEUED_CHECK: Duration = Duration::from_millis(5);

/// How long a thread waits idle after its last message before it readies its spare isolate, so that the requests
/// that follow one another (an app's first request and the ones right after it) are not queued behind that.
const SPARE_AFTER_IDLE: Duration = Duration::from_millis(1);

/// One worker thread's state. Every message touches only the slot it concerns plus whatever is due: timers and
/// request deadlines wait in a queue ordered by instant, idle isolates in an index ordered by last use, so the
/// cost of a message does not grow with the number of isolates on the thread.
struct Worker<E: Engine> {
    inbox: Inbox,
    shared: Arc<Shared>,
    /// Live isolates by app version id.
    slots: HashMap<u64, Slot<E>>,
    /// Instance id -> version id, to route op completions (stale instances are dropped).
    instances: HashMap<u64, u64>,
    next_instance: u64,
    /// (instant, version): a slot's next timer or request deadline. Entries that no longer match the slot's
    /// `wake` are stale and skipped.
    wakes: BinaryHeap<Reverse<(Instant, u64)>>,
    /// Slots with requests in flight.
    active: HashSet<u64>,
    next_gone_check: Instant,
    next_queued_check: Instant,
    /// Slots with no request in flight, by the instant of their last turn (oldest first).
    idle: BTreeSet<(Instant, u64)>,
    /// What the engine keeps ready for the next new isolate, readied while the thread is idle.
    spare: E::Spare,
    /// When the spare may be readied: `SPARE_AFTER_IDLE` after the last message.
    spare_after: Instant,
}

pub fn run<E: Engine>(rx: Receiver<Msg>, inbox: Inbox, shared: Arc<Shared>) {
    inbox.load.bind_to_current_thread();
    let mut w = Worker::<E> {
        inbox,
        shared,
        slots: HashMap::new(),
        instances: HashMap::new(),
        next_instance: 1,
        wakes: BinaryHeap::new(),
        active: HashSet::new(),
        next_gone_check: Instant::now(),
        next_queued_check: Instant::now(),
        idle: BTreeSet::new(),
        spare: Default::default(),
        spare_after: Instant::now(),
    };
    loop {
        // Idle for a while (no message waiting, nothing due): ready the engine's spare isolate before waiting.
        let waiting = match rx.try_recv() {
            Ok(m) => Some(m),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => return,
        };
        let spare_due = E::wants_prepare(&w.spare).then_some(w.spare_after);
        let now = Instant::now();
        let ready_now = waiting.is_none()
            && spare_due.is_some_and(|at| at <= now)
            && w.next_wake().is_none_or(|at| at > now);
        if ready_now {
            let _busy = w.inbox.load.housekeeping();
            E::prepare(&mut w.spare);
            w.inbox.load.set_needs_spare(E::wants_prepare(&w.spare));
        }
        // Wake to ready the spare once the thread has been idle long enough (not again right after a failed try).
        let spare_due = spare_due.filter(|_| !ready_now);
        let wake = [w.next_wake(), spare_due].into_iter().flatten().min();
        let msg = match wake {
            _ if waiting.is_some() => waiting,
            Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            },
            None => match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => return,
            },
        };
        if msg.is_some() {
            w.inbox.load.took();
            w.spare_after = Instant::now() + SPARE_AFTER_IDLE;
        }
        if matches!(msg, Some(Msg::Shutdown)) {
            return;
        }
        // A defect in an op must not take down every app on this thread: log it and keep serving.
        let step = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if let Some(m) = msg {
                w.handle(m);
            }
            w.due();
        }));
        w.inbox.load.set_isolates(w.slots.len());
        w.inbox.load.set_needs_spare(E::wants_prepare(&w.spare));
        if let Err(panic) = step {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(target: "nano::runtime", "worker thread recovered from a panic: {what}");
        }
    }
}

impl<E: Engine> Worker<E> {
    /// When the loop must wake even without a message: the next timer or deadline, the next check for clients
    /// that went away (while requests are in flight), the next idle eviction.
    fn next_wake(&self) -> Option<Instant> {
        let timer = self.wakes.peek().map(|Reverse((at, _))| *at);
        let gone =
            (!self.active.is_empty()).then_some(self.next_gone_check.min(self.next_queued_check));
        let evict = self
            .idle
            .first()
            .map(|(at, _)| *at + self.shared.idle_evict);
        [timer, gone, evict].into_iter().flatten().min()
    }

    /// Sends `msg`, a request of `app` taken off this thread's queue, to the thread `sched::pick` chooses for it now.
    fn hand_on(&self, app: &Loaded, msg: Msg) {
        let Some(threads) = self.shared.threads.get() else {
            return;
        };
        let thread = sched::pick(threads, app);
        app.homes.fetch_or(1u64 << thread, Ordering::SeqCst);
        // The runtime is shutting down when a thread is gone: the request's reply channel then closes with it.
        let _ = threads[thread].send(msg);
    }

    fn handle(&mut self, mut msg: Msg) {
        if let Msg::Dispatch { app, .. } = &mut msg {
            if !self.slots.contains_key(&app.version_id) && app.successor.get().is_some() {
                // Picked just before its version was replaced, and no isolate of that version is here: the newest
                // version serves it, rather than an isolate started for a version that is going away.
                let latest = app.latest().clone();
                *app = latest.clone();
                return self.hand_on(&latest, msg);
            }
            if !self.inbox.load.background && app.background.load(Ordering::Relaxed) {
                // Queued here before the app's turns showed they run long: such requests would hold this thread
                // (and the other apps' requests queued behind them), so they go where long turns run.
                let app = app.clone();
                return self.hand_on(&app, msg);
            }
        }
        match msg {
            Msg::Compile { app, reply } => {
                // Compile every module, then evaluate them once in a trial isolate (dropped again: isolates are
                // created on demand), so that a version that cannot start fails to load.
                let name = app.version.spec.name.to_string();
                let result = E::compile(&app, &mut self.spare)
                    .map_err(|msg| RuntimeError::Load { app: name, msg })
                    .and_then(|()| self.start(&app).map(drop));
                let _ = reply.send(result);
                // The trial isolate and the compile's buffers are freed: return that memory to the system now,
                // since a background thread may sit idle (and mimalloc purges only on a thread's own activity).
                // SAFETY: mi_collect only releases free memory of the calling thread's heap.
                unsafe { libmimalloc_sys::mi_collect(false) };
            }
            Msg::Dispatch {
                app,
                req,
                head,
                body,
                reply,
            } => {
                let version = app.version_id;
                if !self.slots.contains_key(&version) {
                    if let Err(e) = self.create(&app) {
                        let _ = reply.send(Err(e));
                        return;
                    }
                }
                let slot = self.slots.get_mut(&version).expect("slot just ensured");
                // A request that picked this version just before it was replaced is still served (on a draining
                // version too); an isolate created for it goes again as soon as it is quiet.
                slot.draining |= app.draining.load(Ordering::SeqCst);
                let limits = &app.version.spec.limits;
                slot.host.add_request(
                    req,
                    ReqState {
                        reply: Some(reply),
                        stream: None,
                        cpu: Duration::ZERO,
                        deadline: Instant::now() + Duration::from_millis(limits.wall_ms),
                        subrequests: 0,
                        hops: crate::core::outbound::hops(
                            head.headers
                                .iter()
                                .find(|(k, _)| {
                                    k.eq_ignore_ascii_case(crate::core::outbound::HOPS_HEADER)
                                })
                                .map(|(_, v)| v.as_str()),
                        ),
                        resources: Vec::new(),
                        trace: head.trace,
                    },
                );
                let rid = body.map(|b| slot.host.add_resource(b.into_stream(), Some(req)));
                turn(&self.inbox, slot, Some(req), |iso| {
                    iso.dispatch(req, &head, rid)
                });
                self.settle(version);
            }
            Msg::OpDone {
                instance,
                op,
                result,
            } => {
                let Some(&version) = self.instances.get(&instance) else {
                    return;
                };
                let Some(slot) = self.slots.get_mut(&version) else {
                    return;
                };
                let owner = slot.host.op_owner(op);
                let value = match result {
                    OpDone::Value(v) => Ok(v),
                    OpDone::Event(v) => {
                        if let Some(r) = owner {
                            slot.host.fresh_event(r);
                        }
                        Ok(v)
                    }
                    OpDone::Chunk(Some(b)) => Ok(OpValue::Bytes(b.to_vec())),
                    OpDone::Chunk(None) => Ok(OpValue::Null),
                    OpDone::Fetched {
                        status,
                        status_text,
                        headers,
                        url,
                        body,
                    } => Ok(OpValue::Response {
                        status,
                        status_text,
                        headers,
                        url,
                        rid: slot.host.add_resource(body, owner),
                    }),
                    OpDone::Socket(connected) => slot
                        .host
                        .opened_socket(connected, owner)
                        .map(OpValue::Bytes),
                    OpDone::Error(e) => Err(e),
                };
                turn(&self.inbox, slot, owner, |iso| iso.complete(op, value));
                self.settle(version);
            }
            Msg::Drain { version_id, reply } => match self.slots.get_mut(&version_id) {
                Some(s) => {
                    s.draining = true;
                    s.drains.push(reply);
                    self.settle(version_id);
                }
                None => {
                    let _ = reply.send(());
                }
            },
            Msg::Expect { memory_mb } => E::expect(&mut self.spare, memory_mb),
            Msg::Shutdown => {}
        }
    }

    fn create(&mut self, app: &Arc<Loaded>) -> Result<(), RuntimeError> {
        self.make_room();
        let admission = self.admit(app.version.spec.limits.memory_mb)?;
        let mut slot = self.start(app)?;
        app.counters.isolate_starts.fetch_add(1, Ordering::Relaxed);
        slot.admission = Some(admission);
        self.instances.insert(slot.host.instance, app.version_id);
        self.slots.insert(app.version_id, slot);
        Ok(())
    }

    /// Creates an isolate for `app`, evaluating its modules under the start-up CPU limit.
    fn start(&mut self, app: &Arc<Loaded>) -> Result<Slot<E>, RuntimeError> {
        let limits = &app.version.spec.limits;
        let instance = self.next_instance;
        self.next_instance += 1;
        let cpu = Rc::new(CpuMeter::default());
        let mem = Arc::new(MemMeter::new(
            (limits.memory_mb as usize).saturating_mul(1024 * 1024),
            app.counters.heap_bytes.clone(),
        ));
        let host = Rc::new(IsolateState::new(
            instance,
            app.clone(),
            self.inbox.clone(),
            self.shared.clone(),
            mem.clone(),
        ));
        let name = app.version.spec.name.to_string();
        let started = thread_cpu();
        let busy = self.inbox.load.starting(app, started);
        cpu.arm(started, Duration::from_millis(limits.startup_cpu_ms));
        let created = E::create(app, host.clone(), cpu.clone(), mem.clone(), &mut self.spare);
        let interrupted = cpu.disarm();
        let used = thread_cpu() - started;
        busy.done(used);
        app.counters
            .cpu_micros
            .fetch_add(used.as_micros() as u64, Ordering::Relaxed);
        let iso = match created {
            Ok(iso) => iso,
            Err(fault) => {
                let (limit, msg) = match fault {
                    _ if interrupted => (
                        Some(Limit::Startup),
                        format!(
                            "app {name}: module evaluation used more than {} ms of CPU",
                            limits.startup_cpu_ms
                        ),
                    ),
                    Fault::OutOfMemory => (
                        Some(Limit::Memory),
                        format!("app {name}: out of memory while starting"),
                    ),
                    Fault::Interrupted => (
                        Some(Limit::Startup),
                        format!("app {name}: start-up interrupted"),
                    ),
                    Fault::Error(e) => (None, e),
                };
                tracing::warn!(target: "nano::app", app = name.as_str(), tenant = app.version.spec.tenant.as_str(), "app failed to start: {msg}");
                return Err(match limit {
                    Some(limit) => {
                        app.counters.terminated(limit);
                        RuntimeError::Limit { limit, msg }
                    }
                    None => RuntimeError::Load { app: name, msg },
                });
            }
        };
        app.counters.isolates.fetch_add(1, Ordering::Relaxed);
        Ok(Slot {
            iso,
            host,
            cpu,
            mem,
            app: app.clone(),
            dead: false,
            drains: Vec::new(),
            draining: false,
            last_used: Instant::now(),
            wake: None,
            idle_key: None,
            admission: None,
        })
    }

    /// A share of the process's memory budget for an isolate of `memory_mb`: this thread's least recently used idle
    /// isolates are dropped while it does not fit; if it still does not, the request gets 503 naming the budget.
    fn admit(&mut self, memory_mb: u64) -> Result<super::meter::Admission, RuntimeError> {
        let bytes = (memory_mb as usize).saturating_mul(1024 * 1024);
        loop {
            if let Some(admission) = self.shared.memory.admit(bytes) {
                return Ok(admission);
            }
            let Some(&(_, version)) = self.idle.first() else {
                return Err(RuntimeError::Limit {
                    limit: Limit::Memory,
                    msg: format!(
                        "nano's memory budget (max_memory_mb = {}) is taken by other isolates; no new isolate of {memory_mb} MB can start now",
                        self.shared.memory.limit() >> 20
                    ),
                });
            };
            self.remove(version);
        }
    }

    /// Brings a slot's bookkeeping up to date after its turns: tells the app about requests the host ended, drops
    /// the isolate if it died or finished draining, and files it in the wake queue, the active set and the idle
    /// index.
    fn settle(&mut self, version: u64) {
        let Some(slot) = self.slots.get_mut(&version) else {
            return;
        };
        loop {
            let aborted = std::mem::take(&mut slot.host.state.borrow_mut().aborted);
            if aborted.is_empty() {
                break;
            }
            for (req, reason) in aborted {
                turn(&self.inbox, slot, None, |iso| iso.abort(req, &reason));
            }
        }
        let quiet = slot.host.state.borrow().requests.is_empty();
        if slot.dead || (quiet && slot.draining) {
            self.remove(version);
            return;
        }
        if quiet {
            self.active.remove(&version);
        } else if self.active.insert(version) && self.active.len() == 1 {
            self.next_gone_check = Instant::now() + GONE_CHECK;
            self.next_queued_check = Instant::now() + QUEUED_CHECK;
        }
        let key = quiet.then_some(slot.last_used);
        if key != slot.idle_key {
            if let Some(old) = slot.idle_key {
                self.idle.remove(&(old, version));
            }
            if let Some(new) = key {
                self.idle.insert((new, version));
            }
            slot.idle_key = key;
        }
        if let Some(at) = slot.host.next_deadline() {
            if slot.wake.is_none_or(|w| at < w) {
                slot.wake = Some(at);
                self.wakes.push(Reverse((at, version)));
            }
        }
    }

    /// At the runtime's cap on live isolates (`Shared::max_isolates`), evicts this thread's least recently used idle
    /// isolates until there is room for one more, or none is idle here: past the kernel's limit on memory mappings,
    /// a V8 isolate cannot grow and the process dies.
    fn make_room(&mut self) {
        let Some(threads) = self.shared.threads.get() else {
            return;
        };
        let others: usize = threads
            .iter()
            .filter(|t| !Arc::ptr_eq(&t.load, &self.inbox.load))
            .map(|t| t.load.isolates())
            .sum();
        while others + self.slots.len() >= self.shared.max_isolates {
            let Some(&(_, version)) = self.idle.first() else {
                break;
            };
            self.remove(version);
        }
    }

    /// Drops a slot and tells whoever waits for its drain.
    fn remove(&mut self, version: u64) {
        if let Some(mut s) = self.slots.remove(&version) {
            self.instances.remove(&s.host.instance);
            self.active.remove(&version);
            if let Some(key) = s.idle_key {
                self.idle.remove(&(key, version));
            }
            for d in s.drains.drain(..) {
                let _ = d.send(());
            }
        }
    }

    /// Runs what is due: timers and request deadlines, the check for clients that went away, idle eviction.
    fn due(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((at, version))) = self.wakes.peek() {
            if at > now {
                break;
            }
            self.wakes.pop();
            let Some(slot) = self.slots.get_mut(&version) else {
                continue;
            };
            if slot.wake != Some(at) {
                continue;
            }
            slot.wake = None;
            tick(&self.inbox, slot, now);
            self.settle(version);
        }
        if !self.active.is_empty() && now >= self.next_queued_check {
            self.next_queued_check = now + QUEUED_CHECK;
            let quiet: Vec<u64> = self
                .active
                .iter()
                .copied()
                .filter(|v| {
                    self.slots
                        .get(v)
                        .is_some_and(|s| now.duration_since(s.last_used) >= QUEUED_CHECK)
                })
                .collect();
            for version in quiet {
                if let Some(slot) = self.slots.get_mut(&version) {
                    turn(&self.inbox, slot, None, |iso| iso.run_queued());
                    self.settle(version);
                }
            }
        }
        if !self.active.is_empty() && now >= self.next_gone_check {
            self.next_gone_check = now + GONE_CHECK;
            let active: Vec<u64> = self.active.iter().copied().collect();
            for version in active {
                if let Some(slot) = self.slots.get(&version) {
                    let gone: Vec<u64> = slot
                        .host
                        .state
                        .borrow()
                        .requests
                        .iter()
                        .filter(|(_, r)| {
                            r.reply.as_ref().is_some_and(|t| t.is_closed())
                                || r.stream.as_ref().is_some_and(|t| t.is_closed())
                        })
                        .map(|(id, _)| *id)
                        .collect();
                    if gone.is_empty() {
                        continue;
                    }
                    for req in gone {
                        slot.host.client_gone(req);
                    }
                    self.settle(version);
                }
            }
        }
        let idle = self.shared.idle_evict;
        let mut evicted = false;
        while let Some(&(at, version)) = self.idle.first() {
            if now.duration_since(at) < idle {
                break;
            }
            self.remove(version);
            evicted = true;
        }
        if evicted {
            // Freed isolates leave their memory in the allocators' free lists (the engine's in malloc's, nano's
            // in mimalloc's): give it back to the system.
            // SAFETY: both calls only release free memory of their allocator; they are safe to call at any time.
            unsafe {
                libc::malloc_trim(0);
                libmimalloc_sys::mi_collect(true);
            }
        }
    }
}

/// Fires a slot's due timers and ends its requests past their wall (or waitUntil) deadline.
fn tick<E: Engine>(inbox: &Inbox, slot: &mut Slot<E>, now: Instant) {
    if slot.host.background_overdue(now) {
        slot.host.cancel_background(&format!(
            "background work ran past {} ms after the last request (wait_until_ms)",
            slot.app.version.spec.limits.wait_until_ms
        ));
    }
    for (id, owner) in slot.host.due_timers(now) {
        if slot.dead {
            break;
        }
        turn(inbox, slot, owner, |iso| iso.fire_timer(id));
    }
    let late: Vec<(u64, bool)> = slot
        .host
        .state
        .borrow()
        .requests
        .iter()
        .filter(|(_, r)| r.deadline <= now)
        .map(|(id, r)| (*id, r.reply.is_none() && r.stream.is_none()))
        .collect();
    for (req, answered) in late {
        if answered {
            slot.host.terminate(
                req,
                Limit::WaitUntil,
                "waitUntil work cancelled after the drain limit",
            );
        } else {
            slot.host
                .terminate(req, Limit::Wall, "request ran past its wall-time limit");
        }
    }
}

/// A turn shorter than this in wall time is charged its wall time as CPU, without reading the thread's CPU clock
/// again (a system call): the thread used at most that much CPU, and exactly that unless it was preempted.
const SHORT_TURN: Duration = Duration::from_micros(200);

/// CPU used since thread-CPU instant `start` (a reading up to `RECENT` behind the clock), which was `wall` ago: the
/// clock's advance, but never more than the wall time (which bounds it, and is exact unless the thread was preempted).
fn cpu_since(start: Duration, wall: Duration) -> Duration {
    if wall < SHORT_TURN {
        wall
    } else {
        thread_cpu().saturating_sub(start).min(wall)
    }
}

/// Runs one JS turn on behalf of `req`, charging its CPU and enforcing the CPU and memory limits.
fn turn<E: Engine>(
    inbox: &Inbox,
    slot: &mut Slot<E>,
    req: Option<u64>,
    f: impl FnOnce(&mut E::Isolate) -> Result<(), Fault>,
) {
    if slot.dead {
        return;
    }
    let limits = &slot.app.version.spec.limits;
    let cpu_limit = Duration::from_millis(limits.cpu_ms);
    // Work of no (or a finished) request is background work: it shares one request's worth of CPU, renewed when a
    // request arrives.
    let (budget, background) = {
        let mut st = slot.host.state.borrow_mut();
        st.current = req;
        match req.and_then(|r| st.requests.get(&r)) {
            Some(r) => (cpu_limit.saturating_sub(r.cpu), false),
            None => (cpu_limit.saturating_sub(st.background_cpu), true),
        }
    };
    let began = Instant::now();
    if !background {
        // Only requests keep an isolate in use: one busy with its own timers alone is still evicted when idle.
        slot.last_used = began;
    }
    let start = thread_cpu_recent();
    let busy = inbox.load.enter(&slot.app, start);
    slot.cpu.arm(start, budget);
    let result = f(&mut slot.iso);
    let interrupted = slot.cpu.disarm();
    let used = cpu_since(start, began.elapsed());
    busy.done(used);
    slot.app
        .counters
        .cpu_micros
        .fetch_add(used.as_micros() as u64, Ordering::Relaxed);
    let background_spent = {
        let mut st = slot.host.state.borrow_mut();
        st.current = None;
        match req.and_then(|r| st.requests.get_mut(&r)) {
            Some(r) => {
                r.cpu += used;
                false
            }
            None => {
                st.background_cpu += used;
                st.background_cpu >= cpu_limit
            }
        }
    };
    if background_spent {
        slot.host.cancel_background(&format!(
            "background work (timers and promise jobs after the response) used its {} ms of CPU",
            limits.cpu_ms
        ));
    }
    if slot.mem.out_of_memory() || matches!(result, Err(Fault::OutOfMemory)) {
        let reqs: Vec<u64> = slot.host.state.borrow().requests.keys().copied().collect();
        let msg = format!(
            "isolate heap passed its limit of {} MB; isolate replaced",
            limits.memory_mb
        );
        for r in reqs {
            slot.host.terminate(r, Limit::Memory, &msg);
        }
        slot.dead = true;
        return;
    }
    match (result, req) {
        (Err(Fault::Interrupted), Some(r)) => {
            let msg = format!("request used more than {} ms of CPU", limits.cpu_ms);
            slot.host.terminate(r, Limit::Cpu, &msg);
        }
        (Err(_), Some(r)) if interrupted => {
            let msg = format!("request used more than {} ms of CPU", limits.cpu_ms);
            slot.host.terminate(r, Limit::Cpu, &msg);
        }
        (Err(Fault::Error(e)), Some(r)) => slot.host.fail(r, &e),
        (Err(_), None) if interrupted => slot.host.log(
            "error",
            &format!(
                "background work used more than {} ms of CPU and was stopped",
                limits.cpu_ms
            ),
        ),
        (Err(e), None) => slot
            .host
            .log("error", &format!("uncaught in background work: {e:?}")),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_turns_are_charged_their_wall_time_and_long_ones_the_cpu_clock() {
        let start = thread_cpu();
        let short = Duration::from_micros(50);
        assert_eq!(cpu_since(start, short), short);
        // 5 ms of CPU, asked as if a second of wall time had passed: the clock is read, not the wall time taken.
        while thread_cpu() - start < Duration::from_millis(5) {}
        let used = cpu_since(start, Duration::from_secs(1));
        assert!(
            used >= Duration::from_millis(5) && used < Duration::from_secs(1),
            "{used:?}"
        );
        // Never more than the wall time, whatever the clock says.
        assert_eq!(
            cpu_since(start, Duration::from_millis(1)),
            Duration::from_millis(1)
        );
    }

    #[test]
    fn a_recent_cpu_reading_is_reused_and_an_old_one_read_again() {
        let read = thread_cpu();
        assert_eq!(thread_cpu_recent(), read);
        // Past `RECENT` in wall time, the clock is read again: the loop itself used some CPU (ns resolution).
        let began = Instant::now();
        while began.elapsed() < Duration::from_millis(2) {}
        assert!(thread_cpu_recent() > read);
    }
}
