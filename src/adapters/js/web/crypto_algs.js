// crypto_algs.js: ALGS, one entry per WebCrypto algorithm (the SHA digests, HMAC, AES-CTR/CBC/GCM/KW, PBKDF2, HKDF,
// ECDSA, ECDH, Ed25519, X25519, RSASSA-PKCS1-v1_5, RSA-PSS, RSA-OAEP). An entry has the operations the algorithm
// supports: importKey/exportKey/generateKey with their formats and usages, then sign/verify, encrypt/decrypt,
// wrapKey/unwrapKey, deriveBits and keyLength (for deriveKey). Native errors become DataError on import and
// OperationError in use. Operations get the key's slots (crypto.js); its material is a secret's bytes, { crv, d, pub }
// for curves, { der, priv } for RSA (PKCS#1 DER).
const ALGS = {};
function native(kind, f) {
  try { return f(); } catch (e) { throw e instanceof DOMException ? e : new DOMException(e && e.message || String(e), kind); }
}
const dataErr = (f) => native('DataError', f);
const opErr = (f) => native('OperationError', f);
const fail = (msg, name) => new DOMException(msg, name);
function b64url(bytes) { return ops.b64encode(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''); }
function jwkBytes(jwk, member) {
  const s = jwk[member];
  if (typeof s !== 'string' || /[+/]/.test(s)) throw fail(`JWK member ${member} must be a base64url string`, 'DataError');
  const b = ops.b64decode(s.replace(/-/g, '+').replace(/_/g, '/'));
  if (!b) throw fail(`JWK member ${member} is not base64url`, 'DataError');
  return b;
}
function sameBytes(x, y) { return x.byteLength === y.byteLength && x.every((v, i) => v === y[i]); }
function bufferSource(v, what) { return copyBytes(toBytes(v, what)); }
function checkUsages(usages, allowed, alg) {
  for (const u of usages) if (!allowed.includes(u)) throw fail(`${u} is not a usage of ${alg} keys`, 'SyntaxError');
}
function pick(usages, allowed) { return usages.filter((u) => allowed.includes(u)); }
// The checks RFC 7517 members get on every JWK import: kty, use, key_ops, ext and (when given) alg.
function jwkCheck(jwk, kty, extractable, usages, use, alg) {
  if (jwk.kty !== kty) throw fail(`JWK kty must be ${kty}`, 'DataError');
  if (usages.length && jwk.use !== undefined && jwk.use !== use) throw fail(`JWK use must be ${use}`, 'DataError');
  if (jwk.key_ops !== undefined) {
    if (!Array.isArray(jwk.key_ops) || usages.some((u) => !jwk.key_ops.includes(u))) throw fail('JWK key_ops does not allow these usages', 'DataError');
  }
  if (jwk.ext === false && extractable) throw fail('JWK is not extractable', 'DataError');
  if (alg !== undefined && jwk.alg !== undefined && jwk.alg !== alg) throw fail(`JWK alg must be ${alg}`, 'DataError');
}
function noFormat(format, name) { return fail(`${name} keys do not support the ${format} format`, 'NotSupportedError'); }
function hashOf(a) {
  if (a.hash === undefined) throw new TypeError(`${a.name} needs a hash`);
  return normalize(a.hash, 'digest')[0].name;
}
function required(a, member) {
  if (a[member] === undefined) throw new TypeError(`${a.name} needs ${member}`);
  return a[member];
}
// The first `length` bits of `bytes` (all of them for null); more than there are is an OperationError.
function truncateBits(bytes, length) {
  if (length === null) return bytes;
  if (!(length >= 0) || length > bytes.byteLength * 8) throw fail(`length must be at most ${bytes.byteLength * 8} bits`, 'OperationError');
  const out = bytes.slice(0, Math.ceil(length / 8));
  if (length % 8) out[out.length - 1] &= 0xff << (8 - (length % 8));
  return out;
}

