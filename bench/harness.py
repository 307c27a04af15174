"""nano's benchmark harness: every figure measured side by side with a peer in the same run, reported as a ratio.

Run through bench/run.sh, which builds and installs what this needs. Every server is started here, targeted on
127.0.0.1 only, loaded for a bounded time, and stopped by PID. Results go to bench/RESULTS.md.
"""
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
PEERS = os.path.join(ROOT, "..", "shared", "bench", "peers")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
NANO = os.path.join(TARGET, "release", "nano")
BARE = os.path.join(TARGET, "release", "examples", "bare_hello")
WORKERD = os.path.join(BENCH, "node_modules", ".bin", "workerd")
DENO = os.path.join(BENCH, "node_modules", ".bin", "deno")

MODE = "quick"
DURATION = {"quick": "5s", "full": "15s"}
ROUNDS = {"quick": 1, "full": 3}
CONNS = 64


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


def http(method, url, body=None, headers=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Server:
    """A process started for a measurement and always stopped by its PID."""

    def __init__(self, name, cmd, ready_url, host=None, cwd=None, env=None):
        self.name, self.cmd, self.ready_url, self.host = name, cmd, ready_url, host
        self.cwd, self.env = cwd, env
        self.proc = None
        self.startup_ms = None

    def __enter__(self):
        env = dict(os.environ, **(self.env or {}))
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = t0 + 30
        while time.monotonic() < deadline:
            try:
                headers = {"Host": self.host} if self.host else {}
                status, _ = http("GET", self.ready_url, headers=headers, timeout=1)
                if status < 500:
                    self.startup_ms = (time.monotonic() - t0) * 1000
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start ({self.proc.returncode})")
            time.sleep(0.02)
        self.__exit__(None, None, None)
        raise RuntimeError(f"{self.name} did not answer {self.ready_url}")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wrk(url, host=None, script=None, env=None, duration=None):
    """Runs a bounded wrk load; returns requests/s, p50 and p99 in ms, and non-2xx responses."""
    cmd = ["wrk", "-t2", f"-c{CONNS}", f"-d{duration or DURATION[MODE]}", "--latency"]
    if host:
        cmd += ["-H", f"Host: {host}"]
    if script:
        cmd += ["-s", os.path.join(BENCH, "lua", script)]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})), timeout=300).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50": pct(50), "p99": pct(99), "non2xx": int(non2xx.group(1)) if non2xx else 0}


def nano_server(data_dir, port, extra_config="", apps_dir=None):
    config = os.path.join(data_dir, "nano.toml")
    with open(config, "w") as f:
        f.write(f'listen = "127.0.0.1:{port}"\ndata_dir = "{data_dir}/data"\nlog_level = "warn"\n{extra_config}')
    cmd = [NANO, "run", "--profile", "dev", "--config", config]
    return Server("nano", cmd, f"http://127.0.0.1:{port}/healthz", cwd=data_dir)


# ---------------------------------------------------------------------------------------------------------------
# Scenarios. Each returns a list of rows: (scenario, metric, nano value, peer name, peer value, higher_is_better).


def scenario_hello():
    """Hello world, one app: requests/s, p50 and p99 against workerd, Deno.serve and a bare hyper server."""
    rows, results = [], {"bare": [], "workerd": [], "deno": []}
    for _ in range(ROUNDS[MODE]):
        with Server("bare", [BARE, "127.0.0.1:18090"], "http://127.0.0.1:18090/"):
            results["bare"].append(wrk("http://127.0.0.1:18090/"))
        with Server("workerd", [WORKERD, "serve", os.path.join(PEERS, "config-1.capnp")], "http://127.0.0.1:18080/"):
            results["workerd"].append(wrk("http://127.0.0.1:18080/"))
        with Server("deno", [DENO, "run", "--allow-net", "--allow-env", os.path.join(BENCH, "apps", "deno-hello.js")],
                    "http://127.0.0.1:18092/", env={"PORT": "18092"}):
            results["deno"].append(wrk("http://127.0.0.1:18092/"))
    med = {k: statistics.median(r["rps"] for r in v) for k, v in results.items() if v}
    for peer in ("workerd", "deno"):
        rows.append(("hello world", "requests/s", None, peer, med[peer], True))
    rows.append(("hello world", "requests/s (ceiling)", None, "bare hyper", med["bare"], True))
    return rows, "nano's app runtime is not wired to HTTP in this build: peers only"


def scenario_services():
    """Services over HTTP: cache GET and SET, data POST and indexed _query, against the bare hyper ceiling."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bare = []
        with Server("bare", [BARE, "127.0.0.1:18090"], "http://127.0.0.1:18090/"):
            bare.append(wrk("http://127.0.0.1:18090/"))
        ceiling = statistics.median(r["rps"] for r in bare)
        with nano_server(tmp, 18070):
            base = "http://127.0.0.1:18070"
            services = json.loads(http("GET", base + "/")[1])["services"]
            if "cache" in services:
                http("PUT", base + "/cache/bench")
                http("POST", base + "/cache/bench", {"key": "k1", "value": {"title": "Dune"}})
                got = wrk(base + "/cache/bench/k1")
                rows.append(("services", "cache GET requests/s", got["rps"], "bare hyper", ceiling, True))
                got = wrk(base + "/cache/bench/k2", script="json-body.lua", env={"METHOD": "PUT", "BODY": '{"title":"Dune"}'})
                rows.append(("services", "cache SET (PUT) requests/s", got["rps"], "bare hyper", ceiling, True))
            if "data" in services:
                http("PUT", base + "/data/bench")
                got = wrk(base + "/data/bench", script="json-body.lua")
                rows.append(("services", "data POST requests/s", got["rps"], "bare hyper", ceiling, True))
    return rows, None


SCENARIOS = {"hello": scenario_hello, "services": scenario_services}


def fmt(v):
    if v is None:
        return "–"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"


def main(argv):
    global MODE
    args = [a for a in argv if a not in ("quick", "full")]
    MODE = "full" if "full" in argv else "quick"
    chosen = args or list(SCENARIOS)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    lines = [
        "# Benchmark results",
        "",
        f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- commit: {commit}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- mode: {MODE} (wrk -t2 -c{CONNS} -d{DURATION[MODE]}, {ROUNDS[MODE]} round(s), servers and wrk unpinned on 127.0.0.1)",
        "",
        "| scenario | metric | nano | peer | peer value | nano / peer |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    notes = []
    for name in chosen:
        log(f"scenario {name} ...")
        rows, note = SCENARIOS[name]()
        if note:
            notes.append(f"- {name}: {note}")
        for scenario, metric, ours, peer, theirs, higher in rows:
            ratio = "–" if ours is None or not theirs else f"{(ours / theirs) if higher else (theirs / ours):.2f}x"
            lines.append(f"| {scenario} | {metric} | {fmt(ours)} | {peer} | {fmt(theirs)} | {ratio} |")
    if notes:
        lines += ["", "Notes:", *notes]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(BENCH, "RESULTS.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
