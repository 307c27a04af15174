// crypto.js: Crypto (getRandomValues, randomUUID), SubtleCrypto (digest, HMAC importKey/exportKey/sign/verify/
// generateKey), CryptoKey. Other algorithms reject with NotSupportedError.
const kKey = Symbol('key');
function algName(a) { return String(typeof a === 'string' ? a : a && a.name).toUpperCase(); }
function hashName(h) {
  const n = algName(h);
  if (!['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'].includes(n)) throw new DOMException(`Unrecognized hash ${n}`, 'NotSupportedError');
  return n;
}
const BLOCK = { 'SHA-1': 512, 'SHA-256': 512, 'SHA-384': 1024, 'SHA-512': 1024 };
class CryptoKey {
  constructor(key) { if (key !== kKey) throw new TypeError('Illegal constructor'); }
  static _new(secret, algorithm, extractable, usages) {
    const k = new CryptoKey(kKey);
    Object.defineProperty(k, kKey, { value: secret });
    Object.defineProperty(k, '_info', { value: { algorithm: Object.freeze(algorithm), extractable: !!extractable, usages: Object.freeze([...usages]) } });
    return k;
  }
  get type() { return 'secret'; }
  get extractable() { return this._info.extractable; }
  get algorithm() { return this._info.algorithm; }
  get usages() { return this._info.usages; }
  get [Symbol.toStringTag]() { return 'CryptoKey'; }
}
define('CryptoKey', CryptoKey);
function b64url(bytes) { return ops.b64encode(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''); }
function fromB64url(s) {
  const b = ops.b64decode(String(s).replace(/-/g, '+').replace(/_/g, '/'));
  if (!b) throw new DOMException('Invalid base64url in JWK', 'DataError');
  return b;
}
function needUsage(key, usage) {
  if (!(key instanceof CryptoKey)) throw new TypeError('key must be a CryptoKey');
  if (!key.usages.includes(usage)) throw new DOMException(`key does not allow ${usage}`, 'InvalidAccessError');
}
const notSupported = (what) => Promise.reject(new DOMException(`${what} is not supported yet`, 'NotSupportedError'));
class SubtleCrypto {
  constructor(key) { if (key !== kKey) throw new TypeError('Illegal constructor'); }
  async digest(algorithm, data) {
    return ops.digest(hashName(algorithm), toBytes(data, 'data')).buffer;
  }
  async importKey(format, keyData, algorithm, extractable, usages) {
    if (algName(algorithm) !== 'HMAC') return notSupported(`importKey for ${algName(algorithm)}`);
    const hash = hashName(algorithm.hash);
    let secret;
    if (format === 'raw') secret = copyBytes(keyData);
    else if (format === 'jwk') {
      if (!keyData || keyData.kty !== 'oct' || typeof keyData.k !== 'string') throw new DOMException('JWK must be kty "oct" with k', 'DataError');
      secret = fromB64url(keyData.k);
    } else return notSupported(`key format ${format}`);
    if (secret.byteLength === 0) throw new DOMException('HMAC key must not be empty', 'DataError');
    for (const u of usages) if (u !== 'sign' && u !== 'verify') throw new SyntaxError(`Invalid usage ${u} for HMAC`);
    const length = algorithm.length !== undefined ? Number(algorithm.length) : secret.byteLength * 8;
    return CryptoKey._new(secret, { name: 'HMAC', hash: { name: hash }, length }, extractable, usages);
  }
  async exportKey(format, key) {
    if (!(key instanceof CryptoKey)) throw new TypeError('key must be a CryptoKey');
    if (!key.extractable) throw new DOMException('key is not extractable', 'InvalidAccessError');
    const secret = key[kKey];
    if (format === 'raw') return secret.slice().buffer;
    if (format === 'jwk') {
      const alg = 'HS' + key.algorithm.hash.name.slice(4);
      return { kty: 'oct', k: b64url(secret), alg, key_ops: [...key.usages], ext: true };
    }
    return notSupported(`key format ${format}`);
  }
  async generateKey(algorithm, extractable, usages) {
    if (algName(algorithm) !== 'HMAC') return notSupported(`generateKey for ${algName(algorithm)}`);
    const hash = hashName(algorithm.hash);
    const bits = algorithm.length !== undefined ? Number(algorithm.length) : BLOCK[hash];
    return CryptoKey._new(ops.randomBytes(Math.ceil(bits / 8)), { name: 'HMAC', hash: { name: hash }, length: bits }, extractable, usages);
  }
  async sign(algorithm, key, data) {
    if (algName(algorithm) !== 'HMAC') return notSupported(`sign with ${algName(algorithm)}`);
    needUsage(key, 'sign');
    return ops.hmac(key.algorithm.hash.name, key[kKey], toBytes(data, 'data')).buffer;
  }
  async verify(algorithm, key, signature, data) {
    if (algName(algorithm) !== 'HMAC') return notSupported(`verify with ${algName(algorithm)}`);
    needUsage(key, 'verify');
    const mac = ops.hmac(key.algorithm.hash.name, key[kKey], toBytes(data, 'data'));
    const sig = toBytes(signature, 'signature');
    if (sig.byteLength !== mac.byteLength) return false;
    let diff = 0;
    for (let i = 0; i < mac.byteLength; i++) diff |= mac[i] ^ sig[i];
    return diff === 0;
  }
  encrypt() { return notSupported('encrypt'); }
  decrypt() { return notSupported('decrypt'); }
  deriveBits() { return notSupported('deriveBits'); }
  deriveKey() { return notSupported('deriveKey'); }
  wrapKey() { return notSupported('wrapKey'); }
  unwrapKey() { return notSupported('unwrapKey'); }
}
define('SubtleCrypto', SubtleCrypto);
const INTEGER_ARRAYS = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array'];
class Crypto {
  #subtle = new SubtleCrypto(kKey);
  constructor(key) { if (key !== kKey) throw new TypeError('Illegal constructor'); }
  get subtle() { return this.#subtle; }
  getRandomValues(array) {
    if (!ArrayBuffer.isView(array) || !INTEGER_ARRAYS.includes(array.constructor.name)) {
      throw new DOMException('getRandomValues needs an integer TypedArray', 'TypeMismatchError');
    }
    if (array.byteLength > 65536) throw new DOMException(`${array.byteLength} bytes exceeds the 65536 limit`, 'QuotaExceededError');
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(ops.randomBytes(array.byteLength));
    return array;
  }
  randomUUID() { return ops.randomUUID(); }
}
define('Crypto', Crypto);
define('crypto', new Crypto(kKey));
