// host.js: the entry points the host calls: init (default export + env), dispatch (one request, or an event for the
// queue or scheduled handler), complete (an op finished), timer (a timer is due), rejection and handled (HTML's
// promise rejection tracking, at a turn's end).
let handler = null;
let env = null;
// The requests under way (ids and request objects, index by index), so an abort from the host reaches their
// signal. An isolate has few at a time: two short arrays are cheaper to keep than a Map that grows and shrinks with
// every request.
const requestIds = [];
const requestObjs = [];
function track(id, request) { requestIds.push(id); requestObjs.push(request); }
// Stops tracking request `id`; returns its request object, or null.
function forget(id) {
  const i = requestIds.indexOf(id);
  if (i < 0) return null;
  const request = requestObjs[i];
  const lastId = requestIds.pop();
  const last = requestObjs.pop();
  if (i < requestIds.length) { requestIds[i] = lastId; requestObjs[i] = last; }
  return request;
}
// Sends a response: returns undefined once a bytes body is sent, or a promise while a stream body is written or a
// WebSocket is open.
function sendResponse(id, res) {
  if (!(res instanceof Response)) throw new TypeError('The fetch handler must return a Response');
  const flat = flatHeaders(res.headers);
  if (res.status === 101) return WebSocket._attach(res.webSocket, ops.respondWebSocket(id, flat));
  const b = res[kBody];
  if (!b.stream) {
    ops.respond(id, res.status, flat, b.bytes, false);
    b.used = true;
    return undefined;
  }
  ops.respond(id, res.status, flat, null, true);
  return writeStream(id, b.stream);
}
async function writeStream(id, stream) {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const chunk = typeof value === 'string' ? utf8(value) : toBytes(value, 'response body chunk');
      if (chunk.byteLength) await opAsync(ops.write(id, chunk));
    }
    ops.close(id);
  } catch (e) {
    reader.cancel(e).catch(() => {});
    ops.close(id, String(e && e.message || e));
    throw e;
  }
}
// A handler's `ctx`: the promises passed to waitUntil are kept (and their rejections logged) until the work of
// the request or event is done.
class ExecutionContext {
  #waits = [];
  waitUntil(p) { this.#waits.push(Promise.resolve(p).catch(logWaitUntil)); }
  passThroughOnException() {}
  static _waits(ctx) { return ctx.#waits; }
}
function logWaitUntil(e) { ops.log('error', 'waitUntil rejected: ' + errText(e)); }
// Resolves once every waitUntil promise has settled, after one microtask turn even with none, so that one
// registered just after the response still counts.
async function settle(waits) {
  await null;
  if (waits.length) await settleAll(waits);
}
async function settleAll(waits) {
  let n;
  do { n = waits.length; await Promise.allSettled(waits); } while (waits.length !== n);
}
// A queue batch: per-message ack()/retry() win over ackAll()/retryAll(); the first call of each level counts.
// Unmarked messages are acknowledged when the handler returns and retried when it throws.
function queueBatch(p) {
  const marks = p.messages.map(() => null);
  let all = null;
  const mark = (i, m) => { if (marks[i] === null) marks[i] = m; };
  const retryMark = (o) => ({ retry: true, delaySeconds: o && o.delaySeconds !== undefined ? Number(o.delaySeconds) : null });
  const messages = p.messages.map((m, i) => Object.freeze({
    id: m.id, timestamp: new Date(m.timestamp), body: m.body, attempts: m.attempts,
    ack() { mark(i, { retry: false }); },
    retry(options) { mark(i, retryMark(options)); },
  }));
  const batch = Object.freeze({
    queue: p.queue, messages: Object.freeze(messages),
    ackAll() { if (all === null) all = { retry: false }; },
    retryAll(options) { if (all === null) all = retryMark(options); },
  });
  const report = (error) => ({ error, outcomes: marks.map((m) => m || all || { retry: error !== null }) });
  return { arg: batch, report };
}
function scheduledEvent(p) {
  let noRetry = false;
  const event = Object.freeze({ cron: p.cron, scheduledTime: p.scheduledTime, type: 'scheduled', noRetry() { noRetry = true; } });
  return { arg: event, report: (error) => ({ error, noRetry }) };
}
function dispatchEvent(id, kind, payload) {
  const ctx = new ExecutionContext();
  const waits = ExecutionContext._waits(ctx);
  const ev = kind === 'queue' ? queueBatch(JSON.parse(payload)) : scheduledEvent(JSON.parse(payload));
  let result;
  try {
    if (!handler || typeof handler[kind] !== 'function') throw new TypeError(`The app has no ${kind} handler`);
    result = handler[kind](ev.arg, env, ctx);
  } catch (e) {
    result = Promise.reject(e);
  }
  Promise.resolve(result)
    .then(() => ev.report(null), (e) => {
      const text = errText(e);
      ops.log('error', `uncaught exception in the ${kind} handler: ${text}`);
      return ev.report(text.split('\n')[0]);
    })
    .then((out) => ops.respond(id, 200, ['content-type', 'application/json'], utf8(JSON.stringify(out)), false))
    .catch((e) => ops.fail(id, errText(e)))
    .then(() => settle(waits))
    .then(() => ops.finish(id));
}
// Sends the handler's response (or its failure), waits for the waitUntil promises (one microtask turn even with
// none, so that one registered just after the response still counts), then ends the request.
async function respondThenFinish(id, result, ctx) {
  try {
    const sending = sendResponse(id, await result);
    if (sending !== undefined) await sending;
  } catch (e) {
    ops.fail(id, errText(e));
  }
  await settle(ExecutionContext._waits(ctx));
  forget(id);
  ops.finish(id);
}
const host = {
  init(h, envJson) {
    handler = h;
    env = JSON.parse(envJson);
    installBindings(env);
    installWasmStreaming();
  },
  dispatch(id, method, url, flat, rid) {
    if (method === 'nano:queue' || method === 'nano:scheduled') return dispatchEvent(id, method.slice(5), url);
    const body = rid === null || rid === undefined ? null : ridStream(rid);
    const request = Request._incoming(method, url, flat, body);
    track(id, request);
    const ctx = new ExecutionContext();
    let result;
    try {
      if (!handler || typeof handler.fetch !== 'function') throw new TypeError('The app has no fetch handler');
      result = handler.fetch(request, env, ctx);
    } catch (e) {
      result = Promise.reject(e);
    }
    respondThenFinish(id, result, ctx);
  },
  abort(id, reason) {
    const request = forget(id);
    if (!request) return;
    Request._abort(request, new DOMException(reason, 'AbortError'));
  },
  complete(op, ok, value) {
    const p = pending.get(op);
    if (!p) return;
    pending.delete(op);
    if (ok) p.resolve(value); else p.reject(new TypeError(value));
  },
  timer(id) { fireTimer(id); },
  rejection(promise, reason) { return unhandledRejection(promise, reason); },
  handled(promise) { rejectionHandled(promise); },
};
