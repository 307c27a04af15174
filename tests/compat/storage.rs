//! Both clients' storage methods against nano: npm (raw streamed upload, signed URLs, create/destroy) and
//! Python (multipart upload, download, remove).

use crate::harness::{node, python};
use crate::support::{client, fresh_name, TestNano};

#[tokio::test]
async fn storage_with_both_clients() {
    let nano = TestNano::start().await;
    let js_bucket = nano.url(&format!("/{}", fresh_name("js")));
    let py_name = fresh_name("py");
    let res = client()
        .put(nano.url(&format!("/storage/{py_name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let py_bucket = nano.url(&format!("/{py_name}"));
    tokio::task::spawn_blocking(move || {
        node("storage.mjs", &js_bucket);
        python("storage.py", &py_bucket);
    })
    .await
    .unwrap();
    nano.stop().await;
}
