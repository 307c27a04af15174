//! The webhook port on reqwest: JSON POSTs with a connect timeout and an overall time limit per request.

use crate::core::outbound::OutboundPolicy;
use crate::core::TenantScope;
use crate::ports::{WebhookError, WebhookRequest, WebhookResponse, WebhookSender};
use async_trait::async_trait;
use std::time::Duration;

/// How much of a failed target's answer is kept for the job's error.
const EXCERPT_BYTES: usize = 200;

pub struct ReqwestWebhook {
    client: reqwest::Client,
    timeout: Duration,
}

impl ReqwestWebhook {
    /// A sender whose requests give up after `timeout` (connecting, sending and reading the answer) and connect
    /// only to addresses `policy` allows. Redirects are not followed: a 3xx is a failed delivery.
    pub fn new(timeout: Duration, policy: OutboundPolicy) -> Result<Self, WebhookError> {
        let client = super::guarded::builder(policy)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .pool_max_idle_per_host(64)
            .user_agent(concat!("nano/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WebhookError::Transport(e.to_string()))?;
        Ok(Self { client, timeout })
    }
}

#[async_trait]
impl WebhookSender for ReqwestWebhook {
    async fn post(
        &self,
        scope: &TenantScope,
        request: &WebhookRequest,
    ) -> Result<WebhookResponse, WebhookError> {
        let mut req = self
            .client
            .post(&request.url)
            .header("content-type", "application/json")
            .body(request.body.clone());
        for (name, value) in &request.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let timed_out = |e: &reqwest::Error| e.is_timeout();
        let res = req.send().await.map_err(|e| {
            tracing::debug!(tenant = scope.as_str(), url = %request.url, error = %e, "webhook failed");
            if timed_out(&e) {
                WebhookError::Timeout(self.timeout.as_millis() as u64)
            } else {
                WebhookError::Transport(transport_error(e))
            }
        })?;
        let status = res.status().as_u16();
        let body_excerpt = if res.status().is_success() {
            // Drain the (usually tiny) answer so the connection can be reused.
            let _ = res.bytes().await;
            String::new()
        } else {
            match res.bytes().await {
                Ok(bytes) => {
                    let cut = &bytes[..bytes.len().min(EXCERPT_BYTES)];
                    String::from_utf8_lossy(cut).into_owned()
                }
                Err(e) if e.is_timeout() => {
                    return Err(WebhookError::Timeout(self.timeout.as_millis() as u64))
                }
                Err(_) => String::new(),
            }
        };
        Ok(WebhookResponse {
            status,
            body_excerpt,
        })
    }
}

/// A failed delivery's message: the outbound policy's refusal or the failed lookup (which the resolver reports as
/// `io::Error`s, see `guarded`), else reqwest's own words without the URL.
fn transport_error(e: reqwest::Error) -> String {
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::NotFound
            ) {
                return io.to_string();
            }
        }
        source = s.source();
    }
    e.without_url().to_string()
}
