"""A webhook receiver for the queue benchmark, in a process of its own: `POST /hook` is counted and answered `{}`;
`GET /stats` answers how many POSTs came and when the last one did (`time.monotonic()`, comparable across processes);
`POST /reset` starts the count again. Usage: receiver.py PORT."""
import http.server
import json
import sys
import threading
import time

count = 0
last = 0.0
lock = threading.Lock()


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The head and the body go out in two writes: without this, on a kept-alive connection the body would wait for
    # the client's delayed ACK of the head.
    disable_nagle_algorithm = True

    def answer(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        global count, last
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            if self.path == "/reset":
                count, last = 0, 0.0
            else:
                count, last = count + 1, time.monotonic()
        self.answer(b"{}")

    def do_GET(self):
        with lock:
            body = json.dumps({"count": count, "last": last}).encode()
        self.answer(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
