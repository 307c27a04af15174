// crypto.js: Crypto (getRandomValues, randomUUID), SubtleCrypto (digest; HMAC sign/verify; AES-GCM encrypt/decrypt;
// PBKDF2 and HKDF deriveBits/deriveKey; ECDSA P-256 and Ed25519 sign/verify; import/export raw, jwk, spki, pkcs8;
// generateKey), CryptoKey. RSA and the other algorithms reject with NotSupportedError.
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
  static _new(secret, algorithm, extractable, usages, type = 'secret') {
    const k = new CryptoKey(kKey);
    Object.defineProperty(k, kKey, { value: secret });
    Object.defineProperty(k, '_info', { value: { algorithm: Object.freeze(algorithm), extractable: !!extractable, usages: Object.freeze([...usages]), type } });
    return k;
  }
  get type() { return this._info.type; }
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
function bufferSource(v, what) { return copyBytes(toBytes(v, what)); }
function checkUsages(usages, allowed, alg) {
  for (const u of usages) if (!allowed.includes(u)) throw new SyntaxError(`Invalid usage ${u} for ${alg}`);
}
function secretFrom(format, keyData, alg) {
  if (format === 'raw') return bufferSource(keyData, 'keyData');
  if (format === 'jwk') {
    if (!keyData || keyData.kty !== 'oct' || typeof keyData.k !== 'string') throw new DOMException('JWK must be kty "oct" with k', 'DataError');
    return fromB64url(keyData.k);
  }
  throw new DOMException(`key format ${format} is not supported for ${alg}`, 'NotSupportedError');
}

