//! Choosing a worker thread for a request: each thread publishes its queue depth and the turn it is in, and the
//! dispatcher sends the request where it expects the shortest wait. Apps whose turns run long are served only by
//! the background threads, which run at the lowest CPU priority, so they cannot slow the apps on the others.
//!
//! Two kinds of worker thread. Foreground threads (`js_threads`; by default two more than the cores, at most 42) serve
//! apps whose turns are short. Half as many background threads (at least one), lowered to nice 19, serve long-turn apps
//! and compile new versions (`least_loaded`). An app is long-turn once its turns average `LONG_TURN_US` (5 ms) of CPU,
//! until the average falls under a quarter of that. So a spinning or allocating app only gets the CPU the others leave.
//!
//! Every worker thread runs in the `SCHED_BATCH` class: the same CPU share, but waking it does not preempt the waker.
//! An HTTP thread that hands over a request goes on serving its other connections. The worker then takes what queued
//! meanwhile in one wake-up.
//!
//! `pick` estimates each thread's wait from its `ThreadLoad`: messages queued, and the turn running (since when, which
//! version, that version's average turn). A thread where the app has no isolate yet costs an isolate start, and more
//! where the thread has no spare isolate ready. An app stays on the threads where it has an isolate until it has more
//! than `SPREAD_AT` (8) requests in flight per such thread, and then spreads to at most as many threads as the machine
//! has cores, unless all of them are stuck. So many apps with a little traffic each do not multiply isolates, while
//! one busy app spreads. Ties go to the thread with the fewest isolates. An app version may thus have an isolate on
//! several threads.
//!
//! Within its kind, an app whose long turns (`STUCK_US`, 10 ms of CPU so far) or unfinished first turns already hold
//! about half the threads queues behind itself. A foreground thread that takes a request of an app found long-turn
//! after the request was queued hands it on (`worker.rs`). So a new spinning app's queued requests do not hold a
//! foreground thread, and the requests behind them, for a CPU limit each.

use super::meter::thread_cpu;
use super::{Loaded, Msg};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Least cost assumed for creating an isolate on a thread where the app has none yet, in microseconds of waiting
/// (the app's measured start-up time, when larger, counts instead).
const COLD_US: u64 = 500;
/// Expected length of housekeeping on a thread (readying a spare isolate), in microseconds.
const HOUSEKEEPING_US: u64 = 3_000;
/// Expected cost of one message already queued on a thread, in microseconds.
const QUEUED_US: u64 = 50;
/// An app whose turns take this much CPU on average is a long-turn app: served by the background threads, until
/// its average falls below a quarter of this (so that it does not flip between the two kinds of thread).
const LONG_TURN_US: u64 = 5_000;
/// A turn that has used this much CPU and is still running is stuck: its thread is "held" by the app, and it is
/// likely to run into its CPU limit. Counted in CPU time, so that a short turn preempted on a busy machine is not.
const STUCK_US: u64 = 10_000;
/// An app gets an isolate on another thread only while it has more requests in flight than this per thread where
/// it has one (or when every such thread is stuck): many apps with a little traffic each stay put, one busy app
/// spreads.
const SPREAD_AT: usize = 8;
/// Extra wait assumed behind a stuck turn, so that such a thread is picked only when every other is as bad.
const BLOCKED_US: u64 = 1_000_000;

/// What a worker thread publishes for the dispatcher.
pub struct ThreadLoad {
    epoch: Instant,
    /// A background thread: runs long-turn apps and compiles new versions, at the lowest CPU priority.
    pub background: bool,
    /// Messages sent to the thread that it has not taken yet.
    queued: AtomicUsize,
    /// Microseconds since `epoch` (plus one) when the running turn started; 0 between turns.
    turn_since: AtomicU64,
    /// The app version whose turn is running.
    turn_version: AtomicU64,
    /// How long that version's turns usually take (microseconds).
    turn_expect: AtomicU64,
    /// Isolates living on the thread (ties between threads go to the one with fewest, so apps start spread out).
    isolates: AtomicUsize,
    /// The thread's engine wants a spare isolate it has not readied yet: an isolate started there now is made on the
    /// spot, which costs about as long as readying one (`HOUSEKEEPING_US`).
    needs_spare: AtomicBool,
    /// The thread's CPU clock (set by the thread itself when it starts) and its reading when the turn started, in
    /// microseconds.
    cpu_clock: AtomicI64,
    turn_cpu_since: AtomicU64,
}

