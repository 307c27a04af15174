//! The search service over HTTP: hyper's routes, codes and result shape, prefix and typo queries, boosts,
//! filters, update, bulk, tenant isolation, and durability across `kill -9`.

use crate::support::{client, fresh_name, spawn_nano, TestNano};
use serde_json::{json, Value};

async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut req = client().request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    (status, res.json().await.unwrap())
}

async fn movies(nano: &TestNano) -> String {
    let name = fresh_name("idx");
    let url = nano.url(&format!("/search/{name}"));
    let mapping = json!({"fields": ["title", "type"], "storeFields": ["title", "type"]});
    assert_eq!(
        call(reqwest::Method::PUT, url.clone(), Some(mapping)).await,
        (201, json!({"ok": true}))
    );
    for (key, title, ty) in [
        ("movie-1", "Dune", "movie"),
        ("movie-2", "Dune Messiah", "book"),
        ("movie-3", "Foundation", "book"),
        ("movie-4", "Ghostbusters", "movie"),
    ] {
        let body = json!({"key": key, "doc": {"title": title, "type": ty}});
        assert_eq!(
            call(reqwest::Method::POST, url.clone(), Some(body)).await.0,
            201
        );
    }
    name
}

async fn query(nano: &TestNano, index: &str, body: Value) -> (u16, Value) {
    call(
        reqwest::Method::POST,
        nano.url(&format!("/search/{index}/_query")),
        Some(body),
    )
    .await
}

