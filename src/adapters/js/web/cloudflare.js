// cloudflare.js: Cloudflare's binding APIs over the same `binding` op as hyper-connect's: Workers KV
// (`KVNamespace`), R2 (`R2Bucket`, `R2Object`, `R2ObjectBody`), Queues producers (`Queue`) and service bindings
// (`Fetcher`). The host answers `{ ok: true, ... }` or `{ ok: false, status, msg }`; a refusal throws, a TypeError
// for bad arguments (400), an Error otherwise.
async function cfCall(name, method, args) {
  const out = await opAsync(ops.binding(name, method, JSON.stringify(args), false));
  return cfResult(JSON.parse(ops.decodeUtf8(out, false)));
}
function cfResult(out) {
  if (out && out.ok === false) throw new (out.status === 400 ? TypeError : Error)(out.msg);
  return out;
}
// A value to store: `{ text }` for a string, `{ base64 }` for bytes (streams are read whole first).
async function cfValue(value, what) {
  if (typeof value === 'string') return { text: value };
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return { base64: ops.b64encode(toBytes(value)) };
  if (value instanceof ReadableStream) return { base64: ops.b64encode(await readAll(value)) };
  throw new TypeError(`${what} accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.`);
}
function storedBytes(v) { return v.base64 !== undefined ? (ops.b64decode(v.base64) || new Uint8Array(0)) : utf8(v.text); }
function kvDecode(v, type) {
  if (v === null || v === undefined) return null;
  const text = () => (v.text !== undefined ? v.text : ops.decodeUtf8(storedBytes(v), false));
  switch (type) {
    case 'text': return text();
    case 'json': return JSON.parse(text());
    case 'arrayBuffer': return storedBytes(v).slice().buffer;
    case 'stream': return new Response(storedBytes(v)).body;
    default: throw new TypeError('Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".');
  }
}
const KV_TYPES = ['text', 'json', 'arrayBuffer', 'stream'];
function kvType(options) {
  let type = 'text';
  if (typeof options === 'string') type = options;
  else if (options && options.type !== undefined) type = options.type;
  if (!KV_TYPES.includes(type)) throw new TypeError('Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".');
  return type;
}
function kvBinding(name) {
  async function one(key, type, withMetadata) {
    const out = await cfCall(name, 'get', [String(key)]);
    const value = kvDecode(out.value, type);
    return withMetadata ? { value, metadata: out.value === null ? null : out.metadata, cacheStatus: null } : value;
  }
  async function many(keys, options, withMetadata) {
    const out = new Map();
    for (const k of keys) out.set(k, await one(k, kvType(options), withMetadata));
    return out;
  }
  return Object.freeze({
    async get(key, options) {
      if (Array.isArray(key)) return many(key, options, false);
      return one(key, kvType(options), false);
    },
    async getWithMetadata(key, options) {
      if (Array.isArray(key)) return many(key, options, true);
      return one(key, kvType(options), true);
    },
    async put(key, value, options = {}) {
      const stored = await cfValue(value, 'KV put()');
      const o = options || {};
      await cfCall(name, 'put', [String(key), stored, { expiration: o.expiration, expirationTtl: o.expirationTtl, metadata: o.metadata }]);
    },
    async delete(key) { await cfCall(name, 'delete', [String(key)]); },
    async list(options = {}) {
      const o = options || {};
      const out = await cfCall(name, 'list', [{ prefix: o.prefix, limit: o.limit, cursor: o.cursor }]);
      const result = { keys: out.keys, list_complete: out.list_complete, cacheStatus: null };
      if (!out.list_complete) result.cursor = out.cursor;
      return result;
    },
  });
}

