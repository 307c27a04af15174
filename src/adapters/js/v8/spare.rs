//! A fresh isolate from the startup snapshot, its context made and the glue's host object at hand, nothing of any app
//! bound yet: made when an app needs one, or ahead of time by an idle worker thread as its spare; and the isolate a
//! thread compiles new versions in, kept between versions.
//!
//! V8 fixes an isolate's heap limit when it makes the isolate. So a worker thread keeps one `Fresh` as its `Spare`,
//! made for the heap limit of the last app started there (none before its first). The thread makes it while idle
//! (`worker.rs`) and counts as busy only meanwhile. An app whose limit matches takes it and binds only its own state
//! (host slot, heap callback, module). Any other app gets a fresh one made on the spot.
//!
//! The `Spare` also holds the thread's compiler: an isolate and one context of it, made on its first compile and kept.
//! Each new version's modules are compiled there, never evaluated, into the version's code cache.

use super::buffers::Buffers;
use super::snapshot::Snapshot;
use std::sync::Arc;

/// V8's heap floor: smaller limits leave no room for the snapshot's context.
const MIN_HEAP: usize = 8 * 1024 * 1024;

/// An isolate with its default context from the snapshot, not entered.
pub struct Fresh {
    // Handles first: they must be released before the isolate is disposed.
    pub host_fns: v8::Global<v8::Object>,
    pub context: v8::Global<v8::Context>,
    pub isolate: v8::OwnedIsolate,
    /// Its ArrayBuffers' bytes, charged to the app that takes it.
    pub buffers: Arc<Buffers>,
    /// The heap limit it was made with (V8 cannot raise it later).
    limit: usize,
}

impl Fresh {
    /// Makes one under `limit` bytes of heap.
    pub fn new(snap: &Snapshot, limit: usize) -> Result<Self, String> {
        let buffers = Arc::new(Buffers::default());
        let params = snap
            .params()
            .heap_limits(0, limit.max(MIN_HEAP))
            .array_buffer_allocator(super::buffers::allocator(&buffers));
        let mut isolate = v8::Isolate::new(params);
        isolate.set_microtasks_policy(v8::MicrotasksPolicy::Explicit);
        let handles = {
            v8::scope!(let scope, &mut isolate);
            let context = v8::Context::new(scope, Default::default());
            let scope = &mut v8::ContextScope::new(scope, context);
            snap.host(scope)
                .map(|h| (v8::Global::new(scope, h), v8::Global::new(scope, context)))
        };
        // Dropped while entered, as `Isolate::new` left it, or handed on not entered.
        let (host_fns, context) = handles?;
        // SAFETY: exits the entry `Isolate::new` made; whoever takes the isolate enters it again.
        unsafe { isolate.exit() };
        Ok(Self {
            host_fns,
            context,
            isolate,
            buffers,
            limit,
        })
    }

    /// Disposes of an isolate nobody took.
    fn discard(self) {
        // OwnedIsolate's drop exits the isolate and expects it to be the current one.
        // SAFETY: balanced by that exit.
        unsafe { self.isolate.enter() };
    }
}

/// A worker thread's spare: at most one `Fresh`, made for the heap limit of the last app started on the thread, since
/// an isolate's heap limit is fixed when it is made. A thread that has started no isolate yet keeps none (a thread
/// no V8 app reaches costs nothing), unless the runtime told it which limit to expect: a foreground thread is, at the
/// runtime's first app, so that no first request waits for a whole isolate on a thread that never started one.
#[derive(Default)]
pub struct Spare {
    ready: Option<Fresh>,
    /// The heap limit of the last app started on this thread.
    limit: Option<usize>,
    /// Where new versions are compiled on this thread (made on its first compile).
    compiler: Option<Compiler>,
}

/// An isolate, not entered, and one context of it, in which modules are compiled (never evaluated).
pub struct Compiler {
    // The handle first: it must be released before the isolate is disposed.
    pub context: v8::Global<v8::Context>,
    pub isolate: v8::OwnedIsolate,
}

impl Spare {
    /// The heap limit `prepare` would make a spare for: the last started app's, when no spare for it is ready (none
    /// when the thread has started no isolate yet).
    fn wanted_limit(&self) -> Option<usize> {
        self.limit
            .filter(|&limit| self.ready.as_ref().is_none_or(|f| f.limit != limit))
    }

    /// Whether `prepare` has a spare to make.
    pub fn wanted(&self) -> bool {
        self.wanted_limit().is_some()
    }

    /// Makes the spare unless one with the wanted limit is ready (or the thread has started no isolate yet).
    pub fn prepare(&mut self, snap: &Snapshot) {
        let Some(limit) = self.wanted_limit() else {
            return;
        };
        if let Some(old) = self.ready.take() {
            old.discard();
        }
        self.ready = Fresh::new(snap, limit).ok();
    }

    /// Apps of heap `limit` will start here: until the thread started one, its spare is made for them.
    pub fn expect(&mut self, limit: usize) {
        self.limit.get_or_insert(limit);
    }

    /// The thread's compiler, made from the snapshot on first use; its isolate is not entered.
    pub fn compiler(&mut self, snap: &Snapshot) -> &mut Compiler {
        self.compiler.get_or_insert_with(|| {
            let mut isolate = v8::Isolate::new(snap.params());
            let context = {
                v8::scope!(let scope, &mut isolate);
                let context = v8::Context::new(scope, Default::default());
                v8::Global::new(scope, context)
            };
            // SAFETY: exits the entry `Isolate::new` made; `V8::compile` enters it for each use.
            unsafe { isolate.exit() };
            Compiler { context, isolate }
        })
    }

    /// The spare if it was made for `limit`; the next one is made for `limit`.
    pub fn take(&mut self, limit: usize) -> Option<Fresh> {
        self.limit = Some(limit);
        self.ready.take_if(|f| f.limit == limit)
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        if let Some(f) = self.ready.take() {
            f.discard();
        }
        if let Some(Compiler { context, isolate }) = self.compiler.take() {
            drop(context);
            // OwnedIsolate's drop exits the isolate and expects it to be the current one.
            // SAFETY: balanced by that exit.
            unsafe { isolate.enter() };
        }
    }
}

/// `n` MB in bytes.
pub fn mb(n: u64) -> usize {
    (n as usize).saturating_mul(1024 * 1024)
}
