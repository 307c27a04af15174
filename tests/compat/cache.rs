//! Both clients' cache methods against nano (npm: create/add/get/set/remove/query/destroy; Python: add/get/set/
//! remove/query, on a store created over HTTP since that client cannot create one).

use crate::harness::{node, python};
use crate::support::{client, fresh_name, TestNano};

#[tokio::test]
async fn cache_with_both_clients() {
    let nano = TestNano::start().await;
    let node_conn = nano.url(&format!("/{}", fresh_name("c")));
    let py_store = fresh_name("c");
    let res = client()
        .put(nano.url(&format!("/cache/{py_store}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let py_conn = nano.url(&format!("/{py_store}"));
    tokio::task::spawn_blocking(move || {
        node("cache.mjs", &node_conn);
        python("cache.py", &py_conn);
    })
    .await
    .unwrap();
    nano.stop().await;
}