const HTTP_METADATA = ['contentType', 'contentLanguage', 'contentDisposition', 'contentEncoding', 'cacheControl', 'cacheExpiry'];
const HTTP_HEADERS = { contentType: 'content-type', contentLanguage: 'content-language', contentDisposition: 'content-disposition', contentEncoding: 'content-encoding', cacheControl: 'cache-control', cacheExpiry: 'expires' };
function r2HttpMetadata(m) {
  const out = {};
  if (m instanceof Headers) {
    for (const k of HTTP_METADATA) { const v = m.get(HTTP_HEADERS[k]); if (v !== null) out[k] = k === 'cacheExpiry' ? Date.parse(v) : v; }
  } else if (m && typeof m === 'object') {
    for (const k of HTTP_METADATA) if (m[k] !== undefined) out[k] = k === 'cacheExpiry' ? new Date(m[k]).getTime() : String(m[k]);
  }
  return out;
}
class R2Object {
  constructor(o) {
    this.key = o.key;
    this.version = o.version;
    this.size = o.size;
    this.etag = o.etag;
    this.httpEtag = `"${o.etag}"`;
    this.uploaded = new Date(o.uploaded);
    const http = { ...(o.httpMetadata || {}) };
    if (http.cacheExpiry !== undefined) http.cacheExpiry = new Date(http.cacheExpiry);
    this.httpMetadata = http;
    this.customMetadata = { ...(o.customMetadata || {}) };
    this.checksums = {};
    this.storageClass = 'Standard';
    if (o.range) this.range = o.range;
  }
  writeHttpMetadata(headers) {
    for (const k of HTTP_METADATA) {
      const v = this.httpMetadata[k];
      if (v !== undefined) headers.set(HTTP_HEADERS[k], v instanceof Date ? v.toUTCString() : v);
    }
  }
}
class R2ObjectBody extends R2Object {
  #res;
  constructor(o, stream) { super(o); this.#res = new Response(stream); }
  get body() { return this.#res.body; }
  get bodyUsed() { return this.#res.bodyUsed; }
  arrayBuffer() { return this.#res.arrayBuffer(); }
  bytes() { return this.#res.bytes(); }
  text() { return this.#res.text(); }
  json() { return this.#res.json(); }
  blob() { return this.#res.blob(); }
}
// A `Range: bytes=...` header as R2's range (`{ offset, length }`, `{ offset }` or `{ suffix }`); none if absent.
function r2RangeHeader(value) {
  const m = value && /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') return { suffix: Number(m[2]) };
  if (m[2] === '') return { offset: Number(m[1]) };
  return { offset: Number(m[1]), length: Number(m[2]) - Number(m[1]) + 1 };
}
function r2Binding(name) {
  return Object.freeze({
    async put(key, value, options = {}) {
      const o = options || {};
      const body = value === null || value === undefined ? null : (typeof value === 'string' || value instanceof ArrayBuffer || ArrayBuffer.isView(value) || value instanceof ReadableStream || value instanceof Blob ? new Response(value).body : null);
      if (body === null && value !== null && value !== undefined) throw new TypeError('R2 put() accepts only nulls, strings, Blobs, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.');
      const opts = { httpMetadata: r2HttpMetadata(o.httpMetadata), customMetadata: o.customMetadata };
      const id = ops.binding(name, 'put', JSON.stringify([String(key), opts]), true);
      const done = opAsync(id);
      if (body) pumpRequestBody(id, body); else ops.sinkClose(id);
      const out = cfResult(JSON.parse(ops.decodeUtf8(await done, false)));
      return new R2Object(out.object);
    },
    async get(key, options = {}) {
      const o = options || {};
      const range = o.range instanceof Headers ? r2RangeHeader(o.range.get('range')) : o.range;
      const out = await opAsync(ops.binding(name, 'get', JSON.stringify([String(key), { range }]), false));
      if (Array.isArray(out)) {
        const [, , flat, rid] = out;
        let head = null;
        for (let i = 0; i < flat.length; i += 2) if (flat[i] === 'x-nano-object') head = JSON.parse(flat[i + 1]);
        return new R2ObjectBody(head, ridStream(rid));
      }
      const r = cfResult(JSON.parse(ops.decodeUtf8(out, false)));
      return r.object === null ? null : new R2ObjectBody(r.object, null);
    },
    async head(key) {
      const out = await cfCall(name, 'head', [String(key)]);
      return out.object === null ? null : new R2Object(out.object);
    },
    async delete(keys) {
      await cfCall(name, 'delete', [Array.isArray(keys) ? keys.map(String) : String(keys)]);
    },
    async list(options = {}) {
      const o = options || {};
      const out = await cfCall(name, 'list', [{ prefix: o.prefix, delimiter: o.delimiter, cursor: o.cursor, startAfter: o.startAfter, limit: o.limit, include: o.include }]);
      const result = { objects: out.objects.map((x) => new R2Object(x)), truncated: out.truncated, delimitedPrefixes: out.delimitedPrefixes };
      if (out.truncated) result.cursor = out.cursor;
      return result;
    },
  });
}

function queueProducer(name) {
  const message = (body, o) => ({ body, contentType: o && o.contentType, delaySeconds: o && o.delaySeconds });
  return Object.freeze({
    async send(body, options = {}) {
      await cfCall(name, 'sendBatch', [[message(body, options)]]);
    },
    async sendBatch(messages, options = {}) {
      const list = Array.from(messages, (m) => message(m.body, { delaySeconds: (options && options.delaySeconds), ...m }));
      await cfCall(name, 'sendBatch', [list]);
    },
  });
}

function serviceBinding(name) {
  return Object.freeze({
    fetch(input, init = undefined) {
      const req = new Request(typeof input === 'string' && input.startsWith('/') ? `http://${name.toLowerCase()}.internal${input}` : input, init);
      return serviceFetch(name, req);
    },
  });
}

// A service binding's fetch: the request goes to the bound app in process, its body streamed.
async function serviceFetch(name, req) {
  const b = req[kBody];
  const stream = b.stream || (b.bytes ? bytesStream(bodyBytes(b.bytes)) : null);
  const id = ops.binding(name, 'fetch', JSON.stringify([req.method, req.url, flatHeaders(req.headers)]), !!stream);
  const done = opAsync(id).catch(fetchError);
  if (stream) pumpRequestBody(id, stream);
  const [status, statusText, flat, rid] = await done;
  const body = NULL_BODY.includes(status) || req.method === 'HEAD' ? null : ridStream(rid);
  if (!body) ops.bodyCancel(rid);
  const res = new Response(null, { status, statusText, headers: Headers._fromFlat(flat, 'none') });
  res[kBody] = { bytes: null, stream: body, used: false };
  return Response._internal(res, 'basic', req.url, false);
}

const CF_BINDINGS = { kv: kvBinding, r2: r2Binding, queues: queueProducer, app: serviceBinding };
