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

/// A load balancer in front of `backends`: each new connection goes to the next one in turn. Returns its URL.
async fn round_robin(backends: Vec<std::net::SocketAddr>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for turn in 0.. {
            let Ok((mut inbound, _)) = listener.accept().await else {
                continue;
            };
            let backend = backends[turn % backends.len()];
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Both clients against two prod nodes on one S3 bucket (SeaweedFS), each node with its own data folder, behind a
/// load balancer that sends each connection to the next node.
#[tokio::test]
async fn storage_with_both_clients_on_two_s3_nodes() {
    let schema = fresh_name("nt").replace('-', "_");
    let prefix = fresh_name("np");
    let s3 = crate::support::s3_target();
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let s3 = s3.clone();
        nodes.push(
            TestNano::start_prod_on(&schema, &prefix, move |c| {
                crate::support::use_s3(c, &s3);
                c.auth = false;
                c.default_tenant = Some("default".into());
            })
            .await,
        );
    }
    let lb = round_robin(nodes.iter().map(|n| n.addr).collect()).await;
    let js_bucket = format!("{lb}/{}", fresh_name("js"));
    let py_name = fresh_name("py");
    let res = client()
        .put(format!("{lb}/storage/{py_name}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let py_bucket = format!("{lb}/{py_name}");
    tokio::task::spawn_blocking(move || {
        node("storage.mjs", &js_bucket);
        python("storage.py", &py_bucket);
    })
    .await
    .unwrap();
    for n in nodes {
        n.stop().await;
    }
}
