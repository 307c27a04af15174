//! The data service over HTTP: every route of `/data/:db` with hyper's status codes and shapes, bad input, tenant
//! isolation, hyper-test's data expectations (spec §6.1), and durability across `kill -9`.

use crate::support::{client, fresh_name, spawn_nano, TestNano};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

async fn body(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    (status, res.json().await.unwrap())
}

struct Db<'a> {
    nano: &'a TestNano,
    base: String,
}

impl<'a> Db<'a> {
    async fn create(nano: &'a TestNano) -> Db<'a> {
        Self::create_at(nano, "").await
    }

    /// A fresh database under an optional cloud prefix (`/<tenant>`).
    async fn create_at(nano: &'a TestNano, prefix: &str) -> Db<'a> {
        let db = Db {
            nano,
            base: format!("{prefix}/data/{}", fresh_name("db")),
        };
        let (status, b) = db.send(reqwest::Method::PUT, "", None).await;
        assert_eq!((status, b), (StatusCode::CREATED, json!({"ok": true})));
        db
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        json: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = client().request(method, self.nano.url(&format!("{}{path}", self.base)));
        if let Some(j) = json {
            req = req.json(&j);
        }
        body(req.send().await.unwrap()).await
    }

    async fn post(&self, path: &str, json: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(json)).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn raw_post(&self, path: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        let res = client()
            .post(self.nano.url(&format!("{}{path}", self.base)))
            .header("content-type", "application/json")
            .body(bytes)
            .send()
            .await
            .unwrap();
        body(res).await
    }

    async fn list(&self, query: &str) -> Vec<String> {
        let (status, b) = self.get(&format!("?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {b}");
        assert_eq!(b["ok"], true);
        ids(&b["docs"])
    }

    async fn query(&self, q: Value) -> (StatusCode, Value) {
        self.post("/_query", q).await
    }
}

fn ids(docs: &Value) -> Vec<String> {
    docs.as_array()
        .unwrap()
        .iter()
        .map(|d| d["_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn data_root_is_static_info() {
    let nano = TestNano::start().await;
    let (status, b) = body(client().get(nano.url("/data")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        b,
        json!({"name": "hyper Data", "version": "1.0.1", "status": "unstable"})
    );
    let (_, root) = body(client().get(nano.url("/")).send().await.unwrap()).await;
    assert!(root["services"]
        .as_array()
        .unwrap()
        .contains(&json!("data")));
}

#[tokio::test]
async fn databases_are_created_and_deleted() {
    let nano = TestNano::start().await;
    let db = Db::create(&nano).await;
    let (status, b) = db.send(reqwest::Method::PUT, "", None).await;
    assert_eq!(status, 409);
    assert_eq!(
        b,
        json!({"ok": false, "status": 409, "msg": "database already exists"})
    );
    assert_eq!(
        db.send(reqwest::Method::DELETE, "", None).await,
        (StatusCode::OK, json!({"ok": true}))
    );
    let (status, b) = db.send(reqwest::Method::DELETE, "", None).await;
    assert_eq!(
        (status, b["msg"].as_str()),
        (StatusCode::NOT_FOUND, Some("database does not exist"))
    );
    let (status, b) = db.get("").await;
    assert_eq!(
        (status, b["msg"].as_str()),
        (StatusCode::NOT_FOUND, Some("database does not exist"))
    );
    let (status, _) = db.post("", json!({"a": 1})).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn invalid_database_names_are_400() {
    let nano = TestNano::start().await;
    for path in ["/data/-bad", "/data/a%20b", "/data/_query"] {
        let (status, b) = body(client().put(nano.url(path)).send().await.unwrap()).await;
        assert_eq!(status, 400, "{path}: {b}");
        assert!(
            b["msg"]
                .as_str()
                .unwrap()
                .contains("domain name is not valid"),
            "{b}"
        );
    }
}

#[tokio::test]
async fn documents_follow_hyper_test() {
    let nano = TestNano::start().await;
    let db = Db::create(&nano).await;
    // Create with a generated id, then with a given one; a duplicate is 409; an empty body is 400.
    let (status, b) = db
        .post("", json!({"type": "movie", "title": "Ghostbusters"}))
        .await;
    assert_eq!(status, 201);
    let generated = b["id"].as_str().unwrap().to_string();
    assert!(
        generated.len() >= 20 && generated.starts_with('c'),
        "{generated}"
    );
    assert_eq!(
        db.post("", json!({"_id": "10", "x": 1})).await,
        (StatusCode::CREATED, json!({"ok": true, "id": "10"}))
    );
    let (status, b) = db.post("", json!({"_id": "10", "x": 2})).await;
    assert_eq!(
        (status, b["msg"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("document with _id 10 already exists")
        )
    );
    assert_eq!(b["ok"], false);
    assert_eq!(b["status"], 409);
    let (status, b) = db.post("", json!({})).await;
    assert_eq!(
        (status, b["msg"].as_str()),
        (StatusCode::BAD_REQUEST, Some("document empty"))
    );
    let (status, _) = db.raw_post("", Vec::new()).await;
    assert_eq!(status, 400, "an empty body is an empty document");
    // Legacy GET: bare document without the header or with `true`; hyper shape with `false`.
    let (status, doc) = db.get(&format!("/{generated}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        doc,
        json!({"type": "movie", "title": "Ghostbusters", "_id": generated})
    );
    let res = client()
        .get(nano.url(&format!("{}/10", db.base)))
        .header("X-HYPER-LEGACY-GET", "false")
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(res).await.1,
        json!({"ok": true, "doc": {"_id": "10", "x": 1}})
    );
    let res = client()
        .get(nano.url(&format!("{}/10", db.base)))
        .header("X-HYPER-LEGACY-GET", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(body(res).await.1, json!({"_id": "10", "x": 1}));
    let (status, b) = db.get("/missing").await;
    assert_eq!(status, 404);
    assert_eq!(b["msg"], "document with _id missing does not exist");
    // Update is a full replacement and an upsert.
    let (status, b) = db
        .send(reqwest::Method::PUT, "/10", Some(json!({"y": 2})))
        .await;
    assert_eq!(
        (status, b),
        (StatusCode::OK, json!({"ok": true, "id": "10"}))
    );
    assert_eq!(db.get("/10").await.1, json!({"y": 2, "_id": "10"}));
    let (status, _) = db
        .send(reqwest::Method::PUT, "/new", Some(json!({"z": 3})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(db.get("/new").await.1["z"], 3);
    // Ids are one percent-decoded segment.
    let (status, _) = db
        .send(reqwest::Method::PUT, "/a%2Fb", Some(json!({"w": 1})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(db.get("/a%2Fb").await.1["_id"], "a/b");
    // Remove.
    let (status, b) = db.send(reqwest::Method::DELETE, "/10", None).await;
    assert_eq!(
        (status, b),
        (StatusCode::OK, json!({"ok": true, "id": "10"}))
    );
    let (status, b) = db.send(reqwest::Method::DELETE, "/10", None).await;
    assert_eq!(
        (status, b["msg"].as_str()),
        (
            StatusCode::NOT_FOUND,
            Some("document with _id 10 does not exist")
        )
    );
}

#[tokio::test]
async fn bad_document_bodies_are_rejected() {
    let nano = TestNano::start().await;
    let db = Db::create(&nano).await;
    let (status, b) = db.raw_post("", b"{not json".to_vec()).await;
    assert_eq!(status, 400);
    assert!(b["msg"].as_str().unwrap().contains("not valid JSON"), "{b}");
    for bad in [&b"[1,2]"[..], b"\"text\"", b"null", b"5"] {
        let (status, b) = db.raw_post("", bad.to_vec()).await;
        assert_eq!(status, 400, "{b}");
    }
    let (status, b) = db.send(reqwest::Method::PUT, "/x", Some(json!([1]))).await;
    assert_eq!(status, 400, "{b}");
    let (status, b) = db.post("", json!({"_id": 5})).await;
    assert_eq!(status, 400, "{b}");
    // Over 8 MB is 413 for create and update; nothing is stored.
    let big = format!(
        "{{\"_id\":\"big\",\"s\":\"{}\"}}",
        "x".repeat(8 * 1024 * 1024)
    );
    let (status, _) = db.raw_post("", big.clone().into_bytes()).await;
    assert_eq!(status, 413);
    let res = client()
        .put(nano.url(&format!("{}/big", db.base)))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(db.get("/big").await.0, 404);
    // Other routes take up to 10 MB: a 9 MB bulk is accepted.
    let nine = format!(
        "[{{\"_id\":\"nine\",\"s\":\"{}\"}}]",
        "x".repeat(9 * 1024 * 1024)
    );
    assert_eq!(db.raw_post("/_bulk", nine.into_bytes()).await.0, 201);
    let eleven = format!(
        "[{{\"_id\":\"eleven\",\"s\":\"{}\"}}]",
        "x".repeat(11 * 1024 * 1024)
    );
    assert_eq!(db.raw_post("/_bulk", eleven.into_bytes()).await.0, 413);
}

#[tokio::test]
async fn list_follows_hyper_test() {
    let nano = TestNano::start().await;
    let db = Db::create(&nano).await;
    for i in 1001..=1009 {
        assert_eq!(
            db.post("", json!({"_id": i.to_string(), "type": "movie"}))
                .await
                .0,
            201
        );
    }
    assert_eq!(db.list("").await.len(), 9);
    assert_eq!(
        db.list("keys=1002,1005,1008").await,
        vec!["1002", "1005", "1008"]
    );
    assert_eq!(db.list("startkey=1004").await.len(), 6);
    assert_eq!(db.list("endkey=1008").await.len(), 8);
    assert_eq!(db.list("startkey=1004&endkey=1008").await.len(), 5);
    assert_eq!(db.list("limit=2").await.len(), 2);
    assert_eq!(db.list("limit=%202%20").await.len(), 2);
    assert_eq!(db.list("descending=true").await.last().unwrap(), "1001");
    assert_eq!(
        db.list("descending=false").await.last().unwrap(),
        "1001",
        "hyper's Boolean(\"false\")"
    );
    assert_eq!(db.list("descending=").await.last().unwrap(), "1009");
    assert_eq!(db.list("descending=True&limit=1").await, vec!["1009"]);
    for bad in ["keys=1001&keys=1002", "limit=abc", "limit=1&limit=2"] {
        let (status, b) = db.get(&format!("?{bad}")).await;
        assert_eq!(status, 422, "{bad}: {b}");
        assert!(
            b["msg"].as_str().unwrap().starts_with("Invalid Arguments"),
            "{b}"
        );
    }
}

async fn albums(db: &Db<'_>) {
    let albums = [
        ("2001", "Abbey Road", "The Beatles"),
        ("2002", "Led Zeppelin IV", "Led Zeppelin"),
        ("2003", "Rumours", "Fleetwood Mac"),
        ("2004", "The Doors", "The Doors"),
        ("2005", "Nevermind", "Nirvana"),
    ];
    for (id, title, band) in albums {
        let doc = json!({"_id": id, "type": "album", "title": title, "band": band, "year": 1960 + id[2..].parse::<i32>().unwrap()});
        assert_eq!(db.post("", doc).await.0, 201);
    }
}

#[tokio::test]
async fn query_and_index_follow_hyper_test() {
    let nano = TestNano::start().await;
    let db = Db::create(&nano).await;
    albums(&db).await;
    let (status, b) = db.query(json!({"selector": {"type": "album"}})).await;
    assert_eq!(status, 200);
    assert_eq!(b["ok"], true);
    assert_eq!(b["docs"].as_array().unwrap().len(), 5);
    assert_eq!(
        db.query(json!({})).await.1["docs"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        db.raw_post("/_query", Vec::new()).await.1["docs"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let (_, b) = db
        .query(json!({"selector": {"type": "album"}, "limit": 2}))
        .await;
    assert_eq!(b["docs"].as_array().unwrap().len(), 2);
    let (status, b) = db
        .post(
            "/_index",
            json!({"name": "idx-title", "fields": ["title"], "type": "JSON"}),
        )
        .await;
    assert_eq!((status, b), (StatusCode::CREATED, json!({"ok": true})));
    let (_, b) = db
        .query(json!({"selector": {"type": "album"}, "sort": [{"title": "DESC"}], "use_index": "idx-title"}))
        .await;
    assert_eq!(b["docs"][0]["_id"], "2004");
    assert_eq!(b["docs"][0]["title"], "The Doors");
    let (_, b) = db
        .query(json!({"selector": {"type": "album"}, "fields": ["_id", "band"]}))
        .await;
    let first = b["docs"][0].as_object().unwrap();
    assert_eq!(first.len(), 2);
    assert!(first.contains_key("_id") && first.contains_key("band"));
    let (_, b) = db
        .query(json!({"selector": {"year": {"$gte": 1963}}, "sort": ["year"]}))
        .await;
    assert_eq!(ids(&b["docs"]), vec!["2003", "2004", "2005"]);
    // Same name, other fields: 409.
    let (status, b) = db
        .post("/_index", json!({"name": "idx-title", "fields": ["band"]}))
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        b["msg"],
        "index idx-title fields do not match the existing index with the same name"
    );
    assert_eq!(
        db.post("/_index", json!({"name": "idx-title", "fields": ["title"]}))
            .await
            .0,
        201
    );
}

#[tokio::test]
async fn bad_queries_and_indexes_are_rejected() {
    let nano = TestNano::start().await;
    let db = Db::create(&nano).await;
    albums(&db).await;
    let cases = [
        (
            json!({"sort": ["a", {"b": "ASC"}]}),
            400,
            "Invalid Union 'sort'",
        ),
        (
            json!({"selector": {"a": {"$where": 1}}}),
            400,
            "unknown operator $where",
        ),
        (
            json!({"selector": {"$text": {"$search": "x"}}}),
            400,
            "unknown operator $text",
        ),
        (
            json!({"selector": {"a": {"$regex": "("}}}),
            400,
            "$regex is not valid",
        ),
        (json!({"limit": "abc"}), 422, "Invalid Arguments 'limit'"),
        (
            json!({"selector": "x"}),
            422,
            "Invalid Arguments 'selector'",
        ),
        (json!({"fields": "a"}), 422, "Invalid Arguments 'fields'"),
    ];
    for (q, code, msg) in cases {
        let (status, b) = db.query(q.clone()).await;
        assert_eq!(status.as_u16(), code, "{q}: {b}");
        assert!(b["msg"].as_str().unwrap().starts_with(msg), "{q}: {b}");
    }
    let (status, _) = db.raw_post("/_query", b"{\"selector\":".to_vec()).await;
    assert_eq!(status, 400);
    let (status, b) = db
        .post(
            "/_index",
            json!({"name": "x", "fields": ["a", {"b": "DESC"}]}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        b["msg"]
            .as_str()
            .unwrap()
            .starts_with("Invalid Union 'fields'"),
        "{b}"
    );
    assert_eq!(db.post("/_index", json!({"fields": ["a"]})).await.0, 422);
    let missing = format!("/data/{}/_query", fresh_name("db"));
    let (status, b) = body(
        client()
            .post(nano.url(&missing))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, b["msg"].as_str()),
        (StatusCode::NOT_FOUND, Some("database does not exist"))
    );
    let index = format!("/data/{}/_index", fresh_name("db"));
    let res = client()
        .post(nano.url(&index))
        .json(&json!({"name": "i", "fields": ["a"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn bulk_follows_hyper_test() {
    let nano = TestNano::start().await;
    let db = Db::create(&nano).await;
    let teams: Vec<Value> = (1..=6)
        .map(|i| json!({"_id": format!("team-{i}"), "type": "team", "name": format!("T{i}")}))
        .collect();
    let (status, b) = db.post("/_bulk", Value::from(teams.clone())).await;
    assert_eq!(status, 201);
    assert_eq!(b["ok"], true);
    assert_eq!(b["results"].as_array().unwrap().len(), 6);
    assert_eq!(b["results"][0], json!({"ok": true, "id": "team-1"}));
    let updates: Vec<Value> = teams
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t["_update"] = json!(true);
            t["active"] = json!(true);
            t
        })
        .collect();
    assert_eq!(db.post("/_bulk", Value::from(updates)).await.0, 201);
    let (_, b) = db
        .query(json!({"selector": {"type": "team", "active": true}}))
        .await;
    assert_eq!(b["docs"].as_array().unwrap().len(), 6);
    let deletes: Vec<Value> = (1..=3)
        .map(|i| json!({"_id": format!("team-{i}"), "_deleted": true}))
        .collect();
    let (status, b) = db.post("/_bulk", Value::from(deletes)).await;
    assert_eq!(status, 201);
    assert_eq!(b["results"].as_array().unwrap().len(), 3);
    assert_eq!(db.list("").await, vec!["team-4", "team-5", "team-6"]);
    // Bad input: not an array, a document without _id; nothing half-written.
    assert_eq!(db.post("/_bulk", json!({"_id": "x"})).await.0, 400);
    let (status, b) = db
        .post("/_bulk", json!([{"_id": "ok-1"}, {"name": "no id"}]))
        .await;
    assert_eq!(status, 400, "{b}");
    assert!(b["msg"].as_str().unwrap().contains("_id"), "{b}");
    assert_eq!(db.get("/ok-1").await.0, 404);
}

#[tokio::test]
async fn tenants_are_isolated_over_http() {
    let nano = TestNano::start_with(|c| c.tenants = vec!["acme".into(), "globex".into()]).await;
    let name = fresh_name("db");
    for tenant in ["acme", "globex"] {
        let res = client()
            .put(nano.url(&format!("/{tenant}/data/{name}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let res = client()
            .post(nano.url(&format!("/{tenant}/data/{name}")))
            .json(&json!({"_id": "same", "owner": tenant}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let get = |tenant: &str| {
        client()
            .get(nano.url(&format!("/{tenant}/data/{name}/same")))
            .send()
    };
    assert_eq!(body(get("acme").await.unwrap()).await.1["owner"], "acme");
    assert_eq!(
        body(get("globex").await.unwrap()).await.1["owner"],
        "globex"
    );
    // The default tenant has no such database.
    let res = client()
        .get(nano.url(&format!("/data/{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = client()
        .delete(nano.url(&format!("/globex/data/{name}/same")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(body(get("acme").await.unwrap()).await.0, 200);
    let (_, b) = body(
        client()
            .post(nano.url(&format!("/acme/data/{name}/_query")))
            .json(&json!({"selector": {"owner": "globex"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(b["docs"], json!([]));
}

#[tokio::test]
async fn paths_are_case_insensitive_and_unknown_routes_404() {
    let nano = TestNano::start().await;
    let db = Db::create(&nano).await;
    let upper = db.base.replacen("/data/", "/DATA/", 1);
    let res = client()
        .get(nano.url(&format!("{upper}/")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client()
        .post(nano.url(&format!("{}/some-id", db.base)))
        .json(&json!({"a": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = client()
        .get(nano.url(&format!("{}/a/b", db.base)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = client().post(nano.url("/data")).send().await.unwrap();
    assert_eq!(
        body(res).await,
        (
            StatusCode::NOT_FOUND,
            json!({"ok": false, "msg": "not found!"})
        )
    );
}

#[tokio::test]
async fn disabled_data_service_is_hypers_404() {
    let nano = TestNano::start_with(|c| c.services.data = false).await;
    let res = client().put(nano.url("/data/x")).send().await.unwrap();
    assert_eq!(
        body(res).await,
        (
            StatusCode::NOT_FOUND,
            json!({"ok": false, "msg": "not found!"})
        )
    );
}

/// Every acknowledged write (concurrent creates sharing group commits, an update, a bulk write, a delete) is there
/// after `kill -9` and a restart.
#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut child, base) = spawn_nano(&data).await;
    let db = format!("{base}/data/durable");
    assert_eq!(client().put(&db).send().await.unwrap().status(), 201);
    let creates = (0..200).map(|i| {
        let db = db.clone();
        async move {
            let res = client()
                .post(&db)
                .json(&json!({"_id": format!("d{i:03}"), "n": i}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        }
    });
    futures::future::join_all(creates).await;
    let put = client().put(format!("{db}/d000")).json(&json!({"n": -1}));
    assert_eq!(put.send().await.unwrap().status(), 200);
    let bulk = client()
        .post(format!("{db}/_bulk"))
        .json(&json!([{"_id": "b1", "n": 1000}, {"_id": "d001", "_deleted": true}]));
    assert_eq!(bulk.send().await.unwrap().status(), 201);
    let delete = client().delete(format!("{db}/d002"));
    assert_eq!(delete.send().await.unwrap().status(), 200);
    child.kill().await.unwrap(); // SIGKILL: no drain, no shutdown hooks
    let (mut child, base) = spawn_nano(&data).await;
    let res = client()
        .get(format!("{base}/data/durable"))
        .send()
        .await
        .unwrap();
    let (status, list) = body(res).await;
    assert_eq!(status, 200);
    let docs = list["docs"].as_array().unwrap();
    let ids: Vec<&str> = docs.iter().map(|d| d["_id"].as_str().unwrap()).collect();
    let mut want: Vec<String> = (3..200).map(|i| format!("d{i:03}")).collect();
    want.extend(["b1".to_string(), "d000".to_string()]);
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(docs.iter().find(|d| d["_id"] == "d000").unwrap()["n"], -1);
    child.kill().await.unwrap();
}
