"""The Python hyper-connect client's search methods against nano: add, get, update, remove, query, load."""
import os

from hyper_connect import connect

hyper = connect(os.environ["HYPER"])

r = hyper.search.add("movie-1", {"title": "Ghostbusters", "type": "movie"})
assert r == {"ok": True, "status": 201}, r
r = hyper.search.add("movie-1", {"title": "again"})
assert r["ok"] is False and r["status"] == 409, r

r = hyper.search.get("movie-1")
assert r["ok"] is True and r["key"] == "movie-1", r
assert r["doc"]["title"] == "Ghostbusters", r

r = hyper.search.update("movie-1", {"title": "Ghostbusters II", "type": "movie"})
assert r == {"ok": True, "status": 200}, r
assert hyper.search.get("movie-1")["doc"]["title"] == "Ghostbusters II"

r = hyper.search.load([{"id": "1", "title": "Dune", "type": "book"}, {"_id": "2", "title": "Dune Messiah", "type": "book"}])
assert r["ok"] is True and [x["id"] for x in r["results"]] == ["1", "2"], r

r = hyper.search.query("ghostbusters", {"fields": ["title"], "filter": None})
assert r["ok"] is True and r["matches"][0]["id"] == "movie-1", r
r = hyper.search.query("dun", {"filter": {"type": "book"}})
assert sorted(m["id"] for m in r["matches"]) == ["1", "2"], r

r = hyper.search.remove("movie-1")
assert r == {"ok": True, "status": 200}, r
r = hyper.search.get("movie-1")
assert r["status"] == 404, r
print("search ok")
