// url.js: URL (parsed by the host) and URLSearchParams (application/x-www-form-urlencoded).
function percentDecode(s) {
  const bytes = [];
  const enc = ops.encodeUtf8(s);
  for (let i = 0; i < enc.length; i++) {
    const b = enc[i];
    if (b === 0x25 && i + 2 < enc.length) {
      const h = String.fromCharCode(enc[i + 1], enc[i + 2]);
      if (/^[0-9a-fA-F]{2}$/.test(h)) { bytes.push(parseInt(h, 16)); i += 2; continue; }
    }
    bytes.push(b);
  }
  return ops.decodeUtf8(new Uint8Array(bytes), false);
}
function formParse(s) {
  const out = [];
  for (const part of s.split('&')) {
    if (!part) continue;
    const i = part.indexOf('=');
    const name = i < 0 ? part : part.slice(0, i);
    const value = i < 0 ? '' : part.slice(i + 1);
    out.push([percentDecode(name.replace(/\+/g, ' ')), percentDecode(value.replace(/\+/g, ' '))]);
  }
  return out;
}
function formEncode(s) {
  const b = utf8(s);
  let out = '';
  for (const c of b) {
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2a || c === 0x2d || c === 0x2e || c === 0x5f) out += String.fromCharCode(c);
    else if (c === 0x20) out += '+';
    else out += '%' + c.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

class URLSearchParams {
  #list = [];
  #url = null;
  constructor(init = '') {
    if (init instanceof URLSearchParams) this.#list = init.#list.map(([k, v]) => [k, v]);
    else if (init !== null && typeof init === 'object' || typeof init === 'function') {
      if (typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          const p = [...pair];
          if (p.length !== 2) throw new TypeError('Each query pair must be an iterable [name, value] tuple');
          this.#list.push([String(p[0]), String(p[1])]);
        }
      } else {
        for (const k of Object.keys(init)) this.#list.push([String(k), String(init[k])]);
      }
    } else {
      let s = String(init);
      if (s.startsWith('?')) s = s.slice(1);
      this.#list = formParse(s);
    }
  }
  static _attach(params, url) { params.#url = url; }
  static _reset(params, query) { params.#list = formParse(query.startsWith('?') ? query.slice(1) : query); }
  #update() { if (this.#url) URL._setSearch(this.#url, this.toString()); }
  get size() { return this.#list.length; }
  append(name, value) { this.#list.push([String(name), String(value)]); this.#update(); }
  delete(name, value = undefined) {
    name = String(name);
    this.#list = this.#list.filter(([k, v]) => !(k === name && (value === undefined || v === String(value))));
    this.#update();
  }
  get(name) { name = String(name); const e = this.#list.find(([k]) => k === name); return e ? e[1] : null; }
  getAll(name) { name = String(name); return this.#list.filter(([k]) => k === name).map(([, v]) => v); }
  has(name, value = undefined) { name = String(name); return this.#list.some(([k, v]) => k === name && (value === undefined || v === String(value))); }
  set(name, value) {
    name = String(name); value = String(value);
    const i = this.#list.findIndex(([k]) => k === name);
    if (i < 0) this.#list.push([name, value]);
    else { this.#list[i][1] = value; this.#list = this.#list.filter(([k], j) => j <= i || k !== name); }
    this.#update();
  }
  sort() {
    this.#list = this.#list.map((e, i) => [e, i]).sort((a, b) => (a[0][0] < b[0][0] ? -1 : a[0][0] > b[0][0] ? 1 : a[1] - b[1])).map(([e]) => e);
    this.#update();
  }
  forEach(cb, thisArg = undefined) { for (const [k, v] of this.#list.slice()) cb.call(thisArg, v, k, this); }
  *entries() { for (let i = 0; i < this.#list.length; i++) yield [this.#list[i][0], this.#list[i][1]]; }
  *keys() { for (const [k] of this.entries()) yield k; }
  *values() { for (const [, v] of this.entries()) yield v; }
  [Symbol.iterator]() { return this.entries(); }
  toString() { return this.#list.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&'); }
  get [Symbol.toStringTag]() { return 'URLSearchParams'; }
}
define('URLSearchParams', URLSearchParams);

// The host's parse of a URL string (against a base string), or null when either does not parse.
function urlParse(url, base) {
  url = wellFormed(String(url));
  return base === undefined ? ops.urlParse(url) : ops.urlParse(url, wellFormed(String(base)));
}
const URL_PARTS = ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash', 'origin'];
class URL {
  #p; #params;
  constructor(url, base = undefined) {
    if (arguments.length < 1) throw new TypeError('URL needs 1 argument');
    const p = urlParse(url, base);
    if (!p) throw new TypeError(base === undefined ? `Invalid URL: ${url}` : `Invalid URL: ${url} against ${base}`);
    this.#p = p;
    this.#params = new URLSearchParams(p[8]);
    URLSearchParams._attach(this.#params, this);
  }
  static canParse(url, base = undefined) { return !!urlParse(url, base); }
  static parse(url, base = undefined) { try { return new URL(url, base); } catch { return null; } }
  static _parts(u) { return u.#p; }
  static _set(u, part, v) { u.#set(part, v); }
  static _setSearch(u, query) { u.#p = ops.urlSet(u.#p[0], 'query', query); }
  #set(part, value) {
    // Throws a TypeError only for an href that does not parse; other values the spec ignores change nothing.
    const p = ops.urlSet(this.#p[0], part, wellFormed(String(value)));
    this.#p = p;
    if (part === 'href' || part === 'search') URLSearchParams._reset(this.#params, p[8]);
  }
  get searchParams() { return this.#params; }
  toString() { return this.#p[0]; }
  toJSON() { return this.#p[0]; }
  get [Symbol.toStringTag]() { return 'URL'; }
}
URL_PARTS.forEach((name, i) => {
  const desc = { get() { return this._get(i); }, configurable: true, enumerable: true };
  if (name !== 'origin') desc.set = function (v) { this._setPart(name, v); };
  Object.defineProperty(URL.prototype, name, desc);
});
{
  // Accessors reach the private state through these two methods, hidden from enumeration.
  const getters = { _get(i) { return URL._parts(this)[i]; }, _setPart(name, v) { URL._set(this, name, v); } };
  Object.defineProperty(URL.prototype, '_get', { value: getters._get });
  Object.defineProperty(URL.prototype, '_setPart', { value: getters._setPart });
}
define('URL', URL);
