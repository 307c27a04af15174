//! Each V8 isolate's ArrayBuffer allocator: backing stores (ArrayBuffers, typed arrays, Blobs' bytes and every
//! buffer the glue makes) live outside V8's heap, so V8's heap limit never sees them; this allocator counts them
//! against the app's memory limit and refuses past it (V8 then throws a RangeError, and the isolate, flagged out of
//! memory, is replaced after the turn).

use crate::adapters::js::meter::MemMeter;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// One isolate's backing-store bytes, and the meter they are charged to once the isolate is an app's.
#[derive(Default)]
pub struct Buffers {
    bytes: AtomicUsize,
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