impl ThreadLoad {
    pub fn new(epoch: Instant, background: bool) -> Self {
        Self {
            epoch,
            background,
            queued: AtomicUsize::new(0),
            turn_since: AtomicU64::new(0),
            turn_version: AtomicU64::new(0),
            turn_expect: AtomicU64::new(0),
            isolates: AtomicUsize::new(0),
            needs_spare: AtomicBool::new(false),
            cpu_clock: AtomicI64::new(i64::MIN),
            turn_cpu_since: AtomicU64::new(0),
        }
    }

    /// Called on the worker thread itself: publishes its CPU clock, so that the dispatcher can tell a stuck turn
    /// from a preempted one.
    pub fn bind_to_current_thread(&self) {
        let mut clock: libc::clockid_t = 0;
        // SAFETY: pthread_self is the calling thread; the clock id is written into a local we own.
        if unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) } == 0 {
            self.cpu_clock.store(clock as i64, Ordering::Relaxed);
        }
    }

    /// CPU time the thread has used, in microseconds (0 when its clock is unknown).
    fn cpu_us(&self) -> u64 {
        let clock = self.cpu_clock.load(Ordering::Relaxed);
        if clock == i64::MIN {
            return 0;
        }
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes into the timespec we own; the clock id names a thread of this process (a
        // worker thread lives as long as the runtime whose loads are read here).
        if unsafe { libc::clock_gettime(clock as libc::clockid_t, &mut ts) } != 0 {
            return 0;
        }
        ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
    }

    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64 + 1
    }

    /// The worker now has `n` isolates.
    pub fn set_isolates(&self, n: usize) {
        self.isolates.store(n, Ordering::Relaxed);
    }

    /// Whether the thread's engine wants a spare isolate it has not readied yet.
    pub fn set_needs_spare(&self, wanted: bool) {
        self.needs_spare.store(wanted, Ordering::Relaxed);
    }

    /// Isolates living on the thread, as it last published.
    pub fn isolates(&self) -> usize {
        self.isolates.load(Ordering::Relaxed)
    }

    /// The worker took one message off its channel.
    pub fn took(&self) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }

    /// Marks the thread as running a turn of `app`, begun at thread-CPU instant `cpu`, until the guard drops;
    /// `Busy::done` records the CPU it took.
    pub fn enter<'a>(&'a self, app: &'a Loaded, cpu: Duration) -> Busy<'a> {
        self.busy(app, cpu, true)
    }

    /// Marks the thread as starting an isolate of `app`; `Busy::done` records the CPU that took.
    pub fn starting<'a>(&'a self, app: &'a Loaded, cpu: Duration) -> Busy<'a> {
        self.busy(app, cpu, false)
    }

    /// Marks the thread as busy with work of no app (readying a spare isolate) until the guard drops, so that
    /// requests go to threads that are really idle meanwhile.
    pub fn housekeeping(&self) -> Housekeeping<'_> {
        self.turn_cpu_since
            .store(thread_cpu().as_micros() as u64, Ordering::Relaxed);
        self.turn_version.store(0, Ordering::Relaxed);
        self.turn_expect.store(HOUSEKEEPING_US, Ordering::Relaxed);
        self.turn_since.store(self.now_us(), Ordering::Relaxed);
        Housekeeping(self)
    }

    fn busy<'a>(&'a self, app: &'a Loaded, cpu: Duration, turn: bool) -> Busy<'a> {
        self.turn_cpu_since
            .store(cpu.as_micros() as u64, Ordering::Relaxed);
        self.turn_version.store(app.version_id, Ordering::Relaxed);
        self.turn_expect
            .store(app.turn_us.load(Ordering::Relaxed), Ordering::Relaxed);
        self.turn_since.store(self.now_us(), Ordering::Relaxed);
        Busy {
            load: self,
            app,
            turn,
        }
    }

    /// Microseconds a new message sent now is expected to wait on this thread (plus `cold_us` to start an isolate
    /// if the app has none there), and what turn of `version` the thread is in.
    fn wait_us(&self, version: u64, mut cold_us: u64) -> (u64, Own) {
        if cold_us > 0 && self.needs_spare.load(Ordering::Relaxed) {
            cold_us += HOUSEKEEPING_US;
        }
        let queued = self.queued.load(Ordering::Relaxed) as u64 * QUEUED_US;
        let since = self.turn_since.load(Ordering::Relaxed);
        if since == 0 {
            return (queued + cold_us, Own::No);
        }
        let ran = self.now_us().saturating_sub(since);
        let expect = self.turn_expect.load(Ordering::Relaxed);
        // Wall time first (no system call); CPU time only to confirm that a long-running turn is really stuck.
        let stuck = ran >= STUCK_US.max(expect * 4)
            && self
                .cpu_us()
                .saturating_sub(self.turn_cpu_since.load(Ordering::Relaxed))
                >= STUCK_US.max(expect * 4);
        let wait = if stuck {
            BLOCKED_US + ran
        } else {
            // A turn is expected to run its version's usual length, or, past that, as long again as it ran.
            expect.saturating_sub(ran).max(ran)
        };
        let own = if self.turn_version.load(Ordering::Relaxed) != version {
            Own::No
        } else if expect >= LONG_TURN_US || stuck {
            Own::Long
        } else if expect == 0 {
            // A version with no finished turn yet may be about to run long.
            Own::Unknown
        } else {
            Own::Short
        };
        (queued + wait + cold_us, own)
    }
}

