//! `crypto.subtle` against Node's WebCrypto (`crypto_vectors.json`, written by `crypto_vectors.mjs`), published
//! known-answer vectors, round trips of every algorithm, the errors WebCrypto specifies, and a JWT checked against a
//! JWKS as `jose` does it. Each check runs inside an app; a test fails with the list of checks that did not hold.

use crate::harness::{eval_json_with, Rt};
use nano::core::Limits;
use serde_json::json;

/// The vectors Node wrote, binary values as `"b64:..."` strings.
const VECTORS: &str = include_str!("crypto_vectors.json");

/// Helpers every check script starts with: `check(what, ok)` records a check, `attempt(what, f)` records a throw,
/// `unhex`/`hex`, `revive` (turns `"b64:..."` strings into bytes), `sameJwk` (equal members, `key_ops` in any
/// order) and `errorOf` (the name of what a promise rejects with).
const PRELUDE: &str = r#"
const s = crypto.subtle;
const enc = new TextEncoder();
const failures = []; let checked = 0;
const check = (what, ok) => { checked++; if (ok !== true) failures.push(what); };
const attempt = async (what, f) => { try { await f(); } catch (e) { failures.push(`${what}: ${e.name}: ${e.message}`); } };
const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)));
const unb64 = (t) => Uint8Array.from(atob(t), (c) => c.charCodeAt(0));
const b64u = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const revive = (v) => typeof v === 'string' && v.startsWith('b64:') ? unb64(v.slice(4))
  : Array.isArray(v) ? v.map(revive)
  : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)])) : v;
const sameJwk = (a, b) => {
  const norm = (j) => JSON.stringify(Object.keys(j).sort().map((k) => [k, k === 'key_ops' ? [...j[k]].sort() : j[k]]));
  return norm(a) === norm(b);
};
const errorOf = async (p) => { try { await p; return 'resolved'; } catch (e) { return e.name; } };
"#;

/// Runs `script` (after the prelude) in an app with room for RSA key generation in a debug build, and asserts that
/// every check held.
async fn run_checks(rt: &Rt, script: &str, at_least: u64) {
    let body = format!("{PRELUDE}\n{script}\nreturn {{ failures, checked }};");
    let limits = Limits {
        cpu_ms: 60_000,
        ..Limits::default()
    };
    let v = eval_json_with(rt, &body, limits).await;
    assert_eq!(
        v["failures"],
        json!([]),
        "failed checks ({} run)",
        v["checked"]
    );
    let checked = v["checked"].as_u64().unwrap();
    assert!(checked >= at_least, "only {checked} checks ran");
}

