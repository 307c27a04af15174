// hyper-connect with a cloud:// connection string against nano's HTTPS listener: https, the tenant in the path,
// a JWT from the key's secret; data and cache calls work end to end.
import { connect } from "hyper-connect";
import assert from "node:assert/strict";

assert.ok(process.env.HYPER.startsWith("cloud://"), process.env.HYPER);
const hyper = connect(process.env.HYPER);
const services = await hyper.info.services();
assert.equal(services.name, "nano");

let r = await hyper.data.create();
assert.equal(r.ok, true, JSON.stringify(r));
r = await hyper.data.add({ _id: "movie-1", title: "Ghostbusters" });
assert.deepEqual(r, { ok: true, id: "movie-1" });
r = await hyper.data.get("movie-1");
assert.equal(r.ok, true, JSON.stringify(r));
assert.equal(r.doc.title, "Ghostbusters");
r = await hyper.data.list();
assert.equal(r.docs.length, 1);

r = await hyper.cache.create();
assert.equal(r.ok, true, JSON.stringify(r));
r = await hyper.cache.add("k1", { v: 1 });
assert.equal(r.ok, true, JSON.stringify(r));
r = await hyper.cache.get("k1");
assert.deepEqual(r.doc, { v: 1 });
console.log("tls cloud ok");
