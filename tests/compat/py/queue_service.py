"""The Python hyper-connect client's queue methods against nano: enqueue, queued, errors.

(Named queue_service.py: a py/queue.py would shadow the standard library's `queue` module for every script here.)

The client cannot create queues, so this script creates them over HTTP; a receiver in this process checks the
signature of every delivery (HMAC-SHA256 over "<t>.<body>", body = compact JSON as JSON.stringify writes it)."""
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import requests
from hyper_connect import connect

SECRET = "py-secret"
conn = urlparse(os.environ["HYPER"])
origin = f"{conn.scheme}://{conn.netloc}"
received = []
gate = threading.Event()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        sig = dict(p.split("=", 1) for p in self.headers["x-hyper-signature"].split(","))
        want = hmac.new(SECRET.encode(), f"{sig['t']}.".encode() + body, hashlib.sha256).hexdigest()
        payload = json.loads(body)
        compact = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        received.append({"payload": payload, "ok": want == sig["sig"] and compact == body})
        status = 500 if payload.get("fail") else 200
        if status == 200:
            gate.wait(30)
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok":true}')

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
target = f"http://127.0.0.1:{server.server_port}/hook"


def until(what, fn):
    for _ in range(600):
        if fn():
            return
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


def create(path, **body):
    res = requests.put(f"{origin}/queue{path}", json={"target": target, "secret": SECRET, **body})
    assert res.status_code == 201, res.text


create(conn.path)
queue = connect(os.environ["HYPER"]).queue
ids = []
for job in [{"type": "email"}, {"n": 1, "text": "héllo"}]:
    result = queue.enqueue(job)
    assert result["ok"] is True and result["status"] == 201, result
    ids.append(result["id"])
queued = queue.queued()
assert queued["ok"] is True, queued
assert [j["id"] for j in queued["jobs"]] == ids, queued
assert queued["jobs"][1]["job"] == {"n": 1, "text": "héllo"}
assert queue.errors() == {"ok": True, "jobs": [], "status": 200}
gate.set()
until("2 deliveries", lambda: len(received) >= 2)
assert all(r["ok"] for r in received), received
until("queue drained", lambda: queue.queued()["jobs"] == [])

create(conn.path + "-failing", maxAttempts=1)
bad = connect(os.environ["HYPER"] + "-failing").queue
job_id = bad.enqueue({"fail": True})["id"]
until("job in ERROR", lambda: len(bad.errors()["jobs"]) == 1)
errors = bad.errors()
assert errors["jobs"][0]["id"] == job_id and errors["jobs"][0]["status"] == "ERROR", errors
server.shutdown()
print("queue ok")
