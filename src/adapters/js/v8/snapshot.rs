//! The V8 startup snapshot: a context with the Web API glue already evaluated, made once per process in memory, so
//! an isolate starts with `web/*.js` in place and only binds its own state (the ops' context, the app module).
//!
//! What the snapshot may hold: the glue's objects and bytecode, and op functions that name their op by index (their
//! one native callback, the op trampoline, is the only external reference). What it must not hold: anything of one
//! isolate (the host, meters, the clock origin): those live in the isolate's slots, set after restore, and the glue
//! reads the clock and randomness only when called, never while it is evaluated.
//!
//! `init_once` (`mod.rs`) makes it on the thread that starts the runtime, before any worker creates an isolate. The
//! glue is compiled eagerly into it (`modules.rs`, `Mode::Snapshot`), so no glue function is compiled on a first
//! request: about 1.5 ms less on it, for about 270 KB more heap per isolate. An isolate made from it (`spare.rs`)
//! evaluates only the app's module and calls the glue's `init`.

use super::{bind, modules};
use std::borrow::Cow;
use std::sync::OnceLock;
use v8::MapFnTo;

/// The blob, and the index of the glue's host object in its default context's snapshot data.
pub struct Snapshot {
    blob: &'static [u8],
    host: usize,
}

static SNAPSHOT: OnceLock<Result<Snapshot, String>> = OnceLock::new();

/// The process's snapshot, made on first use (V8 must be initialized).
pub fn get() -> Result<&'static Snapshot, String> {
    SNAPSHOT.get_or_init(make).as_ref().map_err(Clone::clone)
}

/// The native functions the snapshot refers to, in the same order when it is made and when it is restored.
fn external_references() -> Cow<'static, [v8::ExternalReference]> {
    Cow::Owned(vec![v8::ExternalReference {
        function: bind::trampoline.map_fn_to(),
    }])
}

impl Snapshot {
    /// Parameters for an isolate that starts from the snapshot; its default context is the glue's.
    pub fn params(&self) -> v8::CreateParams {
        v8::CreateParams::default()
            .snapshot_blob(v8::StartupData::from(self.blob))
            .external_references(external_references())
    }

    /// The glue's host object (`{ init, dispatch, complete, timer, abort }`) of a context just made from the
    /// snapshot; the scope must be in that context. Once per context.
    pub fn host<'s>(
        &self,
        scope: &v8::PinScope<'s, '_>,
    ) -> Result<v8::Local<'s, v8::Object>, String> {
        scope
            .get_context_data_from_snapshot_once::<v8::Object>(self.host)
            .map_err(|e| format!("web glue: the snapshot holds no host object: {e}"))
    }
}

/// Evaluates the glue with its ops in a snapshot creator's context and serializes it, bytecode kept.
fn make() -> Result<Snapshot, String> {
    let mut creator = v8::Isolate::snapshot_creator(Some(external_references()), None);
    let host = {
        v8::scope!(let scope, &mut creator);
        let context = v8::Context::new(scope, Default::default());
        let scope = &mut v8::ContextScope::new(scope, context);
        let host = evaluate_glue(scope);
        scope.set_default_context(context);
        host.map(|h| scope.add_context_data(context, h))
    };
    // A snapshot creator must make its blob before it goes, even when the glue failed.
    let blob = creator.create_blob(v8::FunctionCodeHandling::Keep);
    let host = host?;
    let blob = blob.ok_or("web glue: V8 could not make the startup snapshot")?;
    Ok(Snapshot {
        blob: Box::leak(blob.to_vec().into_boxed_slice()),
        host,
    })
}

/// Calls the glue's default export with the ops object; returns the host object.
fn evaluate_glue<'s>(
    scope: &mut v8::PinScope<'s, '_>,
) -> Result<v8::Local<'s, v8::Object>, String> {
    let glue = modules::glue(scope)?;
    let ops = bind::ops_object(scope).ok_or("web glue: cannot build the ops object")?;
    v8::tc_scope!(let tc, scope);
    let recv = v8::undefined(tc).into();
    let host = glue
        .call(tc, recv, &[ops.into()])
        .and_then(|h| v8::Local::<v8::Object>::try_from(h).ok());
    match host {
        Some(h) => {
            tc.perform_microtask_checkpoint();
            Ok(h)
        }
        None => Err(format!("web glue: {}", modules::caught(tc))),
    }
}
