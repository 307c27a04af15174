// hyper-connect's search methods against nano: create, add, get, update, remove, query, load, destroy.
import { connect } from "hyper-connect";
import assert from "node:assert/strict";

const hyper = connect(process.env.HYPER);

let r = await hyper.search.create(["title", "type"], ["title", "type"]);
assert.deepEqual(r, { ok: true });
r = await hyper.search.create(["title"]);
assert.equal(r.status, 409);

r = await hyper.search.add("movie-1", { title: "Ghostbusters", type: "movie", year: "1984" });
assert.deepEqual(r, { ok: true });
r = await hyper.search.add("movie-1", { title: "again" });
assert.equal(r.ok, false);
assert.equal(r.status, 409);

r = await hyper.search.get("movie-1");
assert.equal(r.ok, true);
assert.equal(r.key, "movie-1");
assert.equal(r.doc.title, "Ghostbusters");
r = await hyper.search.get("nope");
assert.equal(r.status, 404);

// nano updates (hyper-nano answered 501).
r = await hyper.search.update("movie-1", { title: "Ghostbusters II", type: "movie" });
assert.deepEqual(r, { ok: true });
r = await hyper.search.get("movie-1");
assert.equal(r.doc.title, "Ghostbusters II");

r = await hyper.search.load([
  { id: "1", title: "Dune", type: "book" },
  { id: "2", title: "Dune Messiah", type: "book" },
]);
assert.equal(r.ok, true);
assert.deepEqual(r.results.map((x) => x.id), ["1", "2"]);

r = await hyper.search.query("ghostbuster");
assert.equal(r.ok, true);
assert.equal(r.matches[0].id, "movie-1");
assert.equal(r.matches[0].title, "Ghostbusters II");
r = await hyper.search.query("dun", { fields: ["title"], filter: { type: "book" } });
assert.deepEqual(r.matches.map((m) => m.id).sort(), ["1", "2"]);
r = await hyper.search.query("");
assert.equal(r.status, 422);

r = await hyper.search.remove("movie-1");
assert.deepEqual(r, { ok: true });
r = await hyper.search.remove("movie-1");
assert.equal(r.status, 404);

await assert.rejects(hyper.search.destroy(), (e) => e.msg === "request not confirmed!");
r = await hyper.search.destroy(true);
assert.equal(r.ok, true);
r = await hyper.search.get("1");
assert.equal(r.status, 404);
console.log("search ok");
