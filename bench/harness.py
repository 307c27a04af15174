"""nano's benchmark harness: every figure measured side by side with a peer in the same run, reported as a ratio.

Run through bench/run.sh, which builds and installs what this needs. Every server is started here, targeted on
127.0.0.1 only, loaded for a bounded time, and stopped by PID. Results go to bench/RESULTS.md.
"""
import datetime
import http.client as http_client
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
# Hello world and host routing measure steady throughput: each of their loads follows an unmeasured one this long,
# against the same server, so that every JIT (nano's isolates, workerd's, Deno's) has compiled its hot code.
WARMUP = {"quick": "3s", "full": "10s"}
ROUNDS = {"quick": 1, "full": 3}
CONNS = 64
# The bare hyper server's requests/s in the services scenario's run, for rows measured by helpers.
BARE_CEILING = [None]


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


def steady(url, **kw):
    """A warm-up load (`WARMUP`), then the measured one: steady-state throughput and latency."""
    wrk(url, duration=WARMUP[MODE], **kw)
    return wrk(url, **kw)


def wrk(url, host=None, script=None, env=None, duration=None):
    """Runs a bounded wrk load; returns requests/s, p50 and p99 in ms, and non-2xx responses."""
    cmd = ["wrk", "-t2", f"-c{CONNS}", f"-d{duration or DURATION[MODE]}", "--latency"]
    if host:
        cmd += ["-H", f"Host: {host}"]
    if script:
        local = os.path.join(BENCH, "lua", script)
        cmd += ["-s", local if os.path.exists(local) else os.path.join(PEERS, script)]
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


HELLO = os.path.join(BENCH, "apps", "hello", "index.js")


def apps_toml(hostnames, entry=HELLO, tenant="default", extra=""):
    """[[apps]] tables: one app per hostname, all running `entry`."""
    out = []
    for i, host in enumerate(hostnames):
        out.append(f'[[apps]]\nname = "app{i}"\ntenant = "{tenant}"\nhostnames = ["{host}"]\n'
                   f'entry = "{entry}"\nenv = {{ APP_NAME = "app{i}" }}\n{extra}')
    return "\n".join(out)


def room_for(n):
    """Config letting `n` apps of the default `memory_mb` (128) keep their isolates live at once: the default
    `max_memory_mb` (three quarters of the machine's memory, about 140 such isolates on 24 GB) reserves each isolate's
    whole declared limit, so past it every first request of an app evicts another app's isolate, and a scenario of
    more apps would measure that churn instead of serving them."""
    return f"max_memory_mb = {n * 128}\n"


def write_app(folder, source):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "index.js")
    with open(path, "w") as f:
        f.write(source)
    return path


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
    rows, results = [], {"nano": [], "bare": [], "workerd": [], "deno": []}
    for _ in range(ROUNDS[MODE]):
        with tempfile.TemporaryDirectory() as tmp:
            with nano_server(tmp, 18070, apps_toml(["127.0.0.1"])):
                results["nano"].append(steady("http://127.0.0.1:18070/"))
        with Server("bare", [BARE, "127.0.0.1:18090"], "http://127.0.0.1:18090/"):
            results["bare"].append(steady("http://127.0.0.1:18090/"))
        with Server("workerd", [WORKERD, "serve", os.path.join(PEERS, "config-1.capnp")], "http://127.0.0.1:18080/"):
            results["workerd"].append(steady("http://127.0.0.1:18080/"))
        with Server("deno", [DENO, "run", "--allow-net", "--allow-env", os.path.join(BENCH, "apps", "deno-hello.js")],
                    "http://127.0.0.1:18092/", env={"PORT": "18092"}):
            results["deno"].append(steady("http://127.0.0.1:18092/"))
    med = {k: statistics.median(r["rps"] for r in v) for k, v in results.items() if v}
    p99 = {k: statistics.median(r["p99"] for r in v) for k, v in results.items() if v}
    for peer in ("workerd", "deno"):
        rows.append(("hello world", "requests/s", med["nano"], peer, med[peer], True))
    rows.append(("hello world", "requests/s (ceiling)", med["nano"], "bare hyper", med["bare"], True))
    rows.append(("hello world", "p99 ms", p99["nano"], "workerd", p99["workerd"], False))
    return rows, None


