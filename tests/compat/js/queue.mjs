// hyper-connect's queue service against nano: create, enqueue, queued, errors, destroy. A receiver in this script
// checks every delivery with hyper-connect's own createHyperVerify(secret, '5m').
import { connect, createHyperVerify } from "hyper-connect";
import assert from "node:assert/strict";
import http from "node:http";

const conn = new URL(process.env.HYPER);
const secret = "compat-secret";
const verify = createHyperVerify(secret, "5m");

// Deliveries are held until `release()`, so that they are still queued (READY) when listed.
let release;
const gate = new Promise((r) => (release = r));
const received = [];
const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", async () => {
    const payload = JSON.parse(body);
    const check = verify(req.headers["x-hyper-signature"], payload);
    received.push({ payload, check, contentType: req.headers["content-type"] });
    if (payload.fail) {
      res.writeHead(500, { "content-type": "application/json" }).end('{"ok":false}');
      return;
    }
    await gate;
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  });
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const target = `http://127.0.0.1:${server.address().port}/jobs`;
const until = async (what, fn) => {
  for (let i = 0; i < 600; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never: ${what}`);
};

const { queue } = connect(process.env.HYPER);
assert.deepEqual(await queue.create(target, secret), { ok: true });
const again = await queue.create(target, secret);
assert.deepEqual(again, { ok: false, status: 409, msg: "queue already exists" });

const ids = [];
for (const job of [{ type: "email", to: "a@b.c" }, { n: 1.5, nested: { é: [1, 2] } }, { z: 1, a: 2, 10: "x" }]) {
  const r = await queue.enqueue(job);
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(typeof r.id, "number");
  ids.push(r.id);
}
const queued = await queue.queued();
assert.equal(queued.ok, true);
assert.deepEqual(queued.jobs.map((j) => j.id), ids);
assert.deepEqual(queued.jobs[0].job, { type: "email", to: "a@b.c" });
assert.equal(queued.jobs[0].status, "READY");
assert.deepEqual(await queue.errors(), { ok: true, jobs: [] });

release();
await until("3 deliveries", () => received.length >= 3);
for (const r of received) {
  assert.deepEqual(r.check, { ok: true }, JSON.stringify(r));
  assert.equal(r.contentType, "application/json");
}
await until("queue drained", async () => (await queue.queued()).jobs.length === 0);

// A queue whose target fails and that gives up after one attempt (created over HTTP: nano's maxAttempts).
const failing = new URL(conn);
failing.pathname = conn.pathname + "-failing";
const res = await fetch(`${conn.origin}/queue${failing.pathname}`, {
  method: "PUT",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ target, secret, maxAttempts: 1 }),
});
assert.equal(res.status, 201);
const bad = connect(failing.toString()).queue;
const { id } = await bad.enqueue({ fail: true });
await until("job in ERROR", async () => (await bad.errors()).jobs.length === 1);
const errors = await bad.errors();
assert.equal(errors.jobs[0].id, id);
assert.equal(errors.jobs[0].status, "ERROR");
assert.equal(errors.jobs[0].lastStatus, 500);
assert.deepEqual(await bad.destroy(true), { ok: true });

await assert.rejects(queue.destroy(), (e) => e.msg === "request not confirmed!");
assert.deepEqual(await queue.destroy(true), { ok: true });
assert.equal((await queue.destroy(true)).status, 404);
server.close();
console.log("queue ok");
