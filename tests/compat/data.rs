//! Both clients' data service: every data call of hyper-connect (npm) and the Python client against a live nano.

use crate::harness::{node, python};
use crate::support::{client, fresh_name, TestNano};

#[tokio::test]
async fn data_with_both_clients() {
    let nano = TestNano::start().await;
    let node_db = nano.url(&format!("/{}", fresh_name("js")));
    // The Python client cannot create databases: create its database over HTTP first.
    let py_name = fresh_name("py");
    let res = client()
        .put(nano.url(&format!("/data/{py_name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let py_db = nano.url(&format!("/{py_name}"));
    tokio::task::spawn_blocking(move || {
        node("data.mjs", &node_db);
        python("data.py", &py_db);
    })
    .await
    .unwrap();
    nano.stop().await;
}
