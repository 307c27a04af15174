//! Long builtins under the CPU limit in QuickJS: its interpreter asks the interrupt handler only every 10,000
//! branches or calls, so a loop of large builtin calls (`fill`, `copyWithin`, `JSON.parse` of megabytes) would run
//! far past the limit. The builtins that take time in proportion to their input check the CPU meter first, and once
//! it has expired throw QuickJS's own uncatchable `interrupted` error, so such a loop stops within one call.

use crate::adapters::js::meter::CpuMeter;
use rquickjs::{Ctx, Exception, Function, Result};
use std::rc::Rc;

/// Wraps each named method so that it calls `check()` first (keeping its name and length).
const GUARD: &str = r#"(check) => {
  const guard = (owner, names) => {
    for (const name of names) {
      const f = owner[name];
      if (typeof f !== 'function') continue;
      const g = { [name](...args) { check(); return Reflect.apply(f, this, args); } }[name];
      Object.defineProperty(g, 'length', { value: f.length });
      Object.defineProperty(owner, name, { value: g, writable: true, configurable: true, enumerable: false });
    }
  };
  // Builtins whose one call can take long (megabytes of input) and that hot code paths call seldom.
  guard(Object.getPrototypeOf(Uint8Array.prototype), ['copyWithin', 'fill', 'includes', 'indexOf', 'join',
    'lastIndexOf', 'reverse', 'set', 'slice', 'sort', 'toReversed', 'toSorted']);
  guard(Array.prototype, ['copyWithin', 'fill', 'reverse', 'sort', 'toReversed', 'toSorted']);
  guard(String.prototype, ['padEnd', 'padStart', 'repeat', 'replaceAll']);
  guard(JSON, ['parse', 'stringify']);
  guard(ArrayBuffer.prototype, ['slice']);
}"#;

/// Installs the guard in the context's realm, checking `cpu`.
pub fn guard(ctx: &Ctx<'_>, cpu: Rc<CpuMeter>) -> Result<()> {
    let install: Function = ctx.eval(GUARD)?;
    let check = Function::new(ctx.clone(), move |ctx: Ctx<'_>| -> Result<()> {
        if !cpu.expired_recent() {
            return Ok(());
        }
        let e = Exception::from_message(ctx.clone(), "interrupted")?;
        // SAFETY: marks a live error object of this context as uncatchable, as QuickJS does for its interrupts.
        unsafe { rquickjs::qjs::JS_SetUncatchableError(ctx.as_raw().as_ptr(), e.as_raw()) };
        Err(ctx.throw(e.into_value()))
    })?;
    install.call((check,))
}
