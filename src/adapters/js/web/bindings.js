// bindings.js: env.DATA, env.CACHE, env.STORAGE, env.SEARCH, env.QUEUE: hyper-connect's methods on the app's own
// tenant, served in process by one host op (`ops.binding`) that answers hyper's result shapes; env.ASSETS: the
// app's static assets folder, fetched as Workers Static Assets offers; Cloudflare's bindings (KV, R2, Queues,
// services) come from cloudflare.js.
const BINDING_METHODS = {
  data: ['add', 'get', 'list', 'update', 'remove', 'query', 'bulk', 'index'],
  cache: ['add', 'get', 'set', 'remove', 'query'],
  search: ['add', 'get', 'update', 'remove', 'query', 'load'],
  queue: ['enqueue', 'queued', 'errors'],
};
async function bindingCall(name, method, args) {
  const out = await opAsync(ops.binding(name, method, JSON.stringify(args), false));
  return JSON.parse(ops.decodeUtf8(out, false));
}
function storageBinding(name) {
  return Object.freeze({
    async upload(object, data) {
      const body = data === undefined || data === null ? null : new Response(data).body;
      const id = ops.binding(name, 'upload', JSON.stringify([object]), true);
      const done = opAsync(id);
      if (body) pumpRequestBody(id, body); else ops.sinkClose(id);
      return JSON.parse(ops.decodeUtf8(await done, false));
    },
    async download(object) {
      const out = await opAsync(ops.binding(name, 'download', JSON.stringify([object]), false));
      if (Array.isArray(out)) return { ok: true, object: ridStream(out[3]) };
      return JSON.parse(ops.decodeUtf8(out, false));
    },
    remove(object) { return bindingCall(name, 'remove', [object]); },
    list(prefix) { return bindingCall(name, 'list', [prefix === undefined ? '' : prefix]); },
  });
}
function assetsBinding(name) {
  return Object.freeze({
    async fetch(input, init = undefined) {
      // A bare path names a file of the folder, as on Workers.
      const url = typeof input === 'string' && input.startsWith('/') ? `http://assets.invalid${input}` : input;
      const req = new Request(url, init);
      const out = await opAsync(ops.binding(name, 'fetch', JSON.stringify([req.method, req.url, flatHeaders(req.headers)]), false));
      const [status, statusText, flat, rid] = out;
      const body = NULL_BODY.includes(status) || req.method === 'HEAD' ? null : ridStream(rid);
      if (!body) ops.bodyCancel(rid);
      const res = new Response(null, { status, statusText, headers: Headers._fromFlat(flat, 'none') });
      res[kBody] = { bytes: null, stream: body, used: false };
      return Response._internal(res, 'basic', req.url, false);
    },
  });
}
function installBindings(target) {
  const names = JSON.parse(ops.bindingNames());
  for (const key of Object.keys(names)) {
    const service = names[key];
    let binding;
    if (service === 'storage') binding = storageBinding(key);
    else if (service === 'assets') binding = assetsBinding(key);
    else if (CF_BINDINGS[service]) binding = CF_BINDINGS[service](key);
    else {
      binding = {};
      for (const m of BINDING_METHODS[service] || []) {
        binding[m] = (...args) => bindingCall(key, m, args);
      }
      binding = Object.freeze(binding);
    }
    Object.defineProperty(target, key, { value: binding, enumerable: true, configurable: false, writable: false });
  }
}