for (const h of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) ALGS[h] = { digest: true };
const BLOCK = { 'SHA-1': 512, 'SHA-256': 512, 'SHA-384': 1024, 'SHA-512': 1024 };

// Secret keys: raw bytes or a kty "oct" JWK.
function secretImport(format, keyData, name, extractable, usages, use, jwkAlg) {
  if (format === 'raw') return keyData;
  if (format !== 'jwk') throw noFormat(format, name);
  jwkCheck(keyData, 'oct', extractable, usages, use);
  const secret = jwkBytes(keyData, 'k');
  const alg = jwkAlg(secret);
  if (keyData.alg !== undefined && keyData.alg !== alg) throw fail(`JWK alg must be ${alg}`, 'DataError');
  return secret;
}
function secretExport(format, key, jwkAlg) {
  if (format === 'raw') return key.material.slice();
  if (format === 'jwk') return { kty: 'oct', k: b64url(key.material), alg: jwkAlg };
  throw noFormat(format, key.algorithm.name);
}

const hmacJwkAlg = (hash) => 'HS' + hash.slice(4);
function hmacLength(a, hash) {
  if (a.length === undefined) return BLOCK[hash];
  const length = Number(a.length);
  if (!(length > 0)) throw new TypeError('HMAC length must be positive');
  return length;
}
ALGS.HMAC = {
  importKey(format, keyData, a, extractable, usages) {
    checkUsages(usages, ['sign', 'verify'], 'HMAC');
    const hash = hashOf(a);
    const secret = secretImport(format, keyData, 'HMAC', extractable, usages, 'sig', () => hmacJwkAlg(hash));
    let length = secret.byteLength * 8;
    if (length === 0) throw fail('HMAC keys must not be empty', 'DataError');
    if (a.length !== undefined) {
      const l = Number(a.length);
      if (!(l <= length && l > length - 8)) throw fail(`HMAC length ${a.length} does not match the key's ${length} bits`, 'DataError');
      length = l;
    }
    return newKey(secret, { name: 'HMAC', hash: { name: hash }, length }, extractable, usages);
  },
  exportKey(format, key) { return secretExport(format, key, hmacJwkAlg(key.algorithm.hash.name)); },
  generateKey(a, extractable, usages) {
    checkUsages(usages, ['sign', 'verify'], 'HMAC');
    const hash = hashOf(a);
    const length = hmacLength(a, hash);
    return newKey(truncateBits(ops.randomBytes(Math.ceil(length / 8)), length), { name: 'HMAC', hash: { name: hash }, length }, extractable, usages);
  },
  keyLength(a) { return hmacLength(a, hashOf(a)); },
  sign(a, key, data) { return ops.hmac(key.algorithm.hash.name, key.material, data).buffer; },
  verify(a, key, signature, data) { return ops.hmacVerify(key.algorithm.hash.name, key.material, data, signature); },
};