/// Whether a thread is in a turn of the app being placed, and of what kind.
#[derive(Clone, Copy, PartialEq)]
enum Own {
    No,
    Short,
    /// The app's first turns, before any finished: they count as holding the thread, not as long.
    Unknown,
    Long,
}

impl Own {
    /// The thread counts against the app's share of threads.
    fn holds(self) -> bool {
        matches!(self, Own::Long | Own::Unknown)
    }
}

/// Housekeeping on a thread (`ThreadLoad::housekeeping`); dropping it clears the thread's turn.
pub struct Housekeeping<'a>(&'a ThreadLoad);

impl Drop for Housekeeping<'_> {
    fn drop(&mut self) {
        self.0.turn_since.store(0, Ordering::Relaxed);
    }
}

/// A running turn (or isolate start) of an app on a thread; dropping it clears the thread's turn.
pub struct Busy<'a> {
    load: &'a ThreadLoad,
    app: &'a Loaded,
    /// A JS turn (counted in the turn average) rather than an isolate start (counted in the start average).
    turn: bool,
}

impl Busy<'_> {
    /// Ends the turn, folding the CPU time it used into the version's average. The turn average starts from 0,
    /// so that one slow first turn (code still cold) does not make an app look long-running; the start-up average
    /// starts from the first start.
    pub fn done(self, cpu: Duration) {
        let took = cpu.as_micros() as u64;
        if self.turn {
            let old = self.app.turn_us.load(Ordering::Relaxed);
            // Never back to 0, which means "no turn finished yet".
            let new = ((old * 7 + took) / 8).max(1);
            self.app.turn_us.store(new, Ordering::Relaxed);
            if new >= LONG_TURN_US {
                self.app.background.store(true, Ordering::Relaxed);
            } else if new < LONG_TURN_US / 4 {
                self.app.background.store(false, Ordering::Relaxed);
            }
        } else {
            let old = self.app.start_us.load(Ordering::Relaxed);
            let new = if old == 0 { took } else { (old * 7 + took) / 8 };
            self.app.start_us.store(new, Ordering::Relaxed);
        }
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.load.turn_since.store(0, Ordering::Relaxed);
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

/// The thread for `app`'s next request: the one with the shortest expected wait (on a tie, the one with fewest
/// isolates), preferring threads where the app already has an isolate and staying on those unless the app is busy
/// (`SPREAD_AT`). A long-turn app (5 ms of CPU per turn on average) goes to the background threads,
/// any other app to the rest. An app whose long (or first, still unfinished) turns already
/// hold half of its threads queues behind itself, so a CPU-bound app cannot occupy every thread, not even with a
/// burst of requests before its first turn ends.
pub fn pick(threads: &[Inbox], app: &Loaded) -> usize {
    let homes = app.homes.load(Ordering::Relaxed);
    let start = app.start_us.load(Ordering::Relaxed).max(COLD_US);
    let mut waits = [(0, Own::No); 64];
    for (t, inbox) in threads.iter().enumerate() {
        let cold = if homes & (1u64 << t) == 0 { start } else { 0 };
        waits[t] = inbox.load.wait_us(app.version_id, cold);
    }
    // Set from the CPU-time average: a short turn preempted on a busy machine does not send its app away.
    let long = app.background.load(Ordering::Relaxed);
    let mine = |t: &usize| threads[*t].load.background == long;
    let count = (0..threads.len()).filter(mine).count();
    let cap = (count.saturating_sub(1) / 2).max(1);
    let held = (0..threads.len())
        .filter(mine)
        .filter(|&t| waits[t].1.holds())
        .count();
    let home = |t: &usize| homes & (1u64 << t) != 0;
    let at_home = (0..threads.len()).filter(mine).filter(home).count();
    let spread = at_home == 0
        || (app.in_flight.load(Ordering::Relaxed) > SPREAD_AT * at_home && at_home < cores())
        || (0..threads.len())
            .filter(mine)
            .filter(home)
            .all(|t| waits[t].0 >= BLOCKED_US);
    (0..threads.len())
        .filter(mine)
        .filter(|&t| held < cap || waits[t].1.holds())
        .filter(|t| spread || home(t))
        .min_by_key(|&t| (waits[t].0, threads[t].load.isolates.load(Ordering::Relaxed)))
        .unwrap_or(0)
}

/// The machine's cores: an app that is busy spreads to at most this many threads (while they are not stuck), as
/// more isolates of it would not run at once; each one more is an isolate to start, warm and keep, and on every new
/// version of the app, one more to start again and drop. The default count of foreground threads derives from it too.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// One request of an app between dispatch and reply, counted in the version's `in_flight` while it lives.
pub struct InFlight(Arc<Loaded>);

impl InFlight {
    pub fn new(app: &Arc<Loaded>) -> Self {
        app.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(app.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The least loaded background thread, for work of no particular app (compiling a new version).
pub fn least_loaded(threads: &[Inbox]) -> usize {
    (0..threads.len())
        .filter(|&t| threads[t].load.background)
        .min_by_key(|&t| threads[t].load.wait_us(0, 0).0)
        .unwrap_or(0)
}

/// Puts the calling thread in the batch scheduling class (SCHED_BATCH, same nice value and CPU share): waking it
/// does not preempt the waker. An HTTP thread that hands a request to a worker thus goes on reading and answering
/// its other connections instead of giving its CPU away mid-batch, and the worker takes the requests queued
/// meanwhile in one wake-up: on 2 cores this cut context switches per request by 60-80%.
pub fn no_wakeup_preemption() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler on the calling thread (pid 0) with a valid parameter; failure leaves the policy as
    // it was, which is harmless.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) } != 0 {
        tracing::debug!(target: "nano::runtime", "could not make a worker thread SCHED_BATCH: {}", std::io::Error::last_os_error());
    }
}

/// Gives the calling thread the default scheduling (SCHED_OTHER, nice 0) back: a helper thread started by a worker
/// inherits the worker's class and nice value, but a CPU watchdog must wake on time. Lowering the nice value needs
/// privilege (`RLIMIT_NICE`); without it the thread keeps the worker's.
pub fn default_scheduling() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: both calls change only the calling thread's own scheduling; failure leaves it as it was.
    unsafe {
        libc::sched_setscheduler(0, libc::SCHED_OTHER, &param);
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 0);
    }
}

