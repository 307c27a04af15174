//! Choosing a worker thread for a request: each thread publishes its queue depth and the turn it is in, and the
//! dispatcher sends the request where it expects the shortest wait.

use super::{Loaded, Msg};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Instant;

/// Least cost assumed for creating an isolate on a thread where the app has none yet, in microseconds of waiting
/// (the app's measured start-up time, when larger, counts instead).
const COLD_US: u64 = 500;
/// Expected cost of one message already queued on a thread, in microseconds.
const QUEUED_US: u64 = 50;
/// A turn running (or expected to run) longer than this makes its thread "held" by the app.
const LONG_TURN_US: u64 = 2_000;
/// Extra wait assumed behind a turn far past its version's usual length (likely to run into its CPU limit), so
/// that such a thread is picked only when every other thread is as bad.
const BLOCKED_US: u64 = 1_000_000;

/// What a worker thread publishes for the dispatcher.
pub struct ThreadLoad {
    epoch: Instant,
    /// Messages sent to the thread that it has not taken yet.
    queued: AtomicUsize,
    /// Microseconds since `epoch` (plus one) when the running turn started; 0 between turns.
    turn_since: AtomicU64,
    /// The app version whose turn is running.
    turn_version: AtomicU64,
    /// How long that version's turns usually take (microseconds).
    turn_expect: AtomicU64,
}

impl ThreadLoad {
    pub fn new(epoch: Instant) -> Self {
        Self {
            epoch,
            queued: AtomicUsize::new(0),
            turn_since: AtomicU64::new(0),
            turn_version: AtomicU64::new(0),
            turn_expect: AtomicU64::new(0),
        }
    }

    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64 + 1
    }

    /// The worker took one message off its channel.
    pub fn took(&self) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }

    /// Marks the thread as running a turn of `app` until the guard drops; the guard records how long it took.
    pub fn enter<'a>(&'a self, app: &'a Loaded) -> Busy<'a> {
        self.busy(app, true)
    }

    /// Marks the thread as starting an isolate of `app`; the guard records how long that took.
    pub fn starting<'a>(&'a self, app: &'a Loaded) -> Busy<'a> {
        self.busy(app, false)
    }

    fn busy<'a>(&'a self, app: &'a Loaded, turn: bool) -> Busy<'a> {
        let since = self.now_us();
        self.turn_version.store(app.version_id, Ordering::Relaxed);
        self.turn_expect
            .store(app.turn_us.load(Ordering::Relaxed), Ordering::Relaxed);
        self.turn_since.store(since, Ordering::Relaxed);
        Busy {
            load: self,
            app,
            turn,
            since,
        }
    }

    /// Microseconds a new message sent now is expected to wait on this thread (plus `cold_us` to start an isolate
    /// if the app has none there), and whether the thread is held by a long turn of `version`.
    fn wait_us(&self, version: u64, cold_us: u64) -> (u64, bool) {
        let queued = self.queued.load(Ordering::Relaxed) as u64 * QUEUED_US;
        let since = self.turn_since.load(Ordering::Relaxed);
        let (turn, held) = if since == 0 {
            (0, false)
        } else {
            let ran = self.now_us().saturating_sub(since);
            let expect = self.turn_expect.load(Ordering::Relaxed);
            let long = ran.max(expect) >= LONG_TURN_US;
            let own = self.turn_version.load(Ordering::Relaxed) == version;
            let wait = if ran >= LONG_TURN_US.max(expect * 4) {
                BLOCKED_US + ran
            } else {
                // A turn is expected to run its version's usual length, or, past that, as long again as it ran.
                expect.saturating_sub(ran).max(ran)
            };
            (wait, long && own)
        };
        (queued + turn + cold_us, held)
    }
}

/// A running turn (or isolate start); dropping it clears the thread's turn and folds its length into the version's
/// average.
pub struct Busy<'a> {
    load: &'a ThreadLoad,
    app: &'a Loaded,
    /// A JS turn (counted in the turn average) rather than an isolate start (counted in the start average).
    turn: bool,
    since: u64,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let took = self.load.now_us().saturating_sub(self.since);
        self.load.turn_since.store(0, Ordering::Relaxed);
        let avg = if self.turn {
            &self.app.turn_us
        } else {
            &self.app.start_us
        };
        let old = avg.load(Ordering::Relaxed);
        let new = if old == 0 { took } else { (old * 7 + took) / 8 };
        avg.store(new, Ordering::Relaxed);
    }
}

/// A worker thread's channel plus its published load; sending counts the message as queued.
#[derive(Clone)]
pub struct Inbox {
    tx: Sender<Msg>,
    pub load: Arc<ThreadLoad>,
}

impl Inbox {
    pub fn new(tx: Sender<Msg>, load: Arc<ThreadLoad>) -> Self {
        Self { tx, load }
    }

    /// Sends `msg`; fails only when the worker thread is gone.
    pub fn send(&self, msg: Msg) -> Result<(), ThreadGone> {
        self.load.queued.fetch_add(1, Ordering::Relaxed);
        self.tx.send(msg).map_err(|_| {
            self.load.queued.fetch_sub(1, Ordering::Relaxed);
            ThreadGone
        })
    }
}

/// A message could not be sent: its worker thread has ended.
#[derive(Debug)]
pub struct ThreadGone;

/// The thread for `app`'s next request: the one with the shortest expected wait, preferring threads where the
/// app already has an isolate. An app whose long turns already hold half the threads queues behind itself, so a
/// CPU-bound app cannot occupy every thread.
pub fn pick(threads: &[Inbox], app: &Loaded) -> usize {
    let homes = app.homes.load(Ordering::Relaxed);
    let start = app.start_us.load(Ordering::Relaxed).max(COLD_US);
    let cap = ((threads.len().saturating_sub(1)) / 2).max(1);
    let (mut best, mut best_wait) = (0, u64::MAX);
    let (mut held, mut best_held, mut best_held_wait) = (0, 0, u64::MAX);
    for (t, inbox) in threads.iter().enumerate() {
        let cold = if homes & (1u64 << t) == 0 { start } else { 0 };
        let (wait, own_long) = inbox.load.wait_us(app.version_id, cold);
        if own_long {
            held += 1;
            if wait < best_held_wait {
                (best_held, best_held_wait) = (t, wait);
            }
        }
        if wait < best_wait {
            (best, best_wait) = (t, wait);
        }
    }
    if held >= cap {
        best_held
    } else {
        best
    }
}

/// The least loaded thread, for work of no particular app (compiling a new version).
pub fn least_loaded(threads: &[Inbox]) -> usize {
    (0..threads.len())
        .min_by_key(|&t| threads[t].load.wait_us(0, 0).0)
        .unwrap_or(0)
}
