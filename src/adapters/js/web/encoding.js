// encoding.js: TextEncoder, TextDecoder (UTF-8, streaming), byte helpers shared by the other files.
function wellFormed(s) {
  if (typeof s.isWellFormed === 'function') return s.isWellFormed() ? s : s.toWellFormed();
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
function utf8(s) { return ops.encodeUtf8(wellFormed(String(s))); }
function toBytes(v, what = 'value') {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer) return new Uint8Array(v);
  throw new TypeError(`${what} must be an ArrayBuffer or ArrayBufferView`);
}
function copyBytes(v) { return new Uint8Array(toBytes(v)); }
function concatBytes(chunks, total) {
  if (total === undefined) total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.byteLength; }
  return out;
}

class TextEncoder {
  get encoding() { return 'utf-8'; }
  encode(input = '') { return utf8(input); }
  encodeInto(source, dest) {
    if (!(dest instanceof Uint8Array)) throw new TypeError('encodeInto needs a Uint8Array');
    source = wellFormed(String(source));
    let read = 0, written = 0;
    for (const ch of source) {
      const b = ops.encodeUtf8(ch);
      if (written + b.length > dest.length) break;
      dest.set(b, written);
      written += b.length;
      read += ch.length;
    }
    return { read, written };
  }
}
define('TextEncoder', TextEncoder);

const UTF8_LABELS = ['unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'utf-8', 'utf8', 'x-unicode20utf8'];
class TextDecoder {
  #fatal; #ignoreBOM; #pending = null; #bomSeen = false;
  constructor(label = 'utf-8', options = {}) {
    label = String(label).trim().toLowerCase();
    if (!UTF8_LABELS.includes(label)) throw new RangeError(`The encoding label provided ('${label}') is not supported`);
    this.#fatal = !!(options && options.fatal);
    this.#ignoreBOM = !!(options && options.ignoreBOM);
  }
  get encoding() { return 'utf-8'; }
  get fatal() { return this.#fatal; }
  get ignoreBOM() { return this.#ignoreBOM; }
  decode(input = undefined, options = {}) {
    const stream = !!(options && options.stream);
    let bytes = input === undefined ? new Uint8Array(0) : toBytes(input, 'input');
    if (this.#pending) { bytes = concatBytes([this.#pending, bytes]); this.#pending = null; }
    if (stream) {
      // Keep an incomplete trailing sequence for the next call.
      let cut = bytes.length;
      for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 3); i--) {
        const b = bytes[i];
        if ((b & 0xc0) === 0x80) continue;
        const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
        if (i + need > bytes.length) cut = i;
        break;
      }
      if (cut < bytes.length) { this.#pending = bytes.slice(cut); bytes = bytes.subarray(0, cut); }
    }
    let out = ops.decodeUtf8(bytes, this.#fatal);
    if (!this.#ignoreBOM && !this.#bomSeen && out.length > 0) {
      if (out.charCodeAt(0) === 0xfeff) out = out.slice(1);
      this.#bomSeen = true;
    }
    if (!stream) { this.#bomSeen = false; }
    return out;
  }
}
define('TextDecoder', TextDecoder);
