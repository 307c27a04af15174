//! Each V8 isolate's off-heap memory against its app's memory limit.
//!
//! ArrayBuffers: backing stores (ArrayBuffers, typed arrays, Blobs' bytes and every buffer the glue makes) live
//! outside V8's heap, so V8's heap limit never sees them; this allocator counts them against the app's memory limit
//! and refuses past it (V8 then throws a RangeError, and the isolate, flagged out of memory, is replaced after the
//! turn).
//!
//! WebAssembly memories: V8 maps them itself, past any allocator, but adds their size to the isolate's external
//! memory total. `charge_external` charges what that total holds beyond this allocator's bytes; the isolate calls it
//! after every turn, and, while a turn runs, the CPU watchdog has V8 call it every beat through an interrupt
//! (`v8/watchdog.rs`), so a turn writing into a large memory is stopped within a beat of passing the limit.

use crate::adapters::js::meter::MemMeter;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// One isolate's backing-store bytes, and the meter they are charged to once the isolate is an app's.
#[derive(Default)]
pub struct Buffers {
    bytes: AtomicUsize,
    /// Off-heap bytes V8 counts that this allocator did not make (WebAssembly memories), as last charged.
    other: AtomicUsize,
    meter: OnceLock<Arc<MemMeter>>,
}

impl Buffers {
    /// Charges this isolate's buffers (those made so far included) to `meter` from now on.
    pub fn attach(&self, meter: Arc<MemMeter>) {
        let bytes = self.bytes.load(Ordering::Relaxed);
        if self.meter.set(meter.clone()).is_ok() {
            meter.add(bytes);
        }
    }

    /// Backing-store bytes alive now.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Charges the off-heap bytes V8 counts in `external_total` (its external memory, as
    /// `AdjustAmountOfExternalAllocatedMemory(0)` reads it) beyond this allocator's own; false once that passes the
    /// app's memory limit (the isolate is then flagged out of memory).
    pub fn charge_external(&self, external_total: i64) -> bool {
        let other = usize::try_from(external_total)
            .unwrap_or(0)
            .saturating_sub(self.bytes());
        let before = self.other.swap(other, Ordering::Relaxed);
        match self.meter.get() {
            Some(m) => {
                if other >= before {
                    m.add(other - before);
                } else {
                    m.release(before - other);
                }
                m.allows(0)
            }
            None => true,
        }
    }

    /// Gives back what `charge_external` charged (the isolate is going away).
    pub fn discharge_external(&self) {
        let before = self.other.swap(0, Ordering::Relaxed);
        if let Some(m) = self.meter.get() {
            m.release(before);
        }
    }

    fn reserve(&self, len: usize) -> bool {
        if let Some(m) = self.meter.get() {
            if !m.allows(len) {
                return false;
            }
            m.add(len);
        }
        self.bytes.fetch_add(len, Ordering::Relaxed);
        true
    }

    fn release(&self, len: usize) {
        self.bytes.fetch_sub(len, Ordering::Relaxed);
        if let Some(m) = self.meter.get() {
            m.release(len);
        }
    }
}

unsafe extern "C" fn allocate(b: &Buffers, len: usize) -> *mut c_void {
    if !b.reserve(len) {
        return std::ptr::null_mut();
    }
    // SAFETY: calloc of any size; a null result is V8's to handle (a RangeError).
    let p = unsafe { libc::calloc(len.max(1), 1) };
    if p.is_null() {
        b.release(len);
    }
    p
}

unsafe extern "C" fn allocate_uninitialized(b: &Buffers, len: usize) -> *mut c_void {
    if !b.reserve(len) {
        return std::ptr::null_mut();
    }
    // SAFETY: malloc of any size; a null result is V8's to handle.
    let p = unsafe { libc::malloc(len.max(1)) };
    if p.is_null() {
        b.release(len);
    }
    p
}

unsafe extern "C" fn free(b: &Buffers, data: *mut c_void, len: usize) {
    if data.is_null() {
        return;
    }
    b.release(len);
    // SAFETY: `data` came from calloc or malloc above.
    unsafe { libc::free(data) };
}

unsafe extern "C" fn drop_buffers(b: *const Buffers) {
    // SAFETY: the reference `allocator` handed to V8 with `Arc::into_raw`.
    drop(unsafe { Arc::from_raw(b) });
}

static VTABLE: v8::RustAllocatorVtable<Buffers> = v8::RustAllocatorVtable {
    allocate,
    allocate_uninitialized,
    free,
    drop: drop_buffers,
};

/// An allocator for one isolate's create params, counting into `buffers` (which V8 keeps alive as long as it
/// needs the allocator).
pub fn allocator(buffers: &Arc<Buffers>) -> v8::UniqueRef<v8::Allocator> {
    // SAFETY: the handle is a leaked Arc reference, given back by `drop_buffers`; the vtable is static.
    unsafe { v8::new_rust_allocator(Arc::into_raw(buffers.clone()), &VTABLE) }
}
