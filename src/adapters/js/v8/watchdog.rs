//! The CPU watchdog of one worker thread: a helper thread reads the worker's CPU clock and terminates the running V8
//! execution once the turn's CpuMeter deadline passes (V8 has no interrupt hook to poll a meter from). At each beat
//! of a running turn it also has V8 run the turn's `Beat` callback on the isolate's thread (the memory check of
//! WebAssembly memories, which no allocator sees).
//!
//! Arming does not wake the helper while it is watching: it checks at least every `BEAT`, so a turn costs the worker
//! an uncontended lock rather than a thread wake-up. After `PARK_AFTER` without a turn it sleeps until armed again.

use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Longest the helper sleeps while watching (a turn overshoots its CPU deadline by at most about this).
const BEAT: Duration = Duration::from_millis(5);
/// Idle time after which the helper parks until the next turn arms it.
const PARK_AFTER: Duration = Duration::from_millis(100);

struct Armed {
    deadline: Duration,
    handle: v8::IsolateHandle,
    beat: Beat,
}

/// An interrupt V8 runs on the isolate's thread at each beat of a turn: the callback, and its data (an address that
/// must stay valid as long as the isolate).
#[derive(Clone, Copy)]
pub struct Beat {
    pub callback: unsafe extern "C" fn(v8::UnsafeRawIsolatePtr, *mut std::ffi::c_void),
    pub data: usize,
}

#[derive(Default)]
struct State {
    armed: Option<Armed>,
    fired: bool,
    stop: bool,
    /// The helper sleeps without a timeout: arming must wake it.
    parked: bool,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

pub struct Watchdog {
    shared: Shared,
}

fn cpu_clock_of_this_thread() -> libc::clockid_t {
    let mut id: libc::clockid_t = 0;
    // SAFETY: pthread_self is the calling thread, and `id` is ours to write.
    unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) };
    id
}

fn read(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; the clock id names a live thread's CPU clock.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn watch(shared: Shared, clock: libc::clockid_t) {
    // Started by its worker, it inherits the worker's batch class (and a background worker's nice 19).
    crate::adapters::js::sched::default_scheduling();
    let (lock, cv) = &*shared;
    let mut st = lock.lock().expect("watchdog lock");
    let mut idle_since: Option<Instant> = None;
    loop {
        if st.stop {
            return;
        }
        let Some(armed) = &st.armed else {
            // Turns come in bursts: keep beating for a while, then park until the next one.
            let since = *idle_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= PARK_AFTER {
                st.parked = true;
                st = cv.wait(st).expect("watchdog lock");
                st.parked = false;
                idle_since = None;
            } else {
                st = cv.wait_timeout(st, BEAT).expect("watchdog lock").0;
            }
            continue;
        };
        idle_since = None;
        let now = read(clock);
        if now >= armed.deadline {
            armed.handle.terminate_execution();
            st.armed = None;
            st.fired = true;
            continue;
        }
        // The worker's CPU clock runs no faster than the wall clock: sleeping the remaining budget cannot overshoot
        // by more than the scheduler's slack. A later turn may be armed meanwhile without waking this thread, so
        // never sleep longer than a beat.
        armed.handle.request_interrupt(
            armed.beat.callback,
            armed.beat.data as *mut std::ffi::c_void,
        );
        let wait = (armed.deadline - now).clamp(Duration::from_micros(500), BEAT);
        st = cv.wait_timeout(st, wait).expect("watchdog lock").0;
    }
}

thread_local! {
    static WATCHDOG: Rc<Watchdog> = Rc::new(Watchdog::start());
}

impl Watchdog {
    fn start() -> Self {
        let shared: Shared = Arc::default();
        let clock = cpu_clock_of_this_thread();
        let s = shared.clone();
        let name = std::thread::current()
            .name()
            .map(|n| format!("{n}-watchdog"))
            .unwrap_or_else(|| "nano-js-watchdog".into());
        std::thread::Builder::new()
            .name(name)
            .spawn(move || watch(s, clock))
            .expect("spawn the CPU watchdog thread");
        Self { shared }
    }

    /// The watchdog of the calling (worker) thread, started on first use.
    pub fn current() -> Rc<Watchdog> {
        WATCHDOG.with(|w| w.clone())
    }

    /// Watches the calling thread's CPU clock until `deadline` (thread-CPU time), then terminates `handle`'s JS.
    /// At each beat until then, has V8 run `beat` on the isolate's thread.
    pub fn arm(&self, deadline: Option<Duration>, handle: &v8::IsolateHandle, beat: Beat) {
        let (lock, cv) = &*self.shared;
        let mut st = lock.lock().expect("watchdog lock");
        st.fired = false;
        st.armed = deadline.map(|deadline| Armed {
            deadline,
            handle: handle.clone(),
            beat,
        });
        if st.parked && st.armed.is_some() {
            cv.notify_one();
        }
    }

    /// Stops watching; true when the deadline passed and execution was terminated.
    pub fn disarm(&self) -> bool {
        let (lock, _) = &*self.shared;
        let mut st = lock.lock().expect("watchdog lock");
        st.armed = None;
        std::mem::take(&mut st.fired)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let (lock, cv) = &*self.shared;
        if let Ok(mut st) = lock.lock() {
            st.stop = true;
            cv.notify_one();
        }
    }
}
