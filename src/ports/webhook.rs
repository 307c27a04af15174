//! The webhook port: one outbound HTTP POST on behalf of a tenant (queue deliveries), with a time limit.

use crate::core::TenantScope;
use async_trait::async_trait;
use bytes::Bytes;
use thiserror::Error;

/// A POST to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    pub url: String,
    /// Extra headers, e.g. `X-HYPER-SIGNATURE`; `Content-Type: application/json` is always sent.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// The target's answer: its status and the start of its body (for error reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    pub status: u16,
    pub body_excerpt: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("no answer within {0} ms")]
    Timeout(u64),
    #[error("request failed: {0}")]
    Transport(String),
}

/// Contract: `post` sends `request.body` verbatim with `Content-Type: application/json` and the extra headers,
/// and returns whatever status the target answered (2xx or not). It never waits longer than the sender's timeout
/// (connect plus response) and fails with `Timeout` then; connection errors are `Transport`.
#[async_trait]
pub trait WebhookSender: Send + Sync + 'static {
    async fn post(
        &self,
        scope: &TenantScope,
        request: &WebhookRequest,
    ) -> Result<WebhookResponse, WebhookError>;
}