def workerd_router_config(n):
    """workerd's config for `n` host-routed workers: the peers' own file when it has one, else one generated by its
    gen-config.py into a temporary folder beside copies of the scripts it embeds (embeds are relative to the file)."""
    cfg = os.path.join(PEERS, f"config-{n}-host.capnp")
    if os.path.exists(cfg):
        return cfg
    folder = os.path.join(tempfile.gettempdir(), "nano-bench-workerd")
    os.makedirs(folder, exist_ok=True)
    for script in ("hello.js", "router.js"):
        shutil.copy(os.path.join(PEERS, script), folder)
    cfg = os.path.join(folder, f"config-{n}-host.capnp")
    with open(cfg, "w") as f:
        f.write(subprocess.run([sys.executable, os.path.join(PEERS, "gen-config.py"), str(n), "host"],
                               cwd=PEERS, capture_output=True, text=True, check=True).stdout)
    return cfg


def scenario_routing():
    """Host routing with 1, 100 and 1,000 apps: requests/s and RSS, against workerd's router configuration."""
    rows = []
    counts = [1, 100] if MODE == "quick" else [1, 100, 1000]
    nano_rps = {}
    for n in counts:
        hosts = [f"app{i}.test" for i in range(n)]
        with tempfile.TemporaryDirectory() as tmp:
            with nano_server(tmp, 18070, room_for(n) + apps_toml(hosts)) as srv:
                for h in hosts:
                    http("GET", "http://127.0.0.1:18070/", headers={"Host": h})
                got = steady("http://127.0.0.1:18070/", script="rotate-host.lua", env={"NAPPS": str(n)})
                rss = rss_kb(srv.proc.pid)
        nano_rps[n] = got["rps"]
        cfg = workerd_router_config(n)
        with Server("workerd", [WORKERD, "serve", cfg], "http://127.0.0.1:18080/", host="app0.test", cwd=PEERS) as srv:
            for h in hosts:
                http("GET", "http://127.0.0.1:18080/", headers={"Host": h})
            theirs = steady("http://127.0.0.1:18080/", script="rotate-host.lua", env={"NAPPS": str(n)})
            their_rss = rss_kb(srv.proc.pid)
        rows.append(("host routing", f"{n} apps: requests/s", got["rps"], "workerd router", theirs["rps"], True))
        rows.append(("host routing", f"{n} apps: RSS MB", rss / 1024, "workerd router", their_rss / 1024, False))
    for n in counts[1:]:
        rows.append(("host routing", f"{n} apps vs 1 app: requests/s", nano_rps[n], "nano, 1 app", nano_rps[1], True))
    return rows, None


