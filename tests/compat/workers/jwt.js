// JWTs and JWEs as Workers apps handle them with jose, hono/jwt and @tsndr/cloudflare-worker-jwt, on nano's
// crypto.subtle; tests/compat/workers.rs bundles this with esbuild and posts it a JWKS and tokens made by Node.
import * as jose from "jose";
import { sign as honoSign, verify as honoVerify, verifyWithJwks } from "hono/jwt";
import tsndr from "@tsndr/cloudflare-worker-jwt";

const claims = { sub: "user-1", iss: "https://issuer.example", aud: "nano" };
const outcome = async (f) => {
  try {
    return await f();
  } catch (e) {
    return e.code || (e.name === "Error" ? e.message : e.name);
  }
};

// Tokens an identity provider issued, checked against its JWKS by each library.
async function verifyIssued({ keys, tokens }) {
  const JWKS = jose.createLocalJWKSet({ keys });
  const out = {};
  for (const token of tokens) {
    const [head, body, sig] = token.split(".");
    const alg = JSON.parse(atob(head.replace(/-/g, "+").replace(/_/g, "/"))).alg;
    const jwk = keys.find((k) => k.alg === alg);
    const forged = `${head}.${btoa(JSON.stringify({ ...claims, sub: "admin" })).replace(/=+$/, "")}.${sig}`;
    out[alg] = {
      jose: await outcome(async () => (await jose.jwtVerify(token, JWKS, { issuer: claims.iss, audience: "nano" })).payload.sub),
      joseForged: await outcome(async () => (await jose.jwtVerify(forged, JWKS)).payload.sub),
      hono: await outcome(async () => (await honoVerify(token, jwk, alg)).sub),
      honoJwks: await outcome(async () => (await verifyWithJwks(token, { keys, allowedAlgorithms: [alg] })).sub),
      honoForged: await outcome(async () => (await honoVerify(forged, jwk, alg)).sub),
    };
    if (alg !== "PS256") {
      // @tsndr/cloudflare-worker-jwt has no PS* algorithms.
      out[alg].tsndr = await outcome(async () => (await tsndr.verify(token, jwk, { algorithm: alg, throwError: true })).payload.sub);
      out[alg].tsndrForged = await outcome(async () => (await tsndr.verify(forged, jwk, { algorithm: alg, throwError: true })).payload.sub);
    }
  }
  return out;
}

// Keys made here, tokens signed and checked again, and JWEs sealed and opened.
async function roundTrips() {
  const out = {};
  for (const alg of ["RS256", "PS384", "ES256", "ES384", "ES512", "EdDSA", "HS512"]) {
    out[alg] = await outcome(async () => {
      const { privateKey, publicKey } = alg.startsWith("HS")
        ? { privateKey: await jose.generateSecret(alg), publicKey: null }
        : await jose.generateKeyPair(alg, { modulusLength: 2048, extractable: true });
      const jwt = await new jose.SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt().setExpirationTime("2h").sign(privateKey);
      const { payload } = await jose.jwtVerify(jwt, publicKey || privateKey, { audience: "nano" });
      return payload.sub;
    });
  }
  const plaintext = new TextEncoder().encode("sealed for nano");
  for (const [alg, enc, options] of [
    ["RSA-OAEP-256", "A256GCM"],
    ["RSA-OAEP", "A128CBC-HS256"],
    ["ECDH-ES", "A256GCM", { crv: "P-384" }],
    ["ECDH-ES+A128KW", "A128CBC-HS256", { crv: "P-256" }],
    ["ECDH-ES+A256KW", "A256GCM", { crv: "X25519" }],
    ["A256KW", "A192CBC-HS384"],
    ["A128GCMKW", "A128GCM"],
    ["PBES2-HS256+A128KW", "A256CBC-HS512"],
    ["dir", "A256GCM"],
  ]) {
    out[`${alg} ${enc}`] = await outcome(async () => {
      let encryptKey, decryptKey;
      if (alg.startsWith("PBES2")) encryptKey = decryptKey = new TextEncoder().encode("correct horse battery staple");
      else if (alg === "dir") encryptKey = decryptKey = await jose.generateSecret(enc);
      else if (/^A\d+(GCM)?KW$/.test(alg)) encryptKey = decryptKey = await jose.generateSecret(alg);
      else ({ publicKey: encryptKey, privateKey: decryptKey } = await jose.generateKeyPair(alg, { modulusLength: 2048, ...options }));
      const jwe = await new jose.CompactEncrypt(plaintext).setProtectedHeader({ alg, enc }).encrypt(encryptKey);
      const allow = { keyManagementAlgorithms: [alg] };
      const { plaintext: opened } = await jose.compactDecrypt(jwe, decryptKey, allow);
      const [head, key, iv, ct, tag] = jwe.split(".");
      const bad = tag.slice(0, -2) + (tag.endsWith("AA") ? "BA" : "AA");
      const tampered = await outcome(() => jose.compactDecrypt([head, key, iv, ct, bad].join("."), decryptKey, allow));
      return [new TextDecoder().decode(opened), typeof tampered === "string" ? tampered : "opened"];
    });
  }
  out.honoHS256 = await outcome(async () => (await honoVerify(await honoSign(claims, "a secret"), "a secret", "HS256")).sub);
  out.tsndrES256 = await outcome(async () => {
    const { privateKey, publicKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
    const token = await tsndr.sign(claims, await crypto.subtle.exportKey("jwk", privateKey), "ES256");
    return (await tsndr.verify(token, await crypto.subtle.exportKey("jwk", publicKey), { algorithm: "ES256", throwError: true })).payload.sub;
  });
  return out;
}

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === "/verify") return Response.json(await verifyIssued(await request.json()));
    if (pathname === "/roundtrip") return Response.json(await roundTrips());
    return new Response("not found", { status: 404 });
  },
};
