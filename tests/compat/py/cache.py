"""The Python hyper-connect client's cache methods against nano: add, get, set, remove, query."""
import os
import time

from hyper_connect import connect

hyper = connect(os.environ["HYPER"])
cache = hyper.cache

assert cache.add("movie-1", {"title": "Dune"}, None) == {"ok": True, "status": 201}
assert cache.add("movie-2", {"title": "Emma"}, "1h")["ok"] is True
assert cache.add("a-movie", {"title": "Alien"}, None)["ok"] is True
dup = cache.add("movie-1", {"title": "Other"}, None)
assert dup == {"ok": False, "status": 409, "msg": "document conflict"}, dup

# No legacy header: the bare value.
got = cache.get("movie-1")
assert got == {"title": "Dune", "status": 200}, got
missing = cache.get("nope")
assert missing["status"] == 404 and missing["ok"] is False, missing

assert cache.set("movie-1", {"year": 2021}, None) == {"ok": True, "status": 200}
assert cache.get("movie-1") == {"year": 2021, "status": 200}
assert cache.set("movie-3", {"title": "Heat"}, "2d")["ok"] is True
assert cache.set("short", {"title": "gone"}, "1")["ok"] is True
time.sleep(0.05)

# query sends `null` as its body and the pattern percent-encoded.
result = cache.query("movie-*")
assert result["ok"] is True, result
assert [d["key"] for d in result["docs"]] == ["movie-1", "movie-2", "movie-3"], result
assert [d["key"] for d in cache.query("*-movie")["docs"]] == ["a-movie"]
assert len(cache.query(None)["docs"]) == 4

assert cache.remove("movie-1") == {"ok": True, "status": 200}
assert cache.remove("movie-1")["ok"] is True
assert cache.get("movie-1")["status"] == 404
print("cache ok")