const NODE_CHECKS: &str = r#"
const deterministic = (name) => name === 'RSASSA-PKCS1-v1_5' || name === 'Ed25519';
for (const t of V.sign) {
  const name = [t.alg.name, t.alg.namedCurve, t.alg.hash, t.params.hash].filter(Boolean).join(' ');
  await attempt(name, async () => {
    const pubJwk = await s.importKey('jwk', t.jwkPub, t.alg, true, ['verify']);
    check(`${name}: verifies Node's signature`, await s.verify(t.params, pubJwk, t.sig, t.data));
    const bad = t.sig.slice(); bad[bad.length - 1] ^= 1;
    check(`${name}: a tampered signature fails`, await s.verify(t.params, pubJwk, bad, t.data) === false);
    const other = t.data.slice(); other[0] ^= 1;
    check(`${name}: other data fails`, await s.verify(t.params, pubJwk, t.sig, other) === false);
    const pubSpki = await s.importKey('spki', t.spki, t.alg, true, ['verify']);
    check(`${name}: spki exports as Node's`, hex(await s.exportKey('spki', pubSpki)) === hex(t.spki));
    check(`${name}: public jwk exports as Node's`, sameJwk(await s.exportKey('jwk', pubSpki), t.jwkPub));
    if (t.raw) {
      const pubRaw = await s.importKey('raw', t.raw, t.alg, true, ['verify']);
      check(`${name}: raw exports as Node's`, hex(await s.exportKey('raw', pubRaw)) === hex(t.raw));
    }
    const privJwk = await s.importKey('jwk', t.jwkPriv, t.alg, true, ['sign']);
    check(`${name}: private jwk exports as Node's`, sameJwk(await s.exportKey('jwk', privJwk), t.jwkPriv));
    check(`${name}: pkcs8 exports as Node's`, hex(await s.exportKey('pkcs8', privJwk)) === hex(t.pkcs8));
    const privP8 = await s.importKey('pkcs8', t.pkcs8, t.alg, false, ['sign']);
    const mine = await s.sign(t.params, privP8, t.data);
    check(`${name}: Node's public key verifies nano's signature`, await s.verify(t.params, pubSpki, mine, t.data));
    if (deterministic(t.alg.name)) check(`${name}: signs as Node does`, hex(mine) === hex(t.sig));
  });
}
for (const t of V.hmac) {
  const name = `HMAC ${t.alg.hash}`;
  await attempt(name, async () => {
    const key = await s.importKey('raw', t.key, t.alg, true, ['sign', 'verify']);
    check(`${name}: signs as Node does`, hex(await s.sign('HMAC', key, t.data)) === hex(t.sig));
    check(`${name}: verifies`, await s.verify('HMAC', key, t.sig, t.data));
    const fromJwk = await s.importKey('jwk', t.jwk, t.alg, true, ['sign', 'verify']);
    check(`${name}: jwk exports as Node's`, sameJwk(await s.exportKey('jwk', fromJwk), t.jwk));
  });
}
for (const t of V.cipher) {
  const name = `${t.alg.name} ${t.key.length * 8} ${JSON.stringify(Object.keys(t.params))}`;
  await attempt(name, async () => {
    const key = await s.importKey('raw', t.key, t.alg, true, ['encrypt', 'decrypt']);
    check(`${name}: decrypts Node's ciphertext`, hex(await s.decrypt(t.params, key, t.cipher)) === hex(t.plain));
    check(`${name}: encrypts as Node does`, hex(await s.encrypt(t.params, key, t.plain)) === hex(t.cipher));
    const fromJwk = await s.importKey('jwk', t.jwk, t.alg, true, ['encrypt', 'decrypt']);
    check(`${name}: jwk exports as Node's`, sameJwk(await s.exportKey('jwk', fromJwk), t.jwk));
  });
}
for (const t of V.oaep) {
  const name = `RSA-OAEP ${t.alg.hash}${t.params.label ? ' with a label' : ''}`;
  await attempt(name, async () => {
    const priv = await s.importKey('jwk', t.jwkPriv, t.alg, true, ['decrypt']);
    check(`${name}: decrypts Node's ciphertext`, hex(await s.decrypt(t.params, priv, t.cipher)) === hex(t.plain));
    const privP8 = await s.importKey('pkcs8', t.pkcs8, t.alg, true, ['decrypt']);
    check(`${name}: pkcs8 decrypts too`, hex(await s.decrypt(t.params, privP8, t.cipher)) === hex(t.plain));
    check(`${name}: private jwk exports as Node's`, sameJwk(await s.exportKey('jwk', privP8), t.jwkPriv));
    check(`${name}: pkcs8 exports as Node's`, hex(await s.exportKey('pkcs8', priv)) === hex(t.pkcs8));
    const pub = await s.importKey('spki', t.spki, t.alg, true, ['encrypt']);
    check(`${name}: public jwk exports as Node's`, sameJwk(await s.exportKey('jwk', pub), t.jwkPub));
    const mine = await s.encrypt(t.params, pub, t.plain);
    check(`${name}: nano's ciphertext decrypts`, hex(await s.decrypt(t.params, priv, mine)) === hex(t.plain));
  });
}
for (const t of V.derive) {
  const name = `${t.alg.name} ${t.alg.namedCurve || ''}`;
  await attempt(name, async () => {
    const mine = await s.importKey('jwk', t.mine.jwkPriv, t.alg, true, ['deriveBits', 'deriveKey']);
    const mineP8 = await s.importKey('pkcs8', t.mine.pkcs8, t.alg, true, ['deriveBits', 'deriveKey']);
    const theirs = await s.importKey('spki', t.theirs.spki, t.alg, true, []);
    const theirsRaw = await s.importKey('raw', t.theirs.raw, t.alg, true, []);
    const params = { name: t.alg.name, public: theirs };
    check(`${name}: derives Node's bits`, hex(await s.deriveBits(params, mine, t.length)) === hex(t.bits));
    check(`${name}: from pkcs8 and a raw public key too`, hex(await s.deriveBits({ name: t.alg.name, public: theirsRaw }, mineP8, t.length)) === hex(t.bits));
    check(`${name}: null length is every bit`, hex(await s.deriveBits(params, mine, null)) === hex(t.bits));
    check(`${name}: 128 bits`, hex(await s.deriveBits(params, mine, 128)) === hex(t.short));
    const aes = await s.deriveKey(params, mine, { name: 'AES-GCM', length: 256 }, true, ['encrypt']);
    check(`${name}: deriveKey makes Node's AES key`, hex(await s.exportKey('raw', aes)) === hex(t.aesKey));
    check(`${name}: private jwk exports as Node's`, sameJwk(await s.exportKey('jwk', mineP8), t.mine.jwkPriv));
    check(`${name}: spki exports as Node's`, hex(await s.exportKey('spki', theirsRaw)) === hex(t.theirs.spki));
    check(`${name}: pkcs8 exports as Node's`, hex(await s.exportKey('pkcs8', mine)) === hex(t.mine.pkcs8));
  });
}
for (const t of V.kdf) {
  const name = `${t.importAlg} ${t.params.hash}`;
  await attempt(name, async () => {
    const key = await s.importKey('raw', t.key, t.importAlg, false, ['deriveBits']);
    check(`${name}: derives Node's bits`, hex(await s.deriveBits(t.params, key, t.length)) === hex(t.bits));
  });
}
for (const t of V.wrap) {
  const name = `${t.format} ${t.keyAlg.name} wrapped with ${t.params.name}`;
  await attempt(name, async () => {
    const w = t.wrapping;
    const wrapper = await s.importKey(w.format, w.data, w.alg, true, w.format === 'jwk' ? ['unwrapKey'] : ['wrapKey', 'unwrapKey']);
    const key = await s.unwrapKey(t.format, t.wrapped, wrapper, t.params, t.keyAlg, true, t.usages);
    const back = await s.exportKey(t.format, key);
    check(`${name}: unwraps Node's wrapped key`, t.format === 'jwk' ? sameJwk(back, t.key) : hex(back) === hex(t.key));
    if (!t.randomized) {
      const again = await s.wrapKey(t.format, key, wrapper, t.params);
      if (t.format !== 'jwk') check(`${name}: wraps as Node does`, hex(again) === hex(t.wrapped));
      const round = await s.unwrapKey(t.format, again, wrapper, t.params, t.keyAlg, true, t.usages);
      const back2 = await s.exportKey(t.format, round);
      check(`${name}: nano's wrapping unwraps`, t.format === 'jwk' ? sameJwk(back2, t.key) : hex(back2) === hex(t.key));
    }
  });
}
"#;

