//! The outbound HTTP client adapter: clients (reqwest, rustls) that obey the outbound policy's address rule, and
//! webhooks such as queue deliveries (hyper's pooled client, on connections of their own).

mod connector;
pub mod guarded;
mod webhook;

pub use webhook::HttpWebhook;