/// Lowers the calling thread to the lowest CPU priority (nice 19; on Linux the nice value is per thread), so that
/// it runs only on CPU time the other threads leave.
pub fn lowest_priority() {
    // SAFETY: setpriority on the calling thread's own id; failure leaves the priority as it was, which is harmless.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 19) };
    if r != 0 {
        tracing::warn!(target: "nano::runtime", "could not lower a background thread's priority: {}", std::io::Error::last_os_error());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_background_worker_thread_is_batch_class_at_nice_19() {
        let (policy, nice) = std::thread::spawn(|| {
            no_wakeup_preemption();
            lowest_priority();
            // SAFETY: both read the calling thread's own scheduling settings.
            unsafe {
                (
                    libc::sched_getscheduler(0),
                    libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t),
                )
            }
        })
        .join()
        .expect("thread ran");
        assert_eq!(policy, libc::SCHED_BATCH);
        assert_eq!(nice, 19);
    }

    #[test]
    fn a_helper_thread_gets_the_default_class_back() {
        let policy = std::thread::spawn(|| {
            no_wakeup_preemption();
            default_scheduling();
            // SAFETY: reads the calling thread's own policy.
            unsafe { libc::sched_getscheduler(0) }
        })
        .join()
        .expect("thread ran");
        assert_eq!(policy, libc::SCHED_OTHER);
    }
}