pub async fn crypto_matches_node(rt: &Rt) {
    let script = format!("const V = revive({VECTORS});\n{NODE_CHECKS}");
    run_checks(rt, &script, 200).await;
}

pub async fn crypto_known_answers(rt: &Rt) {
    run_checks(
        rt,
        r#"
        // RFC 3394 4.1 and 4.6: AES key wrap.
        const kw = async (kek, data) => {
          const k = await s.importKey('raw', unhex(kek), 'AES-KW', false, ['wrapKey', 'unwrapKey']);
          const inner = await s.importKey('raw', unhex(data), 'AES-CBC', true, ['encrypt']);
          const wrapped = hex(await s.wrapKey('raw', inner, k, 'AES-KW'));
          const back = await s.unwrapKey('raw', unhex(wrapped), k, 'AES-KW', 'AES-CBC', true, ['encrypt']);
          check(`AES-KW unwraps ${kek.length * 4}`, hex(await s.exportKey('raw', back)) === data);
          return wrapped;
        };
        check('RFC 3394 4.1', await kw('000102030405060708090a0b0c0d0e0f', '00112233445566778899aabbccddeeff')
          === '1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5');
        check('RFC 3394 4.6', await kw('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
          '00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f')
          === '28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21');
        // NIST SP 800-38A F.2.1, F.2.5 (CBC) and F.5.1 (CTR), the four-block example message.
        const plain = unhex('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710');
        const iv = unhex('000102030405060708090a0b0c0d0e0f');
        const cbc = async (key) => {
          const k = await s.importKey('raw', unhex(key), 'AES-CBC', false, ['encrypt', 'decrypt']);
          const c = new Uint8Array(await s.encrypt({ name: 'AES-CBC', iv }, k, plain));
          check(`CBC decrypts ${key.length * 4}`, hex(await s.decrypt({ name: 'AES-CBC', iv }, k, c)) === hex(plain));
          check('CBC pads one block', c.length === 80);
          return hex(c.subarray(0, 64));
        };
        check('SP 800-38A F.2.1', await cbc('2b7e151628aed2a6abf7158809cf4f3c')
          === '7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b273bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7');
        check('SP 800-38A F.2.5', await cbc('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4')
          === 'f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b');
        const ctrKey = await s.importKey('raw', unhex('2b7e151628aed2a6abf7158809cf4f3c'), 'AES-CTR', false, ['encrypt', 'decrypt']);
        const counter = unhex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
        for (const length of [128, 64]) {
          check(`SP 800-38A F.5.1 (length ${length})`, hex(await s.encrypt({ name: 'AES-CTR', counter, length }, ctrKey, plain))
            === '874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee');
        }
        // RFC 7748 6.1: X25519, each side from its own private key.
        const alice = { d: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', x: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a' };
        const bob = { d: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', x: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f' };
        for (const [me, them] of [[alice, bob], [bob, alice]]) {
          const priv = await s.importKey('jwk', { kty: 'OKP', crv: 'X25519', x: b64u(unhex(me.x)), d: b64u(unhex(me.d)) }, 'X25519', true, ['deriveBits']);
          const pub = await s.importKey('raw', unhex(them.x), 'X25519', true, []);
          check('RFC 7748 6.1 shared secret', hex(await s.deriveBits({ name: 'X25519', public: pub }, priv, 256))
            === '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
        }
        // RFC 8032 7.1 tests 2 and 3: Ed25519.
        for (const [seed, pubHex, msg, sig] of [
          ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72',
            '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
          ['c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82',
            '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
        ]) {
          const priv = await s.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: b64u(unhex(pubHex)), d: b64u(unhex(seed)) }, 'Ed25519', false, ['sign']);
          check(`RFC 8032 signature over ${msg}`, hex(await s.sign('Ed25519', priv, unhex(msg))) === sig);
          const pub = await s.importKey('raw', unhex(pubHex), 'Ed25519', false, ['verify']);
          check(`RFC 8032 verifies ${msg}`, await s.verify('Ed25519', pub, unhex(sig), unhex(msg)));
        }
        // RFC 4231 4.3: HMAC with the key "Jefe".
        const jefe = { 'SHA-256': '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
          'SHA-384': 'af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649',
          'SHA-512': '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737' };
        for (const [hash, mac] of Object.entries(jefe)) {
          const k = await s.importKey('raw', enc.encode('Jefe'), { name: 'HMAC', hash }, false, ['sign']);
          check(`RFC 4231 HMAC-${hash}`, hex(await s.sign('HMAC', k, enc.encode('what do ya want for nothing?'))) === mac);
        }
        // RFC 6979 A.2.5: the P-256 key, and its SHA-256 signature of "sample".
        const p256 = { kty: 'EC', crv: 'P-256', d: b64u(unhex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721')),
          x: b64u(unhex('60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6')), y: b64u(unhex('7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299')) };
        const ecPriv = await s.importKey('jwk', p256, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
        const { d, ...pubJwk } = p256;
        const ecPub = await s.importKey('jwk', pubJwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
        const sample = enc.encode('sample');
        check('RFC 6979 A.2.5 verifies', await s.verify({ name: 'ECDSA', hash: 'SHA-256' }, ecPub,
          unhex('efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8'), sample));
        check('RFC 6979 key signs', await s.verify({ name: 'ECDSA', hash: 'SHA-256' }, ecPub, await s.sign({ name: 'ECDSA', hash: 'SHA-256' }, ecPriv, sample), sample));
        "#,
        23,
    )
    .await;
}

pub async fn crypto_round_trips(rt: &Rt) {
    run_checks(
        rt,
        r#"
        const data = enc.encode('round trip');
        const e3 = new Uint8Array([1, 0, 1]);
        for (const [gen, params] of [
          [{ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: e3, hash: 'SHA-256' }, { name: 'RSASSA-PKCS1-v1_5' }],
          [{ name: 'RSA-PSS', modulusLength: 1024, publicExponent: e3, hash: 'SHA-512' }, { name: 'RSA-PSS', saltLength: 62 }],
          [{ name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-384' }],
          [{ name: 'ECDSA', namedCurve: 'P-384' }, { name: 'ECDSA', hash: 'SHA-384' }],
          [{ name: 'ECDSA', namedCurve: 'P-521' }, { name: 'ECDSA', hash: 'SHA-512' }],
          [{ name: 'Ed25519' }, 'Ed25519'],
          [{ name: 'HMAC', hash: 'SHA-512' }, 'HMAC'],
          [{ name: 'HMAC', hash: 'SHA-1', length: 100 }, 'HMAC'],
        ]) {
          const name = JSON.stringify(gen);
          await attempt(name, async () => {
            const k = await s.generateKey(gen, true, ['sign', 'verify']);
            const [priv, pub] = k.privateKey ? [k.privateKey, k.publicKey] : [k, k];
            const sig = await s.sign(params, priv, data);
            check(`${name} verifies its signature`, await s.verify(params, pub, sig, data));
            check(`${name} rejects other data`, await s.verify(params, pub, sig, enc.encode('other')) === false);
            const jwk = await s.exportKey('jwk', priv);
            const again = await s.importKey('jwk', jwk, gen, true, priv.usages);
            check(`${name} jwk round-trips`, sameJwk(await s.exportKey('jwk', again), jwk));
            check(`${name} signs after a jwk round trip`, await s.verify(params, pub, await s.sign(params, again, data), data));
            if (k.privateKey) {
              const p8 = await s.importKey('pkcs8', await s.exportKey('pkcs8', priv), gen, true, ['sign']);
              const spki = await s.importKey('spki', await s.exportKey('spki', pub), gen, true, ['verify']);
              check(`${name} verifies after pkcs8 and spki round trips`, await s.verify(params, spki, await s.sign(params, p8, data), data));
              check(`${name} key types`, priv.type === 'private' && pub.type === 'public' && pub.extractable && priv.usages.join() === 'sign' && pub.usages.join() === 'verify');
            }
          });
        }
        const rsa = await s.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([3]), hash: 'SHA-1' }, false, ['sign']);
        check('RSA algorithm fields', rsa.privateKey.algorithm.modulusLength === 1024 && hex(rsa.privateKey.algorithm.publicExponent) === '03'
          && rsa.privateKey.algorithm.hash.name === 'SHA-1' && rsa.publicKey.usages.length === 0 && !rsa.privateKey.extractable);
        for (const [gen, params] of [
          [{ name: 'AES-CBC', length: 192 }, { name: 'AES-CBC', iv: new Uint8Array(16) }],
          [{ name: 'AES-CTR', length: 256 }, { name: 'AES-CTR', counter: new Uint8Array(16), length: 32 }],
          [{ name: 'AES-GCM', length: 192 }, { name: 'AES-GCM', iv: new Uint8Array(12), additionalData: enc.encode('aad') }],
          [{ name: 'RSA-OAEP', modulusLength: 1024, publicExponent: e3, hash: 'SHA-256' }, { name: 'RSA-OAEP', label: enc.encode('l') }],
        ]) {
          const name = JSON.stringify(gen);
          await attempt(name, async () => {
            const k = await s.generateKey(gen, true, ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey']);
            const [priv, pub] = k.privateKey ? [k.privateKey, k.publicKey] : [k, k];
            for (const n of [0, 1, 15, 16, 17, 40]) {
              const m = crypto.getRandomValues(new Uint8Array(n));
              check(`${name} ${n} bytes round-trip`, hex(await s.decrypt(params, priv, await s.encrypt(params, pub, m))) === hex(m));
            }
            const inner = await s.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, true, ['sign']);
            for (const format of gen.name === 'RSA-OAEP' ? ['raw'] : ['raw', 'jwk']) {
              const wrapped = await s.wrapKey(format, inner, pub, params);
              const back = await s.unwrapKey(format, wrapped, priv, params, { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
              check(`${name} wraps ${format}`, hex(await s.exportKey('raw', back)) === hex(await s.exportKey('raw', inner)));
            }
          });
        }
        const kek = await s.generateKey({ name: 'AES-KW', length: 256 }, false, ['wrapKey', 'unwrapKey']);
        const ecKey = await s.generateKey({ name: 'ECDH', namedCurve: 'P-384' }, true, ['deriveBits']);
        const wrappedJwk = await s.wrapKey('raw', await s.generateKey({ name: 'AES-GCM', length: 128 }, true, ['encrypt']), kek, 'AES-KW');
        check('AES-KW wraps a 128-bit key in 24 bytes', wrappedJwk.byteLength === 24);
        const pkcs8 = await s.wrapKey('pkcs8', ecKey.privateKey, await s.generateKey({ name: 'AES-GCM', length: 256 }, false, ['wrapKey']), { name: 'AES-GCM', iv: new Uint8Array(12) });
        check('AES-GCM wraps pkcs8', pkcs8.byteLength > 100);
        for (const alg of [{ name: 'ECDH', namedCurve: 'P-521' }, { name: 'X25519' }]) {
          const a = await s.generateKey(alg, true, ['deriveBits', 'deriveKey']);
          const b = await s.generateKey(alg, true, ['deriveBits', 'deriveKey']);
          const ab = await s.deriveKey({ name: alg.name, public: b.publicKey }, a.privateKey, { name: 'HMAC', hash: 'SHA-256', length: 256 }, true, ['sign']);
          const ba = await s.deriveKey({ name: alg.name, public: a.publicKey }, b.privateKey, { name: 'HMAC', hash: 'SHA-256', length: 256 }, true, ['sign']);
          check(`${alg.name} agrees`, hex(await s.exportKey('raw', ab)) === hex(await s.exportKey('raw', ba)));
          check(`${alg.name} public key has no usages`, a.publicKey.usages.length === 0 && a.privateKey.usages.join() === 'deriveKey,deriveBits');
          const bits = new Uint8Array(await s.deriveBits({ name: alg.name, public: b.publicKey }, a.privateKey, 13));
          check(`${alg.name} derives 13 bits`, bits.length === 2 && (bits[1] & 0x07) === 0);
        }
        const hk = await s.importKey('raw', new Uint8Array(32), 'HKDF', false, ['deriveKey']);
        const cbcKey = await s.deriveKey({ name: 'HKDF', hash: 'SHA-512', salt: new Uint8Array(0), info: new Uint8Array(0) }, hk, { name: 'AES-CBC', length: 256 }, true, ['encrypt']);
        check('HKDF derives an AES-CBC key', cbcKey.algorithm.length === 256 && (await s.exportKey('jwk', cbcKey)).alg === 'A256CBC');
        "#,
        60,
    )
    .await;
}

pub async fn crypto_errors(rt: &Rt) {
    run_checks(
        rt,
        r#"
        const data = enc.encode('data');
        const e3 = new Uint8Array([1, 0, 1]);
        const expect = async (what, p, name) => { const got = await errorOf(p); check(`${what}: ${got} instead of ${name}`, got === name); };
        const rsa = await s.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: e3, hash: 'SHA-256' }, false, ['sign', 'verify']);
        const ec = await s.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
        const aes = await s.generateKey({ name: 'AES-GCM', length: 128 }, true, ['encrypt']);
        const oaep = await s.generateKey({ name: 'RSA-OAEP', modulusLength: 1024, publicExponent: e3, hash: 'SHA-1' }, true, ['encrypt', 'decrypt']);
        // Usages and algorithms.
        await expect('verify with a key without verify', s.verify({ name: 'ECDSA', hash: 'SHA-256' }, ec.privateKey, new Uint8Array(64), data), 'InvalidAccessError');
        await expect('decrypt with an encrypt-only key', s.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, aes, new Uint8Array(32)), 'InvalidAccessError');
        await expect('a key of another algorithm', s.sign({ name: 'RSA-PSS', saltLength: 32 }, rsa.privateKey, data), 'InvalidAccessError');
        await expect('an ECDSA key used as HMAC', s.sign('HMAC', ec.privateKey, data), 'InvalidAccessError');
        await expect('exporting a non-extractable key', s.exportKey('jwk', rsa.privateKey), 'InvalidAccessError');
        await expect('a private key as spki', s.exportKey('spki', ec.privateKey), 'InvalidAccessError');
        await expect('wrapping a non-extractable key', s.wrapKey('jwk', rsa.privateKey, aes, { name: 'AES-GCM', iv: new Uint8Array(12) }), 'InvalidAccessError');
        await expect('an unknown algorithm', s.generateKey({ name: 'X448' }, true, ['deriveBits']), 'NotSupportedError');
        await expect('an unknown curve', s.generateKey({ name: 'ECDSA', namedCurve: 'P-192' }, true, ['sign']), 'NotSupportedError');
        await expect('an unknown hash', s.importKey('raw', new Uint8Array(16), { name: 'HMAC', hash: 'MD5' }, true, ['sign']), 'NotSupportedError');
        await expect('a missing hash', s.generateKey({ name: 'RSA-PSS', modulusLength: 1024, publicExponent: e3 }, true, ['sign']), 'TypeError');
        await expect('a missing saltLength', s.sign({ name: 'RSA-PSS' }, (await s.generateKey({ name: 'RSA-PSS', modulusLength: 1024, publicExponent: e3, hash: 'SHA-1' }, false, ['sign'])).privateKey, data), 'TypeError');
        await expect('an unknown usage', s.generateKey({ name: 'AES-CBC', length: 128 }, true, ['fly']), 'TypeError');
        await expect('a usage the algorithm lacks', s.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['encrypt']), 'SyntaxError');
        await expect('no usages for a secret key', s.generateKey({ name: 'AES-CTR', length: 128 }, true, []), 'SyntaxError');
        await expect('only public usages for a key pair', s.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['verify']), 'SyntaxError');
        await expect('an extractable HKDF key', s.importKey('raw', new Uint8Array(8), 'HKDF', true, ['deriveBits']), 'SyntaxError');
        await expect('an RSA exponent other than 3 or 65537', s.generateKey({ name: 'RSA-OAEP', modulusLength: 1024, publicExponent: new Uint8Array([5]), hash: 'SHA-1' }, true, ['encrypt', 'decrypt']), 'OperationError');
        await expect('an AES length of 512', s.generateKey({ name: 'AES-KW', length: 512 }, true, ['wrapKey']), 'OperationError');
        // Bad key data.
        await expect('a 20-byte AES key', s.importKey('raw', new Uint8Array(20), 'AES-CBC', true, ['encrypt']), 'DataError');
        await expect('garbage spki', s.importKey('spki', new Uint8Array(40), { name: 'RSA-OAEP', hash: 'SHA-1' }, true, ['encrypt']), 'DataError');
        await expect('a P-256 key imported as P-384', s.importKey('spki', await s.exportKey('spki', ec.publicKey), { name: 'ECDSA', namedCurve: 'P-384' }, true, ['verify']), 'DataError');
        await expect('an RSA key imported as EC', s.importKey('spki', await s.exportKey('spki', oaep.publicKey), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']), 'DataError');
        const ecJwk = await s.exportKey('jwk', ec.privateKey);
        await expect('a JWK whose d belongs to another key', s.importKey('jwk', { ...ecJwk, d: (await s.exportKey('jwk', (await s.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])).privateKey)).d }, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']), 'DataError');
        await expect('a JWK of the wrong kty', s.importKey('jwk', { ...ecJwk, kty: 'RSA' }, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']), 'DataError');
        await expect('a JWK with another alg', s.importKey('jwk', { ...ecJwk, alg: 'ES384' }, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']), 'DataError');
        await expect('a JWK with ext false imported extractable', s.importKey('jwk', { ...ecJwk, ext: false }, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']), 'DataError');
        await expect('a JWK whose key_ops lack the usage', s.importKey('jwk', { ...ecJwk, key_ops: ['verify'] }, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']), 'DataError');
        await expect('a JWK for encryption used to sign', s.importKey('jwk', { ...ecJwk, use: 'enc' }, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']), 'DataError');
        const oaepJwk = await s.exportKey('jwk', oaep.privateKey);
        await expect('an RSA JWK with a wrong prime', s.importKey('jwk', { ...oaepJwk, p: oaepJwk.q }, { name: 'RSA-OAEP', hash: 'SHA-1' }, true, ['decrypt']), 'DataError');
        await expect('an RSA JWK without CRT members', s.importKey('jwk', { ...oaepJwk, dp: undefined }, { name: 'RSA-OAEP', hash: 'SHA-1' }, true, ['decrypt']), 'DataError');
        await expect('an RSA JWK for another hash', s.importKey('jwk', oaepJwk, { name: 'RSA-OAEP', hash: 'SHA-256' }, true, ['decrypt']), 'DataError');
        await expect('a JWK that is not an object', s.importKey('jwk', 'x', 'AES-GCM', true, ['encrypt']), 'TypeError');
        // Failed operations.
        const cbc = await s.importKey('raw', new Uint8Array(16), 'AES-CBC', false, ['encrypt', 'decrypt']);
        const iv = new Uint8Array(16);
        const sealed = new Uint8Array(await s.encrypt({ name: 'AES-CBC', iv }, cbc, data));
        const flipped = sealed.slice(); flipped[15] ^= 0x55;
        await expect('bad CBC padding', s.decrypt({ name: 'AES-CBC', iv }, cbc, flipped), 'OperationError');
        await expect('a CBC ciphertext of a partial block', s.decrypt({ name: 'AES-CBC', iv }, cbc, sealed.subarray(0, 10)), 'OperationError');
        await expect('a short CBC iv', s.encrypt({ name: 'AES-CBC', iv: new Uint8Array(8) }, cbc, data), 'OperationError');
        const ctr = await s.importKey('raw', new Uint8Array(16), 'AES-CTR', false, ['encrypt']);
        await expect('a CTR counter that would repeat', s.encrypt({ name: 'AES-CTR', counter: new Uint8Array(16), length: 1 }, ctr, new Uint8Array(33)), 'OperationError');
        await expect('a CTR length of 0', s.encrypt({ name: 'AES-CTR', counter: new Uint8Array(16), length: 0 }, ctr, data), 'OperationError');
        const gcm = await s.importKey('raw', new Uint8Array(32), 'AES-GCM', false, ['encrypt', 'decrypt']);
        const gsealed = new Uint8Array(await s.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, gcm, data));
        gsealed[gsealed.length - 1] ^= 1;
        await expect('a tampered GCM tag', s.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, gcm, gsealed), 'OperationError');
        await expect('a GCM tag of 100 bits', s.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12), tagLength: 100 }, gcm, data), 'OperationError');
        await expect('a GCM tag of 64 bits', s.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12), tagLength: 64 }, gcm, data), 'NotSupportedError');
        await expect('a GCM ciphertext shorter than its tag', s.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, gcm, new Uint8Array(8)), 'OperationError');
        await expect('GCM with other additional data', s.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12), additionalData: data }, gcm, new Uint8Array(await s.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, gcm, data))), 'OperationError');
        const kek = await s.importKey('raw', new Uint8Array(16), 'AES-KW', false, ['wrapKey', 'unwrapKey']);
        const wrapped = new Uint8Array(await s.wrapKey('raw', aes, kek, 'AES-KW'));
        wrapped[3] ^= 1;
        await expect('a tampered AES-KW blob', s.unwrapKey('raw', wrapped, kek, 'AES-KW', 'AES-GCM', true, ['encrypt']), 'OperationError');
        await expect('AES-KW used to encrypt', s.encrypt('AES-KW', kek, new Uint8Array(16)), 'NotSupportedError');
        const ct = new Uint8Array(await s.encrypt({ name: 'RSA-OAEP' }, oaep.publicKey, data));
        await expect('OAEP with another label', s.decrypt({ name: 'RSA-OAEP', label: data }, oaep.privateKey, ct), 'OperationError');
        ct[5] ^= 1;
        await expect('a tampered OAEP ciphertext', s.decrypt({ name: 'RSA-OAEP' }, oaep.privateKey, ct), 'OperationError');
        await expect('OAEP encrypting too much', s.encrypt({ name: 'RSA-OAEP' }, oaep.publicKey, new Uint8Array(100)), 'OperationError');
        await expect('PBKDF2 with 0 iterations', s.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: data, iterations: 0 }, await s.importKey('raw', data, 'PBKDF2', false, ['deriveBits']), 128), 'OperationError');
        await expect('HKDF without info', s.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: data }, await s.importKey('raw', data, 'HKDF', false, ['deriveBits']), 128), 'TypeError');
        await expect('ECDSA without a hash', s.sign({ name: 'ECDSA' }, ec.privateKey, data), 'TypeError');
        // Key agreement.
        const x = await s.generateKey({ name: 'X25519' }, true, ['deriveBits']);
        const small = await s.importKey('raw', new Uint8Array(32), 'X25519', true, []);
        await expect('an X25519 small-order public key', s.deriveBits({ name: 'X25519', public: small }, x.privateKey, 256), 'OperationError');
        const p256 = await s.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
        const p384 = await s.generateKey({ name: 'ECDH', namedCurve: 'P-384' }, true, ['deriveBits']);
        await expect('ECDH across curves', s.deriveBits({ name: 'ECDH', public: p384.publicKey }, p256.privateKey, 256), 'InvalidAccessError');
        await expect('ECDH with an ECDSA public key', s.deriveBits({ name: 'ECDH', public: ec.publicKey }, p256.privateKey, 256), 'InvalidAccessError');
        await expect('ECDH with a private key as public', s.deriveBits({ name: 'ECDH', public: p256.privateKey }, p256.privateKey, 256), 'InvalidAccessError');
        await expect('ECDH asking for too many bits', s.deriveBits({ name: 'ECDH', public: p256.publicKey }, p256.privateKey, 264), 'OperationError');
        await expect('deriveKey without the deriveKey usage', s.deriveKey({ name: 'ECDH', public: p256.publicKey }, p256.privateKey, { name: 'AES-GCM', length: 128 }, true, ['encrypt']), 'InvalidAccessError');
        // Signatures that must not verify.
        const sig = new Uint8Array(await s.sign({ name: 'RSASSA-PKCS1-v1_5' }, rsa.privateKey, data));
        const other = await s.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: e3, hash: 'SHA-256' }, false, ['sign', 'verify']);
        check('a signature checked with another key fails', await s.verify('RSASSA-PKCS1-v1_5', other.publicKey, sig, data) === false);
        check('a truncated RSA signature fails', await s.verify('RSASSA-PKCS1-v1_5', rsa.publicKey, sig.subarray(1), data) === false);
        check('an empty ECDSA signature fails', await s.verify({ name: 'ECDSA', hash: 'SHA-256' }, ec.publicKey, new Uint8Array(0), data) === false);
        check('an all-zero ECDSA signature fails', await s.verify({ name: 'ECDSA', hash: 'SHA-256' }, ec.publicKey, new Uint8Array(64), data) === false);
        const pss = await s.generateKey({ name: 'RSA-PSS', modulusLength: 1024, publicExponent: e3, hash: 'SHA-256' }, false, ['sign', 'verify']);
        const pssSig = await s.sign({ name: 'RSA-PSS', saltLength: 32 }, pss.privateKey, data);
        check('PSS with another salt length fails', await s.verify({ name: 'RSA-PSS', saltLength: 20 }, pss.publicKey, pssSig, data) === false);
        const hmac = await s.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
        const mac = new Uint8Array(await s.sign('HMAC', hmac, data));
        check('a truncated HMAC fails', await s.verify('HMAC', hmac, mac.subarray(0, 16), data) === false);
        mac[0] ^= 1;
        check('a tampered HMAC fails', await s.verify('HMAC', hmac, mac, data) === false);
        "#,
        55,
    )
    .await;
}

