// Right after `nano run --domain test --data --cache --storage --search`: every service answers without a create call.
import { connect } from "hyper-connect";
import assert from "node:assert/strict";

const hyper = connect(process.env.HYPER);
let r = await hyper.data.add({ _id: "boot-1", title: "Dune" });
assert.equal(r.ok, true, JSON.stringify(r));
r = await hyper.data.get("boot-1");
assert.equal(r.doc.title, "Dune", JSON.stringify(r));
r = await hyper.cache.add("boot-key", { n: 1 });
assert.equal(r.ok, true, JSON.stringify(r));
r = await hyper.search.add("movie-1", { title: "Dune", type: "movie" });
assert.equal(r.ok, true, JSON.stringify(r));
r = await hyper.search.query("dune");
assert.equal(r.matches.length, 1, JSON.stringify(r));
const bytes = new TextEncoder().encode("hello");
r = await hyper.storage.upload("hello.txt", new Blob([bytes]).stream());
assert.equal(r.ok, true, JSON.stringify(r));
console.log("bootstrap ok");
