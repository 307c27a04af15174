//! Both clients' queue methods against nano, with receivers in the scripts that verify every delivery's signature
//! (npm: create/enqueue/queued/errors/destroy with `createHyperVerify`; Python: enqueue/queued/errors).

use crate::harness::{node, python};
use crate::support::{fresh_name, TestNano};

#[tokio::test]
async fn queue_with_both_clients() {
    let nano = TestNano::start().await;
    let node_conn = nano.url(&format!("/{}", fresh_name("q")));
    let py_conn = nano.url(&format!("/{}", fresh_name("q")));
    tokio::task::spawn_blocking(move || {
        node("queue.mjs", &node_conn);
        python("queue_service.py", &py_conn);
    })
    .await
    .unwrap();
    nano.stop().await;
}
