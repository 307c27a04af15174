// hyper-connect's data service against nano: create, add, get, list, update, remove, query, index, bulk, destroy.
import { connect } from "hyper-connect";
import assert from "node:assert/strict";

const hyper = connect(process.env.HYPER);

let r = await hyper.data.create();
assert.deepEqual(r, { ok: true });
r = await hyper.data.create();
assert.equal(r.ok, false);
assert.equal(r.status, 409);

// add: generated and given ids; duplicates and empty documents are refused.
r = await hyper.data.add({ type: "movie", title: "Ghostbusters" });
assert.equal(r.ok, true, JSON.stringify(r));
const generated = r.id;
assert.ok(typeof generated === "string" && generated.length > 10, generated);
r = await hyper.data.add({ _id: "10", type: "movie", title: "Jaws" });
assert.deepEqual(r, { ok: true, id: "10" });
r = await hyper.data.add({ _id: "10", type: "movie" });
assert.equal(r.ok, false);
assert.equal(r.status, 409);
assert.equal(r.msg, "document with _id 10 already exists");
r = await hyper.data.add({});
assert.equal(r.status, 400);

// get: hyper-connect asks for the hyper shape (X-HYPER-LEGACY-GET: false).
r = await hyper.data.get("10");
assert.deepEqual(r, { ok: true, doc: { _id: "10", type: "movie", title: "Jaws" } });
r = await hyper.data.get("nope");
assert.equal(r.ok, false);
assert.equal(r.status, 404);

// update (upsert) and remove.
r = await hyper.data.update("10", { type: "movie", title: "Jaws 2" });
assert.deepEqual(r, { ok: true, id: "10" });
assert.equal((await hyper.data.get("10")).doc.title, "Jaws 2");
r = await hyper.data.update("11", { type: "movie", title: "Alien" });
assert.deepEqual(r, { ok: true, id: "11" });
r = await hyper.data.remove(generated);
assert.deepEqual(r, { ok: true, id: generated });
r = await hyper.data.remove(generated);
assert.equal(r.status, 404);

// bulk: insert, update, delete.
const albums = [
  { _id: "2001", type: "album", title: "Abbey Road", band: "The Beatles", year: 1969 },
  { _id: "2002", type: "album", title: "Led Zeppelin IV", band: "Led Zeppelin", year: 1971 },
  { _id: "2003", type: "album", title: "Rumours", band: "Fleetwood Mac", year: 1977 },
  { _id: "2004", type: "album", title: "The Doors", band: "The Doors", year: 1967 },
  { _id: "2005", type: "album", title: "Nevermind", band: "Nirvana", year: 1991 },
  { _id: "2006", type: "album", title: "Gone", band: "Nobody", year: 2000 },
];
r = await hyper.data.bulk(albums);
assert.equal(r.ok, true, JSON.stringify(r));
assert.equal(r.results.length, 6);
assert.deepEqual(r.results[0], { ok: true, id: "2001" });
r = await hyper.data.bulk([{ _id: "2006", _deleted: true }, { ...albums[0], _update: true, remastered: true }]);
assert.equal(r.results.length, 2);
assert.equal((await hyper.data.get("2001")).doc.remastered, true);
assert.equal((await hyper.data.get("2006")).status, 404);

// list: options become query parameters; keys are joined with commas.
r = await hyper.data.list();
assert.equal(r.ok, true);
assert.deepEqual(r.docs.map((d) => d._id), ["10", "11", "2001", "2002", "2003", "2004", "2005"]);
r = await hyper.data.list({ keys: ["2002", "2005"] });
assert.deepEqual(r.docs.map((d) => d._id), ["2002", "2005"]);
r = await hyper.data.list({ startkey: "2002", endkey: "2004", descending: true, limit: 2 });
assert.deepEqual(r.docs.map((d) => d._id), ["2004", "2003"]);

// query: selector, fields, sort, limit, skip, useIndex.
r = await hyper.data.query({ type: "album" });
assert.equal(r.ok, true);
assert.equal(r.docs.length, 5);
r = await hyper.data.query({ type: "album" }, { limit: 2 });
assert.equal(r.docs.length, 2);
r = await hyper.data.query({ year: { $gte: 1970 } }, { fields: ["_id", "band"], sort: ["year"] });
assert.deepEqual(r.docs, [
  { _id: "2002", band: "Led Zeppelin" },
  { _id: "2003", band: "Fleetwood Mac" },
  { _id: "2005", band: "Nirvana" },
]);

// index, then a sorted query that names it.
r = await hyper.data.index("idx-title", ["title"]);
assert.deepEqual(r, { ok: true });
r = await hyper.data.query({ type: "album" }, { sort: [{ title: "DESC" }], useIndex: "idx-title", skip: 1, limit: 2 });
assert.deepEqual(r.docs.map((d) => d.title), ["Rumours", "Nevermind"]);
r = await hyper.data.index("idx-title", ["band"]);
assert.equal(r.status, 409);

// destroy needs confirmation.
await assert.rejects(hyper.data.destroy());
r = await hyper.data.destroy(true);
assert.deepEqual(r, { ok: true });
r = await hyper.data.list();
assert.equal(r.status, 404);
console.log("data ok");
