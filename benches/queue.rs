//! Queue jobs delivered per second to a local receiver (a hyper server in this process) by a release nano:
//! N signed jobs enqueued over HTTP by 64 connections, then counted as they arrive. Run: `cargo bench --bench queue`.

#[path = "support/mod.rs"]
mod support;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{request, send, Nano};

const CONNS: usize = 64;
const JOBS: usize = 4_000;
const LIMIT: Duration = Duration::from_secs(180);

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

/// A receiver that answers 200 to every POST and counts them.
fn receiver(count: Arc<AtomicU64>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let count = count.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let count = count.clone();
                            async move {
                                let _ = req.into_body().collect().await;
                                count.fetch_add(1, Ordering::Relaxed);
                                Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                    Bytes::from_static(b"{}"),
                                )))
                            }
                        },
                    );
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    addr
}

struct Run {
    label: String,
    enqueue_secs: f64,
    total_secs: f64,
    delivered: u64,
}

async fn scenario(
    nano: &Nano,
    target: SocketAddr,
    count: &Arc<AtomicU64>,
    queues: usize,
    concurrency: u32,
) -> Run {
    let addr = nano.addr;
    let names: Vec<String> = (0..queues)
        .map(|i| format!("bench-{queues}-{concurrency}-{i}"))
        .collect();
    for name in &names {
        let body = format!(
            r#"{{"target":"http://{target}/hook","secret":"bench-secret","concurrency":{concurrency}}}"#
        );
        send(addr, "PUT", &format!("/queue/{name}"), Some(body)).await;
    }
    let names = Arc::new(names);
    let before = count.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CONNS {
        let names = names.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .unwrap();
            tokio::spawn(conn);
            for i in (c..JOBS).step_by(CONNS) {
                let queue = &names[i % names.len()];
                let body = format!(
                    r#"{{"n":{i},"kind":"bench","payload":{{"to":"user-{i}@example.com"}}}}"#
                );
                sender.ready().await.unwrap();
                let res = sender
                    .send_request(request(
                        "POST",
                        addr,
                        &format!("/queue/{queue}"),
                        Some(body),
                    ))
                    .await
                    .unwrap();
                assert!(res.status().is_success(), "enqueue: {}", res.status());
                let _ = res.into_body().collect().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let enqueue_secs = start.elapsed().as_secs_f64();
    let deadline = start + LIMIT;
    while count.load(Ordering::Relaxed) - before < JOBS as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Run {
        label: format!("{queues} queue(s) x concurrency {concurrency}"),
        enqueue_secs,
        total_secs: start.elapsed().as_secs_f64(),
        delivered: count.load(Ordering::Relaxed) - before,
    }
}

async fn run() {
    let count = Arc::new(AtomicU64::new(0));
    let target = receiver(count.clone());
    let nano = Nano::start().await;
    let runs = vec![
        scenario(&nano, target, &count, 1, 8).await,
        scenario(&nano, target, &count, 4, 16).await,
    ];
    println!();
    println!("| scenario ({JOBS} signed jobs, {CONNS} enqueue connections) | enqueued/s | delivered/s (first enqueue to last delivery) | delivered |");
    println!("| --- | ---: | ---: | ---: |");
    for r in runs {
        println!(
            "| {} | {:.0} | {:.0} | {} |",
            r.label,
            JOBS as f64 / r.enqueue_secs,
            r.delivered as f64 / r.total_secs,
            r.delivered
        );
    }
}
