//! HTTP end-to-end tests: a real nano on loopback, driven over HTTP.

#[path = "../support/mod.rs"]
mod support;

mod admin;
mod apps;
mod attacks;
mod bindings;
mod cache;
mod cluster;
mod console;
mod data;
mod events;
mod hosting;
mod isolation;
mod lifecycle;
mod logs;
mod multinode;
mod new_app;
mod otel;
mod parity;
mod prod_node;
mod purge;
mod queue;
mod quotas;
mod receiver;
mod repl;
mod root;
mod s3;
mod search;
mod storage;
mod tenancy;
mod tenant_export;
mod websocket;
mod websocket_out;

/// Installs nano's tracing layer that feeds the apps' log buffers (`GET /admin/apps/{name}/logs`), once for this test
/// binary. Only nano's app records pass: every other event stays disabled, so the other tests pay nothing for it.
pub fn install_app_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let _ = tracing::subscriber::set_global_default(
            tracing_subscriber::registry()
                .with(tracing_subscriber::EnvFilter::new("nano::app=info"))
                .with(nano::app::hosting::logs::AppLogLayer),
        );
    });
}

/// A request body the test feeds chunk by chunk (an upload in flight for as long as the test wants): the sender of
/// its chunks, which ends the body when dropped, and the body for reqwest.
pub fn fed_body() -> (
    tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
    reqwest::Body,
) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let chunks = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (tx, reqwest::Body::wrap_stream(chunks))
}