fn ids(result: &Value) -> Vec<&str> {
    result["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn info_index_lifecycle_and_documents() {
    let nano = TestNano::start().await;
    let (status, info) = call(reqwest::Method::GET, nano.url("/search"), None).await;
    assert_eq!(
        (status, info),
        (
            200,
            json!({"name":"hyper63 Search","version":"1.0","status":"unstable"})
        )
    );
    let name = movies(&nano).await;
    let url = nano.url(&format!("/search/{name}"));
    let (status, b) = call(
        reqwest::Method::PUT,
        url.clone(),
        Some(json!({"fields": ["title"]})),
    )
    .await;
    assert_eq!(
        (status, b),
        (
            409,
            json!({"ok":false,"status":409,"msg":"index already exists"})
        )
    );
    let (status, b) = call(
        reqwest::Method::PUT,
        nano.url(&format!("/search/{}", fresh_name("x"))),
        Some(json!({"storeFields": ["a"]})),
    )
    .await;
    assert_eq!(status, 422, "{b}");
    assert!(
        b["msg"]
            .as_str()
            .unwrap()
            .starts_with("Invalid Arguments 'mappings'"),
        "{b}"
    );
    // Add conflict, get, update (nano updates; hyper-nano answered 501), remove.
    let dup = json!({"key": "movie-1", "doc": {"title": "x"}});
    let (status, b) = call(reqwest::Method::POST, url.clone(), Some(dup)).await;
    assert_eq!(
        (status, b),
        (
            409,
            json!({"ok":false,"status":409,"msg":"document conflict"})
        )
    );
    let (status, b) = call(reqwest::Method::GET, format!("{url}/movie-1"), None).await;
    assert_eq!(
        (status, b),
        (
            200,
            json!({"ok": true, "key": "movie-1", "doc": {"_id": "movie-1", "title": "Dune", "type": "movie"}})
        )
    );
    let (status, b) = call(reqwest::Method::GET, format!("{url}/nope"), None).await;
    assert_eq!(
        (status, b),
        (404, json!({"ok":false,"status":404,"msg":"not found"}))
    );
    let (status, b) = call(
        reqwest::Method::PUT,
        format!("{url}/movie-4"),
        Some(json!({"title": "Arrival", "type": "movie"})),
    )
    .await;
    assert_eq!((status, b), (200, json!({"ok": true})));
    assert_eq!(
        ids(&query(&nano, &name, json!({"query": "arrival"})).await.1),
        vec!["movie-4"]
    );
    assert!(ids(&query(&nano, &name, json!({"query": "ghostbusters"}))
        .await
        .1)
    .is_empty());
    let (status, _) = call(
        reqwest::Method::PUT,
        format!("{url}/nope"),
        Some(json!({"title": "x"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, b) = call(reqwest::Method::DELETE, format!("{url}/movie-4"), None).await;
    assert_eq!((status, b), (200, json!({"ok": true})));
    let (status, b) = call(reqwest::Method::DELETE, format!("{url}/movie-4"), None).await;
    assert_eq!((status, b["msg"].clone()), (404, json!("not found")));
    // Bad add bodies.
    let (status, b) = call(reqwest::Method::POST, url.clone(), Some(json!({"doc": {}}))).await;
    assert_eq!(
        (status, b["msg"].clone()),
        (422, json!("Invalid Arguments 'key': Required."))
    );
    let (status, _) = call(
        reqwest::Method::POST,
        url.clone(),
        Some(json!({"key": "k", "doc": 3})),
    )
    .await;
    assert_eq!(status, 422);
    // Delete the index (twice: still 200), then its documents are gone.
    assert_eq!(
        call(reqwest::Method::DELETE, url.clone(), None).await,
        (200, json!({"ok": true}))
    );
    assert_eq!(
        call(reqwest::Method::DELETE, url.clone(), None).await,
        (200, json!({"ok": true}))
    );
    let (status, b) = call(reqwest::Method::GET, format!("{url}/movie-1"), None).await;
    assert_eq!(
        (status, b["msg"].clone()),
        (404, json!("index does not exist"))
    );
    nano.stop().await;
}

#[tokio::test]
async fn queries_rank_match_prefixes_typos_and_filter() {
    let nano = TestNano::start().await;
    let name = movies(&nano).await;
    let (status, b) = query(&nano, &name, json!({"query": "dune"})).await;
    assert_eq!(status, 200);
    assert_eq!(b["ok"], true);
    let first = &b["matches"][0];
    assert_eq!(first["id"], "movie-1");
    assert_eq!(first["terms"], json!(["dune"]));
    assert_eq!(first["queryTerms"], json!(["dune"]));
    assert_eq!(first["match"], json!({"dune": ["title"]}));
    assert_eq!(
        (first["title"].clone(), first["type"].clone()),
        (json!("Dune"), json!("movie"))
    );
    assert!(first["score"].as_f64().unwrap() > b["matches"][1]["score"].as_f64().unwrap());
    // Prefix (hyper-nano found nothing for `dun`), typo, case.
    let mut dun = ids(&query(&nano, &name, json!({"query": "dun"})).await.1)
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    dun.sort();
    assert_eq!(dun, vec!["movie-1", "movie-2"]);
    assert_eq!(
        ids(&query(&nano, &name, json!({"query": "FOUNDATOIN"})).await.1),
        vec!["movie-3"]
    );
    assert_eq!(
        ids(&query(
            &nano,
            &name,
            json!({"query": "ghostbusters", "fields": ["type"]})
        )
        .await
        .1),
        Vec::<&str>::new()
    );
    assert_eq!(
        ids(&query(
            &nano,
            &name,
            json!({"query": "dune", "filter": {"type": "book"}})
        )
        .await
        .1),
        vec!["movie-2"]
    );
    let (status, b) = query(
        &nano,
        &name,
        json!({"query": "dune", "fields": ["title"], "filter": {"type": "movie"}}),
    )
    .await;
    assert_eq!((status, ids(&b)), (200, vec!["movie-1"]));
    assert_eq!(
        ids(&query(&nano, &name, json!({"query": "dune", "limit": 1}))
            .await
            .1)
        .len(),
        1
    );
    // hyper's two 422s.
    let (status, b) = query(&nano, &name, json!({"query": ""})).await;
    assert_eq!(
        (status, b),
        (
            422,
            json!({"ok":false,"status":422,"msg":"query is required!"})
        )
    );
    let (status, b) = query(&nano, &name, json!({"fields": ["title"]})).await;
    assert_eq!(
        (status, b["msg"].clone()),
        (422, json!("Invalid Arguments 'q': Required."))
    );
    let (status, _) = query(&nano, "no-such-index", json!({"query": "x"})).await;
    assert_eq!(status, 404);
    nano.stop().await;
}

#[tokio::test]
async fn boosts_change_the_ranking() {
    let nano = TestNano::start().await;
    let name = fresh_name("boost");
    let url = nano.url(&format!("/search/{name}"));
    let mapping =
        json!({"fields": ["title", "body"], "storeFields": ["title"], "boost": {"title": 5}});
    assert_eq!(
        call(reqwest::Method::PUT, url.clone(), Some(mapping))
            .await
            .0,
        201
    );
    let docs = json!([
        {"id": "in-body", "title": "other", "body": "rust"},
        {"id": "in-title", "title": "rust", "body": "other"},
    ]);
    let (status, b) = call(reqwest::Method::POST, format!("{url}/_bulk"), Some(docs)).await;
    assert_eq!(
        (status, b),
        (
            201,
            json!({"ok": true, "results": [{"ok": true, "id": "in-body"}, {"ok": true, "id": "in-title"}]})
        )
    );
    assert_eq!(
        ids(&query(&nano, &name, json!({"query": "rust"})).await.1),
        vec!["in-title", "in-body"]
    );
    let (status, _) = call(
        reqwest::Method::POST,
        format!("{url}/_bulk"),
        Some(json!({"not": "an array"})),
    )
    .await;
    assert_eq!(status, 422);
    nano.stop().await;
}

#[tokio::test]
async fn tenants_have_separate_indexes() {
    let (a, b) = (fresh_name("ta"), fresh_name("tb"));
    let tenants = vec![a.clone(), b.clone()];
    let nano = TestNano::start_with(|c| c.tenants = tenants).await;
    let name = fresh_name("shared");
    for (t, title) in [(&a, "Dune"), (&b, "Solaris")] {
        let url = nano.url(&format!("/{t}/search/{name}"));
        assert_eq!(
            call(
                reqwest::Method::PUT,
                url.clone(),
                Some(json!({"fields": ["title"]}))
            )
            .await
            .0,
            201
        );
        let body = json!({"key": "same", "doc": {"title": title}});
        assert_eq!(call(reqwest::Method::POST, url, Some(body)).await.0, 201);
    }
    let q = |t: &String, text: &str| {
        let url = nano.url(&format!("/{t}/search/{name}/_query"));
        let body = json!({"query": text});
        async move { call(reqwest::Method::POST, url, Some(body)).await.1 }
    };
    assert_eq!(ids(&q(&a, "dune").await), vec!["same"]);
    assert!(ids(&q(&b, "dune").await).is_empty());
    assert_eq!(ids(&q(&b, "solaris").await), vec!["same"]);
    let (_, doc) = call(
        reqwest::Method::GET,
        nano.url(&format!("/{a}/search/{name}/same")),
        None,
    )
    .await;
    assert_eq!(doc["doc"]["title"], "Dune");
    nano.stop().await;
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut child, base) = spawn_nano(&data).await;
    let url = format!("{base}/search/durable");
    assert_eq!(
        call(
            reqwest::Method::PUT,
            url.clone(),
            Some(json!({"fields": ["title"]}))
        )
        .await
        .0,
        201
    );
    let body = json!({"key": "k1", "doc": {"title": "Hyperion Cantos"}});
    assert_eq!(
        call(reqwest::Method::POST, url.clone(), Some(body)).await.0,
        201
    );
    let bulk = json!([{"id": "k2", "title": "Endymion"}]);
    assert_eq!(
        call(reqwest::Method::POST, format!("{url}/_bulk"), Some(bulk))
            .await
            .0,
        201
    );
    child.kill().await.unwrap(); // SIGKILL: no drain, no shutdown hooks
    let (mut child, base) = spawn_nano(&data).await;
    let url = format!("{base}/search/durable");
    let (status, b) = call(reqwest::Method::GET, format!("{url}/k1"), None).await;
    assert_eq!(
        (status, b["doc"]["title"].clone()),
        (200, json!("Hyperion Cantos")),
        "{b}"
    );
    let (_, b) = call(
        reqwest::Method::POST,
        format!("{url}/_query"),
        Some(json!({"query": "endymion"})),
    )
    .await;
    assert_eq!(ids(&b), vec!["k2"]);
    child.kill().await.unwrap();
}
