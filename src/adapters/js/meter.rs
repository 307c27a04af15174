//! CPU and memory meters shared between the worker loop and an engine's interrupt handler and allocator.
//!
//! CPU: a `CpuMeter` holds the running turn's deadline in thread CPU time. QuickJS's interrupt handler polls it, and
//! the glue's long builtins ask it through `ops.cpuExpired` (`web/guard.js`). V8 has no such hook: a watchdog thread
//! reads the worker's CPU clock and terminates the turn (`v8/watchdog.rs`). Reading the clock is a system call, so a turn may start from a
//! reading up to `RECENT` (1 ms) old.
//!
//! Memory: a `MemMeter` counts one isolate's heap against its app's limit. QuickJS's allocator (`quickjs/alloc.rs`)
//! refuses past the limit and flags the isolate. V8 limits its own heap, and `v8/buffers.rs` counts ArrayBuffer backing
//! stores into the meter. A flagged isolate ends its requests (503) and is replaced after the turn.
//!
//! Budget: the `MemoryBudget` (`max_memory_mb`; 0 means three quarters of the machine's memory) caps the sum of live
//! isolates' memory limits over every engine. A worker admits an isolate into it before starting it (`worker.rs`), so
//! the process stays within what it admitted instead of being killed by the kernel.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How old (in wall time) a reading of the thread's CPU clock may be for `thread_cpu_recent` to return it.
const RECENT: Duration = Duration::from_millis(1);

thread_local! {
    /// The calling thread's last CPU-clock reading and the wall instant it was taken.
    static LAST_READ: Cell<Option<(Instant, Duration)>> = const { Cell::new(None) };
}

/// CPU time consumed by the calling thread so far.
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_THREAD_CPUTIME_ID is always available on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    let cpu = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
    LAST_READ.with(|last| last.set(Some((Instant::now(), cpu))));
    cpu
}

/// The calling thread's CPU time as last read by `thread_cpu`, when that was less than `RECENT` ago in wall time;
/// else a new reading. The clock is a system call, and a busy worker starts a turn every few microseconds: a turn
/// may start from a value up to `RECENT` of CPU behind the clock (its deadline then comes at most that much early).
pub fn thread_cpu_recent() -> Duration {
    match LAST_READ.with(Cell::get) {
        Some((at, cpu)) if at.elapsed() < RECENT => cpu,
        _ => thread_cpu(),
    }
}

/// The CPU deadline of the JS turn running now; an engine's interrupt handler polls `expired`.
#[derive(Default)]
pub struct CpuMeter {
    deadline: Cell<Option<Duration>>,
    fired: Cell<bool>,
}

impl CpuMeter {
    /// Arms the meter for a turn starting at thread-CPU instant `now` (as read by `thread_cpu`).
    pub fn arm(&self, now: Duration, budget: Duration) {
        self.fired.set(false);
        self.deadline.set(Some(now + budget));
    }

    pub fn disarm(&self) -> bool {
        self.deadline.set(None);
        self.fired.replace(false)
    }

    /// The thread-CPU instant at which the running turn must stop, if armed (read by engines that watch the clock
    /// from another thread instead of polling `expired`).
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline.get()
    }

    /// `expired` from a CPU-clock reading up to `RECENT` old (no system call when one is that fresh), for checks
    /// made often.
    pub fn expired_recent(&self) -> bool {
        self.passed(thread_cpu_recent)
    }

    /// True once the deadline has passed; the engine then interrupts the running JS.
    pub fn expired(&self) -> bool {
        self.passed(thread_cpu)
    }

    /// Whether the thread's CPU clock, as `read` gives it, is past an armed deadline (noting that it fired).
    fn passed(&self, read: fn() -> Duration) -> bool {
        let passed = self.deadline.get().is_some_and(|d| read() > d);
        if passed {
            self.fired.set(true);
        }
        passed
    }
}

/// Heap bytes of one isolate against its limit; an engine's allocator refuses past the limit and sets `oom`.
pub struct MemMeter {
    used: AtomicUsize,
    limit: usize,
    oom: AtomicBool,
    app_heap: Arc<AtomicU64>,
}

impl MemMeter {
    pub fn new(limit: usize, app_heap: Arc<AtomicU64>) -> Self {
        Self {
            used: AtomicUsize::new(0),
            limit,
            oom: AtomicBool::new(false),
            app_heap,
        }
    }

    /// True when `extra` more bytes fit under the limit; otherwise the isolate is flagged out of memory.
    pub fn allows(&self, extra: usize) -> bool {
        if self.used.load(Ordering::Relaxed) + extra > self.limit {
            self.oom.store(true, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Flags the isolate out of memory (engines whose heap reports its own limit, rather than an allocator).
    pub fn mark_oom(&self) {
        self.oom.store(true, Ordering::Relaxed);
    }

    pub fn add(&self, size: usize) {
        self.used.fetch_add(size, Ordering::Relaxed);
        self.app_heap.fetch_add(size as u64, Ordering::Relaxed);
    }

    pub fn release(&self, size: usize) {
        self.used.fetch_sub(size, Ordering::Relaxed);
        self.app_heap.fetch_sub(size as u64, Ordering::Relaxed);
    }

    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    pub fn out_of_memory(&self) -> bool {
        self.oom.load(Ordering::Relaxed)
    }
}

/// The process's memory budget for isolates: the memory limits of live isolates (over every engine) add up to at
/// most `limit` bytes, so the process stays within what it admitted instead of being killed by the kernel.
#[derive(Debug, Default)]
pub struct MemoryBudget {
    /// 0: no budget.
    limit: usize,
    admitted: AtomicUsize,
}

/// One live isolate's share of the budget, given back when dropped.
pub struct Admission {
    budget: Arc<MemoryBudget>,
    bytes: usize,
}

impl MemoryBudget {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            admitted: AtomicUsize::new(0),
        }
    }

    /// The budget in bytes (0: none).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Admits an isolate limited to `bytes`, unless that would pass the budget.
    pub fn admit(self: &Arc<Self>, bytes: usize) -> Option<Admission> {
        let admitted = self
            .admitted
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                let next = now.saturating_add(bytes);
                (self.limit == 0 || next <= self.limit).then_some(next)
            });
        admitted.ok().map(|_| Admission {
            budget: self.clone(),
            bytes,
        })
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.budget
            .admitted
            .fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_admits_up_to_its_limit_and_takes_back_what_goes() {
        let budget = Arc::new(MemoryBudget::new(100));
        let a = budget.admit(60).unwrap();
        assert!(budget.admit(50).is_none());
        let _b = budget.admit(40).unwrap();
        drop(a);
        assert!(budget.admit(50).is_some());
        assert!(Arc::new(MemoryBudget::new(0)).admit(usize::MAX).is_some());
    }
}