def scenario_zipf():
    """Realistic many-app traffic: 1,000 apps, each of 64 keep-alive sessions keeping one host for 100 requests, the
    hosts drawn from Zipf(s = 1) (the busiest app gets 13% of the requests, the top 100 apps 70%); against one app of
    the same server taking all of the load. Host routing's round-robin rows stay as the worst case."""
    n = 1000
    hosts = [f"app{i}.test" for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        with nano_server(tmp, 18070, room_for(n) + apps_toml(hosts)):
            # Every app started once, as in host routing: the load measures traffic, not first requests.
            conn = http_client.HTTPConnection("127.0.0.1", 18070, timeout=10)
            for h in hosts:
                keepalive_get(conn, h)
            conn.close()
            one = steady("http://127.0.0.1:18070/", host="app0.test")
            zipf = steady("http://127.0.0.1:18070/", script="zipf-hosts.lua", env={"NAPPS": str(n), "KEEP": "100"})
    assert zipf["non2xx"] == 0 and one["non2xx"] == 0, (zipf, one)
    return [("many apps", f"Zipf over {n:,} apps vs 1 app: requests/s", zipf["rps"], "nano, 1 app (same server)",
             one["rps"], True),
            ("many apps", f"Zipf over {n:,} apps: p99 ms", zipf["p99"], "nano, 1 app (same server)", one["p99"],
             False)], None


def live_isolates(port=18070):
    """Isolates alive in the nano on `port`, summed over its apps (admin metrics)."""
    _, body = http("GET", f"http://127.0.0.1:{port}/admin/metrics")
    return sum(float(line.split()[-1]) for line in body.decode().splitlines()
               if line.startswith("nano_app_isolates{"))


def scenario_density():
    """Density: RSS per idle app and start-up time per app, for 100 and (full mode) 10,000 apps."""
    rows = []
    for n in ([100, 1000] if MODE == "quick" else [100, 10000]):
        hosts = [f"app{i}.test" for i in range(n)]
        # Isolates idle this long are evicted: long enough that every app still has its isolate when the live
        # figure is read right after the requests, short enough to wait for.
        evict = 5 + n // 100
        with tempfile.TemporaryDirectory() as tmp:
            with nano_server(tmp, 18070) as base:
                base_rss = rss_kb(base.proc.pid)
            with nano_server(tmp, 18070, f"idle_evict_secs = {evict}\n" + room_for(n) + apps_toml(hosts)) as srv:
                for h in hosts:
                    http("GET", "http://127.0.0.1:18070/", headers={"Host": h})
                time.sleep(1)
                live_rss = rss_kb(srv.proc.pid)
                startup = srv.startup_ms
                deadline = time.monotonic() + evict + 60
                while live_isolates() > 0 and time.monotonic() < deadline:
                    time.sleep(1)
                time.sleep(1)
                idle_rss = rss_kb(srv.proc.pid)
        rows.append(("density", f"{n} apps: RSS per app KB, isolate live (after one request each)",
                     (live_rss - base_rss) / n, "workerd (about 1.5 MB per worker)", 1536, False))
        rows.append(("density", f"{n} apps: RSS per idle app KB (isolate evicted after {evict} s idle)",
                     (idle_rss - base_rss) / n, "workerd (about 1.5 MB per worker)", 1536, False))
        rows.append(("density", f"{n} apps: start-up ms per app", startup / n, "–", None, False))
    return rows, None


def keepalive_get(conn, host):
    """One GET on a kept-alive connection; returns milliseconds."""
    t0 = time.perf_counter()
    conn.request("GET", "/", headers={"Host": host})
    res = conn.getresponse()
    res.read()
    assert res.status == 200, res.status
    return (time.perf_counter() - t0) * 1000


def scenario_cold_start():
    """Cold start: latency of the first request to each of 200 apps that never ran (median and p99), and what a
    first request adds to a warm one on the same kept-alive connection (the isolate start alone)."""
    hosts = [f"app{i}.test" for i in range(200)]
    others = [f"app{i}.test" for i in range(200, 400)]
    lat = []
    with tempfile.TemporaryDirectory() as tmp:
        with nano_server(tmp, 18070, apps_toml(hosts + others)):
            for h in hosts:
                t0 = time.perf_counter()
                status, _ = http("GET", "http://127.0.0.1:18070/", headers={"Host": h})
                lat.append((time.perf_counter() - t0) * 1000)
                assert status == 200, status
            # The same client on apps already warm: what of the first request's latency is HTTP and client.
            warm = []
            for h in hosts:
                t0 = time.perf_counter()
                http("GET", "http://127.0.0.1:18070/", headers={"Host": h})
                warm.append((time.perf_counter() - t0) * 1000)
            # Other never-run apps through one kept-alive connection, each first request followed at once by a second
            # (which must not wait while the thread readies its next spare isolate), then the same apps again once
            # every thread is idle.
            conn = http_client.HTTPConnection("127.0.0.1", 18070, timeout=10)
            first_kept, next_kept = [], []
            for h in others:
                first_kept.append(keepalive_get(conn, h))
                next_kept.append(keepalive_get(conn, h))
            time.sleep(0.5)
            warm_kept = [keepalive_get(conn, h) for h in others]
            conn.close()
            added = statistics.median(first_kept) - statistics.median(warm_kept)
    lat.sort()
    median, p99 = statistics.median(lat), lat[int(len(lat) * 0.99) - 1]
    # workerd starts every worker at process start: its per-worker cost is its start-up time over its worker count.
    with Server("workerd", [WORKERD, "serve", os.path.join(PEERS, "config-100-host.capnp")],
                "http://127.0.0.1:18080/", host="app99.test", cwd=PEERS) as srv:
        per_worker = srv.startup_ms / 100
    return [("cold start", "first request ms, median of 200 apps", median, "workerd start-up per worker", per_worker, False),
            ("cold start", "first request ms, p99 of 200 apps", p99, "workerd start-up per worker", per_worker, False),
            ("cold start", "first request ms, median of 200 apps", median, "warm request, same client (median)",
             statistics.median(warm), False),
            ("cold start", "first request ms minus warm request ms (kept-alive connection), medians of 200 apps",
             added, "workerd start-up per worker", per_worker, False),
            ("cold start", "second request ms, right after the first (kept-alive), median of 200 apps",
             statistics.median(next_kept), "warm request, kept-alive (median)", statistics.median(warm_kept), False)], None


SPIN = 'export default { async fetch() { while (true) {} } };\n'
BLOAT = 'const keep = []; export default { async fetch() { for (;;) keep.push(new Array(1e6).fill(1)); } };\n'


def scenario_noisy():
    """Noisy neighbour: p99 of a well-behaved app alone, then while one app spins and another allocates."""
    with tempfile.TemporaryDirectory() as tmp:
        spin, bloat = write_app(os.path.join(tmp, "spin"), SPIN), write_app(os.path.join(tmp, "bloat"), BLOAT)
        config = apps_toml(["good.test"]) + "\n" + apps_toml(["spin.test"], entry=spin).replace('"app0"', '"spin"') \
            + "\n" + apps_toml(["bloat.test"], entry=bloat).replace('"app0"', '"bloat"')
        with nano_server(tmp, 18070, config):
            alone = wrk("http://127.0.0.1:18070/", host="good.test")
            noise = [subprocess.Popen(["wrk", "-t1", "-c4", f"-d{DURATION[MODE]}", "-H", f"Host: {h}",
                                       "http://127.0.0.1:18070/"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for h in ("spin.test", "bloat.test")]
            try:
                noisy = wrk("http://127.0.0.1:18070/", host="good.test")
            finally:
                for p in noise:
                    p.wait(timeout=120)
    return [("noisy neighbour", "good app p99 ms with neighbours", noisy["p99"], "good app p99 alone", alone["p99"], False),
            ("noisy neighbour", "good app requests/s with neighbours", noisy["rps"], "good app alone", alone["rps"], True)], None


def scenario_services():
    """Services over HTTP: cache GET and SET, data POST and indexed _query, search _query (against the bare hyper
    ceiling), storage 100 MB up and down (against local file I/O), queue delivery (against direct POSTs)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bare = []
        with Server("bare", [BARE, "127.0.0.1:18090"], "http://127.0.0.1:18090/"):
            bare.append(wrk("http://127.0.0.1:18090/"))
        ceiling = statistics.median(r["rps"] for r in bare)
        BARE_CEILING[0] = ceiling
        with nano_server(tmp, 18070):
            base = "http://127.0.0.1:18070"
            services = json.loads(http("GET", base + "/")[1])["services"]
            if "cache" in services:
                http("PUT", base + "/cache/bench")
                http("POST", base + "/cache/bench", {"key": "k1", "value": {"title": "Dune"}})
                get = wrk(base + "/cache/bench/k1")
                rows.append(("services", "cache GET requests/s", get["rps"], "bare hyper", ceiling, True))
                got = wrk(base + "/cache/bench/k2", script="json-body.lua", env={"METHOD": "PUT", "BODY": '{"title":"Dune"}'})
                rows.append(("services", "cache SET (PUT) requests/s", got["rps"], "bare hyper", ceiling, True))
                rows.append(("services", "cache SET (PUT) requests/s", got["rps"], "cache GET", get["rps"], True))
            if "data" in services:
                http("PUT", base + "/data/bench")
                got = wrk(base + "/data/bench", script="json-body.lua")
                rows.append(("services", "data POST requests/s", got["rps"], "bare hyper", ceiling, True))
                pg = pgbench_insert(json.dumps({"type": "movie", "title": "Dune", "year": 1965}))
                if pg:
                    rows.append(("services", "data POST requests/s", got["rps"],
                                 "PostgreSQL durable INSERT (pgbench, 64 clients)", pg, True))
                rows.append(data_query(base, ceiling))
            if "search" in services:
                rows.append(search_query(base, ceiling))
                rows += search_writes(base)
        # Storage and the queue are measured on a server of their own: the rows above leave theirs merging a search
        # index of 100,000 documents and checkpointing its databases in the background, which is not what these rows
        # are about.
        own_server = (("storage", lambda b: storage_transfer(b, tmp)), ("queue", lambda b: [queue_delivery(b)]))
        for service, measure in own_server:
            if service in services:
                with tempfile.TemporaryDirectory() as own, nano_server(own, 18071):
                    rows += measure("http://127.0.0.1:18071")
    return rows, None


def data_query(base, ceiling):
    """Indexed `_query` over 5,000 documents: ten matches sorted by the indexed field."""
    http("PUT", base + "/data/films")
    http("POST", base + "/data/films/_index", {"name": "by-year", "fields": ["year"]})
    for start in range(0, 5000, 500):
        docs = [{"_id": f"f{i}", "type": "movie", "title": f"Film {i}", "year": 1900 + i % 120}
                for i in range(start, start + 500)]
        status, body = http("POST", base + "/data/films/_bulk", docs)
        assert status == 201, body
    query = json.dumps({"selector": {"year": {"$gt": 2010}}, "sort": [{"year": "ASC"}], "limit": 10})
    got = wrk(base + "/data/films/_query", script="json-body.lua", env={"BODY": query})
    assert got["non2xx"] == 0, got
    return ("services", "data indexed _query requests/s (5,000 docs)", got["rps"], "bare hyper", ceiling, True)


def search_query(base, ceiling):
    """Search `_query` over 2,000 documents."""
    http("PUT", base + "/search/films", {"fields": ["title", "plot"], "storeFields": ["title"]})
    words = ["desert", "spice", "ocean", "forest", "city", "machine", "river", "storm"]
    for start in range(0, 2000, 500):
        docs = [{"_id": f"f{i}", "title": f"Film {i} {words[i % 8]}",
                 "plot": " ".join(words[(i + k) % 8] for k in range(5))} for i in range(start, start + 500)]
        status, body = http("POST", base + "/search/films/_bulk", docs)
        assert status == 201, body
    got = wrk(base + "/search/films/_query", script="json-body.lua", env={"BODY": json.dumps({"query": "spice"})})
    assert got["non2xx"] == 0, got
    return ("services", "search _query requests/s (2,000 docs)", got["rps"], "bare hyper", ceiling, True)


def pgbench_insert(doc):
    """PostgreSQL's durable INSERT rate on the local server: pgbench, 64 clients, each transaction one INSERT of the
    same JSON document as the data POST, committed with synchronous_commit on. None when no server answers."""
    schema = f"bench_{os.getpid()}"
    psql = ["psql", "-h", "127.0.0.1", "-d", "test", "-q", "-v", "ON_ERROR_STOP=1", "-c"]
    made = subprocess.run(psql + [f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.docs "
                                  "(id bigserial PRIMARY KEY, doc jsonb NOT NULL)"], capture_output=True, text=True)
    if made.returncode != 0:
        log(f"pgbench skipped: {made.stderr.strip()}")
        return None
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
            f.write(f"INSERT INTO {schema}.docs (doc) VALUES ('{doc}');\n")
            script = f.name
        out = subprocess.run(["pgbench", "-h", "127.0.0.1", "-n", "-c", str(CONNS), "-j", "2", "-T",
                              DURATION[MODE].rstrip("s"), "-f", script, "test"],
                             capture_output=True, text=True, timeout=300).stdout
        os.unlink(script)
        return float(re.search(r"tps = ([\d.]+)", out).group(1))
    finally:
        subprocess.run(psql + [f"DROP SCHEMA {schema} CASCADE"], capture_output=True)


def search_writes(base, docs=100_000):
    """Search writes: a single add's latency (sequential adds on one kept-alive connection), adds from 64
    connections at once, and `_query` with limit 10 over `docs` documents."""
    http("PUT", base + "/search/big", {"fields": ["title", "plot"], "storeFields": ["title"]})
    conn = http_client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=10)
    took = []
    for i in range(300):
        body = json.dumps({"key": f"one{i}", "doc": {"title": f"Film {i} spice", "plot": "desert ocean"}})
        t0 = time.perf_counter()
        conn.request("POST", "/search/big", body, {"Content-Type": "application/json"})
        res = conn.getresponse()
        res.read()
        took.append((time.perf_counter() - t0) * 1000)
        assert res.status == 201, res.status
    conn.close()
    took.sort()
    p50, p99 = took[len(took) // 2], took[int(len(took) * 0.99)]
    many = wrk(base + "/search/big", script="search-add.lua")
    assert many["non2xx"] == 0, many
    words = ["desert", "spice", "ocean", "forest", "city", "machine", "river", "storm"]
    for start in range(0, docs, 1000):
        batch = [{"_id": f"f{i}", "title": f"Film {i} {words[i % 8]}",
                  "plot": " ".join(words[(i + k) % 8] for k in range(5))} for i in range(start, start + 1000)]
        status, body = http("POST", base + "/search/big/_bulk", batch, timeout=60)
        assert status == 201, body
    query = json.dumps({"query": "spice", "limit": 10})
    got = wrk(base + "/search/big/_query", script="json-body.lua", env={"BODY": query})
    assert got["non2xx"] == 0, got
    return [("services", "search single add p50 ms", p50, "–", None, False),
            ("services", "search single add p99 ms", p99, "–", None, False),
            ("services", "search add (POST) from 64 connections, requests/s", many["rps"], "single adds in a row",
             1000 / p50, True),
            ("services", f"search _query limit 10 requests/s ({docs:,} docs)", got["rps"], "bare hyper",
             BARE_CEILING[0], True)]


def storage_transfer(base, tmp, rounds=3):
    """100 MB up and down through storage with curl (the upload streamed from the file, as in the S3 rows), against
    copying the same file locally (with fsync) and reading it with curl: the median of `rounds` of each."""
    size = 100 * 1024 * 1024
    src = os.path.join(tmp, "object.bin")
    with open(src, "wb") as f:
        for _ in range(size // (1024 * 1024)):
            f.write(os.urandom(1024 * 1024))
    http("PUT", base + "/storage/bench")
    copy = os.path.join(tmp, "copy.bin")
    ups, downs, local_writes, local_reads = [], [], [], []
    for _ in range(rounds):
        up, down = curl_round_trip(base + "/storage/bench/big.bin", src, size, [], 201)
        ups.append(up)
        downs.append(down)
        t0 = time.perf_counter()
        with open(src, "rb") as r, open(copy, "wb") as w:
            shutil.copyfileobj(r, w, 1024 * 1024)
            w.flush()
            os.fsync(w.fileno())
        local_writes.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run(["curl", "-sS", "-o", "/dev/null", f"file://{copy}"], check=True, timeout=300)
        local_reads.append(time.perf_counter() - t0)
    mb = size / (1024 * 1024)
    med = statistics.median
    return [("services", "storage upload 100 MB, MB/s", mb / med(ups), "local copy with fsync", mb / med(local_writes),
             True),
            ("services", "storage download 100 MB, MB/s", mb / med(downs), "curl file:// read", mb / med(local_reads),
             True)]


def peak_rss_mb(pid):
    """The process's peak resident set (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def scenario_s3():
    """Storage on S3 (SeaweedFS from scripts/s3-server.sh): 100 MB up and down through nano, against the same
    transfer straight to the S3 server with curl's own SigV4 signing; and nano's peak RSS growth over a 1 GB round
    trip."""
    started = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:8333/"],
                             capture_output=True, text=True).stdout == "000"
    if started:
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "s3-server.sh"), "start"], check=True)
    rows, note = [], None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            prefix = f"bench-{os.getpid()}-{int(time.time())}"
            s3 = (f'storage = "s3"\n[s3]\nendpoint = "http://127.0.0.1:8333"\nbucket = "nano-test"\n'
                  f'access_key = "nano-test"\nsecret_key = "nano-test-secret"\npath_style = true\nprefix = "{prefix}"\n')
            size = 100 * 1024 * 1024
            src = os.path.join(tmp, "object.bin")
            with open(src, "wb") as f:
                for _ in range(size // (1024 * 1024)):
                    f.write(os.urandom(1024 * 1024))
            mb = size / (1024 * 1024)
            with nano_server(tmp, 18070, s3) as nano:
                base = "http://127.0.0.1:18070"
                http("PUT", base + "/storage/bench")
                up, down = curl_round_trip(base + "/storage/bench/big.bin", src, size, [], 201)
                rss_before = rss_kb(nano.proc.pid) / 1024
                big = os.path.join(tmp, "big.bin")
                with open(big, "wb") as f:
                    f.truncate(1024 * 1024 * 1024)
                curl_round_trip(base + "/storage/bench/huge.bin", big, 1024 * 1024 * 1024, [], 201)
                growth = peak_rss_mb(nano.proc.pid) - rss_before
            sig = ["--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "nano-test:nano-test-secret"]
            d_up, d_down = curl_round_trip(f"http://127.0.0.1:8333/nano-test/{prefix}-direct/big.bin", src, size,
                                           sig, 200, method="PUT")
            rows = [("storage on S3", "upload 100 MB, MB/s", mb / up, "curl PUT to S3", mb / d_up, True),
                    ("storage on S3", "download 100 MB, MB/s", mb / down, "curl GET from S3", mb / d_down, True)]
            note = (f"a 1 GB upload and download through nano on S3 grew its peak RSS by {growth:.0f} MB "
                    f"(from {rss_before:.0f} MB)")
    finally:
        if started:
            subprocess.run(["bash", os.path.join(ROOT, "scripts", "s3-server.sh"), "stop"], check=False)
    return rows, note


def curl_round_trip(url, src, size, extra, up_status, method="POST"):
    """Seconds to upload `src` to `url` and to download it again with curl."""
    t0 = time.perf_counter()
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", method, *extra, "-H",
                          "Content-Type: application/octet-stream", "-T", src, url],
                         capture_output=True, text=True, timeout=900)
    up = time.perf_counter() - t0
    assert out.stdout == str(up_status), out
    t0 = time.perf_counter()
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", *extra, url],
                         capture_output=True, text=True, timeout=900)
    down = time.perf_counter() - t0
    assert out.stdout == f"200 {size}", out
    return up, down


