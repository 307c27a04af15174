// fetch.js: Headers, Request, Response (with the body mixin over bytes or streams) and outbound fetch.
// HTTP token characters by char code (below 128), checked with a loop: a regexp would be compiled again in every
// new isolate, on its first request.
const TOKEN_CHARS = (() => {
  const t = new Array(128).fill(false);
  for (const c of "!#$%&'*+-.^_`|~") t[c.charCodeAt(0)] = true;
  for (let c = 48; c < 58; c++) t[c] = true;
  for (let c = 65; c < 91; c++) t[c] = t[c + 32] = true;
  return t;
})();
function isToken(s) {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || !TOKEN_CHARS[c]) return false;
  }
  return true;
}
// Names already checked, by the spelling the caller used: most code repeats a few names, so a map lookup
// replaces the token test on the hot path.
const NAMES = new Map();
function headerName(n) {
  if (typeof n !== 'string') n = String(n);
  const known = NAMES.get(n);
  if (known !== undefined) return known;
  if (!isToken(n)) throw new TypeError(`Invalid header name: "${n}"`);
  const lower = n.toLowerCase();
  if (NAMES.size < 512) NAMES.set(n, lower);
  return lower;
}
const isHttpSpace = (c) => c === 32 || c === 9 || c === 10 || c === 13;
function headerValue(v) {
  if (typeof v !== 'string') v = String(v);
  const n = v.length;
  if (n !== 0 && (isHttpSpace(v.charCodeAt(0)) || isHttpSpace(v.charCodeAt(n - 1)))) {
    let a = 0;
    let b = n;
    while (a < b && isHttpSpace(v.charCodeAt(a))) a++;
    while (b > a && isHttpSpace(v.charCodeAt(b - 1))) b--;
    v = v.slice(a, b);
  }
  if (v.indexOf('\r') !== -1 || v.indexOf('\n') !== -1 || v.indexOf('\0') !== -1) throw new TypeError(`Invalid header value: "${v}"`);
  return v;
}
// The list is flat, [name, value, name, value, ...] with names lowercase: the host hands headers over and takes
// them back in that shape, and a request or response needs no array per header.
class Headers {
  #list = [];
  #guard = 'none';
  constructor(init = undefined) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) { this.#list = init.#list.slice(); return; }
    if (typeof init !== 'object') throw new TypeError('Headers init must be an object or iterable');
    if (typeof init[Symbol.iterator] === 'function') {
      for (const pair of init) {
        const p = [...pair];
        if (p.length !== 2) throw new TypeError('Header pairs must have exactly two items');
        this.append(p[0], p[1]);
      }
    } else {
      for (const k of Object.keys(init)) this.append(k, init[k]);
    }
  }
  static _guard(h, g) { h.#guard = g; return h; }
  // The flat list itself, for the host to read (not to keep or change).
  static _raw(h) { return h.#list; }
  // Headers from the host: `flat` (which the Headers then owns) has names lowercase already, as HTTP libraries give
  // them.
  static _fromFlat(flat, guard) {
    const h = new Headers();
    h.#list = flat.length % 2 === 0 ? flat : flat.slice(0, flat.length - 1);
    h.#guard = guard;
    return h;
  }
  #check() { if (this.#guard === 'immutable') throw new TypeError('Headers are immutable'); }
  #without(name) {
    const out = [];
    const l = this.#list;
    for (let i = 0; i < l.length; i += 2) if (l[i] !== name) out.push(l[i], l[i + 1]);
    return out;
  }
  append(name, value) { this.#check(); this.#list.push(headerName(name), headerValue(value)); }
  delete(name) { this.#check(); this.#list = this.#without(headerName(name)); }
  get(name) {
    name = headerName(name);
    const l = this.#list;
    let out = null;
    for (let i = 0; i < l.length; i += 2) if (l[i] === name) out = out === null ? l[i + 1] : out + ', ' + l[i + 1];
    return out;
  }
  getSetCookie() {
    const l = this.#list;
    const out = [];
    for (let i = 0; i < l.length; i += 2) if (l[i] === 'set-cookie') out.push(l[i + 1]);
    return out;
  }
  has(name) {
    name = headerName(name);
    const l = this.#list;
    for (let i = 0; i < l.length; i += 2) if (l[i] === name) return true;
    return false;
  }
  set(name, value) {
    this.#check();
    name = headerName(name); value = headerValue(value);
    const l = this.#list;
    let i = 0;
    while (i < l.length && l[i] !== name) i += 2;
    if (i >= l.length) { l.push(name, value); return; }
    // The first one takes the value; later ones go.
    const out = l.slice(0, i + 2);
    out[i + 1] = value;
    for (let j = i + 2; j < l.length; j += 2) if (l[j] !== name) out.push(l[j], l[j + 1]);
    this.#list = out;
  }
  #sorted() {
    const l = this.#list;
    const seen = new Set();
    for (let i = 0; i < l.length; i += 2) seen.add(l[i]);
    const out = [];
    for (const n of [...seen].sort()) {
      if (n === 'set-cookie') for (const v of this.getSetCookie()) out.push([n, v]);
      else out.push([n, this.get(n)]);
    }
    return out;
  }
  forEach(cb, thisArg = undefined) { for (const [k, v] of this.#sorted()) cb.call(thisArg, v, k, this); }
  *entries() { yield* this.#sorted(); }
  *keys() { for (const [k] of this.#sorted()) yield k; }
  *values() { for (const [, v] of this.#sorted()) yield v; }
  [Symbol.iterator]() { return this.entries(); }
  get [Symbol.toStringTag]() { return 'Headers'; }
}
define('Headers', Headers);
// A Headers' flat list, for an op (which copies what it reads).
const flatHeaders = (h) => Headers._raw(h);

// A body is null, bytes (not yet turned into a stream), or a ReadableStream.
const kBody = Symbol('body');
function extractBody(init) {
  if (init === null || init === undefined) return { bytes: null, stream: null, type: null };
  // A non-empty string body stays a (well-formed) string until something needs its bytes: a response sent as is
  // goes to the host as text, with no buffer made for it.
  if (typeof init === 'string') return { bytes: init ? wellFormed(init) : utf8(init), stream: null, type: 'text/plain;charset=UTF-8' };
  if (init instanceof ReadableStream) return { bytes: null, stream: init, type: null };
  if (init instanceof URLSearchParams) return { bytes: utf8(init.toString()), stream: null, type: 'application/x-www-form-urlencoded;charset=UTF-8' };
  if (init instanceof Blob) return { bytes: Blob._bytes(init), stream: null, type: init.type || null };
  if (init instanceof FormData) { const m = multipartEncode(init); return { bytes: m.bytes, stream: null, type: m.type }; }
  if (init instanceof ArrayBuffer || ArrayBuffer.isView(init)) return { bytes: copyBytes(init), stream: null, type: null };
  if (typeof init === 'object' && typeof init[Symbol.asyncIterator] === 'function') return { bytes: null, stream: ReadableStream.from(init), type: null };
  return { bytes: utf8(String(init)), stream: null, type: 'text/plain;charset=UTF-8' };
}
// A body's bytes: kept as a string or as bytes (see extractBody).
function bodyBytes(v) { return typeof v === 'string' ? utf8(v) : v; }
function bytesStream(bytes) {
  let sent = false;
  return new ReadableStream({ pull(c) { if (!sent && bytes.byteLength) c.enqueue(bytes); sent = true; c.close(); } }, { highWaterMark: 0 });
}
function ridStream(rid) {
  return new ReadableStream({
    async pull(c) {
      const chunk = await opAsync(ops.bodyRead(rid));
      if (chunk === null) c.close(); else c.enqueue(chunk);
    },
    cancel() { ops.bodyCancel(rid); },
  }, { highWaterMark: 0 });
}
async function readAll(stream) {
  const reader = stream.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const b = toBytes(value, 'body chunk');
    chunks.push(b);
    total += b.byteLength;
  }
  return concatBytes(chunks, total);
}

class BodyMixin {
  get body() {
    const b = this[kBody];
    if (!b.stream && b.bytes) { b.stream = bytesStream(bodyBytes(b.bytes)); b.bytes = null; }
    return b.stream;
  }
  get bodyUsed() { const b = this[kBody]; return b.used || !!(b.stream && b.stream[kState].disturbed); }
  async #consume() {
    const b = this[kBody];
    if (this.bodyUsed) throw new TypeError('Body has already been used');
    if (b.stream && b.stream.locked) throw new TypeError('Body stream is locked');
    b.used = true;
    if (b.bytes) { const out = b.bytes; b.bytes = null; return bodyBytes(out); }
    if (!b.stream) return new Uint8Array(0);
    return readAll(b.stream);
  }
  arrayBuffer() { return this.#consume().then((b) => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer)); }
  bytes() { return this.#consume(); }
  text() { return this.#consume().then((b) => ops.decodeUtf8(b, false).replace(/^\uFEFF/, '')); }
  json() { return this.text().then((t) => JSON.parse(t)); }
  blob() {
    return this.#consume().then((b) => new Blob([b], { type: this.headers.get('content-type') || '' }));
  }
  async formData() {
    const type = this.headers.get('content-type') || '';
    const bytes = await this.#consume();
    if (/^multipart\/form-data/i.test(type)) return multipartDecode(bytes, type);
    if (/^application\/x-www-form-urlencoded/i.test(type)) {
      const form = new FormData();
      for (const [k, v] of new URLSearchParams(ops.decodeUtf8(bytes, false))) form.append(k, v);
      return form;
    }
    throw new TypeError(`Could not parse content as FormData (content-type ${type || 'missing'})`);
  }
}
function initBody(obj, init, headers) {
  const b = extractBody(init);
  obj[kBody] = { bytes: b.bytes, stream: b.stream, used: false };
  if (b.type && !headers.has('content-type')) headers.append('content-type', b.type);
}
function cloneBody(obj) {
  const b = obj[kBody];
  if (obj.bodyUsed) throw new TypeError('Body has already been used');
  if (b.stream) {
    const [s1, s2] = b.stream.tee();
    b.stream = s1;
    return { bytes: null, stream: s2, used: false };
  }
  return { bytes: b.bytes, stream: null, used: false };
}

const NULL_BODY = [101, 103, 204, 205, 304];
class Response extends BodyMixin {
  #status; #statusText; #headers; #type = 'default'; #url = ''; #redirected = false; #webSocket = null;
  constructor(body = null, init = {}) {
    super();
    init = init || {};
    const status = init.status !== undefined ? Number(init.status) : 200;
    // Workers: a 101 carries the client end of a WebSocketPair, and only then.
    const webSocket = init.webSocket === undefined ? null : init.webSocket;
    if (webSocket !== null && !(webSocket instanceof WebSocket)) throw new TypeError('Response webSocket must be a WebSocket');
    if (webSocket !== null && status !== 101) throw new RangeError('A Response with a webSocket must have status 101');
    if (status === 101 && webSocket === null) throw new RangeError('Response status 101 needs a webSocket (the client end of a WebSocketPair)');
    if (!Number.isInteger(status) || (status !== 101 && (status < 200 || status > 599))) throw new RangeError(`Response status must be 200 to 599, got ${init.status}`);
    this.#webSocket = webSocket;
    const statusText = init.statusText !== undefined ? String(init.statusText) : '';
    if (statusText !== '' && (statusText.indexOf('\r') !== -1 || statusText.indexOf('\n') !== -1)) throw new TypeError('Invalid statusText');
    this.#status = status;
    this.#statusText = statusText;
    this.#headers = new Headers(init.headers);
    if (body !== null && body !== undefined && NULL_BODY.includes(status)) throw new TypeError(`Response with status ${status} cannot have a body`);
    initBody(this, body, this.#headers);
  }
  static _internal(r, type, url, redirected) { r.#type = type; r.#url = url; r.#redirected = redirected; Headers._guard(r.#headers, 'immutable'); return r; }
  static error() { const r = new Response(null, { status: 200 }); r.#status = 0; r.#type = 'error'; return r; }
  static redirect(url, status = 302) {
    if (![301, 302, 303, 307, 308].includes(status)) throw new RangeError(`Invalid redirect status ${status}`);
    const href = new URL(url).href;
    return new Response(null, { status, headers: { location: href } });
  }
  static json(data, init = {}) {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Value is not JSON serializable');
    const headers = new Headers(init && init.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new Response(text, Object.assign({}, init, { headers }));
  }
  get status() { return this.#status; }
  get statusText() { return this.#statusText; }
  get webSocket() { return this.#webSocket; }
  get ok() { return this.#status >= 200 && this.#status <= 299; }
  get headers() { return this.#headers; }
  get type() { return this.#type; }
  get url() { return this.#url; }
  get redirected() { return this.#redirected; }
  clone() {
    const r = new Response(null, { status: this.#status === 0 ? 200 : this.#status, statusText: this.#statusText, headers: this.#headers });
    r[kBody] = cloneBody(this);
    r.#status = this.#status; r.#type = this.#type; r.#url = this.#url; r.#redirected = this.#redirected;
    return r;
  }
  get [Symbol.toStringTag]() { return 'Response'; }
}
define('Response', Response);

const METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH'];
const DEFAULT_INIT = Object.freeze({ cache: 'default', credentials: 'same-origin', mode: 'cors', integrity: '', keepalive: false, referrer: 'about:client', referrerPolicy: '', destination: '' });
const kIncoming = Symbol('incoming');
class Request extends BodyMixin {
  #method; #url; #headers; #signal = null; #redirect = 'follow'; #init = DEFAULT_INIT;
  // An incoming request's URL and headers as the host gave them, until first read (`#url`, `#headers` null).
  #rawUrl = null; #flat = null;
  constructor(input, init = {}) {
    super();
    if (input === kIncoming) return;
    init = init || {};
    let base = null;
    if (input instanceof Request) base = input;
    else {
      const parsed = ops.urlParse(String(input));
      if (!parsed) throw new TypeError(`Invalid URL: ${String(input)}`);
      this.#url = parsed[0];
    }
    if (base) this.#url = base.url;
    let method = init.method !== undefined ? String(init.method) : base ? base.method : 'GET';
    if (!isToken(method)) throw new TypeError(`Invalid method: ${method}`);
    if (METHODS.includes(method.toUpperCase())) method = method.toUpperCase();
    if (['CONNECT', 'TRACE', 'TRACK'].includes(method.toUpperCase())) throw new TypeError(`Forbidden method: ${method}`);
    this.#method = method;
    this.#headers = new Headers(init.headers !== undefined ? init.headers : base ? base.headers : undefined);
    this.#redirect = init.redirect || (base ? base.redirect : 'follow');
    this.#signal = init.signal || (base ? base.signal : new AbortController().signal);
    this.#init = { cache: init.cache || 'default', credentials: init.credentials || 'same-origin', mode: init.mode || 'cors', integrity: init.integrity || '', keepalive: !!init.keepalive, referrer: 'about:client', referrerPolicy: init.referrerPolicy || '', destination: '' };
    let body = init.body;
    if (body === undefined && base) {
      if (base.bodyUsed) throw new TypeError('Request body has already been used');
      this[kBody] = base[kBody];
      base[kBody] = { bytes: null, stream: null, used: true };
      if ((method === 'GET' || method === 'HEAD') && (this[kBody].bytes || this[kBody].stream)) throw new TypeError('Request with GET/HEAD method cannot have body');
      return;
    }
    if (body !== undefined && body !== null && (method === 'GET' || method === 'HEAD')) throw new TypeError('Request with GET/HEAD method cannot have body');
    initBody(this, body, this.#headers);
  }
  // A request from the host: its method, URL and headers are valid HTTP already. Its URL is parsed and its
  // Headers made when first read (many handlers never read them); its signal is made when first read, or when the
  // host aborts the request (`_abort`).
  static _incoming(method, url, flat, body) {
    if (!METHODS.includes(method)) {
      const r = new Request(url, { method });
      r.#headers = Headers._fromFlat(flat, 'immutable');
      r[kBody] = { bytes: null, stream: body, used: false };
      return r;
    }
    const r = new Request(kIncoming);
    r.#rawUrl = url;
    r.#url = null;
    r.#method = method;
    r.#flat = flat;
    r.#headers = null;
    r[kBody] = { bytes: null, stream: body, used: false };
    return r;
  }
  static _abort(r, reason) { r.signal[kAbort](reason); }
  get method() { return this.#method; }
  get url() {
    if (this.#url === null) {
      const parsed = ops.urlParse(this.#rawUrl);
      if (!parsed) throw new TypeError(`Invalid URL: ${this.#rawUrl}`);
      this.#url = parsed[0];
      this.#rawUrl = null;
    }
    return this.#url;
  }
  get headers() {
    if (this.#headers === null) {
      this.#headers = Headers._fromFlat(this.#flat, 'immutable');
      this.#flat = null;
    }
    return this.#headers;
  }
  get signal() {
    if (this.#signal === null) this.#signal = new AbortSignal(kAbort);
    return this.#signal;
  }
  get redirect() { return this.#redirect; }
  get cache() { return this.#init.cache; }
  get credentials() { return this.#init.credentials; }
  get mode() { return this.#init.mode; }
  get integrity() { return this.#init.integrity; }
  get keepalive() { return this.#init.keepalive; }
  get referrer() { return this.#init.referrer; }
  get referrerPolicy() { return this.#init.referrerPolicy; }
  get destination() { return this.#init.destination; }
  get cf() { return undefined; }
  clone() {
    const r = new Request(this.url, { method: this.#method, headers: this.headers, redirect: this.#redirect, signal: this.signal });
    r[kBody] = cloneBody(this);
    return r;
  }
  get [Symbol.toStringTag]() { return 'Request'; }
}
define('Request', Request);

// Streams an outbound request body chunk by chunk while the request is under way.
async function pumpRequestBody(id, stream) {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const chunk = typeof value === 'string' ? utf8(value) : toBytes(value, 'request body chunk');
      if (chunk.byteLength) await opAsync(ops.sinkWrite(id, chunk));
    }
    ops.sinkClose(id);
  } catch (e) {
    ops.sinkClose(id, String(e && e.message || e));
    reader.cancel(e).catch(() => {});
  }
}

async function fetch(input, init = undefined) {
  const req = new Request(input, init);
  if (req.signal.aborted) throw req.signal.reason;
  if ((req.headers.get('upgrade') || '').toLowerCase() === 'websocket') {
    const ws = await WebSocket._connect(req.url, flatHeaders(req.headers)).catch(fetchError);
    return new Response(null, { status: 101, webSocket: ws });
  }
  const b = req[kBody];
  const streaming = !!b.stream;
  const id = ops.fetch(req.method, req.url, flatHeaders(req.headers), b.bytes ? bodyBytes(b.bytes) : null, streaming, req.redirect);
  const done = opAsync(id).catch(fetchError);
  if (streaming) pumpRequestBody(id, b.stream);
  const result = req.signal
    ? await Promise.race([done, new Promise((_, reject) => req.signal.addEventListener('abort', () => reject(req.signal.reason), { once: true }))])
    : await done;
  const [status, statusText, flat, rid, redirectedTo] = result;
  const body = NULL_BODY.includes(status) || req.method === 'HEAD' ? null : ridStream(rid);
  if (!body) ops.bodyCancel(rid);
  const res = new Response(null, { status: status < 200 ? 200 : status, statusText, headers: Headers._fromFlat(flat, 'none') });
  res[kBody] = { bytes: null, stream: body, used: false };
  return Response._internal(res, 'basic', redirectedTo || req.url, !!redirectedTo);
}
// The host fails a fetch with `<CODE> <message>`: the message becomes the TypeError's, the code its cause's
// (`EPOLICY` outbound policy, `ENOTFOUND` DNS, `ECONNREFUSED`, `ETIMEDOUT`, `EREDIRECT`, `EFETCH`).
function fetchError(e) {
  const text = String(e && e.message || e);
  const m = /^(E[A-Z]+) ([\s\S]*)$/.exec(text);
  if (!m) throw e;
  const cause = new Error(m[2]);
  cause.code = m[1];
  throw new TypeError(m[2], { cause });
}
define('fetch', fetch);

// WebAssembly's streaming compile (the WebAssembly Web API), where the engine has WebAssembly: from a Response (or a
// promise of one) that is ok and `application/wasm`, whose bytes are read whole and compiled as `compile` does.
// Installed by `init`, per isolate: V8 adds the WebAssembly object to a context after its snapshot.
function installWasmStreaming() {
  if (typeof WebAssembly !== 'object') return;
  const wasmBytes = async (source) => {
    const response = await source;
    if (!(response instanceof Response)) throw new TypeError('WebAssembly streaming needs a Response or a promise of one');
    const type = (response.headers.get('content-type') || '').trim().toLowerCase();
    if (type !== 'application/wasm') {
      throw new TypeError(`WebAssembly streaming needs Content-Type application/wasm, the response has '${type}'`);
    }
    if (!response.ok) throw new TypeError(`WebAssembly streaming needs an ok response, this one is ${response.status}`);
    if (response.bodyUsed) throw new TypeError('WebAssembly streaming needs an unread body');
    return response.arrayBuffer();
  };
  const methods = {
    async compileStreaming(source) { return WebAssembly.compile(await wasmBytes(source)); },
    async instantiateStreaming(source, imports) { return WebAssembly.instantiate(await wasmBytes(source), imports); },
  };
  for (const name of Object.keys(methods)) {
    Object.defineProperty(WebAssembly, name, { value: methods[name], writable: true, configurable: true, enumerable: false });
  }
}
