//! Two real nano processes in the prod profile sharing one PostgreSQL schema and one Redis prefix: what one node
//! writes the other reads (data, cache, search), and queue jobs enqueued on both are delivered once each.

use crate::prod_node::start_node;
use crate::receiver::{numbers, Receiver};
use crate::support::{client, fresh_name};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

async fn call(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn two_prod_nodes_share_data_cache_and_queue() {
    let shared = tempfile::tempdir().unwrap();
    let schema = fresh_name("mn").replace('-', "_");
    let prefix = fresh_name("nanotest");
    let tenant = fresh_name("t");
    let a = start_node(shared.path(), &schema, &prefix, &tenant).await;
    let b = start_node(shared.path(), &schema, &prefix, &tenant).await;
    assert_ne!(a.base, b.base);
    let http = client();

    // Data: a database and a document written through A are read and queried through B.
    let db = fresh_name("db");
    let (s, _) = call(http.put(format!("{}/data/{db}", a.base))).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = call(
        http.post(format!("{}/data/{db}", a.base))
            .json(&json!({"_id": "m1", "title": "Dune", "year": 1965})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, doc) = call(http.get(format!("{}/data/{db}/m1", b.base))).await;
    assert_eq!((s, doc["title"].clone()), (StatusCode::OK, json!("Dune")));
    let (s, found) = call(
        http.post(format!("{}/data/{db}/_query", b.base))
            .json(&json!({"selector": {"year": {"$gt": 1900}}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found["docs"][0]["_id"], "m1", "{found}");

    // Cache: a key set through B is read through A.
    let store = fresh_name("c");
    let (s, _) = call(http.put(format!("{}/cache/{store}", b.base))).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = call(
        http.post(format!("{}/cache/{store}", b.base))
            .json(&json!({"key": "k1", "value": {"hello": "world"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = call(http.get(format!("{}/cache/{store}/k1", a.base))).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"hello": "world"})));

    // Search: an index and a document added through A are found through B, typo and all.
    let index = fresh_name("i");
    let (s, body) = call(
        http.put(format!("{}/search/{index}", a.base))
            .json(&json!({"fields": ["title"], "storeFields": ["title"]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = call(
        http.post(format!("{}/search/{index}", a.base))
            .json(&json!({"key": "m1", "doc": {"title": "Foundation"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, found) = call(
        http.post(format!("{}/search/{index}/_query", b.base))
            .json(&json!({"query": "foundatoin"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found["matches"][0]["id"], "m1", "{found}");

    // Queue: jobs enqueued on both nodes reach the receiver once each.
    let receiver = Receiver::accepting().await;
    let queue = fresh_name("q");
    let (s, _) = call(
        http.put(format!("{}/queue/{queue}", a.base))
            .json(&json!({"target": receiver.url})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let total = 40;
    for n in 0..total {
        let node = if n % 2 == 0 { &a } else { &b };
        let (s, body) = call(
            http.post(format!("{}/queue/{queue}", node.base))
                .json(&json!({"n": n})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    receiver
        .wait_for("every job", |hits| numbers(hits).len() == total as usize)
        .await;
    // Let both nodes sweep again: a double claim would show up as a second delivery.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let hits = receiver.hits();
    let mut seen = std::collections::BTreeMap::new();
    for h in &hits {
        *seen.entry(h.json()["n"].as_i64().unwrap()).or_insert(0) += 1;
    }
    assert!(
        seen.values().all(|&c| c == 1),
        "jobs delivered more than once: {seen:?}"
    );
    assert_eq!(seen.len(), total as usize);
}