RECEIVER = "http://127.0.0.1:18095"


def receiver():
    """The queue rows' webhook receiver (`receiver.py`), in a process of its own at `RECEIVER`."""
    return Server("receiver", [sys.executable, os.path.join(BENCH, "receiver.py"), "18095"], RECEIVER + "/stats")


def receiver_stats():
    """How many POSTs the receiver took, and when the last one came (`time.monotonic()`)."""
    return json.loads(http("GET", RECEIVER + "/stats")[1])


def queue_delivery(base, jobs=1000, rounds=3):
    """Jobs enqueued over HTTP until all reach a loopback receiver, against POSTing them to the receiver directly: the
    median of `rounds` of each, taken in turns. The receiver (`receiver.py`) runs in a process of its own, as a
    webhook's target does: sharing this one's interpreter lock would make its work wait for the client's."""
    hook = RECEIVER
    directs, delivereds = [], []
    with receiver():
        http("PUT", base + "/queue/bench", {"target": hook + "/hook"})
        for _ in range(rounds):
            t0 = time.monotonic()
            for i in range(jobs):
                http("POST", hook + "/hook", {"n": i})
            directs.append(jobs / (time.monotonic() - t0))
            http("POST", hook + "/reset")
            t0 = time.monotonic()
            for i in range(jobs):
                status, body = http("POST", base + "/queue/bench", {"n": i})
                assert status == 201, body
            deadline = time.monotonic() + 120
            stats = receiver_stats()
            while stats["count"] < jobs and time.monotonic() < deadline:
                time.sleep(0.01)
                stats = receiver_stats()
            assert stats["count"] >= jobs, f"{stats['count']} of {jobs} jobs delivered"
            delivereds.append(jobs / (stats["last"] - t0))
            http("POST", hook + "/reset")
    return ("services", f"queue: {jobs:,} jobs enqueued and delivered, jobs/s", statistics.median(delivereds),
            "the same POSTs sent directly", statistics.median(directs), True)


