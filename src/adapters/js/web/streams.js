// streams.js: ReadableStream, WritableStream, TransformStream, their controllers/readers/writers, queuing strategies,
// TextEncoderStream/TextDecoderStream. Compact, following the WHATWG Streams algorithms for default (non-byte) streams.
const kState = Symbol('state');
function deferred() {
  let resolve, reject;
  const promise = new Promise((a, b) => { resolve = a; reject = b; });
  return { promise, resolve, reject };
}
function handled(p) { p.catch(() => {}); return p; }
function promiseCall(fn, thisArg, ...args) {
  try { return Promise.resolve(fn ? fn.apply(thisArg, args) : undefined); } catch (e) { return Promise.reject(e); }
}
function strategyOf(strategy, defaultHwm) {
  const hwm = strategy && strategy.highWaterMark !== undefined ? Number(strategy.highWaterMark) : defaultHwm;
  if (Number.isNaN(hwm) || hwm < 0) throw new RangeError('highWaterMark must be a non-negative number');
  const size = strategy && strategy.size ? (c) => strategy.size(c) : () => 1;
  return { hwm, size };
}

class CountQueuingStrategy {
  #hwm;
  constructor(init) { this.#hwm = Number(init.highWaterMark); }
  get highWaterMark() { return this.#hwm; }
  get size() { return function size() { return 1; }; }
}
class ByteLengthQueuingStrategy {
  #hwm;
  constructor(init) { this.#hwm = Number(init.highWaterMark); }
  get highWaterMark() { return this.#hwm; }
  get size() { return function size(chunk) { return chunk.byteLength; }; }
}
define('CountQueuingStrategy', CountQueuingStrategy);
define('ByteLengthQueuingStrategy', ByteLengthQueuingStrategy);

// ---------- ReadableStream ----------
const kInternal = Symbol('internal');
class ReadableStreamDefaultController {
  constructor(key) { if (key !== kInternal) throw new TypeError('Illegal constructor'); }
  get desiredSize() { return rsDesired(this[kState]); }
  enqueue(chunk) {
    const s = this[kState];
    if (s.closeRequested || s.state !== 'readable') throw new TypeError('The stream is not in a state that permits enqueue');
    rsEnqueue(s, chunk);
  }
  close() {
    const s = this[kState];
    if (s.closeRequested || s.state !== 'readable') throw new TypeError('The stream is not in a state that permits close');
    s.closeRequested = true;
    if (s.queue.length === 0) rsClose(s);
  }
  error(e) { rsError(this[kState], e); }
}
define('ReadableStreamDefaultController', ReadableStreamDefaultController);

function rsDesired(s) {
  if (s.state === 'errored') return null;
  if (s.state === 'closed') return 0;
  return s.hwm - s.queueSize;
}
function rsEnqueue(s, chunk) {
  if (s.reader && s.reader[kState].reads.length > 0) {
    s.reader[kState].reads.shift().resolve({ value: chunk, done: false });
  } else {
    let size;
    try { size = s.size(chunk); if (!(size >= 0) || size === Infinity) throw new RangeError('chunk size must be a finite non-negative number'); }
    catch (e) { rsError(s, e); throw e; }
    s.queue.push({ chunk, size });
    s.queueSize += size;
  }
  rsPullIfNeeded(s);
}
function rsPullIfNeeded(s) {
  if (!s.started || s.state !== 'readable' || s.closeRequested) return;
  const wanted = (s.reader && s.reader[kState].reads.length > 0) || rsDesired(s) > 0;
  if (!wanted) return;
  if (s.pulling) { s.pullAgain = true; return; }
  s.pulling = true;
  promiseCall(s.pull, s.source, s.controller).then(() => {
    s.pulling = false;
    if (s.pullAgain) { s.pullAgain = false; rsPullIfNeeded(s); }
  }, (e) => rsError(s, e));
}
function rsClose(s) {
  if (s.state !== 'readable') return;
  s.state = 'closed';
  const r = s.reader;
  if (r) {
    for (const req of r[kState].reads.splice(0)) req.resolve({ value: undefined, done: true });
    r[kState].closed.resolve();
  }
}
function rsError(s, e) {
  if (s.state !== 'readable') return;
  s.state = 'errored';
  s.error = e;
  s.queue = []; s.queueSize = 0;
  const r = s.reader;
  if (r) {
    for (const req of r[kState].reads.splice(0)) req.reject(e);
    r[kState].closed.reject(e);
    handled(r[kState].closed.promise);
  }
}
function rsCancel(s, reason) {
  s.disturbed = true;
  if (s.state === 'closed') return Promise.resolve();
  if (s.state === 'errored') return Promise.reject(s.error);
  s.queue = []; s.queueSize = 0;
  rsClose(s);
  return promiseCall(s.cancel, s.source, reason).then(() => undefined);
}
function rsRead(s) {
  s.disturbed = true;
  if (s.state === 'closed') return Promise.resolve({ value: undefined, done: true });
  if (s.state === 'errored') return Promise.reject(s.error);
  if (s.queue.length > 0) {
    const { chunk, size } = s.queue.shift();
    s.queueSize -= size;
    if (s.queue.length === 0) s.queueSize = 0;
    if (s.closeRequested && s.queue.length === 0) rsClose(s);
    else rsPullIfNeeded(s);
    return Promise.resolve({ value: chunk, done: false });
  }
  const d = deferred();
  s.reader[kState].reads.push(d);
  rsPullIfNeeded(s);
  return d.promise;
}

class ReadableStreamDefaultReader {
  constructor(stream) {
    if (!(stream instanceof ReadableStream)) throw new TypeError('ReadableStreamDefaultReader needs a ReadableStream');
    const s = stream[kState];
    if (s.reader) throw new TypeError('ReadableStream is locked');
    this[kState] = { stream: s, reads: [], closed: deferred() };
    s.reader = this;
    if (s.state === 'closed') this[kState].closed.resolve();
    else if (s.state === 'errored') { this[kState].closed.reject(s.error); handled(this[kState].closed.promise); }
  }
  get closed() { return this[kState].closed.promise; }
  read() {
    const r = this[kState];
    if (!r.stream) return Promise.reject(new TypeError('The reader has been released'));
    return rsRead(r.stream);
  }
  cancel(reason) {
    const r = this[kState];
    if (!r.stream) return Promise.reject(new TypeError('The reader has been released'));
    return rsCancel(r.stream, reason);
  }
  releaseLock() {
    const r = this[kState];
    if (!r.stream) return;
    const err = new TypeError('The reader was released');
    for (const req of r.reads.splice(0)) req.reject(err);
    if (r.stream.state === 'readable') r.closed.reject(err);
    else { r.closed = deferred(); r.closed.reject(err); }
    handled(r.closed.promise);
    r.stream.reader = null;
    r.stream = null;
  }
}
define('ReadableStreamDefaultReader', ReadableStreamDefaultReader);

class ReadableStream {
  constructor(source = undefined, strategy = {}) {
    source = source === null ? undefined : source;
    const isBytes = source && String(source.type) === 'bytes';
    if (source && source.type !== undefined && !isBytes) throw new RangeError(`Invalid type ${source.type}`);
    const { hwm, size } = strategyOf(strategy, isBytes ? 0 : 1);
    const s = this[kState] = {
      state: 'readable', reader: null, disturbed: false, error: undefined, queue: [], queueSize: 0,
      hwm, size: isBytes ? (c) => c.byteLength : size, started: false, pulling: false, pullAgain: false, closeRequested: false,
      source, pull: source && source.pull, cancel: source && source.cancel, controller: null,
    };
    const controller = new ReadableStreamDefaultController(kInternal);
    controller[kState] = s;
    if (isBytes) controller.byobRequest = null;
    s.controller = controller;
    promiseCall(source && source.start, source, controller).then(() => {
      s.started = true;
      rsPullIfNeeded(s);
    }, (e) => rsError(s, e));
  }
  static from(iterable) {
    if (iterable instanceof ReadableStream) return iterable;
    const it = iterable[Symbol.asyncIterator] ? iterable[Symbol.asyncIterator]() : iterable[Symbol.iterator]();
    return new ReadableStream({
      async pull(c) {
        const { value, done } = await it.next();
        if (done) c.close(); else c.enqueue(await value);
      },
      async cancel(reason) { if (typeof it.return === 'function') await it.return(reason); },
    }, { highWaterMark: 0 });
  }
  get locked() { return !!this[kState].reader; }
  cancel(reason = undefined) {
    if (this.locked) return Promise.reject(new TypeError('ReadableStream is locked'));
    return rsCancel(this[kState], reason);
  }
  getReader(options = {}) {
    if (options && options.mode !== undefined) {
      if (String(options.mode) !== 'byob') throw new TypeError(`Invalid reader mode ${options.mode}`);
      return new ReadableStreamBYOBReader(this);
    }
    return new ReadableStreamDefaultReader(this);
  }
  tee() {
    const reader = this.getReader();
    let reading = false, readAgain = false, canceled1 = false, canceled2 = false, reason1, reason2;
    let c1, c2;
    const cancelDone = deferred();
    function pull() {
      if (reading) { readAgain = true; return Promise.resolve(); }
      reading = true;
      reader.read().then(({ value, done }) => {
        reading = false;
        if (done) {
          if (!canceled1) c1.close();
          if (!canceled2) c2.close();
          cancelDone.resolve();
          return;
        }
        if (!canceled1) c1.enqueue(value);
        if (!canceled2) c2.enqueue(value);
        if (readAgain) { readAgain = false; pull(); }
      }, (e) => { c1.error(e); c2.error(e); cancelDone.resolve(); });
      return Promise.resolve();
    }
    const b1 = new ReadableStream({
      start(c) { c1 = c; }, pull,
      cancel(r) { canceled1 = true; reason1 = r; if (canceled2) cancelDone.resolve(reader.cancel([reason1, reason2])); return cancelDone.promise; },
    });
    const b2 = new ReadableStream({
      start(c) { c2 = c; }, pull,
      cancel(r) { canceled2 = true; reason2 = r; if (canceled1) cancelDone.resolve(reader.cancel([reason1, reason2])); return cancelDone.promise; },
    });
    reader.closed.catch((e) => { c1.error(e); c2.error(e); });
    return [b1, b2];
  }
  pipeThrough(transform, options = {}) {
    if (this.locked) throw new TypeError('ReadableStream is locked');
    if (transform.writable.locked) throw new TypeError('WritableStream is locked');
    handled(this.pipeTo(transform.writable, options));
    return transform.readable;
  }
  pipeTo(dest, options = {}) {
    if (!(dest instanceof WritableStream)) return Promise.reject(new TypeError('pipeTo needs a WritableStream'));
    if (this.locked) return Promise.reject(new TypeError('ReadableStream is locked'));
    if (dest.locked) return Promise.reject(new TypeError('WritableStream is locked'));
    const { preventClose = false, preventAbort = false, preventCancel = false, signal } = options || {};
    const reader = this.getReader();
    const writer = dest.getWriter();
    let aborted = null;
    const onAbort = () => { aborted = signal.reason; reader.cancel(signal.reason).catch(() => {}); };
    if (signal) {
      if (signal.aborted) aborted = signal.reason;
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    return (async () => {
      let readErr = null;
      try {
        if (aborted !== null) throw aborted;
        for (;;) {
          await writer.ready;
          let r;
          try { r = await reader.read(); } catch (e) { readErr = e; throw e; }
          if (aborted !== null) throw aborted;
          if (r.done) break;
          handled(writer.write(r.value));
        }
        if (!preventClose) await writer.close();
      } catch (e) {
        const isAbort = aborted !== null && e === aborted;
        if ((readErr !== null || isAbort) && !preventAbort) await writer.abort(e).catch(() => {});
        if ((readErr === null || isAbort) && !preventCancel) await reader.cancel(e).catch(() => {});
        throw e;
      } finally {
        if (signal) signal.removeEventListener('abort', onAbort);
        writer.releaseLock();
        reader.releaseLock();
      }
    })();
  }
  values(options = {}) {
    const reader = this.getReader();
    const preventCancel = !!(options && options.preventCancel);
    let finished = false;
    return {
      next() {
        if (finished) return Promise.resolve({ value: undefined, done: true });
        return reader.read().then((r) => { if (r.done) { finished = true; reader.releaseLock(); } return r; },
          (e) => { finished = true; reader.releaseLock(); throw e; });
      },
      return(value) {
        if (finished) return Promise.resolve({ value, done: true });
        finished = true;
        const p = preventCancel ? Promise.resolve() : reader.cancel(value);
        return p.then(() => { reader.releaseLock(); return { value, done: true }; });
      },
      [Symbol.asyncIterator]() { return this; },
    };
  }
  [Symbol.asyncIterator](options) { return this.values(options); }
}
define('ReadableStream', ReadableStream);

// BYOB reading over the same queue: chunks are copied into the caller's view (what does not fit stays queued).
class ReadableStreamBYOBRequest {
  #view;
  constructor(key, view) { if (key !== kInternal) throw new TypeError('Illegal constructor'); this.#view = view; }
  get view() { return this.#view; }
  respond() {}
  respondWithNewView() {}
}
class ReadableByteStreamController extends ReadableStreamDefaultController {}
class ReadableStreamBYOBReader {
  #reader; #rest = null;
  constructor(stream) { this.#reader = new ReadableStreamDefaultReader(stream); }
  get closed() { return this.#reader.closed; }
  cancel(reason) { this.#rest = null; return this.#reader.cancel(reason); }
  releaseLock() { this.#reader.releaseLock(); }
  async read(view) {
    if (!ArrayBuffer.isView(view) || view.byteLength === 0) throw new TypeError('read needs a non-empty ArrayBufferView');
    let bytes = this.#rest;
    this.#rest = null;
    if (!bytes) {
      const r = await this.#reader.read();
      if (r.done) return { value: new view.constructor(view.buffer, view.byteOffset, 0), done: true };
      bytes = toBytes(r.value);
    }
    const target = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const n = Math.min(bytes.byteLength, target.byteLength);
    target.set(bytes.subarray(0, n));
    if (n < bytes.byteLength) this.#rest = bytes.slice(n);
    const per = view.BYTES_PER_ELEMENT || 1;
    return { value: new view.constructor(view.buffer, view.byteOffset, Math.floor(n / per)), done: false };
  }
}
define('ReadableStreamBYOBRequest', ReadableStreamBYOBRequest);
define('ReadableByteStreamController', ReadableByteStreamController);
define('ReadableStreamBYOBReader', ReadableStreamBYOBReader);

// ---------- WritableStream ----------
class WritableStreamDefaultController {
  constructor(key) { if (key !== kInternal) throw new TypeError('Illegal constructor'); }
  get signal() { return this[kState].abortController.signal; }
  error(e) { if (this[kState].state === 'writable') wsStartErroring(this[kState], e); }
}
define('WritableStreamDefaultController', WritableStreamDefaultController);
const kClose = Symbol('close');
function wsDesired(s) { return s.hwm - s.queueSize; }
function wsUpdateBackpressure(s) {
  const bp = wsDesired(s) <= 0;
  if (bp === s.backpressure) return;
  s.backpressure = bp;
  const w = s.writer;
  if (!w) return;
  if (bp) w[kState].ready = deferred();
  else w[kState].ready.resolve();
}
function wsStartErroring(s, e) {
  if (s.state !== 'writable') return;
  s.state = 'erroring';
  s.error = e;
  const w = s.writer;
  if (w) { w[kState].ready = deferred(); w[kState].ready.reject(e); handled(w[kState].ready.promise); }
  if (!s.inFlight && s.started) wsFinishErroring(s);
}
function wsFinishErroring(s) {
  s.state = 'errored';
  for (const q of s.queue.splice(0)) if (q.done) q.done.reject(s.error);
  s.queueSize = 0;
  const abortReq = s.abortRequest;
  s.abortRequest = null;
  const w = s.writer;
  const rejectClosed = () => { if (w) { w[kState].closed.reject(s.error); handled(w[kState].closed.promise); } if (s.closeDone) s.closeDone.reject(s.error); };
  if (!abortReq) { rejectClosed(); return; }
  promiseCall(s.sink && s.sink.abort, s.sink, abortReq.reason).then(() => { abortReq.d.resolve(); rejectClosed(); }, (e) => { abortReq.d.reject(e); rejectClosed(); });
}
function wsAdvance(s) {
  if (!s.started || s.inFlight) return;
  if (s.state === 'erroring') { wsFinishErroring(s); return; }
  if (s.state !== 'writable' || s.queue.length === 0) return;
  const head = s.queue[0];
  s.inFlight = true;
  if (head.chunk === kClose) {
    s.queue.shift();
    promiseCall(s.sink && s.sink.close, s.sink).then(() => {
      s.inFlight = false;
      s.state = 'closed';
      head.done.resolve();
      if (s.writer) s.writer[kState].closed.resolve();
    }, (e) => {
      s.inFlight = false;
      head.done.reject(e);
      s.state = 'writable';
      wsStartErroring(s, e);
      wsFinishErroring(s);
    });
    return;
  }
  promiseCall(s.sink && s.sink.write, s.sink, head.chunk, s.controller).then(() => {
    s.inFlight = false;
    s.queue.shift();
    s.queueSize -= head.size;
    head.done.resolve();
    if (s.state === 'erroring') { wsFinishErroring(s); return; }
    if (!s.closeRequested || s.queue.length) wsUpdateBackpressure(s);
    wsAdvance(s);
  }, (e) => {
    s.inFlight = false;
    s.queue.shift();
    head.done.reject(e);
    if (s.state === 'writable') wsStartErroring(s, e);
    wsFinishErroring(s);
  });
}
function wsAbort(s, reason) {
  if (s.state === 'closed' || s.state === 'errored') return Promise.resolve();
  s.abortController.abort(reason);
  if (s.abortRequest) return s.abortRequest.d.promise;
  const d = deferred();
  s.abortRequest = { d, reason };
  if (s.state === 'writable') wsStartErroring(s, reason);
  else if (!s.inFlight) wsFinishErroring(s);
  return d.promise;
}
function wsClose(s) {
  if (s.state === 'closed' || s.state === 'errored' || s.closeRequested) return Promise.reject(new TypeError('The stream is closed or closing'));
  s.closeRequested = true;
  const d = deferred();
  s.closeDone = d;
  s.queue.push({ chunk: kClose, size: 0, done: d });
  if (s.writer && s.backpressure && s.state === 'writable') s.writer[kState].ready.resolve();
  wsAdvance(s);
  return d.promise;
}
class WritableStreamDefaultWriter {
  constructor(stream) {
    const s = stream[kState];
    if (s.writer) throw new TypeError('WritableStream is locked');
    s.writer = this;
    const ready = deferred();
    const closed = deferred();
    this[kState] = { stream: s, ready, closed };
    if (s.state === 'writable') { if (!s.backpressure || s.closeRequested) ready.resolve(); }
    else if (s.state === 'erroring') { ready.reject(s.error); handled(ready.promise); }
    else if (s.state === 'closed') { ready.resolve(); closed.resolve(); }
    else { ready.reject(s.error); closed.reject(s.error); handled(ready.promise); handled(closed.promise); }
  }
  get ready() { return this[kState].ready.promise; }
  get closed() { return this[kState].closed.promise; }
  get desiredSize() {
    const s = this[kState].stream;
    if (!s) throw new TypeError('The writer has been released');
    if (s.state === 'errored' || s.state === 'erroring') return null;
    if (s.state === 'closed') return 0;
    return wsDesired(s);
  }
  write(chunk) {
    const s = this[kState].stream;
    if (!s) return Promise.reject(new TypeError('The writer has been released'));
    if (s.state === 'errored' || s.state === 'erroring') return Promise.reject(s.error);
    if (s.state === 'closed' || s.closeRequested) return Promise.reject(new TypeError('The stream is closed or closing'));
    let size;
    try { size = s.size(chunk); } catch (e) { wsStartErroring(s, e); return Promise.reject(e); }
    const d = deferred();
    s.queue.push({ chunk, size, done: d });
    s.queueSize += size;
    wsUpdateBackpressure(s);
    wsAdvance(s);
    return d.promise;
  }
  close() {
    const s = this[kState].stream;
    if (!s) return Promise.reject(new TypeError('The writer has been released'));
    return wsClose(s);
  }
  abort(reason) {
    const s = this[kState].stream;
    if (!s) return Promise.reject(new TypeError('The writer has been released'));
    return wsAbort(s, reason);
  }
  releaseLock() {
    const w = this[kState];
    if (!w.stream) return;
    const err = new TypeError('The writer was released');
    w.ready = deferred(); w.ready.reject(err); handled(w.ready.promise);
    if (w.stream.state !== 'closed' && w.stream.state !== 'errored') { w.closed.reject(err); }
    else { w.closed = deferred(); w.closed.reject(err); }
    handled(w.closed.promise);
    w.stream.writer = null;
    w.stream = null;
  }
}
define('WritableStreamDefaultWriter', WritableStreamDefaultWriter);
class WritableStream {
  constructor(sink = undefined, strategy = {}) {
    sink = sink === null ? undefined : sink;
    if (sink && sink.type !== undefined) throw new RangeError('Invalid type');
    const { hwm, size } = strategyOf(strategy, 1);
    const s = this[kState] = {
      state: 'writable', writer: null, error: undefined, queue: [], queueSize: 0, hwm, size, sink,
      started: false, inFlight: false, closeRequested: false, closeDone: null, abortRequest: null,
      backpressure: false, abortController: new AbortController(), controller: null,
    };
    const controller = new WritableStreamDefaultController(kInternal);
    controller[kState] = s;
    s.controller = controller;
    wsUpdateBackpressure(s);
    promiseCall(sink && sink.start, sink, controller).then(() => { s.started = true; wsAdvance(s); }, (e) => {
      s.started = true;
      if (s.state === 'writable') wsStartErroring(s, e);
      wsFinishErroring(s);
    });
  }
  get locked() { return !!this[kState].writer; }
  getWriter() { return new WritableStreamDefaultWriter(this); }
  abort(reason) {
    if (this.locked) return Promise.reject(new TypeError('WritableStream is locked'));
    return wsAbort(this[kState], reason);
  }
  close() {
    if (this.locked) return Promise.reject(new TypeError('WritableStream is locked'));
    return wsClose(this[kState]);
  }
}
define('WritableStream', WritableStream);

// ---------- TransformStream ----------
class TransformStreamDefaultController {
  constructor(key) { if (key !== kInternal) throw new TypeError('Illegal constructor'); }
  get desiredSize() { return this[kState].rc.desiredSize; }
  enqueue(chunk) {
    const t = this[kState];
    try { t.rc.enqueue(chunk); } catch (e) { t.errorWritable(e); throw t.readable[kState].error || e; }
    if (t.rc.desiredSize <= 0 && !t.backpressure) t.setBackpressure(true);
  }
  error(e) { this[kState].rc.error(e); this[kState].errorWritable(e); }
  terminate() {
    const t = this[kState];
    try { t.rc.close(); } catch {}
    t.errorWritable(new TypeError('The transform stream has been terminated'));
  }
}
define('TransformStreamDefaultController', TransformStreamDefaultController);
class TransformStream {
  constructor(transformer = undefined, writableStrategy = {}, readableStrategy = {}) {
    transformer = transformer || {};
    if (transformer.readableType !== undefined || transformer.writableType !== undefined) throw new RangeError('Invalid type');
    const t = { backpressure: undefined, bpChange: null, rc: null, readable: null, writable: null };
    const controller = new TransformStreamDefaultController(kInternal);
    controller[kState] = t;
    t.setBackpressure = (v) => { if (t.bpChange) t.bpChange.resolve(); t.bpChange = deferred(); t.backpressure = v; };
    t.errorWritable = (e) => {
      const ws = t.writable[kState];
      if (ws.state === 'writable') wsStartErroring(ws, e);
      if (t.backpressure) t.setBackpressure(false);
    };
    const startD = deferred();
    const transform = transformer.transform
      ? (chunk) => promiseCall(transformer.transform, transformer, chunk, controller)
      : (chunk) => { try { controller.enqueue(chunk); return Promise.resolve(); } catch (e) { return Promise.reject(e); } };
    t.writable = new WritableStream({
      start: () => startD.promise,
      write: (chunk) => {
        const go = () => transform(chunk).catch((e) => { t.rc.error(e); throw e; });
        if (t.backpressure) {
          return t.bpChange.promise.then(() => {
            const ws = t.writable[kState];
            if (ws.state === 'erroring') throw ws.error;
            return go();
          });
        }
        return go();
      },
      close: () => promiseCall(transformer.flush, transformer, controller).then(() => {
        if (t.readable[kState].state === 'errored') throw t.readable[kState].error;
        try { t.rc.close(); } catch {}
      }, (e) => { t.rc.error(e); throw e; }),
      abort: (reason) => { t.rc.error(reason); return promiseCall(transformer.cancel, transformer, reason); },
    }, writableStrategy);
    t.readable = new ReadableStream({
      start: (c) => { t.rc = c; return startD.promise; },
      pull: () => { t.setBackpressure(false); return t.bpChange.promise; },
      cancel: (reason) => { t.errorWritable(reason); return promiseCall(transformer.cancel, transformer, reason); },
    }, Object.assign({ highWaterMark: 0 }, readableStrategy));
    t.setBackpressure(true);
    Object.defineProperty(this, 'readable', { value: t.readable, enumerable: true });
    Object.defineProperty(this, 'writable', { value: t.writable, enumerable: true });
    promiseCall(transformer.start, transformer, controller).then(startD.resolve, startD.reject);
  }
}
define('TransformStream', TransformStream);

class TextEncoderStream extends TransformStream {
  constructor() {
    let pendingHigh = '';
    super({
      transform(chunk, c) {
        let s = pendingHigh + String(chunk);
        pendingHigh = '';
        const last = s.charCodeAt(s.length - 1);
        if (last >= 0xd800 && last <= 0xdbff) { pendingHigh = s.slice(-1); s = s.slice(0, -1); }
        if (s) c.enqueue(utf8(s));
      },
      flush(c) { if (pendingHigh) c.enqueue(new Uint8Array([0xef, 0xbf, 0xbd])); },
    });
  }
  get encoding() { return 'utf-8'; }
}
define('TextEncoderStream', TextEncoderStream);
class TextDecoderStream extends TransformStream {
  #d;
  constructor(label = 'utf-8', options = {}) {
    const d = new TextDecoder(label, options);
    super({
      transform(chunk, c) { const s = d.decode(toBytes(chunk), { stream: true }); if (s) c.enqueue(s); },
      flush(c) { const s = d.decode(); if (s) c.enqueue(s); },
    });
    this.#d = d;
  }
  get encoding() { return this.#d.encoding; }
  get fatal() { return this.#d.fatal; }
  get ignoreBOM() { return this.#d.ignoreBOM; }
}
define('TextDecoderStream', TextDecoderStream);
