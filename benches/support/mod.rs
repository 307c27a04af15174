//! Benchmark helpers: a release nano in a temp dir, a bare hyper "hello" server, and an HTTP/1.1 load loop.
#![allow(dead_code)]

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A `nano run` child process (the release binary cargo built for this bench), killed on drop.
pub struct Nano {
    pub addr: SocketAddr,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Nano {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Nano {
    /// Starts nano with its data in a fresh temp dir and waits until it answers `/healthz`.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_nano"))
            .args([
                "run",
                "--profile",
                "dev",
                "--listen",
                &addr.to_string(),
                "--data-dir",
            ])
            .arg(dir.path().join("data"))
            .current_dir(dir.path())
            .env("NANO_LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nano starts");
        let nano = Self {
            addr,
            child,
            _dir: dir,
        };
        for _ in 0..400 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return nano;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("nano did not come up on {addr}");
    }
}

/// Serves `200 hello` (text/plain) with hyper 1 + hyper-util on its own 2-worker runtime thread, as nano's
/// runtime has on this machine: the ceiling nano's numbers are compared with.
pub fn bare_hello_server() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let builder = builder.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_req| async {
                        let mut res = Response::new(Full::new(Bytes::from_static(b"hello")));
                        res.headers_mut()
                            .insert("content-type", "text/plain".parse().unwrap());
                        Ok::<_, std::convert::Infallible>(res)
                    });
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    addr
}

/// Builds request number `n` of connection `conn`.
pub type MakeRequest = Arc<dyn Fn(usize, u64) -> Request<Full<Bytes>> + Send + Sync>;

/// What a load run achieved.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub ok: u64,
    pub failed: u64,
    pub secs: f64,
}

impl Stats {
    /// Several runs as one.
    pub fn sum(runs: &[Stats]) -> Stats {
        runs.iter().fold(
            Stats {
                ok: 0,
                failed: 0,
                secs: 0.0,
            },
            |a, s| Stats {
                ok: a.ok + s.ok,
                failed: a.failed + s.failed,
                secs: a.secs + s.secs,
            },
        )
    }

    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.secs
    }
}

/// Runs `conns` keep-alive HTTP/1.1 connections to `addr`, each sending requests back to back for `duration`
/// (after a `warmup` whose requests are not counted). Non-2xx answers count as failed.
pub async fn load(
    addr: SocketAddr,
    conns: usize,
    warmup: Duration,
    duration: Duration,
    make: MakeRequest,
) -> Stats {
    let start = Instant::now() + warmup;
    let end = start + duration;
    let mut tasks = Vec::new();
    for c in 0..conns {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .unwrap();
            tokio::spawn(conn);
            let (mut ok, mut failed) = (0u64, 0u64);
            let mut n = 0u64;
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                let counted = now >= start;
                n += 1;
                if sender.ready().await.is_err() {
                    failed += 1;
                    break;
                }
                let res = sender.send_request(make(c, n)).await;
                let good = match res {
                    Ok(res) => {
                        let status = res.status();
                        res.into_body().collect().await.is_ok() && status.is_success()
                    }
                    Err(_) => false,
                };
                if counted {
                    if good {
                        ok += 1;
                    } else {
                        failed += 1;
                    }
                }
            }
            (ok, failed)
        }));
    }
    let (mut ok, mut failed) = (0, 0);
    for t in tasks {
        let (o, f) = t.await.unwrap();
        ok += o;
        failed += f;
    }
    Stats {
        ok,
        failed,
        secs: duration.as_secs_f64(),
    }
}

/// A request with a JSON body (or none) to `path` on `addr`.
pub fn request(
    method: &str,
    addr: SocketAddr,
    path: &str,
    body: Option<String>,
) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    req.body(Full::new(body.map(Bytes::from).unwrap_or_default()))
        .unwrap()
}

/// One request outside the load, for set-up; panics unless it answers 2xx.
pub async fn send(addr: SocketAddr, method: &str, path: &str, body: Option<String>) {
    let make: MakeRequest = {
        let (method, path) = (method.to_string(), path.to_string());
        Arc::new(move |_, _| request(&method, addr, &path, body.clone()))
    };
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let res = sender.send_request(make(0, 0)).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    assert!(
        status.is_success(),
        "{method} {path}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
}