def scenario_queue_load():
    """Queue delivery under load: wrk enqueues for the run's duration, and the jobs/s are counted from the load's
    start to the last delivery, against wrk POSTing to the same receiver directly (both with the run's connections)."""
    hook = RECEIVER
    with tempfile.TemporaryDirectory() as tmp, nano_server(tmp, 18071):
        base = "http://127.0.0.1:18071"
        with receiver():
            direct = wrk(hook + "/hook", script="json-body.lua")
            assert direct["non2xx"] == 0, direct
            http("POST", hook + "/reset")
            http("PUT", base + "/queue/bench", {"target": hook + "/hook"})
            t0 = time.monotonic()
            load = wrk(base + "/queue/bench", script="json-body.lua")
            assert load["non2xx"] == 0, load
            t1, during = time.monotonic(), receiver_stats()["count"]
            # Done when deliveries stopped for half a second and no job is left (listing them is the costly check).
            deadline, seen, still = time.monotonic() + 120, -1, 0
            while time.monotonic() < deadline:
                time.sleep(0.05)
                stats = receiver_stats()
                seen, still = stats["count"], (still + 1 if stats["count"] == seen else 0)
                if still >= 10 and not json.loads(http("GET", base + "/queue/bench?status=READY")[1])["jobs"]:
                    break
            else:
                raise AssertionError(f"{stats['count']} jobs delivered, some left after 120 s")
    delivered = stats["count"] / (stats["last"] - t0)
    return [("queue under load", f"jobs enqueued by wrk (-c{CONNS}) and delivered, jobs/s", delivered,
             f"the same POSTs sent directly by wrk (-c{CONNS})", direct["rps"], True)], (
        f"while wrk enqueued {load['rps']:,.0f} jobs/s, {during / (t1 - t0):,.0f} jobs/s were delivered; the "
        f"backlog then drained at {(stats['count'] - during) / (stats['last'] - t1):,.0f} jobs/s "
        f"({stats['count']:,} jobs in all)")


