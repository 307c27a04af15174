// hyper-connect's storage methods against nano: create, upload (raw stream), download, signedUrl, remove, destroy.
import { connect } from "hyper-connect";
import assert from "node:assert/strict";

const hyper = connect(process.env.HYPER);
const text = "hello from hyper-connect";
const streamOf = (s) =>
  new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode(s));
      c.close();
    },
  });

let r = await hyper.storage.create();
assert.equal(r.ok, true, JSON.stringify(r));
r = await hyper.storage.create();
assert.equal(r.ok, false);
assert.equal(r.status, 409);

r = await hyper.storage.upload("docs/hello.txt", streamOf(text));
assert.deepEqual(r, { ok: true });

r = await hyper.storage.download("docs/hello.txt");
assert.equal(r.ok, true);
assert.equal(await new Response(r.object).text(), text);

r = await hyper.storage.download("docs/missing.txt");
assert.equal(r.ok, false);
assert.equal(r.status, 404);
assert.equal(r.msg, "object does not exist");

// Signed URLs: nano's own (a PUT answers 201), or S3's presigned ones when storage is on S3 (200).
r = await hyper.storage.signedUrl("docs/signed.txt", { type: "upload" });
assert.equal(r.ok, true, JSON.stringify(r));
let res = await fetch(r.url, { method: "PUT", body: "signed upload" });
assert.ok([200, 201].includes(res.status), `signed upload answered ${res.status}`);
r = await hyper.storage.signedUrl("docs/signed.txt", { type: "download" });
assert.equal(r.ok, true, JSON.stringify(r));
res = await fetch(r.url);
assert.equal(res.status, 200);
assert.equal(await res.text(), "signed upload");
res = await fetch(r.url.replace(/signature=/i, "$&0"));
assert.equal(res.status, 403);

r = await hyper.storage.remove("docs/hello.txt");
assert.deepEqual(r, { ok: true });
r = await hyper.storage.remove("docs/hello.txt");
assert.equal(r.status, 404);

await assert.rejects(hyper.storage.destroy(), (e) => e.msg === "request not confirmed!");
r = await hyper.storage.destroy(true);
assert.equal(r.ok, true, JSON.stringify(r));
r = await hyper.storage.download("docs/signed.txt");
assert.equal(r.status, 404);
assert.equal(r.msg, "bucket does not exist");
console.log("storage ok");
