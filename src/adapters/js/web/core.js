// core.js: op promises, DOMException, timers, microtasks, structuredClone, console, performance, base64, navigator.
const pending = new Map();
function opAsync(id) {
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}
function define(name, value) {
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
}
function errText(e) {
  if (e && typeof e === 'object' && 'message' in e) {
    const head = `${e.name || 'Error'}: ${e.message}`;
    // V8's stack opens with the head already; QuickJS's holds only the frames.
    return e.stack ? (String(e.stack).startsWith(head) ? String(e.stack) : `${head}\n${e.stack}`) : head;
  }
  return String(e);
}

const DOM_CODES = {
  IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
  NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
  SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
  TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
  QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
};
class DOMException extends Error {
  #name;
  constructor(message = '', name = 'Error') {
    super(String(message));
    this.#name = String(name);
  }
  get name() { return this.#name; }
  get code() { return DOM_CODES[this.#name] || 0; }
}
for (const [k, v] of Object.entries(DOM_CODES)) {
  const constName = k.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase().replace(/_ERROR$/, '_ERR');
  Object.defineProperty(DOMException, constName, { value: v });
}
define('DOMException', DOMException);

// Timers: JS keeps the callbacks, the host keeps the deadlines.
const timers = new Map();
let nextTimer = 1;
function toDelay(ms) {
  ms = Number(ms);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}
function setTimeout(fn, ms, ...args) {
  const id = nextTimer++;
  timers.set(id, { fn, args, interval: null });
  ops.timerStart(id, toDelay(ms));
  return id;
}
function setInterval(fn, ms, ...args) {
  const id = nextTimer++;
  const delay = toDelay(ms);
  timers.set(id, { fn, args, interval: delay });
  ops.timerStart(id, delay);
  return id;
}
function clearTimeout(id) {
  id = Number(id);
  if (timers.delete(id)) ops.timerCancel(id);
}
function fireTimer(id) {
  const t = timers.get(id);
  if (!t) return;
  if (t.interval !== null) ops.timerStart(id, t.interval);
  else timers.delete(id);
  try {
    if (typeof t.fn === 'function') t.fn(...t.args);
  } catch (e) {
    reportError(e);
  }
}
define('setTimeout', setTimeout);
define('setInterval', setInterval);
define('clearTimeout', clearTimeout);
define('clearInterval', clearTimeout);
define('queueMicrotask', function queueMicrotask(fn) {
  if (typeof fn !== 'function') throw new TypeError('queueMicrotask needs a function');
  Promise.resolve().then(() => {
    try { fn(); } catch (e) { reportError(e); }
  });
});

// console -> host log records.
function inspect(v, seen = new Set(), depth = 0) {
  if (typeof v === 'string') return depth ? JSON.stringify(v) : v;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'undefined' || v === null || typeof v !== 'object' && typeof v !== 'function') return String(v);
  if (typeof v === 'function') return `[Function: ${v.name || 'anonymous'}]`;
  if (v instanceof Error) return errText(v);
  if (seen.has(v)) return '[Circular]';
  if (depth > 4) return Array.isArray(v) ? '[Array]' : '[Object]';
  seen.add(v);
  let out;
  if (Array.isArray(v)) out = `[ ${v.map((x) => inspect(x, seen, depth + 1)).join(', ')} ]`;
  else if (v instanceof Map) out = `Map(${v.size}) { ${[...v].map(([k, x]) => `${inspect(k, seen, depth + 1)} => ${inspect(x, seen, depth + 1)}`).join(', ')} }`;
  else if (v instanceof Set) out = `Set(${v.size}) { ${[...v].map((x) => inspect(x, seen, depth + 1)).join(', ')} }`;
  else if (ArrayBuffer.isView(v)) out = `${v.constructor.name}(${v.length}) [ ${Array.from(v).slice(0, 50).join(', ')} ]`;
  else {
    const name = v.constructor && v.constructor !== Object ? `${v.constructor.name} ` : '';
    const keys = Object.keys(v);
    out = `${name}{ ${keys.map((k) => `${k}: ${inspect(v[k], seen, depth + 1)}`).join(', ')} }`;
  }
  seen.delete(v);
  return out;
}
function formatArgs(args) {
  if (typeof args[0] === 'string' && /%[sdifoOjc%]/.test(args[0])) {
    let i = 1;
    const first = args[0].replace(/%([sdifoOjc%])/g, (m, f) => {
      if (f === '%') return '%';
      if (i >= args.length) return m;
      const a = args[i++];
      switch (f) {
        case 's': return String(a);
        case 'd': case 'i': return String(parseInt(a, 10));
        case 'f': return String(parseFloat(a));
        case 'j': return JSON.stringify(a);
        case 'c': return '';
        default: return inspect(a, new Set(), 1);
      }
    });
    args = [first, ...args.slice(i)];
  }
  return args.map((a) => inspect(a)).join(' ');
}
const counts = new Map();
const timeLabels = new Map();
const console = {
  log: (...a) => ops.log('info', formatArgs(a)),
  info: (...a) => ops.log('info', formatArgs(a)),
  debug: (...a) => ops.log('debug', formatArgs(a)),
  warn: (...a) => ops.log('warn', formatArgs(a)),
  error: (...a) => ops.log('error', formatArgs(a)),
  trace: (...a) => ops.log('debug', formatArgs(a) + '\n' + new Error().stack),
  dir: (v) => ops.log('info', inspect(v)),
  table: (v) => ops.log('info', inspect(v)),
  assert: (cond, ...a) => { if (!cond) ops.log('error', 'Assertion failed' + (a.length ? ': ' + formatArgs(a) : '')); },
  count: (label = 'default') => { const n = (counts.get(label) || 0) + 1; counts.set(label, n); ops.log('info', `${label}: ${n}`); },
  countReset: (label = 'default') => counts.delete(label),
  time: (label = 'default') => timeLabels.set(label, ops.now()),
  timeEnd: (label = 'default') => { const t = timeLabels.get(label); timeLabels.delete(label); if (t !== undefined) ops.log('info', `${label}: ${(ops.now() - t).toFixed(3)}ms`); },
  timeLog: (label = 'default', ...a) => { const t = timeLabels.get(label); if (t !== undefined) ops.log('info', `${label}: ${(ops.now() - t).toFixed(3)}ms ${formatArgs(a)}`); },
  group: () => {}, groupEnd: () => {}, groupCollapsed: () => {},
};
define('console', console);

// Dispatches a cancelable `error` event on the global scope (events.js); logs the error unless a listener or
// `onerror` cancelled it. An error thrown while reporting one is logged, not reported again.
let reportingError = false;
function reportError(e) {
  if (!reportingError) {
    reportingError = true;
    try {
      const message = e && typeof e === 'object' && 'message' in e ? String(e.message) : String(e);
      const event = new ErrorEvent('error', { cancelable: true, error: e, message });
      globalEvents.dispatchEvent(event);
      if (event.defaultPrevented) return;
    } finally {
      reportingError = false;
    }
  }
  ops.log('error', 'uncaught: ' + errText(e));
}
define('reportError', reportError);

// The origin is read on first use, never while the glue is evaluated: an engine may evaluate the glue once and
// start every isolate from that state (V8's startup snapshot), and each isolate's clock starts when it is made.
class Performance {
  #origin;
  get timeOrigin() { return this.#origin ??= Date.now() - ops.now(); }
  now() { return ops.now(); }
  toJSON() { return { timeOrigin: this.timeOrigin }; }
}
define('Performance', Performance);
define('performance', new Performance());

define('btoa', function btoa(s) {
  if (arguments.length < 1) throw new TypeError('btoa needs 1 argument');
  s = String(s);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) throw new DOMException('The string contains characters outside of the Latin1 range', 'InvalidCharacterError');
    bytes[i] = c;
  }
  return ops.b64encode(bytes);
});
define('atob', function atob(s) {
  if (arguments.length < 1) throw new TypeError('atob needs 1 argument');
  const bytes = ops.b64decode(String(s));
  if (bytes === null) throw new DOMException('The string is not correctly encoded', 'InvalidCharacterError');
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  return out;
});

class Navigator {
  get userAgent() { return 'nano'; }
  get hardwareConcurrency() { return 1; }
}
define('Navigator', Navigator);
define('navigator', new Navigator());
define('self', globalThis);

function structuredClone(value, options = undefined) {
  const memo = new Map();
  const transfer = options && options.transfer ? options.transfer : [];
  function clone(v) {
    if (v === null || typeof v !== 'object' && typeof v !== 'function' && typeof v !== 'symbol') return v;
    if (typeof v === 'function' || typeof v === 'symbol') throw new DOMException(`${String(v && v.name || v)} could not be cloned`, 'DataCloneError');
    if (memo.has(v)) return memo.get(v);
    let out;
    if (v instanceof Date) out = new Date(v.getTime());
    else if (v instanceof RegExp) out = new RegExp(v.source, v.flags);
    else if (v instanceof Boolean || v instanceof Number || v instanceof String) out = Object(v.valueOf());
    else if (v instanceof ArrayBuffer) out = v.slice(0);
    else if (ArrayBuffer.isView(v)) {
      const buf = clone(v.buffer);
      out = v instanceof DataView ? new DataView(buf, v.byteOffset, v.byteLength) : new v.constructor(buf, v.byteOffset, v.length);
    } else if (v instanceof Map) {
      out = new Map(); memo.set(v, out);
      for (const [k, x] of v) out.set(clone(k), clone(x));
      return out;
    } else if (v instanceof Set) {
      out = new Set(); memo.set(v, out);
      for (const x of v) out.add(clone(x));
      return out;
    } else if (v instanceof Error) {
      const ctor = { EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError }[v.name] || Error;
      out = new ctor(v.message);
      if (v.stack) out.stack = v.stack;
    } else if (typeof Blob === 'function' && v instanceof Blob) out = v;
    else if (Array.isArray(v)) {
      out = new Array(v.length); memo.set(v, out);
      for (const k of Object.keys(v)) out[k] = clone(v[k]);
      return out;
    } else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== null && proto !== Object.prototype && ['Promise', 'WeakMap', 'WeakSet', 'WeakRef'].includes(proto.constructor && proto.constructor.name)) {
        throw new DOMException(`${proto.constructor.name} object could not be cloned`, 'DataCloneError');
      }
      out = {}; memo.set(v, out);
      for (const k of Object.keys(v)) out[k] = clone(v[k]);
      return out;
    }
    memo.set(v, out);
    return out;
  }
  const result = clone(value);
  for (const t of transfer) {
    if (t instanceof ArrayBuffer && typeof t.transfer === 'function') t.transfer();
  }
  return result;
}
define('structuredClone', structuredClone);