def scenario_reload():
    """Hot reload under load: 50 new versions of an app through the admin API while wrk loads it."""
    with tempfile.TemporaryDirectory() as tmp:
        with nano_server(tmp, 18070):
            base = "http://127.0.0.1:18070"

            def version(n):
                return {"name": "live", "hostnames": ["live.test"],
                        "files": {"index.js": f"export default {{ fetch() {{ return new Response('v{n}'); }} }};"}}

            status, body = http("POST", base + "/admin/apps", version(0))
            assert status == 201, body
            steady = wrk(base + "/", host="live.test")
            load = subprocess.Popen(["wrk", "-t2", f"-c{CONNS}", f"-d{DURATION[MODE]}", "-H", "Host: live.test",
                                     base + "/"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            time.sleep(0.5)
            spacing = (int(DURATION[MODE].rstrip("s")) - 1.5) / 50
            for n in range(1, 51):
                status, body = http("PUT", base + "/admin/apps/live", version(n))
                assert status == 200, body
                time.sleep(spacing)
            out = load.communicate(timeout=120)[0]
            status, body = http("GET", base + "/", headers={"Host": "live.test"})
            assert body == b"v50", body
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(g) for g in errors.groups()) if errors else 0)
    return [("hot reload", "failed requests during 50 reloads (must be 0)", failed, "–", None, False),
            ("hot reload", "requests/s during 50 reloads", rps, "same app, no reloads", steady["rps"], True)], None


