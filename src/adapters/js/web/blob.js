// blob.js: Blob, File, FormData.
class Blob {
  #bytes; #type;
  constructor(parts = [], options = {}) {
    if (parts === null || typeof parts !== 'object' || typeof parts[Symbol.iterator] !== 'function') {
      if (parts !== undefined) throw new TypeError('Blob parts must be a sequence');
      parts = [];
    }
    const chunks = [];
    for (const p of parts) {
      if (p instanceof Blob) chunks.push(p.#bytes);
      else if (p instanceof ArrayBuffer || ArrayBuffer.isView(p)) chunks.push(copyBytes(p));
      else chunks.push(utf8(String(p)));
    }
    this.#bytes = concatBytes(chunks);
    const t = options && options.type !== undefined ? String(options.type) : '';
    this.#type = /^[\x20-\x7e]*$/.test(t) ? t.toLowerCase() : '';
  }
  static _bytes(b) { return b.#bytes; }
  get size() { return this.#bytes.byteLength; }
  get type() { return this.#type; }
  slice(start = 0, end = undefined, type = '') {
    const n = this.#bytes.byteLength;
    const rel = (v, d) => { v = v === undefined ? d : Math.trunc(Number(v)) || 0; return v < 0 ? Math.max(n + v, 0) : Math.min(v, n); };
    const from = rel(start, 0), to = rel(end, n);
    const b = new Blob([], { type });
    b.#bytes = this.#bytes.slice(from, Math.max(from, to));
    return b;
  }
  text() { return Promise.resolve(ops.decodeUtf8(this.#bytes, false)); }
  arrayBuffer() { return Promise.resolve(this.#bytes.slice().buffer); }
  bytes() { return Promise.resolve(this.#bytes.slice()); }
  stream() {
    const bytes = this.#bytes;
    let at = 0;
    return new ReadableStream({
      pull(c) {
        if (at >= bytes.byteLength) { c.close(); return; }
        const end = Math.min(at + 65536, bytes.byteLength);
        c.enqueue(bytes.slice(at, end));
        at = end;
      },
    }, { highWaterMark: 0 });
  }
  get [Symbol.toStringTag]() { return 'Blob'; }
}
define('Blob', Blob);
class File extends Blob {
  #name; #lastModified;
  constructor(parts, name, options = {}) {
    if (arguments.length < 2) throw new TypeError('File needs parts and a name');
    super(parts, options);
    this.#name = String(name);
    this.#lastModified = options && options.lastModified !== undefined ? Number(options.lastModified) : Date.now();
  }
  get name() { return this.#name; }
  get lastModified() { return this.#lastModified; }
  get [Symbol.toStringTag]() { return 'File'; }
}
define('File', File);

function formEntry(name, value, filename) {
  name = String(name);
  if (value instanceof Blob) {
    if (!(value instanceof File) || filename !== undefined) {
      value = new File([value], filename !== undefined ? String(filename) : value instanceof File ? value.name : 'blob', { type: value.type });
    }
    return [name, value];
  }
  return [name, String(value)];
}
class FormData {
  #list = [];
  constructor(form = undefined) { if (form !== undefined) throw new TypeError('FormData from a form element is not supported'); }
  append(name, value, filename = undefined) { this.#list.push(formEntry(name, value, filename)); }
  delete(name) { name = String(name); this.#list = this.#list.filter(([k]) => k !== name); }
  get(name) { name = String(name); const e = this.#list.find(([k]) => k === name); return e ? e[1] : null; }
  getAll(name) { name = String(name); return this.#list.filter(([k]) => k === name).map(([, v]) => v); }
  has(name) { name = String(name); return this.#list.some(([k]) => k === name); }
  set(name, value, filename = undefined) {
    const e = formEntry(name, value, filename);
    const i = this.#list.findIndex(([k]) => k === e[0]);
    if (i < 0) this.#list.push(e);
    else { this.#list[i] = e; this.#list = this.#list.filter(([k], j) => j <= i || k !== e[0]); }
  }
  forEach(cb, thisArg = undefined) { for (const [k, v] of this.#list.slice()) cb.call(thisArg, v, k, this); }
  *entries() { for (let i = 0; i < this.#list.length; i++) yield [this.#list[i][0], this.#list[i][1]]; }
  *keys() { for (const [k] of this.entries()) yield k; }
  *values() { for (const [, v] of this.entries()) yield v; }
  [Symbol.iterator]() { return this.entries(); }
  get [Symbol.toStringTag]() { return 'FormData'; }
}
define('FormData', FormData);

function multipartEncode(form) {
  const boundary = '----nanoFormBoundary' + ops.randomUUID().replace(/-/g, '');
  const chunks = [];
  const esc = (s) => s.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
  for (const [name, value] of form) {
    if (typeof value === 'string') {
      chunks.push(utf8(`--${boundary}\r\nContent-Disposition: form-data; name="${esc(name)}"\r\n\r\n${value.replace(/\r(?!\n)|(?<!\r)\n/g, '\r\n')}\r\n`));
    } else {
      chunks.push(utf8(`--${boundary}\r\nContent-Disposition: form-data; name="${esc(name)}"; filename="${esc(value.name)}"\r\nContent-Type: ${value.type || 'application/octet-stream'}\r\n\r\n`));
      chunks.push(Blob._bytes(value));
      chunks.push(utf8('\r\n'));
    }
  }
  chunks.push(utf8(`--${boundary}--\r\n`));
  return { bytes: concatBytes(chunks), type: `multipart/form-data; boundary=${boundary}` };
}
function indexOfBytes(hay, needle, from) {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
function multipartDecode(bytes, contentType) {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!m) throw new TypeError('multipart/form-data without a boundary');
  const delim = utf8('--' + (m[1] || m[2]).trim());
  const form = new FormData();
  let at = indexOfBytes(bytes, delim, 0);
  if (at < 0) throw new TypeError('Could not parse multipart/form-data body');
  for (;;) {
    at += delim.length;
    if (bytes[at] === 0x2d && bytes[at + 1] === 0x2d) break;
    at += 2;
    const headEnd = indexOfBytes(bytes, utf8('\r\n\r\n'), at);
    if (headEnd < 0) throw new TypeError('Could not parse multipart/form-data body');
    const head = ops.decodeUtf8(bytes.subarray(at, headEnd), false);
    const next = indexOfBytes(bytes, delim, headEnd + 4);
    if (next < 0) throw new TypeError('Could not parse multipart/form-data body');
    const body = bytes.subarray(headEnd + 4, next - 2);
    const disp = /content-disposition:[^\r\n]*?\bname="([^"]*)"(?:;\s*filename="([^"]*)")?/i.exec(head);
    const type = /content-type:\s*([^\r\n]*)/i.exec(head);
    if (disp) {
      if (disp[2] !== undefined) form.append(disp[1], new File([body], disp[2], { type: type ? type[1] : '' }));
      else form.append(disp[1], ops.decodeUtf8(body, false));
    }
    at = next;
  }
  return form;
}
