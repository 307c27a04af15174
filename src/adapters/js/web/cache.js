// cache.js: the Workers Cache API: `caches.default` and `caches.open(name)`, each a Cache with `match`, `put` and
// `delete` over the host ops `cacheMatch`, `cachePut` and `cacheDelete` (the tenant's cache service keeps the
// responses; what is kept and for how long is the host's rule). As on Workers: only GET requests are cached, `put`
// refuses a 206 response, `Vary: *` and a used body, `match` answers `undefined` on a miss and `delete` whether
// something was removed.
const kCacheName = Symbol('cacheName');
function cacheRequest(request) {
  return request instanceof Request ? request : new Request(request);
}
class Cache {
  constructor(key, name) {
    if (key !== kCacheName) throw new TypeError('Illegal constructor');
    Object.defineProperty(this, kCacheName, { value: name });
  }
  async match(request, options = undefined) {
    const req = cacheRequest(request);
    if (req.method !== 'GET' && !(options && options.ignoreMethod)) return undefined;
    const out = await opAsync(ops.cacheMatch(this[kCacheName], req.url));
    if (out === null) return undefined;
    const [status, statusText, flat, rid] = out;
    const body = NULL_BODY.includes(status) ? null : ridStream(rid);
    if (!body) ops.bodyCancel(rid);
    const res = new Response(null, { status, statusText, headers: Headers._fromFlat(flat, 'none') });
    res.headers.set('cf-cache-status', 'HIT');
    res[kBody] = { bytes: null, stream: body, used: false };
    return Response._internal(res, 'default', req.url, false);
  }
  async put(request, response) {
    const req = cacheRequest(request);
    if (!(response instanceof Response)) throw new TypeError('Cache.put: the second argument must be a Response');
    if (req.method !== 'GET') throw new TypeError('Cannot cache response to non-GET request.');
    if (response.status === 206) throw new TypeError('Cannot cache response to a range request (206 Partial Content).');
    const vary = response.headers.get('vary');
    if (vary && vary.split(',').some((v) => v.trim() === '*')) throw new TypeError("Cannot cache response with 'Vary: *' header.");
    if (response.bodyUsed) throw new TypeError('Cache.put: the response body has already been used');
    const body = new Uint8Array(await response.arrayBuffer());
    await opAsync(ops.cachePut(this[kCacheName], req.url, response.status, response.statusText, flatHeaders(response.headers), body));
  }
  async delete(request, options = undefined) {
    const req = cacheRequest(request);
    if (req.method !== 'GET' && !(options && options.ignoreMethod)) return false;
    return ops.decodeUtf8(await opAsync(ops.cacheDelete(this[kCacheName], req.url)), false) === 'true';
  }
  get [Symbol.toStringTag]() { return 'Cache'; }
}
class CacheStorage {
  constructor(key) {
    if (key !== kCacheName) throw new TypeError('Illegal constructor');
    Object.defineProperty(this, 'default', { value: new Cache(kCacheName, null), enumerable: true });
  }
  async open(name) { return new Cache(kCacheName, String(name)); }
  get [Symbol.toStringTag]() { return 'CacheStorage'; }
}
define('Cache', Cache);
define('CacheStorage', CacheStorage);
define('caches', new CacheStorage(kCacheName));
