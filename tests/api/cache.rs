//! The cache service over HTTP: every route of hyper's `/cache`, its status codes, shapes and validation, and
//! durability across `kill -9`.

use crate::support::{client, fresh_name, spawn_nano, TestNano};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn body(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn stores_are_created_listed_and_deleted() {
    let nano = TestNano::start().await;
    let http = client();
    let name = fresh_name("c");
    let upper = name.to_uppercase();
    let (status, b) = body(
        http.put(nano.url(&format!("/cache/{upper}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, b),
        (StatusCode::CREATED, json!({"ok": true})),
        "create lower-cases"
    );
    let (status, b) = body(
        http.put(nano.url(&format!("/cache/{name}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        b,
        json!({"ok": false, "status": 409, "msg": "cache already exists"})
    );
    let (status, b) = body(http.get(nano.url("/cache")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        b,
        json!({"name": "cache", "version": "0.0.4", "stores": [name]})
    );
    for bad in ["-x", "a.b", "a%20b"] {
        let (status, b) = body(
            http.put(nano.url(&format!("/cache/{bad}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(b["msg"], "name is not valid");
    }
    let (status, b) = body(
        http.delete(nano.url(&format!("/cache/{upper}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "delete does not lower-case"
    );
    assert_eq!(b["msg"], "name is not valid");
    let (status, b) = body(
        http.delete(nano.url(&format!("/cache/{name}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, b), (StatusCode::OK, json!({"ok": true})));
    let (status, b) = body(
        http.delete(nano.url(&format!("/cache/{name}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        b,
        json!({"ok": false, "status": 404, "msg": "cache not found"})
    );
    nano.stop().await;
}

#[tokio::test]
async fn documents_are_added_read_updated_and_removed() {
    let nano = TestNano::start().await;
    let http = client();
    let name = fresh_name("c");
    let base = nano.url(&format!("/cache/{name}"));
    http.put(&base).send().await.unwrap();

    let add = |b: Value| http.post(&base).json(&b).send();
    let (status, b) = body(
        add(json!({"key": "movie-1", "value": {"title": "Dune"}}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, b), (StatusCode::CREATED, json!({"ok": true})));
    let (status, b) = body(
        add(json!({"key": "movie-1", "value": {"title": "Dune"}}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(b["msg"], "document conflict");
    for (bad, field) in [
        (json!({"key": "Movie", "value": {}}), "key is not valid"),
        (json!({"key": "1abc", "value": {}}), "key is not valid"),
        (json!({"value": {}}), "Invalid Arguments 'key': Required."),
        (json!({"key": "k"}), "Invalid Arguments 'value': Required."),
        (
            json!({"key": "k", "value": "text"}),
            "Invalid Arguments 'value': Expected object, received string.",
        ),
        (
            json!({"key": "k", "value": [1]}),
            "Invalid Arguments 'value': Expected object, received array.",
        ),
    ] {
        let (status, b) = body(add(bad.clone()).await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(b["msg"], field, "{bad}");
    }
    let (status, b) = body(
        add(json!({"key": "k", "value": {}, "ttl": "soon"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        b["msg"].as_str().unwrap().contains("ttl is not valid"),
        "{b}"
    );

    // Legacy GET (no header, empty, `true`) gives the bare value; anything else the hyper shape.
    let get = |legacy: Option<&'static str>| {
        let mut req = http.get(format!("{base}/movie-1"));
        if let Some(v) = legacy {
            req = req.header("X-HYPER-LEGACY-GET", v);
        }
        req.send()
    };
    for legacy in [None, Some(""), Some("true"), Some(" true ")] {
        let (status, b) = body(get(legacy).await.unwrap()).await;
        assert_eq!(
            (status, b),
            (StatusCode::OK, json!({"title": "Dune"})),
            "{legacy:?}"
        );
    }
    let (status, b) = body(get(Some("false")).await.unwrap()).await;
    assert_eq!(
        (status, b),
        (
            StatusCode::OK,
            json!({"ok": true, "doc": {"title": "Dune"}})
        )
    );
    let (status, b) = body(http.get(format!("{base}/nope")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        b,
        json!({"ok": false, "status": 404, "msg": "document not found"})
    );
    let (status, b) = body(http.get(format!("{base}/No.Pe")).send().await.unwrap()).await;
    assert_eq!(
        (status, b["msg"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("key is not valid"))
    );

    // PUT replaces (no merge) and upserts.
    let (status, b) = body(
        http.put(format!("{base}/movie-1"))
            .json(&json!({"year": 1965}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, b), (StatusCode::OK, json!({"ok": true})));
    let (_, b) = body(get(None).await.unwrap()).await;
    assert_eq!(b, json!({"year": 1965}));
    let (status, _) = body(
        http.put(format!("{base}/movie-2?ttl=1h"))
            .json(&json!({"a": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, b) = body(
        http.put(format!("{base}/movie-2?ttl=later"))
            .json(&json!({"a": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        b["msg"].as_str().unwrap().contains("ttl is not valid"),
        "{b}"
    );
    let (status, b) = body(
        http.put(format!("{base}/movie-2"))
            .body("\"str\"")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");

    // DELETE is 200 whether or not the key exists.
    for _ in 0..2 {
        let (status, b) = body(http.delete(format!("{base}/movie-1")).send().await.unwrap()).await;
        assert_eq!((status, b), (StatusCode::OK, json!({"ok": true})));
    }
    let (status, _) = body(get(None).await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Key routes of a missing store are 404 "cache not found".
    let missing = nano.url(&format!("/cache/{}", fresh_name("c")));
    for res in [
        http.post(&missing)
            .json(&json!({"key": "k", "value": {}}))
            .send()
            .await
            .unwrap(),
        http.get(format!("{missing}/k")).send().await.unwrap(),
        http.put(format!("{missing}/k"))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        http.delete(format!("{missing}/k")).send().await.unwrap(),
        http.get(format!("{missing}/_query")).send().await.unwrap(),
    ] {
        let (status, b) = body(res).await;
        assert_eq!(
            (status, b["msg"].clone()),
            (StatusCode::NOT_FOUND, json!("cache not found"))
        );
    }
    nano.stop().await;
}

#[tokio::test]
async fn expired_keys_are_not_found() {
    let nano = TestNano::start().await;
    let http = client();
    let base = nano.url(&format!("/cache/{}", fresh_name("c")));
    http.put(&base).send().await.unwrap();
    http.post(&base)
        .json(&json!({"key": "a", "value": {"x": 1}, "ttl": "50"}))
        .send()
        .await
        .unwrap();
    http.put(format!("{base}/b?ttl=50ms"))
        .json(&json!({"x": 2}))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    for key in ["a", "b"] {
        let res = http.get(format!("{base}/{key}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{key}");
    }
    let (_, b) = body(http.get(format!("{base}/_query")).send().await.unwrap()).await;
    assert_eq!(b, json!({"ok": true, "docs": []}));
    nano.stop().await;
}

#[tokio::test]
async fn queries_match_patterns_by_get_and_post() {
    let nano = TestNano::start().await;
    let http = client();
    let base = nano.url(&format!("/cache/{}", fresh_name("c")));
    http.put(&base).send().await.unwrap();
    for key in ["movie-1", "movie-2", "movie-3", "a-movie", "movie_x"] {
        http.put(format!("{base}/{key}"))
            .json(&json!({"k": key}))
            .send()
            .await
            .unwrap();
    }
    let keys = |b: &Value| -> Vec<String> {
        b["docs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["key"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, b) = body(
        http.get(format!("{base}/_query?pattern=movie-*"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys(&b), vec!["movie-1", "movie-2", "movie-3"]);
    assert_eq!(
        b["docs"][0],
        json!({"key": "movie-1", "value": {"k": "movie-1"}})
    );
    // POST ignores its body, even `null` as the Python client sends it; the pattern may be percent-encoded.
    let (status, b) = body(
        http.post(format!("{base}/_query?pattern=%2A-movie"))
            .header("content-type", "application/json")
            .body("null")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys(&b), vec!["a-movie"]);
    let (_, b) = body(http.post(format!("{base}/_query")).send().await.unwrap()).await;
    assert_eq!(keys(&b).len(), 5, "no pattern means *");
    let (_, b) = body(
        http.get(format!("{base}/_query?pattern=movie_*"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(keys(&b), vec!["movie_x"], "_ is not a wildcard");
    let (status, b) = body(
        http.get(format!("{base}/_query?pattern=a&pattern=b"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let bad = nano.url("/cache/Upper/_query");
    let (status, b) = body(http.get(bad).send().await.unwrap()).await;
    assert_eq!(
        (status, b["msg"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("name is not valid"))
    );
    nano.stop().await;
}

#[tokio::test]
async fn tenants_do_not_share_stores_or_keys() {
    let (a, b) = (fresh_name("t"), fresh_name("t"));
    let tenants = vec![a.clone(), b.clone()];
    let nano = TestNano::start_with(|c| c.tenants = tenants).await;
    let http = client();
    let store = fresh_name("c");
    let url = |t: &str, rest: &str| nano.url(&format!("/{t}/cache/{store}{rest}"));
    http.put(url(&a, "")).send().await.unwrap();
    assert_eq!(
        http.get(url(&b, "/k")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        http.put(url(&b, "")).send().await.unwrap().status(),
        StatusCode::CREATED
    );
    http.post(url(&a, ""))
        .json(&json!({"key": "k", "value": {"o": "a"}}))
        .send()
        .await
        .unwrap();
    let res = http
        .post(url(&b, ""))
        .json(&json!({"key": "k", "value": {"o": "b"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "same key in another tenant is no conflict"
    );
    http.delete(url(&b, "/k")).send().await.unwrap();
    http.delete(url(&b, "")).send().await.unwrap();
    let (_, got) = body(http.get(url(&a, "/k")).send().await.unwrap()).await;
    assert_eq!(got, json!({"o": "a"}));
    let (_, listed) = body(
        http.get(nano.url(&format!("/{b}/cache")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed["stores"], json!([]));
    nano.stop().await;
}

#[tokio::test]
async fn unknown_cache_routes_are_hypers_404() {
    let nano = TestNano::start().await;
    let http = client();
    for (method, path) in [
        (reqwest::Method::POST, "/cache"),
        (reqwest::Method::GET, "/cache/a/b/c"),
        (reqwest::Method::PATCH, "/cache/a/b"),
    ] {
        let (status, b) = body(http.request(method, nano.url(path)).send().await.unwrap()).await;
        assert_eq!(
            (status, b),
            (
                StatusCode::NOT_FOUND,
                json!({"ok": false, "msg": "not found!"})
            ),
            "{path}"
        );
    }
    nano.stop().await;
}

/// Acknowledged cache writes (concurrent sets sharing group commits, a delete) are there after `kill -9` and a
/// restart: the cache's `synchronous=NORMAL` survives a crash of the process.
#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut child, base) = spawn_nano(&data).await;
    let store = format!("{base}/cache/durable");
    assert_eq!(client().put(&store).send().await.unwrap().status(), 201);
    let sets = (0..100).map(|i| {
        let store = store.clone();
        async move {
            let res = client()
                .put(format!("{store}/k{i}"))
                .json(&json!({"n": i}))
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success(), "{}", res.status());
        }
    });
    futures::future::join_all(sets).await;
    let delete = client().delete(format!("{store}/k0"));
    assert!(delete.send().await.unwrap().status().is_success());
    child.kill().await.unwrap(); // SIGKILL: no drain, no shutdown hooks
    let (mut child, base) = spawn_nano(&data).await;
    let store = format!("{base}/cache/durable");
    let res = client().get(format!("{store}/k0")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    for i in 1..100 {
        let res = client().get(format!("{store}/k{i}")).send().await.unwrap();
        let (status, value) = body(res).await;
        assert_eq!((status, value), (StatusCode::OK, json!({"n": i})));
    }
    child.kill().await.unwrap();
}
