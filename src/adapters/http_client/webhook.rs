//! The webhook port on hyper's pooled client: JSON POSTs with a connect time limit and an overall time limit per
//! request, over connections kept alive between deliveries (`connector.rs` opens them).

use super::connector::Connector;
use crate::core::outbound::OutboundPolicy;
use crate::core::TenantScope;
use crate::ports::{WebhookError, WebhookRequest, WebhookResponse, WebhookSender};
use async_trait::async_trait;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, USER_AGENT};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

/// How much of a failed target's answer is kept for the job's error.
const EXCERPT_BYTES: usize = 200;
/// Idle connections kept per target.
const IDLE_PER_HOST: usize = 64;
/// How long an idle connection is kept.
const IDLE_FOR: Duration = Duration::from_secs(90);

pub struct HttpWebhook {
    client: Client<Connector, Full<Bytes>>,
    timeout: Duration,
}

impl HttpWebhook {
    /// A sender whose requests give up after `timeout` (connecting, sending and reading the answer) and connect
    /// only to addresses `policy` allows. Redirects are not followed: a 3xx is a failed delivery.
    pub fn new(timeout: Duration, policy: OutboundPolicy) -> Result<Self, WebhookError> {
        let connector = Connector::new(policy, timeout.min(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_max_idle_per_host(IDLE_PER_HOST)
            .pool_idle_timeout(IDLE_FOR)
            .build(connector);
        Ok(Self { client, timeout })
    }

    fn timed_out(&self) -> WebhookError {
        WebhookError::Timeout(self.timeout.as_millis() as u64)
    }
}

#[async_trait]
impl WebhookSender for HttpWebhook {
    async fn post(
        &self,
        scope: &TenantScope,
        request: &WebhookRequest,
    ) -> Result<WebhookResponse, WebhookError> {
        let deadline = Instant::now() + self.timeout;
        let mut req = http::Request::post(request.url.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("nano/", env!("CARGO_PKG_VERSION")));
        for (name, value) in &request.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let req = req
            .body(Full::new(request.body.clone()))
            .map_err(|e| WebhookError::Transport(e.to_string()))?;
        let res = match timeout_at(deadline, self.client.request(req)).await {
            Err(_) => return Err(self.timed_out()),
            Ok(Err(e)) => {
                tracing::debug!(tenant = scope.as_str(), url = %request.url, error = %e, "webhook failed");
                return Err(match io_error(&e) {
                    Some(io) if io.kind() == std::io::ErrorKind::TimedOut => self.timed_out(),
                    _ => WebhookError::Transport(transport_error(&e)),
                });
            }
            Ok(Ok(res)) => res,
        };
        let status = res.status();
        let mut body = res.into_body();
        if status.is_success() {
            // Drain the (usually tiny) answer so the connection can be reused.
            let _ = timeout_at(deadline, body.collect()).await;
            return Ok(WebhookResponse {
                status: status.as_u16(),
                body_excerpt: String::new(),
            });
        }
        let mut kept = Vec::new();
        while kept.len() < EXCERPT_BYTES {
            match timeout_at(deadline, body.frame()).await {
                Err(_) => return Err(self.timed_out()),
                Ok(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        kept.extend_from_slice(data);
                    }
                }
                Ok(None | Some(Err(_))) => break,
            }
        }
        kept.truncate(EXCERPT_BYTES);
        Ok(WebhookResponse {
            status: status.as_u16(),
            body_excerpt: String::from_utf8_lossy(&kept).into_owned(),
        })
    }
}

/// The first `io::Error` among the causes of `e`: the connector's (a refusal of the outbound policy, a failed lookup,
/// a refused connection, the connect time limit) or the connection's.
fn io_error<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e std::io::Error> {
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = s.source();
    }
    None
}

/// A failed delivery's message: the connector's own words when it failed (they name the host and the cause), else
/// the client's error and its causes.
fn transport_error(e: &hyper_util::client::legacy::Error) -> String {
    if e.is_connect() {
        if let Some(io) = io_error(e) {
            return io.to_string();
        }
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}