// AES: one shape for the four modes, which differ in their operations and JWK alg suffix.
function aesLength(a) {
  const length = Number(required(a, 'length'));
  if (![128, 192, 256].includes(length)) throw fail('AES length must be 128, 192 or 256', 'OperationError');
  return length;
}
function aesAlg(name, suffix, usages, operations) {
  ALGS[name] = Object.assign({
    importKey(format, keyData, a, extractable, keyUsages) {
      checkUsages(keyUsages, usages, name);
      const secret = secretImport(format, keyData, name, extractable, keyUsages, 'enc', (s) => `A${s.byteLength * 8}${suffix}`);
      if (![16, 24, 32].includes(secret.byteLength)) throw fail('AES keys are 128, 192 or 256 bits', 'DataError');
      return newKey(secret, { name, length: secret.byteLength * 8 }, extractable, keyUsages);
    },
    exportKey(format, key) { return secretExport(format, key, `A${key.algorithm.length}${suffix}`); },
    generateKey(a, extractable, keyUsages) {
      checkUsages(keyUsages, usages, name);
      const length = aesLength(a);
      return newKey(ops.randomBytes(length / 8), { name, length }, extractable, keyUsages);
    },
    keyLength: aesLength,
  }, operations);
}
const AES_USAGES = ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'];
function gcm(encrypt, a, key, data) {
  const iv = bufferSource(required(a, 'iv'), 'iv');
  const tag = a.tagLength === undefined ? 128 : Number(a.tagLength);
  if (![32, 64, 96, 104, 112, 120, 128].includes(tag)) throw fail(`${a.tagLength} is not an AES-GCM tag length`, 'OperationError');
  if (tag < 96 || (iv.byteLength !== 12 && !(iv.byteLength === 16 && tag === 128))) {
    throw fail(`AES-GCM with a ${iv.byteLength}-byte iv and a ${tag}-bit tag is not supported`, 'NotSupportedError');
  }
  const aad = a.additionalData !== undefined ? bufferSource(a.additionalData, 'additionalData') : new Uint8Array(0);
  return opErr(() => ops.aesGcm(encrypt, key.material, iv, tag, data, aad)).buffer;
}
aesAlg('AES-GCM', 'GCM', AES_USAGES, {
  encrypt: (a, key, data) => gcm(true, a, key, data),
  decrypt: (a, key, data) => gcm(false, a, key, data),
});
function cbc(encrypt, a, key, data) {
  const iv = bufferSource(required(a, 'iv'), 'iv');
  if (iv.byteLength !== 16) throw fail('AES-CBC iv must be 16 bytes', 'OperationError');
  return opErr(() => ops.aesCbc(encrypt, key.material, iv, data)).buffer;
}
aesAlg('AES-CBC', 'CBC', AES_USAGES, {
  encrypt: (a, key, data) => cbc(true, a, key, data),
  decrypt: (a, key, data) => cbc(false, a, key, data),
});
function ctr(a, key, data) {
  const counter = bufferSource(required(a, 'counter'), 'counter');
  const length = Number(required(a, 'length'));
  if (counter.byteLength !== 16) throw fail('AES-CTR counter must be 16 bytes', 'OperationError');
  if (!(length >= 1 && length <= 128)) throw fail('AES-CTR length must be between 1 and 128', 'OperationError');
  return opErr(() => ops.aesCtr(key.material, counter, length, data)).buffer;
}
aesAlg('AES-CTR', 'CTR', AES_USAGES, { encrypt: ctr, decrypt: ctr });
aesAlg('AES-KW', 'KW', ['wrapKey', 'unwrapKey'], {
  wrapKey: (a, key, data) => opErr(() => ops.aesKw(true, key.material, data)).buffer,
  unwrapKey: (a, key, data) => opErr(() => ops.aesKw(false, key.material, data)).buffer,
});

// PBKDF2 and HKDF: raw, never extractable, only for derivation. `derive` reads the parameters and returns the op call.
function kdfAlg(name, derive) {
  ALGS[name] = {
    importKey(format, keyData, a, extractable, usages) {
      if (format !== 'raw') throw noFormat(format, name);
      checkUsages(usages, ['deriveBits', 'deriveKey'], name);
      if (extractable) throw fail(`${name} keys cannot be extractable`, 'SyntaxError');
      return newKey(keyData, { name }, false, usages);
    },
    keyLength: () => null,
    deriveBits(a, key, length) {
      if (length === null || length % 8 !== 0) throw fail(`${name} length must be a multiple of 8`, 'OperationError');
      const run = derive(a, hashOf(a), key.material, length);
      return opErr(run);
    },
  };
}
kdfAlg('PBKDF2', (a, hash, secret, length) => {
  const salt = bufferSource(required(a, 'salt'), 'salt');
  const iterations = Number(required(a, 'iterations'));
  if (!(iterations > 0)) throw fail('PBKDF2 iterations must be positive', 'OperationError');
  return () => ops.pbkdf2(hash, secret, salt, iterations, length);
});
kdfAlg('HKDF', (a, hash, secret, length) => {
  const salt = bufferSource(required(a, 'salt'), 'salt');
  const info = bufferSource(required(a, 'info'), 'info');
  return () => ops.hkdf(hash, secret, salt, info, length);
});

