//! The outbound HTTP client adapter (reqwest, rustls): webhooks such as queue deliveries.

mod webhook;

pub use webhook::ReqwestWebhook;
