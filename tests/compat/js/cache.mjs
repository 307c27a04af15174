// hyper-connect's cache service against nano: create, add, get, set, remove, query, destroy.
import { connect } from "hyper-connect";
import assert from "node:assert/strict";

const hyper = connect(process.env.HYPER);
const { cache } = hyper;

assert.deepEqual(await cache.create(), { ok: true });
const again = await cache.create();
assert.equal(again.ok, false);
assert.equal(again.status, 409);

assert.deepEqual(await cache.add("movie-1", { title: "Dune", year: 1965 }), { ok: true });
assert.deepEqual(await cache.add("movie-2", { title: "Emma" }, "1h"), { ok: true });
assert.deepEqual(await cache.add("movie-3", { title: "Heat" }), { ok: true });
assert.deepEqual(await cache.add("a-movie", { title: "Alien" }), { ok: true });
const dup = await cache.add("movie-1", { title: "Other" });
assert.deepEqual(dup, { ok: false, status: 409, msg: "document conflict" });
const badKey = await cache.add("Movie-9", { title: "x" });
assert.equal(badKey.status, 422);

// get sends X-HYPER-LEGACY-GET: false, so the answer is the hyper shape.
assert.deepEqual(await cache.get("movie-1"), { ok: true, doc: { title: "Dune", year: 1965 } });
const missing = await cache.get("nope");
assert.equal(missing.ok, false);
assert.equal(missing.status, 404);

// set replaces (nano does not merge) and upserts, with an optional ttl.
assert.deepEqual(await cache.set("movie-1", { title: "Dune", year: 2021 }), { ok: true });
assert.deepEqual(await cache.get("movie-1"), { ok: true, doc: { title: "Dune", year: 2021 } });
assert.deepEqual(await cache.set("movie-4", { title: "Up" }, "2d"), { ok: true });
assert.deepEqual(await cache.set("short", { title: "gone" }, "1"), { ok: true });

// query defaults to "*".
await new Promise((r) => setTimeout(r, 50));
const all = await cache.query();
assert.equal(all.ok, true);
assert.deepEqual(all.docs.map((d) => d.key), ["a-movie", "movie-1", "movie-2", "movie-3", "movie-4"]);
const movies = await cache.query("movie-*");
assert.equal(movies.docs.length, 4);
assert.deepEqual(movies.docs[1], { key: "movie-2", value: { title: "Emma" } });
assert.deepEqual((await cache.query("*-movie")).docs.map((d) => d.key), ["a-movie"]);

assert.deepEqual(await cache.remove("movie-1"), { ok: true });
assert.deepEqual(await cache.remove("movie-1"), { ok: true });
assert.equal((await cache.get("movie-1")).status, 404);

await assert.rejects(cache.destroy(), (e) => e.msg === "request not confirmed!");
assert.deepEqual(await cache.destroy(true), { ok: true });
assert.equal((await cache.destroy(true)).status, 404);
console.log("cache ok");
