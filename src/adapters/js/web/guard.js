// guard.js: long builtins under the CPU limit. Both engines check for an interrupt only now and then inside a loop
// (V8 when the running function's interrupt budget, counted in bytecode, runs out; QuickJS every 10,000 branches), so
// a loop of large builtin calls (`fill` over megabytes, `JSON.parse` of a large text) could run for seconds between
// two checks. The builtins below, whose one call can take time in proportion to its input, first ask the turn's CPU
// meter; once it has expired they wait in a plain loop, which the engine interrupts at its next check (microseconds
// away: V8's watchdog has terminated the turn, QuickJS's handler sees the meter). Such a loop stops within one call.
// The loop ends by itself if the turn's meter is disarmed, so it can never outlive its turn.
{
  const apply = Reflect.apply;
  const expired = ops.cpuExpired;
  const guard = (owner, names) => {
    for (const name of names) {
      const f = owner[name];
      if (typeof f !== 'function') continue;
      const g = { [name](...args) { while (expired()) { /* interrupted here */ } return apply(f, this, args); } }[name];
      Object.defineProperty(g, 'length', { value: f.length });
      Object.defineProperty(owner, name, { value: g, writable: true, configurable: true, enumerable: false });
    }
  };
  guard(Object.getPrototypeOf(Uint8Array.prototype), ['copyWithin', 'fill', 'includes', 'indexOf', 'join',
    'lastIndexOf', 'reverse', 'set', 'slice', 'sort', 'toReversed', 'toSorted']);
  guard(Array.prototype, ['copyWithin', 'fill', 'reverse', 'sort', 'toReversed', 'toSorted']);
  guard(String.prototype, ['padEnd', 'padStart', 'repeat', 'replaceAll']);
  guard(JSON, ['parse', 'stringify']);
  guard(ArrayBuffer.prototype, ['slice']);
}
