//! A QuickJS allocator that counts an isolate's heap and refuses allocations past its memory limit.

use crate::adapters::js::meter::MemMeter;
use rquickjs::allocator::{Allocator, RustAllocator};
use std::ptr;
use std::sync::Arc;

pub struct CountingAlloc {
    inner: RustAllocator,
    mem: Arc<MemMeter>,
}

impl CountingAlloc {
    pub fn new(mem: Arc<MemMeter>) -> Self {
        Self {
            inner: RustAllocator,
            mem,
        }
    }
}

// SAFETY: every pointer handed out comes from RustAllocator, and every size recorded is read back from it.
unsafe impl Allocator for CountingAlloc {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if !self.mem.allows(size) {
            return ptr::null_mut();
        }
        let p = self.inner.alloc(size);
        if !p.is_null() {
            // SAFETY: p was just returned by RustAllocator.
            self.mem.add(unsafe { RustAllocator::usable_size(p) });
        }
        p
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        if !self.mem.allows(count.saturating_mul(size)) {
            return ptr::null_mut();
        }
        let p = self.inner.calloc(count, size);
        if !p.is_null() {
            // SAFETY: p was just returned by RustAllocator.
            self.mem.add(unsafe { RustAllocator::usable_size(p) });
        }
        p
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        if ptr.is_null() {
            return;
        }
        self.mem.release(RustAllocator::usable_size(ptr));
        self.inner.dealloc(ptr);
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        if ptr.is_null() {
            return self.alloc(new_size);
        }
        let old = RustAllocator::usable_size(ptr);
        if new_size > old && !self.mem.allows(new_size - old) {
            return ptr::null_mut();
        }
        let p = self.inner.realloc(ptr, new_size);
        if !p.is_null() {
            self.mem.release(old);
            self.mem.add(RustAllocator::usable_size(p));
        }
        p
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        RustAllocator::usable_size(ptr)
    }
}
