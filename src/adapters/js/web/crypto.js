// crypto.js: Crypto (getRandomValues, randomUUID, subtle), CryptoKey and SubtleCrypto. SubtleCrypto reads the
// arguments as WebIDL does, normalizes the algorithm, checks the key's algorithm and usages, and hands over to the
// algorithm's entry in ALGS (crypto_algs.js). deriveKey, wrapKey and unwrapKey compose those entries.
const kKey = Symbol('key');
// Each key's internal slots (material, algorithm, extractable, usages, type), out of app code's reach: a key's bytes
// cannot be read and its flags cannot be changed through the object or its prototype. The glue reads only these.
const SLOTS = new WeakMap();
function newKey(material, algorithm, extractable, usages, type = 'secret') {
  const k = new CryptoKey(kKey);
  if (algorithm.hash) Object.freeze(algorithm.hash);
  SLOTS.set(k, { material, algorithm: Object.freeze(algorithm), extractable: !!extractable, usages: Object.freeze([...usages]), type });
  return k;
}
function slotsOf(key, what = 'key') {
  const slots = SLOTS.get(key);
  if (!slots) throw new TypeError(`${what} must be a CryptoKey`);
  return slots;
}
class CryptoKey {
  constructor(key) { if (key !== kKey) throw new TypeError('Illegal constructor'); }
  get type() { return slotsOf(this, 'this').type; }
  get extractable() { return slotsOf(this, 'this').extractable; }
  get algorithm() { return slotsOf(this, 'this').algorithm; }
  get usages() { return slotsOf(this, 'this').usages; }
  get [Symbol.toStringTag]() { return 'CryptoKey'; }
}
define('CryptoKey', CryptoKey);

