// host.js: the entry points the host calls: init (default export + env), dispatch (one request), complete (an op
// finished), timer (a timer is due).
let handler = null;
let env = null;
const signals = new Map();
async function sendResponse(id, res) {
  if (!(res instanceof Response)) throw new TypeError('The fetch handler must return a Response');
  const flat = flatHeaders(res.headers);
  const b = res[kBody];
  if (!b.stream) {
    ops.respond(id, res.status, flat, b.bytes, false);
    b.used = true;
    return;
  }
  ops.respond(id, res.status, flat, null, true);
  const reader = b.stream.getReader();
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
async function settle(waits) {
  let n;
  do { n = waits.length; await Promise.allSettled(waits); } while (waits.length !== n);
}
const host = {
  init(h, envJson) {
    handler = h;
    env = JSON.parse(envJson);
    installBindings(env);
  },
  dispatch(id, method, url, flat, rid) {
    const body = rid === null || rid === undefined ? null : ridStream(rid);
    const controller = new AbortController();
    signals.set(id, controller);
    const request = Request._incoming(method, url, flat, body, controller.signal);
    const waits = [];
    const ctx = {
      waitUntil(p) { waits.push(Promise.resolve(p).catch((e) => ops.log('error', 'waitUntil rejected: ' + errText(e)))); },
      passThroughOnException() {},
    };
    let result;
    try {
      if (!handler || typeof handler.fetch !== 'function') throw new TypeError('The app has no fetch handler');
      result = handler.fetch(request, env, ctx);
    } catch (e) {
      result = Promise.reject(e);
    }
    Promise.resolve(result)
      .then((res) => sendResponse(id, res))
      .catch((e) => ops.fail(id, errText(e)))
      .then(() => settle(waits))
      .then(() => { signals.delete(id); ops.finish(id); });
  },
  abort(id, reason) {
    const controller = signals.get(id);
    if (!controller) return;
    signals.delete(id);
    controller.abort(new DOMException(reason, 'AbortError'));
  },
  complete(op, ok, value) {
    const p = pending.get(op);
    if (!p) return;
    pending.delete(op);
    if (ok) p.resolve(value); else p.reject(new TypeError(value));
  },
  timer(id) { fireTimer(id); },
};
