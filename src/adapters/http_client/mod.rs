//! The outbound HTTP client adapter (reqwest, rustls): clients that obey the outbound policy's address rule, and
//! webhooks such as queue deliveries.

pub mod guarded;
mod webhook;

pub use webhook::ReqwestWebhook;
