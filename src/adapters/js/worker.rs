//! One worker thread's loop: owns isolates, runs their turns for requests, op completions, timers and deadlines.

use super::engine::{Engine, Fault, Isolate, OpValue};
use super::host::{Host, OpDone, ReqState};
use super::meter::{thread_cpu, CpuMeter, MemMeter};
use super::{Loaded, Msg, Shared};
use crate::ports::{Limit, RuntimeError};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

struct Slot<E: Engine> {
    iso: E::Isolate,
    host: Rc<Host>,
    cpu: Rc<CpuMeter>,
    mem: Arc<MemMeter>,
    app: Arc<Loaded>,
    dead: bool,
    drains: Vec<oneshot::Sender<()>>,
    draining: bool,
    last_used: Instant,
}

impl<E: Engine> Drop for Slot<E> {
    fn drop(&mut self) {
        self.app.counters.isolates.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Worker<E: Engine> {
    inbox: Sender<Msg>,
    shared: Arc<Shared>,
    /// Live isolates by app version id.
    slots: HashMap<u64, Slot<E>>,
    /// Instance id -> version id, to route op completions (stale instances are dropped).
    instances: HashMap<u64, u64>,
    next_instance: u64,
}

pub fn run<E: Engine>(rx: Receiver<Msg>, inbox: Sender<Msg>, shared: Arc<Shared>) {
    let mut w = Worker::<E> {
        inbox,
        shared,
        slots: HashMap::new(),
        instances: HashMap::new(),
        next_instance: 1,
    };
    loop {
        let idle = w.shared.idle_evict;
        // While requests are in flight, wake at least every 100 ms to notice clients that went away.
        let busy = w
            .slots
            .values()
            .any(|s| !s.host.state.borrow().requests.is_empty())
            .then(|| Instant::now() + Duration::from_millis(100));
        let next = w
            .slots
            .values()
            .flat_map(|s| [s.host.next_deadline(), Some(s.last_used + idle)])
            .flatten()
            .chain(busy)
            .min();
        let msg = match next {
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
        if matches!(msg, Some(Msg::Shutdown)) {
            return;
        }
        // A defect in an op must not take down every app on this thread: log it and keep serving.
        let step = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if let Some(m) = msg {
                w.handle(m);
            }
            w.tick();
            w.reap();
        }));
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
    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Compile { app, reply } => {
                // Compile every module, then evaluate them once in a trial isolate (dropped again: isolates are
                // created on demand), so that a version that cannot start fails to load.
                let name = app.version.spec.name.to_string();
                let result = E::compile(&app)
                    .map_err(|msg| RuntimeError::Load { app: name, msg })
                    .and_then(|()| self.start(&app).map(drop));
                let _ = reply.send(result);
            }
            Msg::Dispatch {
                app,
                req,
                head,
                body,
                reply,
            } => {
                let version = app.version_id;
                if let Some(s) = self.slots.get(&version) {
                    if s.draining {
                        let _ = reply.send(Err(RuntimeError::Draining(
                            app.version.spec.name.to_string(),
                        )));
                        return;
                    }
                } else if let Err(e) = self.create(&app) {
                    let _ = reply.send(Err(e));
                    return;
                }
                let slot = self.slots.get_mut(&version).expect("slot just ensured");
                let limits = &app.version.spec.limits;
                slot.host.state.borrow_mut().requests.insert(
                    req,
                    ReqState {
                        reply: Some(reply),
                        stream: None,
                        cpu: Duration::ZERO,
                        deadline: Instant::now() + Duration::from_millis(limits.wall_ms),
                        subrequests: 0,
                        id: format!("{:x}-{req}", version),
                        resources: Vec::new(),
                    },
                );
                let rid = body.map(|b| slot.host.add_resource(b.into_stream(), Some(req)));
                turn(slot, Some(req), |iso| iso.dispatch(req, &head, rid));
            }
            Msg::OpDone {
                instance,
                op,
                result,
            } => {
                let Some(version) = self.instances.get(&instance) else {
                    return;
                };
                let Some(slot) = self.slots.get_mut(version) else {
                    return;
                };
                let owner = slot.host.op_owner(op);
                let value = match result {
                    OpDone::Value(v) => Ok(v),
                    OpDone::Chunk(Some(b)) => Ok(OpValue::Bytes(b.to_vec())),
                    OpDone::Chunk(None) => Ok(OpValue::Null),
                    OpDone::Fetched {
                        status,
                        status_text,
                        headers,
                        body,
                    } => Ok(OpValue::Response {
                        status,
                        status_text,
                        headers,
                        rid: slot.host.add_resource(body, owner),
                    }),
                    OpDone::Error(e) => Err(e),
                };
                turn(slot, owner, |iso| iso.complete(op, value));
            }
            Msg::Drain { version_id, reply } => match self.slots.get_mut(&version_id) {
                Some(s) => {
                    s.draining = true;
                    s.drains.push(reply);
                }
                None => {
                    let _ = reply.send(());
                }
            },
            Msg::Shutdown => {}
        }
    }

    fn create(&mut self, app: &Arc<Loaded>) -> Result<(), RuntimeError> {
        let slot = self.start(app)?;
        self.instances.insert(slot.host.instance, app.version_id);
        self.slots.insert(app.version_id, slot);
        Ok(())
    }

    /// Creates an isolate for `app`, evaluating its modules under the start-up CPU limit.
    fn start(&mut self, app: &Arc<Loaded>) -> Result<Slot<E>, RuntimeError> {
        let instance = self.next_instance;
        self.next_instance += 1;
        let limits = &app.version.spec.limits;
        let cpu = Rc::new(CpuMeter::default());
        let mem = Arc::new(MemMeter::new(
            (limits.memory_mb as usize).saturating_mul(1024 * 1024),
            app.counters.heap_bytes.clone(),
        ));
        let host = Rc::new(Host::new(
            instance,
            app.clone(),
            self.inbox.clone(),
            self.shared.clone(),
            mem.clone(),
        ));
        let name = app.version.spec.name.to_string();
        let started = thread_cpu();
        cpu.arm(Some(Duration::from_millis(limits.startup_cpu_ms)));
        let created = E::create(app, host.clone(), cpu.clone(), mem.clone());
        let interrupted = cpu.disarm();
        app.counters.cpu_micros.fetch_add(
            (thread_cpu() - started).as_micros() as u64,
            Ordering::Relaxed,
        );
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
        })
    }

    /// Fires due timers and ends requests past their wall (or waitUntil) deadline.
    fn tick(&mut self) {
        let now = Instant::now();
        for slot in self.slots.values_mut() {
            for (id, owner) in slot.host.due_timers(now) {
                if slot.dead {
                    break;
                }
                turn(slot, owner, |iso| iso.fire_timer(id));
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
            for req in gone {
                slot.host.client_gone(req);
            }
            let aborted = std::mem::take(&mut slot.host.state.borrow_mut().aborted);
            for (req, reason) in aborted {
                turn(slot, None, |iso| iso.abort(req, &reason));
            }
        }
    }

    /// Drops dead isolates, drained ones, and those idle past the eviction time.
    fn reap(&mut self) {
        let now = Instant::now();
        let idle = self.shared.idle_evict;
        let done: Vec<u64> = self
            .slots
            .iter()
            .filter(|(_, s)| {
                let quiet = s.host.state.borrow().requests.is_empty();
                s.dead || (quiet && (s.draining || now.duration_since(s.last_used) >= idle))
            })
            .map(|(v, _)| *v)
            .collect();
        for v in done {
            if let Some(mut s) = self.slots.remove(&v) {
                self.instances.remove(&s.host.instance);
                for d in s.drains.drain(..) {
                    let _ = d.send(());
                }
            }
        }
    }
}