pub async fn crypto_jwt_against_a_jwks(rt: &Rt) {
    let script = format!(
        "const V = {VECTORS};\n{}",
        r#"
        // What jose's jwtVerify does with a remote JWKS: pick the key by kid, import it as the token's alg says, verify.
        const fromB64u = (t) => unb64(t.replace(/-/g, '+').replace(/_/g, '/'));
        const ALG = { RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, PS256: { name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 },
          ES256: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } };
        const verifyJwt = async (token, jwks) => {
          const [h, p, sig] = token.split('.');
          const header = JSON.parse(new TextDecoder().decode(fromB64u(h)));
          const jwk = jwks.keys.find((k) => k.kid === header.kid && k.alg === header.alg);
          if (!jwk) return null;
          const key = await s.importKey('jwk', jwk, ALG[header.alg], false, ['verify']);
          const ok = await s.verify(ALG[header.alg], key, fromB64u(sig), enc.encode(`${h}.${p}`));
          return ok ? JSON.parse(new TextDecoder().decode(fromB64u(p))) : null;
        };
        const jwks = V.jwt;
        for (const token of jwks.tokens) {
          const alg = JSON.parse(new TextDecoder().decode(fromB64u(token.split('.')[0]))).alg;
          const claims = await verifyJwt(token, jwks);
          check(`${alg}: the token verifies`, claims !== null && claims.sub === 'user-1' && claims.aud === 'nano');
          const [h, p, sig] = token.split('.');
          const forged = b64u(enc.encode(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(fromB64u(p))), sub: 'admin' })));
          check(`${alg}: a forged payload fails`, await verifyJwt(`${h}.${forged}.${sig}`, jwks) === null);
          const hmacHeader = b64u(enc.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' })));
          check(`${alg}: alg confusion finds no key`, await verifyJwt(`${hmacHeader}.${p}.${sig}`, jwks) === null);
        }
        const rsaJwk = jwks.keys.find((k) => k.alg === 'RS256');
        check('an RS256 JWK is refused for RSA-PSS', await errorOf(s.importKey('jwk', rsaJwk, { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['verify'])) === 'DataError');
        "#
    );
    run_checks(rt, &script, 10).await;
}

