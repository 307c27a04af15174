//! Both clients' search methods against nano: npm (create to destroy) and Python (add to load; it has no
//! create, so the index is made over HTTP first).

use crate::harness::{node, python};
use crate::support::{client, fresh_name, TestNano};

#[tokio::test]
async fn search_with_both_clients() {
    let nano = TestNano::start().await;
    let js_index = nano.url(&format!("/{}", fresh_name("js")));
    let py_name = fresh_name("py");
    let res = client()
        .put(nano.url(&format!("/search/{py_name}")))
        .json(&serde_json::json!({"fields": ["title", "type"], "storeFields": ["title", "type"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let py_index = nano.url(&format!("/{py_name}"));
    tokio::task::spawn_blocking(move || {
        node("search.mjs", &js_index);
        python("search.py", &py_index);
    })
    .await
    .unwrap();
    nano.stop().await;
}