SCENARIOS = {
    "hello": scenario_hello,
    "routing": scenario_routing,
    "zipf": scenario_zipf,
    "density": scenario_density,
    "cold": scenario_cold_start,
    "noisy": scenario_noisy,
    "services": scenario_services,
    "queue-load": scenario_queue_load,
    "reload": scenario_reload,
    "s3": scenario_s3,
}


def fmt(v):
    if v is None:
        return "–"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"


def kept_rows(lines, notes, chosen):
    """A run of some scenarios keeps the rows and notes of RESULTS.md that it did not measure again."""
    path = os.path.join(BENCH, "RESULTS.md")
    if not os.path.exists(path):
        return lines, notes
    with open(path) as f:
        old = f.read().splitlines()
    new_keys = {tuple(c.strip() for c in l.split("|")[1:3]) for l in lines if l.startswith("| ") and "---" not in l}
    kept = [l for l in old if l.startswith("| ") and "---" not in l and not l.startswith("| scenario")
            and tuple(c.strip() for c in l.split("|")[1:3]) not in new_keys]
    ran = {n for n in chosen}
    kept_notes = [l for l in old if l.startswith("- ") and ":" in l and l[2:].split(":")[0] in SCENARIOS
                  and l[2:].split(":")[0] not in ran]
    header = [l for l in lines if not (l.startswith("| ") and "---" not in l and not l.startswith("| scenario"))]
    measured = [l for l in lines if l not in header]
    # Rows kept by an earlier partial run keep that run's account of where they came from.
    kept_from = [l.split("kept from the run of ", 1)[1] for l in old if l.startswith("- this run measured:")]
    earlier = kept_from[0] if kept_from else ", ".join(l[2:] for l in old if l.startswith(("- date:", "- commit:")))
    header.insert(4, f"- this run measured: {', '.join(chosen)}; the other rows are kept from the run of {earlier}")
    return header + kept + measured, kept_notes + notes


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
        f"- mode: {MODE} (wrk -t2 -c{CONNS} -d{DURATION[MODE]}, {ROUNDS[MODE]} round(s), servers and wrk unpinned on 127.0.0.1;"
        f" hello world and host routing after a {WARMUP[MODE]} warm-up load each)",
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
    if args:
        lines, notes = kept_rows(lines, notes, chosen)
    if notes:
        lines += ["", "Notes:", *notes]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(BENCH, "RESULTS.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