pub async fn crypto_keys_are_sealed(rt: &Rt) {
    run_checks(
        rt,
        r#"
        const data = enc.encode('data');
        const expect = async (what, p, name) => { const got = await errorOf(p); check(`${what}: ${got} instead of ${name}`, got === name); };
        const secret = await s.importKey('raw', new Uint8Array(16).fill(7), 'AES-GCM', false, ['encrypt']);
        const ec = await s.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
        for (const k of [secret, ec.privateKey]) {
          check('no own property or symbol holds key material', Reflect.ownKeys(k).length === 0);
        }
        const hmac = await s.importKey('raw', data, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
        try { hmac.algorithm.hash.name = 'SHA-1'; } catch {}
        try { hmac.usages.push('verify'); } catch {}
        check('a key\'s algorithm and usages cannot be changed', hmac.algorithm.hash.name === 'SHA-256' && hmac.usages.join() === 'sign');
        await expect('a forged CryptoKey', s.exportKey('raw', Object.create(CryptoKey.prototype)), 'TypeError');
        await expect('a forged public key for ECDH', s.deriveBits({ name: 'ECDH', public: Object.create(CryptoKey.prototype) },
          (await s.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits'])).privateKey, 256), 'TypeError');
        await expect('CryptoKey cannot be constructed', (async () => new CryptoKey())(), 'TypeError');
        // App code that patches CryptoKey's getters changes what it reads, not what the key allows.
        const everything = ['encrypt', 'decrypt', 'sign', 'verify', 'deriveKey', 'deriveBits', 'wrapKey', 'unwrapKey'];
        Object.defineProperty(CryptoKey.prototype, 'extractable', { get() { return true; }, configurable: true });
        Object.defineProperty(CryptoKey.prototype, 'usages', { get() { return everything; }, configurable: true });
        Object.defineProperty(CryptoKey.prototype, 'type', { get() { return 'secret'; }, configurable: true });
        check('the patched getter answers', secret.extractable === true);
        await expect('exporting a non-extractable key through a patched prototype', s.exportKey('raw', secret), 'InvalidAccessError');
        await expect('wrapping it through a patched prototype', s.wrapKey('raw', secret, await s.generateKey({ name: 'AES-KW', length: 128 }, false, ['wrapKey']), 'AES-KW'), 'InvalidAccessError');
        await expect('a usage granted by a patched prototype', s.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, secret, new Uint8Array(32)), 'InvalidAccessError');
        await expect('exporting an EC private key through a patched prototype', s.exportKey('pkcs8', ec.privateKey), 'InvalidAccessError');
        Object.defineProperty(CryptoKey.prototype, 'algorithm', { get() { return { name: 'HMAC', hash: { name: 'SHA-256' } }; }, configurable: true });
        await expect('an algorithm changed by a patched prototype', s.sign('HMAC', secret, data), 'InvalidAccessError');
        "#,
        12,
    )
    .await;
}
