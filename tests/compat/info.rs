//! Both clients' `info.services()`: the root document hyper-connect uses to discover services.

use crate::harness::{node, python};
use crate::support::TestNano;

#[tokio::test]
async fn info_services_with_both_clients() {
    let nano = TestNano::start().await;
    let connection = nano.url("/test");
    tokio::task::spawn_blocking(move || {
        node("info.mjs", &connection);
        python("info.py", &connection);
    })
    .await
    .unwrap();
    nano.stop().await;
}
