"""The Python hyper-connect client's data service against nano: add/get/list/update/remove/query/index/bulk.

The client has no create/destroy; the test harness creates the database first."""
import os

from hyper_connect import connect

hyper = connect(os.environ["HYPER"])

# add: generated and given ids; a duplicate is 409, an empty document 400.
r = hyper.data.add({"type": "movie", "title": "Ghostbusters"})
assert r["ok"] is True, r
generated = r["id"]
r = hyper.data.add({"_id": "10", "type": "movie", "title": "Jaws"})
assert r["ok"] is True and r["id"] == "10", r
r = hyper.data.add({"_id": "10"})
assert r["ok"] is False and r["status"] == 409, r
r = hyper.data.add({})
assert r["status"] == 400, r

# get: no legacy header is sent, so the bare document comes back.
r = hyper.data.get("10")
assert r["_id"] == "10" and r["title"] == "Jaws", r
r = hyper.data.get("missing")
assert r["ok"] is False and r["status"] == 404, r

# update (upsert) and remove.
r = hyper.data.update("10", {"type": "movie", "title": "Jaws 2"})
assert r["ok"] is True and r["id"] == "10", r
assert hyper.data.get("10")["title"] == "Jaws 2"
r = hyper.data.remove(generated)
assert r["ok"] is True and r["id"] == generated, r
assert hyper.data.get(generated)["status"] == 404

# bulk insert, update and delete.
albums = [
    {"_id": "2001", "type": "album", "title": "Abbey Road", "year": 1969},
    {"_id": "2002", "type": "album", "title": "Led Zeppelin IV", "year": 1971},
    {"_id": "2003", "type": "album", "title": "Rumours", "year": 1977},
    {"_id": "2004", "type": "album", "title": "The Doors", "year": 1967},
]
r = hyper.data.bulk(albums)
assert r["ok"] is True and len(r["results"]) == 4, r
assert r["results"][0] == {"ok": True, "id": "2001"}, r
r = hyper.data.bulk([{"_id": "2001", "_deleted": True}])
assert r["ok"] is True, r
assert hyper.data.get("2001")["status"] == 404

# list: keys joined with commas; Python sends descending=True.
r = hyper.data.list({"startkey": "2002", "endkey": "2004", "limit": 2, "descending": True})
assert [d["_id"] for d in r["docs"]] == ["2004", "2003"], r
r = hyper.data.list({"keys": ["2002", "10"]})
assert [d["_id"] for d in r["docs"]] == ["10", "2002"], r

# query with fields, sort, limit; index, then a sorted query naming it.
# The client reads options["useIndex"] unconditionally, so every call passes it (None is dropped).
r = hyper.data.query({"type": "album"}, {"useIndex": None})
assert r["ok"] is True and len(r["docs"]) == 3, r
r = hyper.data.query({"year": {"$gt": 1968}}, {"fields": ["_id", "year"], "sort": ["year"], "limit": 5, "useIndex": None})
assert r["docs"] == [{"_id": "2002", "year": 1971}, {"_id": "2003", "year": 1977}], r
r = hyper.data.index("idx-title", ["title"])
assert r["ok"] is True, r
r = hyper.data.query({"type": "album"}, {"sort": [{"title": "DESC"}], "useIndex": "idx-title"})
assert r["docs"][0]["_id"] == "2004", r
print("data ok")