// Curves: ECDSA and ECDH over P-256/384/521 (kty EC), Ed25519 and X25519 (kty OKP).
const NIST = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };
function curveAlg(name, { nist, privUsages, pubUsages, use, jwkAlgs }) {
  const curveOf = (a) => {
    if (!nist) return name;
    const crv = String(required(a, 'namedCurve'));
    if (!(crv in NIST)) throw fail(`curve ${crv} is not supported`, 'NotSupportedError');
    return crv;
  };
  const algorithm = (crv) => (nist ? { name, namedCurve: crv } : { name });
  const make = (crv, d, pub, extractable, usages) =>
    newKey({ crv, d, pub }, algorithm(crv), extractable, usages, d ? 'private' : 'public');
  const entry = {
    importKey(format, keyData, a, extractable, usages) {
      const crv = curveOf(a);
      if (format === 'raw' || format === 'spki') {
        checkUsages(usages, pubUsages, name);
        const pub = dataErr(() => (format === 'raw' ? ops.ecCheckPublic(crv, keyData) : ops.ecFromDer(crv, 'spki', keyData)));
        return make(crv, null, pub, extractable, usages);
      }
      if (format === 'pkcs8') {
        checkUsages(usages, privUsages, name);
        const d = dataErr(() => ops.ecFromDer(crv, 'pkcs8', keyData));
        return make(crv, d, dataErr(() => ops.ecPublic(crv, d)), extractable, usages);
      }
      if (format !== 'jwk') throw noFormat(format, name);
      jwkCheck(keyData, nist ? 'EC' : 'OKP', extractable, usages, use);
      if (keyData.crv !== crv) throw fail(`JWK crv must be ${crv}`, 'DataError');
      if (jwkAlgs && keyData.alg !== undefined && !jwkAlgs(crv).includes(keyData.alg)) throw fail(`JWK alg ${keyData.alg} does not match ${name}`, 'DataError');
      const x = jwkBytes(keyData, 'x');
      let raw = x;
      if (nist) {
        const y = jwkBytes(keyData, 'y');
        if (x.byteLength !== NIST[crv] || y.byteLength !== NIST[crv]) throw fail(`JWK x and y must be ${NIST[crv]} bytes`, 'DataError');
        raw = concatBytes([new Uint8Array([4]), x, y]);
      }
      const pub = dataErr(() => ops.ecCheckPublic(crv, raw));
      if (keyData.d === undefined) {
        checkUsages(usages, pubUsages, name);
        return make(crv, null, pub, extractable, usages);
      }
      checkUsages(usages, privUsages, name);
      const d = jwkBytes(keyData, 'd');
      if (!sameBytes(dataErr(() => ops.ecPublic(crv, d)), pub)) throw fail('JWK d does not match its public key', 'DataError');
      return make(crv, d, pub, extractable, usages);
    },
    exportKey(format, key) {
      const { crv, d, pub } = key.material;
      if (format === 'raw' && !d) return pub.slice();
      if (format === 'spki' && !d) return ops.ecToDer(crv, 'spki', pub);
      if (format === 'pkcs8' && d) return ops.ecToDer(crv, 'pkcs8', d);
      if (format !== 'jwk') throw fail(`cannot export a ${key.type} ${name} key as ${format}`, 'InvalidAccessError');
      const jwk = nist
        ? { kty: 'EC', crv, x: b64url(pub.subarray(1, 1 + NIST[crv])), y: b64url(pub.subarray(1 + NIST[crv])) }
        : { kty: 'OKP', crv, x: b64url(pub) };
      if (d) jwk.d = b64url(d);
      if (name === 'Ed25519') jwk.alg = 'Ed25519';
      return jwk;
    },
    generateKey(a, extractable, usages) {
      const crv = curveOf(a);
      checkUsages(usages, [...privUsages, ...pubUsages], name);
      const d = opErr(() => ops.ecGenerate(crv));
      const pub = ops.ecPublic(crv, d);
      return { privateKey: make(crv, d, pub, extractable, pick(usages, privUsages)), publicKey: make(crv, null, pub, true, pick(usages, pubUsages)) };
    },
  };
  if (privUsages.includes('sign')) {
    entry.sign = (a, key, data) => {
      if (key.type !== 'private') throw fail(`${name} signs with a private key`, 'InvalidAccessError');
      const m = key.material, hash = nist ? hashOf(a) : '';
      return opErr(() => ops.ecSign(m.crv, hash, m.d, data)).buffer;
    };
    entry.verify = (a, key, signature, data) => {
      if (key.type !== 'public') throw fail(`${name} verifies with a public key`, 'InvalidAccessError');
      const m = key.material, hash = nist ? hashOf(a) : '';
      return opErr(() => ops.ecVerify(m.crv, hash, m.pub, signature, data));
    };
  } else {
    entry.deriveBits = (a, key, length) => {
      const pub = slotsOf(required(a, 'public'), 'public');
      if (key.type !== 'private') throw fail(`${name} derives with a private key`, 'InvalidAccessError');
      if (pub.type !== 'public' || pub.algorithm.name !== name) throw fail(`public must be a ${name} public key`, 'InvalidAccessError');
      const m = key.material;
      if (pub.material.crv !== m.crv) throw fail('public is on another curve', 'InvalidAccessError');
      return truncateBits(opErr(() => ops.ecDerive(m.crv, m.d, pub.material.pub)), length);
    };
  }
  ALGS[name] = entry;
}
const ES = { 'P-256': ['ES256'], 'P-384': ['ES384'], 'P-521': ['ES512'] };
curveAlg('ECDSA', { nist: true, privUsages: ['sign'], pubUsages: ['verify'], use: 'sig', jwkAlgs: (crv) => ES[crv] });
curveAlg('ECDH', { nist: true, privUsages: ['deriveKey', 'deriveBits'], pubUsages: [], use: 'enc' });
curveAlg('Ed25519', { nist: false, privUsages: ['sign'], pubUsages: ['verify'], use: 'sig', jwkAlgs: () => ['EdDSA', 'Ed25519'] });
curveAlg('X25519', { nist: false, privUsages: ['deriveKey', 'deriveBits'], pubUsages: [], use: 'enc' });

