// Writes tests/runtime/crypto_vectors.json: keys, signatures, ciphertexts, wrapped keys and derived bits made by
// Node's WebCrypto, which tests/runtime/crypto.rs checks nano against (so the suite runs without Node).
// Run from the repository root: node tests/runtime/crypto_vectors.mjs
import { webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const s = webcrypto.subtle;
const enc = new TextEncoder();
// Binary values travel as "b64:<base64>" strings; the test turns them back into bytes.
const b = (buf) => 'b64:' + Buffer.from(buf instanceof ArrayBuffer ? new Uint8Array(buf) : buf).toString('base64');
const bytes = (n, seed) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const message = enc.encode('nano checks its WebCrypto against Node');

async function exportAll(pair) {
  const out = { jwkPriv: await s.exportKey('jwk', pair.privateKey), jwkPub: await s.exportKey('jwk', pair.publicKey) };
  out.pkcs8 = b(await s.exportKey('pkcs8', pair.privateKey));
  out.spki = b(await s.exportKey('spki', pair.publicKey));
  const name = pair.publicKey.algorithm.name;
  if (['ECDSA', 'ECDH', 'Ed25519', 'X25519'].includes(name)) out.raw = b(await s.exportKey('raw', pair.publicKey));
  return out;
}

const sign = [];
for (const [alg, params, usages] of [
  [{ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, { name: 'RSASSA-PKCS1-v1_5' }],
  [{ name: 'RSASSA-PKCS1-v1_5', modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-512' }, { name: 'RSASSA-PKCS1-v1_5' }],
  [{ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-1' }, { name: 'RSASSA-PKCS1-v1_5' }],
  [{ name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, { name: 'RSA-PSS', saltLength: 32 }],
  [{ name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' }, { name: 'RSA-PSS', saltLength: 0 }],
  [{ name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-256' }],
  [{ name: 'ECDSA', namedCurve: 'P-384' }, { name: 'ECDSA', hash: 'SHA-384' }],
  [{ name: 'ECDSA', namedCurve: 'P-521' }, { name: 'ECDSA', hash: 'SHA-512' }],
  [{ name: 'ECDSA', namedCurve: 'P-384' }, { name: 'ECDSA', hash: 'SHA-256' }],
  [{ name: 'ECDSA', namedCurve: 'P-521' }, { name: 'ECDSA', hash: 'SHA-1' }],
  [{ name: 'Ed25519' }, { name: 'Ed25519' }],
]) {
  const pair = await s.generateKey(alg, true, usages || ['sign', 'verify']);
  const { modulusLength, publicExponent, ...importAlg } = alg;
  sign.push({ alg: importAlg, params, ...(await exportAll(pair)), data: b(message), sig: b(await s.sign(params, pair.privateKey, message)) });
}

const hmac = [];
for (const hash of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) {
  const key = await s.importKey('raw', bytes(40, hash.length), { name: 'HMAC', hash }, true, ['sign', 'verify']);
  hmac.push({ alg: { name: 'HMAC', hash }, key: b(await s.exportKey('raw', key)), jwk: await s.exportKey('jwk', key), data: b(message), sig: b(await s.sign('HMAC', key, message)) });
}

const cipher = [];
for (const [alg, params] of [
  [{ name: 'AES-CBC', length: 128 }, { name: 'AES-CBC', iv: bytes(16, 1) }],
  [{ name: 'AES-CBC', length: 192 }, { name: 'AES-CBC', iv: bytes(16, 2) }],
  [{ name: 'AES-CBC', length: 256 }, { name: 'AES-CBC', iv: bytes(16, 3) }],
  [{ name: 'AES-CTR', length: 128 }, { name: 'AES-CTR', counter: bytes(16, 4), length: 64 }],
  [{ name: 'AES-CTR', length: 256 }, { name: 'AES-CTR', counter: Uint8Array.from([...bytes(15, 5), 0xff]), length: 8 }],
  [{ name: 'AES-GCM', length: 128 }, { name: 'AES-GCM', iv: bytes(12, 6) }],
  [{ name: 'AES-GCM', length: 192 }, { name: 'AES-GCM', iv: bytes(12, 7), additionalData: enc.encode('header') }],
  [{ name: 'AES-GCM', length: 256 }, { name: 'AES-GCM', iv: bytes(12, 8), additionalData: enc.encode('') }],
  [{ name: 'AES-GCM', length: 128 }, { name: 'AES-GCM', iv: bytes(12, 9), tagLength: 96 }],
  [{ name: 'AES-GCM', length: 256 }, { name: 'AES-GCM', iv: bytes(12, 10), tagLength: 120, additionalData: enc.encode('header') }],
  [{ name: 'AES-GCM', length: 256 }, { name: 'AES-GCM', iv: bytes(16, 11) }],
]) {
  const key = await s.generateKey(alg, true, ['encrypt', 'decrypt']);
  const plain = bytes(70, alg.length);
  const p = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v instanceof Uint8Array ? b(v) : v]));
  cipher.push({ alg: { name: alg.name }, params: p, key: b(await s.exportKey('raw', key)), jwk: await s.exportKey('jwk', key), plain: b(plain), cipher: b(await s.encrypt(params, key, plain)) });
}

const oaep = [];
for (const [hash, label] of [['SHA-256', enc.encode('a label')], ['SHA-1', undefined], ['SHA-512', undefined]]) {
  const alg = { name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash };
  const pair = await s.generateKey(alg, true, ['encrypt', 'decrypt']);
  const params = label ? { name: 'RSA-OAEP', label } : { name: 'RSA-OAEP' };
  const plain = bytes(32, 9);
  oaep.push({ alg: { name: 'RSA-OAEP', hash }, params: label ? { name: 'RSA-OAEP', label: b(label) } : params, ...(await exportAll(pair)), plain: b(plain), cipher: b(await s.encrypt(params, pair.publicKey, plain)) });
}

const derive = [];
for (const alg of [{ name: 'ECDH', namedCurve: 'P-256' }, { name: 'ECDH', namedCurve: 'P-384' }, { name: 'ECDH', namedCurve: 'P-521' }, { name: 'X25519' }]) {
  const a = await s.generateKey(alg, true, ['deriveBits', 'deriveKey']);
  const other = await s.generateKey(alg, true, ['deriveBits', 'deriveKey']);
  const full = { 'P-256': 256, 'P-384': 384, 'P-521': 528, undefined: 256 }[alg.namedCurve];
  const bits = await s.deriveBits({ name: alg.name, public: other.publicKey }, a.privateKey, full);
  const short = await s.deriveBits({ name: alg.name, public: other.publicKey }, a.privateKey, 128);
  const aes = await s.deriveKey({ name: alg.name, public: other.publicKey }, a.privateKey, { name: 'AES-GCM', length: 256 }, true, ['encrypt']);
  derive.push({ alg, mine: await exportAll(a), theirs: await exportAll(other), length: full, bits: b(bits), short: b(short), aesKey: b(await s.exportKey('raw', aes)) });
}

const kdf = [];
for (const hash of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) {
  const secret = bytes(32, hash.length + 10);
  const hk = await s.importKey('raw', secret, 'HKDF', false, ['deriveBits']);
  const hkdfParams = { name: 'HKDF', hash, salt: bytes(16, 11), info: enc.encode('nano') };
  kdf.push({ importAlg: 'HKDF', key: b(secret), params: { ...hkdfParams, salt: b(hkdfParams.salt), info: b(hkdfParams.info) }, length: 384, bits: b(await s.deriveBits(hkdfParams, hk, 384)) });
  const pk = await s.importKey('raw', secret, 'PBKDF2', false, ['deriveBits']);
  const pbkdf2Params = { name: 'PBKDF2', hash, salt: bytes(16, 12), iterations: 1000 };
  kdf.push({ importAlg: 'PBKDF2', key: b(secret), params: { ...pbkdf2Params, salt: b(pbkdf2Params.salt) }, length: 256, bits: b(await s.deriveBits(pbkdf2Params, pk, 256)) });
}

// wrapKey: the wrapped key, how to import the wrapping key, and the key it holds as exported in that format.
const wrap = [];
{
  const inner = await s.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
  for (const length of [128, 192, 256]) {
    const kek = await s.generateKey({ name: 'AES-KW', length }, true, ['wrapKey', 'unwrapKey']);
    wrap.push({ format: 'raw', wrapping: { format: 'raw', data: b(await s.exportKey('raw', kek)), alg: 'AES-KW' }, params: { name: 'AES-KW' },
      keyAlg: { name: 'AES-GCM' }, usages: ['encrypt', 'decrypt'], key: b(await s.exportKey('raw', inner)), wrapped: b(await s.wrapKey('raw', inner, kek, 'AES-KW')) });
  }
  const hmacKey = await s.generateKey({ name: 'HMAC', hash: 'SHA-384' }, true, ['sign']);
  const gcmKek = await s.generateKey({ name: 'AES-GCM', length: 128 }, true, ['wrapKey', 'unwrapKey']);
  const iv = bytes(12, 13);
  wrap.push({ format: 'jwk', wrapping: { format: 'raw', data: b(await s.exportKey('raw', gcmKek)), alg: 'AES-GCM' }, params: { name: 'AES-GCM', iv: b(iv) },
    keyAlg: { name: 'HMAC', hash: 'SHA-384' }, usages: ['sign'], key: await s.exportKey('jwk', hmacKey), wrapped: b(await s.wrapKey('jwk', hmacKey, gcmKek, { name: 'AES-GCM', iv })) });
  const ed = await s.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const cbcKek = await s.generateKey({ name: 'AES-CBC', length: 256 }, true, ['wrapKey', 'unwrapKey']);
  const iv16 = bytes(16, 14);
  wrap.push({ format: 'pkcs8', wrapping: { format: 'raw', data: b(await s.exportKey('raw', cbcKek)), alg: 'AES-CBC' }, params: { name: 'AES-CBC', iv: b(iv16) },
    keyAlg: { name: 'Ed25519' }, usages: ['sign'], key: b(await s.exportKey('pkcs8', ed.privateKey)), wrapped: b(await s.wrapKey('pkcs8', ed.privateKey, cbcKek, { name: 'AES-CBC', iv: iv16 })) });
  const rsa = await s.generateKey({ name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['wrapKey', 'unwrapKey']);
  wrap.push({ format: 'raw', wrapping: { format: 'jwk', data: await s.exportKey('jwk', rsa.privateKey), alg: { name: 'RSA-OAEP', hash: 'SHA-256' } }, params: { name: 'RSA-OAEP' },
    keyAlg: { name: 'AES-GCM' }, usages: ['encrypt'], key: b(await s.exportKey('raw', inner)), wrapped: b(await s.wrapKey('raw', inner, rsa.publicKey, { name: 'RSA-OAEP' })), randomized: true });
}

// JWTs as an identity provider issues them: a JWKS (kid, use, alg) and tokens signed by its keys.
const jwt = { keys: [], tokens: [] };
{
  const b64u = (x) => Buffer.from(x).toString('base64url');
  for (const [kid, alg, genAlg, signAlg] of [
    ['rsa-1', 'RS256', { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, { name: 'RSASSA-PKCS1-v1_5' }],
    ['ps-1', 'PS256', { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, { name: 'RSA-PSS', saltLength: 32 }],
    ['ec-1', 'ES256', { name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-256' }],
  ]) {
    const pair = await s.generateKey(genAlg, true, ['sign', 'verify']);
    const { key_ops, ext, ...pub } = await s.exportKey('jwk', pair.publicKey);
    jwt.keys.push({ ...pub, kid, use: 'sig', alg });
    const head = b64u(JSON.stringify({ alg, typ: 'JWT', kid }));
    const body = b64u(JSON.stringify({ sub: 'user-1', iss: 'https://issuer.example', aud: 'nano', exp: 4102444800 }));
    const sig = await s.sign(signAlg, pair.privateKey, enc.encode(`${head}.${body}`));
    jwt.tokens.push(`${head}.${body}.${b64u(new Uint8Array(sig))}`);
  }
}

const out = { node: process.version, sign, hmac, cipher, oaep, derive, kdf, wrap, jwt };
writeFileSync(new URL('./crypto_vectors.json', import.meta.url), JSON.stringify(out, null, 1) + '\n');
console.log(`wrote ${Object.entries(out).map(([k, v]) => `${Array.isArray(v) ? v.length : '-'} ${k}`).join(', ')}`);