// Every algorithm name, by its upper-case spelling (names match case-insensitively).
const ALG_NAMES = {};
function normalize(algorithm, opNames) {
  let a;
  if (typeof algorithm === 'string') a = { name: algorithm };
  else if (algorithm !== null && typeof algorithm === 'object') {
    if (algorithm.name === undefined) throw new TypeError('algorithm.name is required');
    a = Object.assign({}, algorithm);
  } else throw new TypeError('algorithm must be a string or an object with a name');
  const name = ALG_NAMES[String(a.name).toUpperCase()];
  const alg = name && ALGS[name];
  for (const op of [].concat(opNames)) {
    if (alg && alg[op]) { a.name = name; return [a, alg, op]; }
  }
  throw new DOMException(`Unrecognized algorithm name ${a.name} for ${[].concat(opNames)[0]}`, 'NotSupportedError');
}
const USAGES = ['encrypt', 'decrypt', 'sign', 'verify', 'deriveKey', 'deriveBits', 'wrapKey', 'unwrapKey'];
function usageList(usages) {
  if (usages === null || typeof usages !== 'object' || typeof usages[Symbol.iterator] !== 'function') throw new TypeError('keyUsages must be a sequence');
  const given = Array.from(usages, String);
  for (const u of given) if (!USAGES.includes(u)) throw new TypeError(`${u} is not a key usage`);
  return USAGES.filter((u) => given.includes(u));
}
const FORMATS = ['raw', 'spki', 'pkcs8', 'jwk'];
function formatOf(format) {
  const f = String(format);
  if (!FORMATS.includes(f)) throw new TypeError(`${f} is not a key format`);
  return f;
}
// The checks every keyed operation starts with: the key is for this algorithm and allows this usage. Answers the
// key's slots, which the algorithm's entry then works on.
function useKey(a, key, usage) {
  const k = slotsOf(key);
  if (k.algorithm.name !== a.name) throw new DOMException(`key is a ${k.algorithm.name} key, not ${a.name}`, 'InvalidAccessError');
  if (!k.usages.includes(usage)) throw new DOMException(`key does not allow ${usage}`, 'InvalidAccessError');
  return k;
}
function checkImported(key) {
  const k = slotsOf(key instanceof CryptoKey ? key : key.privateKey);
  if (k.type !== 'public' && k.usages.length === 0) throw new DOMException(`a ${k.type} key needs at least one usage`, 'SyntaxError');
  return key;
}
function exportOf(format, cryptoKey) {
  const key = slotsOf(cryptoKey);
  const alg = ALGS[key.algorithm.name];
  if (!alg.exportKey) throw new DOMException(`${key.algorithm.name} keys cannot be exported`, 'NotSupportedError');
  if (!key.extractable) throw new DOMException('key is not extractable', 'InvalidAccessError');
  const out = alg.exportKey(format, key);
  if (format !== 'jwk') return out.buffer;
  out.key_ops = [...key.usages];
  out.ext = key.extractable;
  return out;
}
class SubtleCrypto {
  constructor(key) { if (key !== kKey) throw new TypeError('Illegal constructor'); }
  async digest(algorithm, data) {
    const [a] = normalize(algorithm, 'digest');
    return ops.digest(a.name, toBytes(data, 'data')).buffer;
  }
  async encrypt(algorithm, key, data) {
    const [a, alg] = normalize(algorithm, 'encrypt');
    data = bufferSource(data, 'data');
    return alg.encrypt(a, useKey(a, key, 'encrypt'), data);
  }
  async decrypt(algorithm, key, data) {
    const [a, alg] = normalize(algorithm, 'decrypt');
    data = bufferSource(data, 'data');
    return alg.decrypt(a, useKey(a, key, 'decrypt'), data);
  }
  async sign(algorithm, key, data) {
    const [a, alg] = normalize(algorithm, 'sign');
    data = bufferSource(data, 'data');
    return alg.sign(a, useKey(a, key, 'sign'), data);
  }
  async verify(algorithm, key, signature, data) {
    const [a, alg] = normalize(algorithm, 'verify');
    signature = bufferSource(signature, 'signature');
    data = bufferSource(data, 'data');
    return alg.verify(a, useKey(a, key, 'verify'), signature, data);
  }
  async generateKey(algorithm, extractable, usages) {
    const [a, alg] = normalize(algorithm, 'generateKey');
    return checkImported(alg.generateKey(a, !!extractable, usageList(usages)));
  }
  async importKey(format, keyData, algorithm, extractable, usages) {
    format = formatOf(format);
    const [a, alg] = normalize(algorithm, 'importKey');
    if (format === 'jwk') {
      if (keyData === null || typeof keyData !== 'object' || ArrayBuffer.isView(keyData) || keyData instanceof ArrayBuffer) throw new TypeError('a jwk must be an object');
    } else keyData = bufferSource(keyData, 'keyData');
    return checkImported(alg.importKey(format, keyData, a, !!extractable, usageList(usages)));
  }
  async exportKey(format, key) {
    format = formatOf(format);
    return exportOf(format, key);
  }
  async deriveBits(algorithm, baseKey, length = null) {
    const [a, alg] = normalize(algorithm, 'deriveBits');
    return alg.deriveBits(a, useKey(a, baseKey, 'deriveBits'), length === null || length === undefined ? null : Number(length)).buffer;
  }
  async deriveKey(algorithm, baseKey, derivedKeyType, extractable, usages) {
    const [a, alg] = normalize(algorithm, 'deriveBits');
    const [d, target] = normalize(derivedKeyType, 'keyLength');
    usages = usageList(usages);
    const k = useKey(a, baseKey, 'deriveKey');
    const bits = alg.deriveBits(a, k, target.keyLength(d));
    return checkImported(target.importKey('raw', bits, d, !!extractable, usages));
  }
  async wrapKey(format, key, wrappingKey, wrapAlgorithm) {
    format = formatOf(format);
    const [a, alg, op] = normalize(wrapAlgorithm, ['wrapKey', 'encrypt']);
    const k = useKey(a, wrappingKey, 'wrapKey');
    const exported = exportOf(format, key);
    const bytes = format === 'jwk' ? utf8(JSON.stringify(exported)) : new Uint8Array(exported);
    return op === 'wrapKey' ? alg.wrapKey(a, k, bytes) : alg.encrypt(a, k, bytes);
  }
  async unwrapKey(format, wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm, extractable, usages) {
    format = formatOf(format);
    const [a, alg, op] = normalize(unwrapAlgorithm, ['unwrapKey', 'decrypt']);
    const [k, target] = normalize(unwrappedKeyAlgorithm, 'importKey');
    wrappedKey = bufferSource(wrappedKey, 'wrappedKey');
    usages = usageList(usages);
    const u = useKey(a, unwrappingKey, 'unwrapKey');
    const raw = op === 'unwrapKey' ? alg.unwrapKey(a, u, wrappedKey) : alg.decrypt(a, u, wrappedKey);
    let keyData = new Uint8Array(raw);
    if (format === 'jwk') {
      try { keyData = JSON.parse(ops.decodeUtf8(keyData, true)); } catch { keyData = null; }
      if (keyData === null || typeof keyData !== 'object') throw new DOMException('the unwrapped key is not a JWK', 'DataError');
    }
    return checkImported(target.importKey(format, keyData, k, !!extractable, usages));
  }
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
