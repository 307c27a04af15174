//! The webhook port's contract, run against every webhook sender: verbatim JSON POSTs, statuses, time limits.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use nano::core::{TenantId, TenantScope};
use nano::ports::{WebhookError, WebhookRequest, WebhookSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The time limit the senders under test are built with.
pub const TIMEOUT: Duration = Duration::from_millis(300);

type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>, Bytes)>>>;

/// A loopback server answering `status` with `body` after `delay`, recording content type, signature and body.
async fn target(status: u16, body: &'static str, delay: Duration) -> (String, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let s = s.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let s = s.clone();
                        async move {
                            let h = |n: &str| {
                                req.headers()
                                    .get(n)
                                    .and_then(|v| v.to_str().ok())
                                    .map(str::to_string)
                            };
                            let (ct, sig) = (h("content-type"), h("x-hyper-signature"));
                            let bytes = req.into_body().collect().await.unwrap().to_bytes();
                            s.lock().unwrap().push((ct, sig, bytes));
                            tokio::time::sleep(delay).await;
                            let mut res = hyper::Response::new(Full::new(Bytes::from_static(
                                body.as_bytes(),
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
    (url, seen)
}

/// A loopback target that answers 200 to every POST on a kept-alive connection in two writes, head then body, with
/// Nagle's algorithm on (as Python's `http.server` does); returns its URL and how many connections it accepted.
async fn two_write_target() -> (String, Arc<Mutex<usize>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let accepted: Arc<Mutex<usize>> = Arc::default();
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            *count.lock().unwrap() += 1;
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // One request: the head, then Content-Length bytes.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    while buf.len() < head_end + length {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..head_end + length);
                    let head = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n";
                    if stream.write_all(head).await.is_err()
                        || stream.write_all(b"{}").await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (url, accepted)
}

fn scope() -> TenantScope {
    TenantScope::resolved(TenantId::parse(&crate::support::fresh_name("t")).unwrap())
}

fn request(url: String) -> WebhookRequest {
    WebhookRequest {
        url,
        headers: vec![("X-HYPER-SIGNATURE".into(), "t=1,sig=ab".into())],
        body: Bytes::from_static(br#"{"b":1,"a":[1.5,"x"]}"#),
    }
}

pub mod suite {
    use super::*;

    pub async fn posts_the_body_verbatim_as_json_with_the_headers(w: &Arc<dyn WebhookSender>) {
        let (url, seen) = target(204, "", Duration::ZERO).await;
        let res = w.post(&scope(), &request(url)).await.unwrap();
        assert_eq!(res.status, 204);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0.as_deref(), Some("application/json"));
        assert_eq!(seen[0].1.as_deref(), Some("t=1,sig=ab"));
        assert_eq!(seen[0].2, request(String::new()).body);
    }

    pub async fn returns_other_statuses_with_the_start_of_the_answer(w: &Arc<dyn WebhookSender>) {
        let (url, _) = target(500, "boom: database down", Duration::ZERO).await;
        let res = w.post(&scope(), &request(url)).await.unwrap();
        assert_eq!(res.status, 500);
        assert_eq!(res.body_excerpt, "boom: database down");
    }

    pub async fn a_closed_port_is_a_transport_error(w: &Arc<dyn WebhookSender>) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = w
            .post(&scope(), &request(format!("http://127.0.0.1:{port}/")))
            .await
            .unwrap_err();
        assert!(matches!(err, WebhookError::Transport(_)), "{err:?}");
    }

    pub async fn a_target_slower_than_the_limit_times_out(w: &Arc<dyn WebhookSender>) {
        let (url, _) = target(200, "", Duration::from_secs(30)).await;
        let started = std::time::Instant::now();
        let err = w.post(&scope(), &request(url)).await.unwrap_err();
        assert_eq!(err, WebhookError::Timeout(TIMEOUT.as_millis() as u64));
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "gave up at the limit, not at the target's pace"
        );
    }

    /// Deliveries one after another reuse one connection, and a target answering in two writes with Nagle's
    /// algorithm on does not make each wait for a delayed acknowledgement (40 ms on Linux).
    pub async fn kept_connections_do_not_wait_for_delayed_acks(w: &Arc<dyn WebhookSender>) {
        let (url, accepted) = two_write_target().await;
        let started = std::time::Instant::now();
        for _ in 0..30 {
            let res = w.post(&scope(), &request(url.clone())).await.unwrap();
            assert_eq!(res.status, 200);
        }
        let took = started.elapsed();
        assert_eq!(*accepted.lock().unwrap(), 1, "one kept-alive connection");
        assert!(
            took < Duration::from_millis(600),
            "30 deliveries took {took:?}"
        );
    }
}

/// The dev profile's address rule: loopback targets (the test receivers) are reachable.
fn open_policy() -> nano::core::outbound::OutboundPolicy {
    nano::core::outbound::OutboundPolicy {
        private_networks: true,
        levels: Vec::new(),
    }
}

/// The prod profile's address rule: a target whose name resolves only to loopback is refused before connecting,
/// while the receiver listening there is never reached.
#[tokio::test]
async fn the_prod_address_rule_refuses_loopback_targets_by_name() {
    let sender = nano::adapters::http_client::HttpWebhook::new(
        TIMEOUT,
        nano::core::outbound::OutboundPolicy::default(),
    )
    .unwrap();
    let (url, _) = target(200, "", Duration::ZERO).await;
    let by_name = url.replace("127.0.0.1", "localhost");
    let err = sender.post(&scope(), &request(by_name)).await.unwrap_err();
    assert!(
        err.to_string().contains("refused by the outbound policy"),
        "{err}"
    );
}

async fn http_sender() -> (Arc<dyn WebhookSender>, ()) {
    let sender = nano::adapters::http_client::HttpWebhook::new(TIMEOUT, open_policy()).unwrap();
    (Arc::new(sender), ())
}

crate::contract_suite!(
    super::suite,
    [http_client => super::http_sender],
    [
        posts_the_body_verbatim_as_json_with_the_headers,
        returns_other_statuses_with_the_start_of_the_answer,
        a_closed_port_is_a_transport_error,
        a_target_slower_than_the_limit_times_out,
        kept_connections_do_not_wait_for_delayed_acks,
    ]
);
