// websocket.js: server-side WebSockets as Workers offers them. `new WebSocketPair()` gives `[client, server]`; the
// app calls `server.accept()`, listens for `message` and `close`, and answers the upgrade request with
// `new Response(null, { status: 101, webSocket: client })`. host.js then asks the host to complete the upgrade
// (`ops.respondWebSocket`) and attaches the server end to the socket's resource: `send` and `close` go out through
// `ops.wsSend` and `ops.wsClose`, and each message in arrives as the completion of `ops.wsRecv`, one turn per
// message (tagged bytes: `T` text, `B` binary, `C` close with a 2-byte code and the reason). Messages sent before the
// response are kept and sent once the socket is attached.
// Outbound WebSockets: `new WebSocket(url, protocols)` connects (`ops.wsConnect`, a subrequest under the outbound
// policy) and fires `open`, or `error` and `close` (1006) when it cannot; `fetch` with `Upgrade: websocket`
// resolves to a `101` response whose `webSocket` the app accepts, as on Workers. Either belongs to the request that
// opened it and closes when that request ends.
const kWsKey = Symbol('WebSocket');
const WS_CONNECTING = 0, WS_OPEN = 1, WS_CLOSING = 2, WS_CLOSED = 3;
class CloseEvent extends Event {
  #i;
  constructor(type, init = {}) { super(type, init); this.#i = init || {}; }
  get code() { return this.#i.code === undefined ? 0 : this.#i.code; }
  get reason() { return this.#i.reason || ''; }
  get wasClean() { return !!this.#i.wasClean; }
}
define('CloseEvent', CloseEvent);
class WebSocket extends EventTarget {
  #state = WS_OPEN; #accepted = false; #rid = null; #queued = []; #peer = null; #closed = null; #handlers = {};
  #url = null; #protocol = '';
  constructor(url, protocols = undefined) {
    super();
    if (protocols === kWsKey) return;
    const parsed = new URL(String(url));
    const scheme = parsed.protocol;
    if (!['ws:', 'wss:', 'http:', 'https:'].includes(scheme)) {
      throw new DOMException(`The URL's scheme must be ws: or wss:, not ${scheme}`, 'SyntaxError');
    }
    if (parsed.hash) throw new DOMException('A WebSocket URL has no fragment', 'SyntaxError');
    if (scheme === 'http:') parsed.protocol = 'ws:'; else if (scheme === 'https:') parsed.protocol = 'wss:';
    const list = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...protocols].map(String);
    for (const p of list) {
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p)) throw new DOMException(`Invalid subprotocol '${p}'`, 'SyntaxError');
    }
    if (new Set(list).size !== list.length) throw new DOMException('A subprotocol is listed twice', 'SyntaxError');
    this.#url = parsed.href;
    this.#state = WS_CONNECTING;
    this.#accepted = true;
    const headers = list.length ? ['sec-websocket-protocol', list.join(', ')] : [];
    WebSocket.#open(this.#url, headers).then(({ rid, protocol }) => {
      this.#protocol = protocol;
      this.#state = WS_OPEN;
      this.#start(rid);
      this.#fire(new Event('open'));
    }, (e) => this.#finish(1006, String(e && e.message || e), false));
  }
  static async #open(url, flat) {
    const m = await opAsync(ops.wsConnect(url, flat));
    return JSON.parse(ops.decodeUtf8(m, false));
  }
  // fetch.js: a fetch with `Upgrade: websocket` opens the socket with the request's headers; its response's
  // `webSocket`, which the app accepts.
  static async _connect(url, flat) {
    const { rid, protocol } = await WebSocket.#open(url, flat);
    const ws = new WebSocket(null, kWsKey);
    ws.#url = url; ws.#protocol = protocol;
    ws.#start(rid);
    return ws;
  }
  // Attaches the socket `rid`: what was sent before goes out, and messages flow in once accepted.
  #start(rid) {
    this.#rid = rid;
    for (const q of this.#queued) {
      if (q[0] === null) ops.wsClose(rid, q[1], q[2]); else ops.wsSend(rid, q[0], q[1]);
    }
    this.#queued = [];
    if (this.#accepted) this.#receive();
  }
  static _pair() {
    const client = new WebSocket(null, kWsKey), server = new WebSocket(null, kWsKey);
    client.#peer = server; server.#peer = client;
    return [client, server];
  }
  get readyState() { return this.#state; }
  get url() { return this.#url; }
  get protocol() { return this.#protocol; }
  get extensions() { return ''; }
  accept() {
    if (this.#accepted) throw new DOMException('The WebSocket was already accepted', 'InvalidStateError');
    this.#accepted = true;
    if (this.#rid !== null) this.#receive();
  }
  send(data) {
    if (!this.#accepted) throw new DOMException('Call accept() before send()', 'InvalidStateError');
    if (this.#state === WS_CONNECTING) throw new DOMException('The WebSocket is still connecting', 'InvalidStateError');
    if (this.#state !== WS_OPEN) throw new DOMException('The WebSocket is closed', 'InvalidStateError');
    const text = typeof data === 'string';
    const bytes = text ? utf8(data) : copyBytes(toBytes(data, 'WebSocket message'));
    if (this.#rid === null) this.#queued.push([text, bytes]); else ops.wsSend(this.#rid, text, bytes);
  }
  close(code = 1000, reason = '') {
    code = Number(code);
    if (code !== 1000 && !(code >= 3000 && code <= 4999)) throw new DOMException(`Invalid close code ${code}`, 'InvalidAccessError');
    reason = String(reason);
    if (utf8(reason).byteLength > 123) throw new DOMException('The close reason is longer than 123 bytes', 'SyntaxError');
    if (this.#state !== WS_OPEN && this.#state !== WS_CONNECTING) return;
    this.#state = WS_CLOSING;
    if (this.#rid === null) this.#queued.push([null, code, reason]); else ops.wsClose(this.#rid, code, reason);
  }
  // host.js: the peer of a response's client end is the app's server end; it goes on the socket `rid`. Resolves
  // once the socket is closed, so the request lasts as long as its socket.
  static _attach(client, rid) {
    if (client instanceof WebSocket && !client.#peer && client.#rid !== null && !client.#accepted) {
      return WebSocket.#proxy(client, rid);
    }
    const server = client.#peer;
    if (!server) throw new TypeError('The response webSocket is not the client end of a WebSocketPair');
    server.#closed = new Promise((resolve) => { server.#handlers.done = resolve; });
    server.#start(rid);
    return server.#closed;
  }
  // The app answered with the response of a fetch with `Upgrade: websocket`: the client's socket `rid` and the
  // opened one pass each other's messages and closes until either ends.
  static #proxy(outbound, rid) {
    const inbound = new WebSocket(null, kWsKey);
    const done = new Promise((resolve) => { inbound.#handlers.done = resolve; });
    const pass = (to) => (e) => { if (to.#state === WS_OPEN) to.send(e.data); };
    const end = (to) => (e) => {
      const code = e.code === 1000 || (e.code >= 3000 && e.code <= 4999) ? e.code : 1000;
      to.close(code, e.reason);
    };
    inbound.addEventListener('message', pass(outbound));
    outbound.addEventListener('message', pass(inbound));
    inbound.addEventListener('close', end(outbound));
    outbound.addEventListener('close', end(inbound));
    inbound.#accepted = true;
    inbound.#start(rid);
    outbound.accept();
    return done;
  }
  async #receive() {
    for (;;) {
      let m;
      try {
        m = await opAsync(ops.wsRecv(this.#rid));
      } catch (e) {
        this.#finish(1006, String(e && e.message || e), false);
        return;
      }
      const tag = m[0];
      if (tag === 84 || tag === 66) {
        const data = tag === 84 ? ops.decodeUtf8(m.subarray(1), false) : m.slice(1).buffer;
        this.#fire(new MessageEvent('message', { data }));
        continue;
      }
      const code = (m[1] << 8) | m[2];
      this.#finish(code, ops.decodeUtf8(m.subarray(3), false), code !== 1006);
      return;
    }
  }
  #finish(code, reason, wasClean) {
    if (this.#state === WS_CLOSED) return;
    this.#state = WS_CLOSED;
    if (!wasClean) this.#fire(new ErrorEvent('error', { message: reason || 'the WebSocket connection was lost' }));
    this.#fire(new CloseEvent('close', { code, reason, wasClean }));
    if (this.#handlers.done) this.#handlers.done();
  }
  #fire(event) {
    try { this.dispatchEvent(event); } catch (e) { reportError(e); }
  }
  get [Symbol.toStringTag]() { return 'WebSocket'; }
}
for (const type of ['open', 'message', 'close', 'error']) {
  const slot = Symbol(`on${type}`);
  Object.defineProperty(WebSocket.prototype, `on${type}`, {
    get() { return this[slot] || null; },
    set(f) {
      if (this[slot]) this.removeEventListener(type, this[slot]);
      this[slot] = typeof f === 'function' ? f : null;
      if (this[slot]) this.addEventListener(type, this[slot]);
    },
    configurable: true, enumerable: true,
  });
}
Object.assign(WebSocket, { CONNECTING: WS_CONNECTING, OPEN: WS_OPEN, CLOSING: WS_CLOSING, CLOSED: WS_CLOSED });
define('WebSocket', WebSocket);
function WebSocketPair() {
  if (!new.target) throw new TypeError("Class constructor WebSocketPair cannot be invoked without 'new'");
  const [client, server] = WebSocket._pair();
  return Object.assign(Object.create(WebSocketPair.prototype), { 0: client, 1: server });
}
WebSocketPair.prototype[Symbol.iterator] = function* pair() { yield this[0]; yield this[1]; };
define('WebSocketPair', WebSocketPair);
