//! The listener: accepts connections (HTTP/1.1 or h2c, or either over TLS) within its connection limits, serves
//! them, and drains in-flight requests on shutdown.
//!
//! With a TLS acceptor (`tls.rs`), each connection is handshaken in its own task within 10 s, then joins the same
//! graceful drain.

use super::conn_limits::{self, Activity, ConnLimits, PerIp, Tracked};
use super::router::{handle, HttpState};
use super::tls::TlsAcceptor;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// How long a client has to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `listener` until `shutdown` resolves, then stops accepting, lets in-flight requests finish for up to
/// `drain` (keep-alive connections are told to close), and returns. With `tls`, every connection is a TLS one.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: Arc<HttpState>,
    limits: ConnLimits,
    drain: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(limits.max));
    let per_ip = Arc::new(PerIp::default());
    tokio::pin!(shutdown);
    loop {
        // At the cap, stop accepting: new clients wait in the kernel's backlog while open connections are served.
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Some(ip_slot) = per_ip.admit(peer.ip(), limits.max_per_ip) else {
                    tracing::warn!(%peer, cap = limits.max_per_ip, "connection refused: too many open from this IP");
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let activity = Arc::new(Activity::default());
                let stream = Tracked::new(stream, activity.clone(), (permit, ip_slot));
                let state = state.clone();
                let in_service = activity.clone();
                let service = service_fn(move |req| {
                    let state = state.clone();
                    let in_flight = in_service.begin();
                    async move {
                        let res = handle(state, req).await;
                        // From here the response body's bytes are the connection's activity.
                        drop(in_flight);
                        Ok::<_, std::convert::Infallible>(res)
                    }
                });
                let (builder, watcher, tls) = (builder.clone(), graceful.watcher(), tls.clone());
                tokio::spawn(async move {
                    let served = async {
                        let result = match tls {
                            Some(tls) => {
                                let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                                    Ok(Ok(s)) => s,
                                    Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                                    Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
                                };
                                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                                watcher.watch(conn).await
                            }
                            None => {
                                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                                watcher.watch(conn).await
                            }
                        };
                        if let Err(e) = result {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                    };
                    tokio::select! {
                        () = served => {}
                        () = conn_limits::expired(activity, limits) => {
                            tracing::debug!(%peer, "connection closed: idle or no request in time");
                        }
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!(
        drain_secs = drain.as_secs_f64(),
        "shutting down: draining in-flight requests"
    );
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("drained"),
        () = tokio::time::sleep(drain) => tracing::warn!("drain timeout reached; closing remaining connections"),
    }
}
