//! The CPU watchdog of one worker thread: a helper thread reads the worker's CPU clock and terminates the running V8
//! execution once the turn's CpuMeter deadline passes (V8 has no interrupt hook to poll a meter from).

use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

struct Armed {
    deadline: Duration,
    handle: v8::IsolateHandle,
}

#[derive(Default)]
struct State {
    armed: Option<Armed>,
    fired: bool,
    stop: bool,
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
    let (lock, cv) = &*shared;
    let mut st = lock.lock().expect("watchdog lock");
    loop {
        if st.stop {
            return;
        }
        let Some(armed) = &st.armed else {
            st = cv.wait(st).expect("watchdog lock");
            continue;
        };
        let now = read(clock);
        if now >= armed.deadline {
            armed.handle.terminate_execution();
            st.armed = None;
            st.fired = true;
            continue;
        }
        // The worker's CPU clock runs no faster than the wall clock: sleeping the remaining budget cannot overshoot
        // by more than the scheduler's slack.
        let wait =
            (armed.deadline - now).clamp(Duration::from_micros(500), Duration::from_millis(50));
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
    pub fn arm(&self, deadline: Option<Duration>, handle: &v8::IsolateHandle) {
        let (lock, cv) = &*self.shared;
        let mut st = lock.lock().expect("watchdog lock");
        st.fired = false;
        st.armed = deadline.map(|deadline| Armed {
            deadline,
            handle: handle.clone(),
        });
        cv.notify_one();
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
