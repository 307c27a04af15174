-- wrk script: send the JSON body in env BODY (default a small document) with method METHOD (default POST).
wrk.method = os.getenv("METHOD") or "POST"
wrk.body = os.getenv("BODY") or '{"type":"movie","title":"Dune","year":1965}'
wrk.headers["Content-Type"] = "application/json"