// RSA: keys held as PKCS#1 DER, parsed by each native call.
function unhex(h) { return new Uint8Array((h.match(/../g) || []).map((x) => parseInt(x, 16))); }
const RSA_JWK = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'];
function rsaAlg(name, { privUsages, pubUsages, use, jwkAlg, sign, oaep }) {
  const make = (der, priv, hash, extractable, usages) => {
    const [bits, e] = ops.rsaInfo(der, priv);
    const algorithm = { name, modulusLength: Number(bits), publicExponent: unhex(e.length % 2 ? '0' + e : e), hash: { name: hash } };
    return newKey({ der, priv }, algorithm, extractable, usages, priv ? 'private' : 'public');
  };
  const entry = {
    importKey(format, keyData, a, extractable, usages) {
      const hash = hashOf(a);
      if (format === 'spki' || format === 'pkcs8') {
        const priv = format === 'pkcs8';
        checkUsages(usages, priv ? privUsages : pubUsages, name);
        return make(dataErr(() => ops.rsaImport(format, keyData)), priv, hash, extractable, usages);
      }
      if (format !== 'jwk') throw noFormat(format, name);
      jwkCheck(keyData, 'RSA', extractable, usages, use, jwkAlg(hash));
      const priv = keyData.d !== undefined;
      checkUsages(usages, priv ? privUsages : pubUsages, name);
      if (keyData.oth !== undefined) throw fail('multi-prime RSA keys are not supported', 'DataError');
      const members = [];
      for (const m of priv ? RSA_JWK : RSA_JWK.slice(0, 2)) {
        jwkBytes(keyData, m);
        members.push(m, keyData[m]);
      }
      return make(dataErr(() => ops.rsaFromJwk(members)), priv, hash, extractable, usages);
    },
    exportKey(format, key) {
      const { der, priv } = key.material;
      if ((format === 'spki' && !priv) || (format === 'pkcs8' && priv)) return ops.rsaExport(format, der, priv);
      if (format !== 'jwk') throw fail(`cannot export a ${key.type} ${name} key as ${format}`, 'InvalidAccessError');
      const parts = ops.rsaJwk(der, priv);
      const jwk = { kty: 'RSA' };
      parts.forEach((v, i) => { jwk[RSA_JWK[i]] = v; });
      jwk.alg = jwkAlg(key.algorithm.hash.name);
      return jwk;
    },
    generateKey(a, extractable, usages) {
      const hash = hashOf(a);
      checkUsages(usages, [...privUsages, ...pubUsages], name);
      if (pick(usages, privUsages).length === 0) throw fail(`a ${name} private key needs a usage`, 'SyntaxError');
      const bits = Number(required(a, 'modulusLength'));
      const exponent = bufferSource(required(a, 'publicExponent'), 'publicExponent');
      const der = opErr(() => ops.rsaGenerate(bits, exponent));
      return {
        privateKey: make(der, true, hash, extractable, pick(usages, privUsages)),
        publicKey: make(ops.rsaPublic(der), false, hash, true, pick(usages, pubUsages)),
      };
    },
  };
  if (sign) {
    const salt = (a) => (sign === 'PSS' ? Number(required(a, 'saltLength')) : 0);
    entry.sign = (a, key, data) => {
      if (key.type !== 'private') throw fail(`${name} signs with a private key`, 'InvalidAccessError');
      const saltLength = salt(a);
      return opErr(() => ops.rsaSign(sign, key.algorithm.hash.name, key.material.der, saltLength, data)).buffer;
    };
    entry.verify = (a, key, signature, data) => {
      if (key.type !== 'public') throw fail(`${name} verifies with a public key`, 'InvalidAccessError');
      const saltLength = salt(a);
      return opErr(() => ops.rsaVerify(sign, key.algorithm.hash.name, key.material.der, saltLength, signature, data));
    };
  }
  if (oaep) {
    const run = (encrypt) => (a, key, data) => {
      if (key.type !== (encrypt ? 'public' : 'private')) throw fail(`${name} ${encrypt ? 'encrypts with a public' : 'decrypts with a private'} key`, 'InvalidAccessError');
      const label = a.label !== undefined ? bufferSource(a.label, 'label') : new Uint8Array(0);
      return opErr(() => ops.rsaOaep(encrypt, key.algorithm.hash.name, key.material.der, label, data)).buffer;
    };
    entry.encrypt = run(true);
    entry.decrypt = run(false);
  }
  ALGS[name] = entry;
}
const hashBits = (hash) => hash.slice(4);
rsaAlg('RSASSA-PKCS1-v1_5', { privUsages: ['sign'], pubUsages: ['verify'], use: 'sig', jwkAlg: (h) => 'RS' + hashBits(h), sign: 'PKCS1' });
rsaAlg('RSA-PSS', { privUsages: ['sign'], pubUsages: ['verify'], use: 'sig', jwkAlg: (h) => 'PS' + hashBits(h), sign: 'PSS' });
rsaAlg('RSA-OAEP', {
  privUsages: ['decrypt', 'unwrapKey'], pubUsages: ['encrypt', 'wrapKey'], use: 'enc',
  jwkAlg: (h) => (h === 'SHA-1' ? 'RSA-OAEP' : 'RSA-OAEP-' + hashBits(h)), oaep: true,
});

for (const name of Object.keys(ALGS)) ALG_NAMES[name.toUpperCase()] = name;