// ECDSA P-256 and Ed25519: private keys hold { d, pub }, public keys { pub } (raw bytes from the host).
function asymName(algorithm) {
  const name = algName(algorithm);
  if (name === 'ECDSA') {
    if (String(algorithm.namedCurve) !== 'P-256') throw new DOMException(`curve ${algorithm.namedCurve} is not supported`, 'NotSupportedError');
    return 'ECDSA';
  }
  if (name === 'ED25519') return 'Ed25519';
  return null;
}
function asymAlgorithm(name) { return name === 'ECDSA' ? { name, namedCurve: 'P-256' } : { name }; }
function asymPublic(name, pub, usages) { return CryptoKey._new({ pub }, asymAlgorithm(name), true, usages, 'public'); }
function asymPrivate(name, d, pub, extractable, usages) { return CryptoKey._new({ d, pub }, asymAlgorithm(name), extractable, usages, 'private'); }
function asymImport(name, format, keyData, extractable, usages) {
  const pubUsages = ['verify'], privUsages = ['sign'];
  if (format === 'raw' || format === 'spki') {
    checkUsages(usages, pubUsages, name);
    const pub = format === 'raw' ? ops.ecCheckPublic(name, bufferSource(keyData, 'keyData')) : ops.ecFromDer(name, 'spki', bufferSource(keyData, 'keyData'));
    return asymPublic(name, pub, usages);
  }
  if (format === 'pkcs8') {
    checkUsages(usages, privUsages, name);
    const d = ops.ecFromDer(name, 'pkcs8', bufferSource(keyData, 'keyData'));
    return asymPrivate(name, d, ops.ecPublic(name, d), extractable, usages);
  }
  if (format === 'jwk') {
    const ok = name === 'ECDSA' ? keyData.kty === 'EC' && keyData.crv === 'P-256' : keyData.kty === 'OKP' && keyData.crv === 'Ed25519';
    if (!ok) throw new DOMException(`JWK does not describe a ${name} key`, 'DataError');
    const x = fromB64url(keyData.x);
    const pub = name === 'ECDSA' ? concatBytes([new Uint8Array([4]), x, fromB64url(keyData.y)]) : x;
    if (keyData.d !== undefined) {
      checkUsages(usages, privUsages, name);
      const d = fromB64url(keyData.d);
      const derived = ops.ecPublic(name, d);
      if (b64url(derived) !== b64url(ops.ecCheckPublic(name, pub))) throw new DOMException('JWK d does not match x/y', 'DataError');
      return asymPrivate(name, d, derived, extractable, usages);
    }
    checkUsages(usages, pubUsages, name);
    return asymPublic(name, ops.ecCheckPublic(name, pub), usages);
  }
  throw new DOMException(`key format ${format} is not supported for ${name}`, 'NotSupportedError');
}
function asymExport(format, key) {
  const name = key.algorithm.name;
  const m = key[kKey];
  if (format === 'raw' && key.type === 'public') return m.pub.slice().buffer;
  if (format === 'spki' && key.type === 'public') return ops.ecToDer(name, 'spki', m.pub).buffer;
  if (format === 'pkcs8' && key.type === 'private') return ops.ecToDer(name, 'pkcs8', m.d).buffer;
  if (format === 'jwk') {
    const jwk = name === 'ECDSA'
      ? { kty: 'EC', crv: 'P-256', x: b64url(m.pub.subarray(1, 33)), y: b64url(m.pub.subarray(33, 65)) }
      : { kty: 'OKP', crv: 'Ed25519', x: b64url(m.pub) };
    if (key.type === 'private') jwk.d = b64url(m.d);
    jwk.key_ops = [...key.usages];
    jwk.ext = true;
    return jwk;
  }
  throw new DOMException(`cannot export a ${key.type} ${name} key as ${format}`, 'InvalidAccessError');
}
class SubtleCrypto {
  constructor(key) { if (key !== kKey) throw new TypeError('Illegal constructor'); }
  async digest(algorithm, data) {
    return ops.digest(hashName(algorithm), toBytes(data, 'data')).buffer;
  }
  async importKey(format, keyData, algorithm, extractable, usages) {
    const asym = asymName(algorithm);
    if (asym) return asymImport(asym, format, keyData, extractable, usages);
    const name = algName(algorithm);
    if (name === 'HMAC') {
      const hash = hashName(algorithm.hash);
      const secret = secretFrom(format, keyData, name);
      if (secret.byteLength === 0) throw new DOMException('HMAC key must not be empty', 'DataError');
      checkUsages(usages, ['sign', 'verify'], name);
      const length = algorithm.length !== undefined ? Number(algorithm.length) : secret.byteLength * 8;
      return CryptoKey._new(secret, { name, hash: { name: hash }, length }, extractable, usages);
    }
    if (name === 'AES-GCM') {
      const secret = secretFrom(format, keyData, name);
      if (![16, 32].includes(secret.byteLength)) throw new DOMException('AES-GCM keys are 128 or 256 bits', 'DataError');
      checkUsages(usages, ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'], name);
      return CryptoKey._new(secret, { name, length: secret.byteLength * 8 }, extractable, usages);
    }
    if (name === 'PBKDF2' || name === 'HKDF') {
      if (format !== 'raw') throw new DOMException(`${name} keys import from raw only`, 'NotSupportedError');
      if (extractable) throw new SyntaxError(`${name} keys cannot be extractable`);
      checkUsages(usages, ['deriveBits', 'deriveKey'], name);
      return CryptoKey._new(bufferSource(keyData, 'keyData'), { name }, false, usages);
    }
    return notSupported(`importKey for ${name}`);
  }
  async exportKey(format, key) {
    if (!(key instanceof CryptoKey)) throw new TypeError('key must be a CryptoKey');
    if (!key.extractable) throw new DOMException('key is not extractable', 'InvalidAccessError');
    if (key.type !== 'secret') return asymExport(format, key);
    const secret = key[kKey];
    if (format === 'raw') return secret.slice().buffer;
    if (format === 'jwk') {
      const alg = key.algorithm.name === 'HMAC' ? 'HS' + key.algorithm.hash.name.slice(4) : `A${key.algorithm.length}GCM`;
      return { kty: 'oct', k: b64url(secret), alg, key_ops: [...key.usages], ext: true };
    }
    return notSupported(`key format ${format}`);
  }
  async generateKey(algorithm, extractable, usages) {
    const asym = asymName(algorithm);
    if (asym) {
      checkUsages(usages, ['sign', 'verify'], asym);
      const d = ops.ecGenerate(asym);
      const pub = ops.ecPublic(asym, d);
      return {
        privateKey: asymPrivate(asym, d, pub, extractable, usages.filter((u) => u === 'sign')),
        publicKey: asymPublic(asym, pub, usages.filter((u) => u === 'verify')),
      };
    }
    const name = algName(algorithm);
    if (name === 'HMAC') {
      const hash = hashName(algorithm.hash);
      const bits = algorithm.length !== undefined ? Number(algorithm.length) : BLOCK[hash];
      checkUsages(usages, ['sign', 'verify'], name);
      return CryptoKey._new(ops.randomBytes(Math.ceil(bits / 8)), { name, hash: { name: hash }, length: bits }, extractable, usages);
    }
    if (name === 'AES-GCM') {
      const bits = Number(algorithm.length);
      if (![128, 256].includes(bits)) throw new DOMException('AES-GCM length must be 128 or 256', 'OperationError');
      checkUsages(usages, ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'], name);
      return CryptoKey._new(ops.randomBytes(bits / 8), { name, length: bits }, extractable, usages);
    }
    return notSupported(`generateKey for ${name}`);
  }
  async sign(algorithm, key, data) {
    const asym = asymName(typeof algorithm === 'string' ? { name: algorithm, namedCurve: 'P-256' } : Object.assign({ namedCurve: 'P-256' }, algorithm));
    if (asym) {
      needUsage(key, 'sign');
      if (key.algorithm.name !== asym || key.type !== 'private') throw new DOMException(`key is not a ${asym} private key`, 'InvalidAccessError');
      const hash = asym === 'ECDSA' ? hashName(algorithm.hash) : '';
      return ops.ecSign(asym, hash, key[kKey].d, toBytes(data, 'data')).buffer;
    }
    if (algName(algorithm) !== 'HMAC') return notSupported(`sign with ${algName(algorithm)}`);
    needUsage(key, 'sign');
    return ops.hmac(key.algorithm.hash.name, key[kKey], toBytes(data, 'data')).buffer;
  }
  async verify(algorithm, key, signature, data) {
    const asym = asymName(typeof algorithm === 'string' ? { name: algorithm, namedCurve: 'P-256' } : Object.assign({ namedCurve: 'P-256' }, algorithm));
    if (asym) {
      needUsage(key, 'verify');
      if (key.algorithm.name !== asym || key.type !== 'public') throw new DOMException(`key is not a ${asym} public key`, 'InvalidAccessError');
      const hash = asym === 'ECDSA' ? hashName(algorithm.hash) : '';
      return ops.ecVerify(asym, hash, key[kKey].pub, toBytes(signature, 'signature'), toBytes(data, 'data'));
    }
    if (algName(algorithm) !== 'HMAC') return notSupported(`verify with ${algName(algorithm)}`);
    needUsage(key, 'verify');
    const mac = ops.hmac(key.algorithm.hash.name, key[kKey], toBytes(data, 'data'));
    const sig = toBytes(signature, 'signature');
    if (sig.byteLength !== mac.byteLength) return false;
    let diff = 0;
    for (let i = 0; i < mac.byteLength; i++) diff |= mac[i] ^ sig[i];
    return diff === 0;
  }
  async #aes(encrypt, algorithm, key, data) {
    if (algName(algorithm) !== 'AES-GCM') return notSupported(`${encrypt ? 'encrypt' : 'decrypt'} with ${algName(algorithm)}`);
    needUsage(key, encrypt ? 'encrypt' : 'decrypt');
    if (key.algorithm.name !== 'AES-GCM') throw new DOMException('key is not an AES-GCM key', 'InvalidAccessError');
    if (algorithm.tagLength !== undefined && Number(algorithm.tagLength) !== 128) throw new DOMException('only 128-bit tags are supported', 'NotSupportedError');
    const aad = algorithm.additionalData !== undefined ? toBytes(algorithm.additionalData, 'additionalData') : new Uint8Array(0);
    try {
      return ops.aesGcm(encrypt, key[kKey], toBytes(algorithm.iv, 'iv'), toBytes(data, 'data'), aad).buffer;
    } catch (e) {
      throw new DOMException(e.message, 'OperationError');
    }
  }
  encrypt(algorithm, key, data) { return this.#aes(true, algorithm, key, data); }
  decrypt(algorithm, key, data) { return this.#aes(false, algorithm, key, data); }
  async deriveBits(algorithm, baseKey, length) {
    const name = algName(algorithm);
    needUsage(baseKey, 'deriveBits');
    if (baseKey.algorithm.name !== name) throw new DOMException(`key is not a ${name} key`, 'InvalidAccessError');
    const hash = hashName(algorithm.hash);
    try {
      if (name === 'PBKDF2') return ops.pbkdf2(hash, baseKey[kKey], toBytes(algorithm.salt, 'salt'), Number(algorithm.iterations), Number(length)).buffer;
      if (name === 'HKDF') return ops.hkdf(hash, baseKey[kKey], toBytes(algorithm.salt, 'salt'), toBytes(algorithm.info, 'info'), Number(length)).buffer;
    } catch (e) {
      throw new DOMException(e.message, 'OperationError');
    }
    return notSupported(`deriveBits with ${name}`);
  }
  async deriveKey(algorithm, baseKey, derivedKeyAlgorithm, extractable, usages) {
    const target = algName(derivedKeyAlgorithm);
    let length;
    if (target === 'AES-GCM') length = Number(derivedKeyAlgorithm.length);
    else if (target === 'HMAC') length = derivedKeyAlgorithm.length !== undefined ? Number(derivedKeyAlgorithm.length) : BLOCK[hashName(derivedKeyAlgorithm.hash)];
    else return notSupported(`deriveKey to ${target}`);
    if (!baseKey.usages.includes('deriveKey')) throw new DOMException('key does not allow deriveKey', 'InvalidAccessError');
    const tmp = CryptoKey._new(baseKey[kKey], baseKey.algorithm, false, ['deriveBits']);
    const bits = await this.deriveBits(algorithm, tmp, length);
    return this.importKey('raw', bits, derivedKeyAlgorithm, extractable, usages);
  }
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
