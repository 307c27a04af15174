//! A webhook receiver for queue tests: a small hyper server on loopback that records every delivery and answers
//! as the test decides (a status, or never), plus signature checking as hyper's docs describe it.

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub body: Bytes,
    pub content_type: Option<String>,
    pub signature: Option<String>,
    /// The W3C `traceparent` header, for trace propagation tests.
    pub traceparent: Option<String>,
    pub path: String,
}

impl Hit {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// How to answer a delivery.
pub enum Answer {
    Status(u16),
    /// Never answer (the sender must time out or give up).
    Hang,
}

/// Decides the answer from the hit and how many earlier hits had the same body.
pub type Decide = dyn Fn(&Hit, usize) -> Answer + Send + Sync;

pub struct Receiver {
    pub url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    decide: Arc<Mutex<Arc<Decide>>>,
}

impl Receiver {
    /// Starts a receiver that answers with `decide`.
    pub async fn start(decide: impl Fn(&Hit, usize) -> Answer + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let decide: Arc<Mutex<Arc<Decide>>> = Arc::new(Mutex::new(Arc::new(decide)));
        let (h, d) = (hits.clone(), decide.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (h, d) = (h.clone(), d.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let (h, d) = (h.clone(), d.clone());
                            async move {
                                let header = |n: &str| {
                                    req.headers()
                                        .get(n)
                                        .and_then(|v| v.to_str().ok())
                                        .map(str::to_string)
                                };
                                let content_type = header("content-type");
                                let signature = header("x-hyper-signature");
                                let traceparent = header("traceparent");
                                let path = req.uri().path().to_string();
                                let body = req
                                    .into_body()
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes())
                                    .unwrap_or_default();
                                let hit = Hit {
                                    body,
                                    content_type,
                                    signature,
                                    traceparent,
                                    path,
                                };
                                let seen = {
                                    let mut hits = h.lock().unwrap();
                                    let seen = hits.iter().filter(|x| x.body == hit.body).count();
                                    hits.push(hit.clone());
                                    seen
                                };
                                let decide = d.lock().unwrap().clone();
                                let status = match decide(&hit, seen) {
                                    Answer::Status(s) => s,
                                    Answer::Hang => {
                                        tokio::time::sleep(Duration::from_secs(3600)).await;
                                        500
                                    }
                                };
                                let mut res = hyper::Response::new(Full::new(Bytes::from_static(
                                    b"{\"ok\":true}",
                                )));
                                *res.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                                Ok::<_, std::convert::Infallible>(res)
                            }
                        },
                    );
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url: format!("http://{addr}/hook"),
            hits,
            decide,
        }
    }

    /// A receiver that accepts everything with 200.
    pub async fn accepting() -> Self {
        Self::start(|_, _| Answer::Status(200)).await
    }

    /// Changes how later deliveries are answered.
    pub fn answer_with(&self, decide: impl Fn(&Hit, usize) -> Answer + Send + Sync + 'static) {
        *self.decide.lock().unwrap() = Arc::new(decide);
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Waits (up to 60 s) until `done` holds for the hits so far; panics with them otherwise.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Hit]) -> bool) -> Vec<Hit> {
        for _ in 0..1200 {
            let hits = self.hits();
            if done(&hits) {
                return hits;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("receiver never saw {what}; got {} hits", self.hits().len());
    }
}

/// The distinct values of field `n` among the hits answered by `ok` (all hits when `ok` is `None`).
pub fn numbers(hits: &[Hit]) -> std::collections::BTreeSet<i64> {
    hits.iter().filter_map(|h| h.json()["n"].as_i64()).collect()
}

/// Checks `X-HYPER-SIGNATURE` as hyper's docs say: `t=<t>,sig=<hex HMAC-SHA256(secret, "<t>.<body>")>`, where the
/// body is `JSON.stringify` of the payload (compact), which must also be the bytes received.
pub fn verify(hit: &Hit, secret: &str) -> Result<i64, String> {
    let header = hit.signature.as_deref().ok_or("no X-HYPER-SIGNATURE")?;
    let parts: HashMap<&str, &str> = header
        .split(',')
        .filter_map(|p| p.split_once('='))
        .collect();
    let t = parts.get("t").ok_or("no t=")?;
    let sig = parts.get("sig").ok_or("no sig=")?;
    let compact = serde_json::to_vec(&hit.json()).unwrap();
    if compact != hit.body {
        return Err(format!(
            "body is not compact JSON: {}",
            String::from_utf8_lossy(&hit.body)
        ));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&hit.body);
    let want = hex::encode(mac.finalize().into_bytes());
    if &want != sig {
        return Err(format!("signature mismatch: {header}"));
    }
    t.parse::<i64>().map_err(|e| e.to_string())
}