/// Runs one JS turn on behalf of `req`, charging its CPU and enforcing the CPU and memory limits.
fn turn<E: Engine>(
    slot: &mut Slot<E>,
    req: Option<u64>,
    f: impl FnOnce(&mut E::Isolate) -> Result<(), Fault>,
) {
    if slot.dead {
        return;
    }
    let limits = &slot.app.version.spec.limits;
    let cpu_limit = Duration::from_millis(limits.cpu_ms);
    let budget = {
        let mut st = slot.host.state.borrow_mut();
        st.current = req;
        // Work of no (or a finished) request still gets one request's worth of CPU per turn.
        req.and_then(|r| st.requests.get(&r))
            .map_or(cpu_limit, |r| cpu_limit.saturating_sub(r.cpu))
    };
    slot.last_used = Instant::now();
    let start = thread_cpu();
    slot.cpu.arm(Some(budget));
    let result = f(&mut slot.iso);
    let interrupted = slot.cpu.disarm();
    let used = thread_cpu() - start;
    slot.app
        .counters
        .cpu_micros
        .fetch_add(used.as_micros() as u64, Ordering::Relaxed);
    {
        let mut st = slot.host.state.borrow_mut();
        st.current = None;
        if let Some(r) = req.and_then(|r| st.requests.get_mut(&r)) {
            r.cpu += used;
        }
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
