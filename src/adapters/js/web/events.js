// events.js: Event, EventTarget, CustomEvent, ErrorEvent, MessageEvent, PromiseRejectionEvent, AbortController/Signal,
// MessageChannel/MessagePort.
class Event {
  static NONE = 0; static CAPTURING_PHASE = 1; static AT_TARGET = 2; static BUBBLING_PHASE = 3;
  #type; #bubbles; #cancelable; #composed; #canceled = false; #stop = false; #stopNow = false;
  #target = null; #current = null; #phase = 0; #time = ops.now(); #dispatching = false; #passive = false;
  constructor(type, init = {}) {
    if (arguments.length < 1) throw new TypeError('Event needs a type');
    this.#type = String(type);
    this.#bubbles = !!(init && init.bubbles);
    this.#cancelable = !!(init && init.cancelable);
    this.#composed = !!(init && init.composed);
  }
  get type() { return this.#type; }
  get bubbles() { return this.#bubbles; }
  get cancelable() { return this.#cancelable; }
  get composed() { return this.#composed; }
  get defaultPrevented() { return this.#canceled; }
  get returnValue() { return !this.#canceled; }
  set returnValue(v) { if (!v) this.preventDefault(); }
  get cancelBubble() { return this.#stop; }
  set cancelBubble(v) { if (v) this.#stop = true; }
  get target() { return this.#target; }
  get srcElement() { return this.#target; }
  get currentTarget() { return this.#current; }
  get eventPhase() { return this.#phase; }
  get timeStamp() { return this.#time; }
  get isTrusted() { return false; }
  composedPath() { return this.#current ? [this.#current] : []; }
  preventDefault() { if (this.#cancelable && !this.#passive) this.#canceled = true; }
  stopPropagation() { this.#stop = true; }
  stopImmediatePropagation() { this.#stop = true; this.#stopNow = true; }
  static _begin(e, target) {
    if (e.#dispatching) throw new DOMException('The event is already being dispatched', 'InvalidStateError');
    e.#dispatching = true; e.#target = target; e.#current = target; e.#phase = 2; e.#stop = false; e.#stopNow = false;
  }
  static _passive(e, p) { e.#passive = p; }
  static _stoppedNow(e) { return e.#stopNow; }
  static _end(e) { e.#dispatching = false; e.#current = null; e.#phase = 0; e.#passive = false; }
}
define('Event', Event);

const kListeners = Symbol('listeners');
class EventTarget {
  constructor() { this[kListeners] = new Map(); }
  addEventListener(type, callback, options = {}) {
    if (callback === null || callback === undefined) return;
    if (typeof options === 'boolean') options = { capture: options };
    const capture = !!(options && options.capture);
    const signal = options && options.signal;
    if (signal && signal.aborted) return;
    type = String(type);
    if (!this[kListeners]) this[kListeners] = new Map();
    let list = this[kListeners].get(type);
    if (!list) this[kListeners].set(type, (list = []));
    if (list.some((l) => l.callback === callback && l.capture === capture)) return;
    const entry = { callback, capture, once: !!(options && options.once), passive: !!(options && options.passive), removed: false };
    list.push(entry);
    if (signal) signal.addEventListener('abort', () => this.removeEventListener(type, callback, { capture }));
  }
  removeEventListener(type, callback, options = {}) {
    if (typeof options === 'boolean') options = { capture: options };
    const capture = !!(options && options.capture);
    const list = this[kListeners] && this[kListeners].get(String(type));
    if (!list) return;
    const i = list.findIndex((l) => l.callback === callback && l.capture === capture);
    if (i >= 0) { list[i].removed = true; list.splice(i, 1); }
  }
  dispatchEvent(event) {
    if (!(event instanceof Event)) throw new TypeError('dispatchEvent needs an Event');
    Event._begin(event, this);
    try {
      const handler = this['on' + event.type];
      const list = ((this[kListeners] && this[kListeners].get(event.type)) || []).slice();
      for (const l of list) {
        if (l.removed) continue;
        if (l.once) this.removeEventListener(event.type, l.callback, { capture: l.capture });
        Event._passive(event, l.passive);
        try {
          if (typeof l.callback === 'function') l.callback.call(this, event);
          else if (l.callback && typeof l.callback.handleEvent === 'function') l.callback.handleEvent(event);
        } catch (e) { reportError(e); }
        Event._passive(event, false);
        if (Event._stoppedNow(event)) break;
      }
      if (typeof handler === 'function' && !Event._stoppedNow(event) && !list.some((l) => l.callback === handler)) {
        try { handler.call(this, event); } catch (e) { reportError(e); }
      }
    } finally {
      Event._end(event);
    }
    return !event.defaultPrevented;
  }
}
define('EventTarget', EventTarget);
// The global scope's events (ECMA-429): `addEventListener`, `removeEventListener` and `dispatchEvent` on globalThis,
// and the `error` event that reportError (and an exception of a timer or event callback) dispatches, with the HTML
// `onerror(message, source, lineno, colno, error)` handler (returning true cancels it). The service-worker events
// (`fetch`, `scheduled`, `queue`) are refused with the fix: nano runs ES module Workers.
const globalEvents = new EventTarget();
Object.defineProperty(globalEvents, 'onerror', {
  get() {
    const f = globalThis.onerror;
    if (typeof f !== 'function') return null;
    return (ev) => { if (f.call(globalThis, ev.message, ev.filename, ev.lineno, ev.colno, ev.error) === true) ev.preventDefault(); };
  },
});
for (const t of ['unhandledrejection', 'rejectionhandled']) {
  Object.defineProperty(globalEvents, 'on' + t, { get() { return globalThis['on' + t]; } });
}
define('onerror', null);
define('onunhandledrejection', null);
define('onrejectionhandled', null);
define('addEventListener', function addEventListener(type, callback, options = {}) {
  if (['fetch', 'scheduled', 'queue'].includes(String(type))) {
    throw new TypeError(`addEventListener('${type}', ...) is the service-worker syntax; nano runs ES module Workers: export default { fetch(request, env, ctx) { ... } }`);
  }
  globalEvents.addEventListener(type, callback, options);
});
define('removeEventListener', function removeEventListener(type, callback, options = {}) {
  globalEvents.removeEventListener(type, callback, options);
});
define('dispatchEvent', function dispatchEvent(event) { return globalEvents.dispatchEvent(event); });

class CustomEvent extends Event {
  #detail;
  constructor(type, init = {}) { super(type, init); this.#detail = init && init.detail !== undefined ? init.detail : null; }
  get detail() { return this.#detail; }
}
define('CustomEvent', CustomEvent);
class ErrorEvent extends Event {
  #i;
  constructor(type, init = {}) { super(type, init); this.#i = init || {}; }
  get message() { return this.#i.message || ''; }
  get filename() { return this.#i.filename || ''; }
  get lineno() { return this.#i.lineno || 0; }
  get colno() { return this.#i.colno || 0; }
  get error() { return this.#i.error; }
}
define('ErrorEvent', ErrorEvent);
class MessageEvent extends Event {
  #i;
  constructor(type, init = {}) { super(type, init); this.#i = init || {}; }
  get data() { return this.#i.data === undefined ? null : this.#i.data; }
  get origin() { return this.#i.origin || ''; }
  get lastEventId() { return this.#i.lastEventId || ''; }
  get source() { return this.#i.source || null; }
  get ports() { return Object.freeze([...(this.#i.ports || [])]); }
}
define('MessageEvent', MessageEvent);
class PromiseRejectionEvent extends Event {
  #i;
  constructor(type, init) {
    super(type, init);
    if (!init || !('promise' in init)) throw new TypeError('PromiseRejectionEvent needs a promise');
    this.#i = init;
  }
  get promise() { return this.#i.promise; }
  get reason() { return this.#i.reason; }
}
define('PromiseRejectionEvent', PromiseRejectionEvent);
// HTML's rejection tracking, run by the host at the end of a turn: a promise still rejected with no handler fires a
// cancelable `unhandledrejection` (true when a listener or `onunhandledrejection` cancelled it, so the host does not
// log it); one that gets a handler later fires `rejectionhandled`, once, if it was reported.
const reportedRejections = new WeakMap();
function unhandledRejection(promise, reason) {
  const event = new PromiseRejectionEvent('unhandledrejection', { cancelable: true, promise, reason });
  reportedRejections.set(promise, reason);
  globalEvents.dispatchEvent(event);
  return event.defaultPrevented;
}
function rejectionHandled(promise) {
  if (!reportedRejections.has(promise)) return;
  const reason = reportedRejections.get(promise);
  reportedRejections.delete(promise);
  globalEvents.dispatchEvent(new PromiseRejectionEvent('rejectionhandled', { promise, reason }));
}

const kAbort = Symbol('abort');
class AbortSignal extends EventTarget {
  #aborted = false; #reason = undefined;
  constructor(key) {
    if (key !== kAbort) throw new TypeError('Illegal constructor');
    super();
    this.onabort = null;
  }
  get aborted() { return this.#aborted; }
  get reason() { return this.#reason; }
  throwIfAborted() { if (this.#aborted) throw this.#reason; }
  [kAbort](reason) {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    this.dispatchEvent(new Event('abort'));
  }
  static abort(reason) { const s = new AbortSignal(kAbort); s[kAbort](reason); return s; }
  static timeout(ms) {
    const s = new AbortSignal(kAbort);
    setTimeout(() => s[kAbort](new DOMException('The operation timed out', 'TimeoutError')), ms);
    return s;
  }
  static any(signals) {
    const s = new AbortSignal(kAbort);
    for (const x of signals) if (x.aborted) { s[kAbort](x.reason); return s; }
    for (const x of signals) x.addEventListener('abort', () => s[kAbort](x.reason), { once: true });
    return s;
  }
}
define('AbortSignal', AbortSignal);
class AbortController {
  #signal = new AbortSignal(kAbort);
  get signal() { return this.#signal; }
  abort(reason) { this.#signal[kAbort](reason); }
}
define('AbortController', AbortController);

class MessagePort extends EventTarget {
  #other = null; #closed = false; #started = false; #queue = [];
  constructor(key) { if (key !== kAbort) throw new TypeError('Illegal constructor'); super(); }
  static _pair(a, b) { a.#other = b; b.#other = a; }
  postMessage(message) {
    const other = this.#other;
    if (this.#closed || !other) return;
    const data = structuredClone(message);
    other.#queue.push(data);
    if (other.#started || other.onmessage) other.#flush();
  }
  #flush() {
    this.#started = true;
    setTimeout(() => {
      while (this.#queue.length && !this.#closed) this.dispatchEvent(new MessageEvent('message', { data: this.#queue.shift() }));
    }, 0);
  }
  start() { this.#flush(); }
  close() { this.#closed = true; if (this.#other) this.#other.#other = null; this.#other = null; }
  addEventListener(type, cb, opts) { super.addEventListener(type, cb, opts); }
}
define('MessagePort', MessagePort);
class MessageChannel {
  #p1 = new MessagePort(kAbort); #p2 = new MessagePort(kAbort);
  constructor() { MessagePort._pair(this.#p1, this.#p2); }
  get port1() { return this.#p1; }
  get port2() { return this.#p2; }
}
define('MessageChannel', MessageChannel);
