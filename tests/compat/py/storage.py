"""The Python hyper-connect client's storage methods against nano: upload (multipart), download, remove."""
import io
import os

from hyper_connect import connect

hyper = connect(os.environ["HYPER"])
data = b"\x89PNG python bytes"

result = hyper.storage.upload("logo.png", io.BytesIO(data))
assert result == {"ok": True, "status": 201}, result

response = hyper.storage.download("logo.png")
assert response.status_code == 200, response.text
assert response.headers["content-type"] == "image/png", response.headers
assert response.content == data

missing = hyper.storage.download("nope.png")
assert missing.status_code == 404
assert missing.json()["msg"] == "object does not exist"

removed = hyper.storage.remove("logo.png")
assert removed == {"ok": True, "status": 201}, removed
again = hyper.storage.remove("logo.png")
assert again["ok"] is False and again["status"] == 404, again
assert hyper.storage.download("logo.png").status_code == 404
print("storage ok")
