// compression.js: CompressionStream and DecompressionStream (gzip, deflate, deflate-raw) over the host's codecs.
function codecStream(format, compress) {
  format = String(format);
  const id = ops.codecNew(format, compress);
  let done = false;
  return new TransformStream({
    transform(chunk, c) {
      const out = ops.codecPush(id, toBytes(chunk, 'chunk'), false);
      if (out.byteLength) c.enqueue(out);
    },
    flush(c) {
      done = true;
      const out = ops.codecPush(id, new Uint8Array(0), true);
      if (out.byteLength) c.enqueue(out);
    },
    cancel() { if (!done) ops.codecFree(id); },
  });
}
class CompressionStream {
  #ts;
  constructor(format) { this.#ts = codecStream(format, true); }
  get readable() { return this.#ts.readable; }
  get writable() { return this.#ts.writable; }
}
class DecompressionStream {
  #ts;
  constructor(format) { this.#ts = codecStream(format, false); }
  get readable() { return this.#ts.readable; }
  get writable() { return this.#ts.writable; }
}
define('CompressionStream', CompressionStream);
define('DecompressionStream', DecompressionStream);
