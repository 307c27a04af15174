//! Connection limits of a listener, so slow or idle clients cannot exhaust descriptors: how many connections may be
//! open at once (in all and per client IP), how long a client may take to send its first request, and how long a
//! connection may sit with nothing in flight and nothing moving.
//!
//! At `max_connections` the accept loop stops accepting; new clients wait in the backlog. Past
//! `max_connections_per_ip`, a new connection is closed at once. A watchdog per connection closes it when no request
//! started within `header_read_timeout_secs`, or when nothing was in flight and no byte moved for `idle_timeout_secs`.
//! A stream wrapper counts reads and writes. A request is in flight until its response head is ready; then its body's
//! bytes are the activity. hyper's own HTTP/1.1 header-read timeout covers every later request head.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The limits of one listener (their defaults are the configuration's: `Config::conn_limits`).
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Connections open at once; past it the listener stops accepting (new clients wait in the backlog).
    pub max: usize,
    /// Connections open at once from one client IP; past it a new connection from that IP is closed at once.
    pub max_per_ip: usize,
    /// How long a client may take to send a request's head (HTTP/1.1: every request's, the wait for the next one
    /// on a keep-alive connection included; any protocol: the first request's).
    pub header_read_timeout: Duration,
    /// How long a connection may stay open with no request being handled and no byte read or written.
    pub idle_timeout: Duration,
}

/// Connections open per client IP.
#[derive(Debug, Default)]
pub struct PerIp {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in its IP's count, given back when dropped.
pub struct IpSlot {
    per_ip: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    /// A slot for a new connection from `ip`, unless `cap` connections from it are open already.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<IpSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            per_ip: self.clone(),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self.per_ip.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// What a connection's watchdog reads: reads and writes seen, requests being answered, requests started.
#[derive(Debug, Default)]
pub struct Activity {
    io: AtomicU64,
    in_flight: AtomicUsize,
    started: AtomicU64,
}

/// A request being answered, from its head until its response head is ready (its body's bytes then count as the
/// connection's activity: a body that sends nothing for the idle timeout is cut, as proxies do).
pub struct InFlight(Arc<Activity>);

impl Activity {
    /// Marks a request started; it stays in flight until the returned guard drops.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Relaxed);
        self.started.fetch_add(1, Relaxed);
        InFlight(self.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

/// A connection's stream, counting reads and writes that moved bytes.
pub struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
    /// The connection's places under the caps (`max_connections`, per IP), given back when the stream is dropped:
    /// a connection upgraded to a WebSocket outlives hyper's connection task, and keeps them.
    _held: Box<dyn Send + Sync>,
}

impl<S> Tracked<S> {
    pub fn new(inner: S, activity: Arc<Activity>, held: impl Send + Sync + 'static) -> Self {
        Self {
            inner,
            activity,
            _held: Box::new(held),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            self.activity.io.fetch_add(1, Relaxed);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.inner).poll_write(cx, buf))?;
        if n > 0 {
            self.activity.io.fetch_add(1, Relaxed);
        }
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.inner).poll_write_vectored(cx, bufs))?;
        if n > 0 {
            self.activity.io.fetch_add(1, Relaxed);
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Resolves when the connection should be closed: no request started within `header_read_timeout` of opening, or
/// nothing in flight and no byte moved for `idle_timeout`.
pub async fn expired(activity: Arc<Activity>, limits: ConnLimits) {
    let opened = Instant::now();
    let tick = (limits.idle_timeout.min(limits.header_read_timeout) / 4)
        .clamp(Duration::from_millis(50), Duration::from_secs(5));
    let mut seen = activity.io.load(Relaxed);
    let mut quiet_since = opened;
    loop {
        tokio::time::sleep(tick).await;
        let io = activity.io.load(Relaxed);
        if io != seen || activity.in_flight.load(Relaxed) > 0 {
            seen = io;
            quiet_since = Instant::now();
        }
        if activity.started.load(Relaxed) == 0 && opened.elapsed() >= limits.header_read_timeout {
            return;
        }
        if activity.in_flight.load(Relaxed) == 0 && quiet_since.elapsed() >= limits.idle_timeout {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_slots_are_capped_and_given_back() {
        let per_ip = Arc::new(PerIp::default());
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        let other: IpAddr = "10.1.2.4".parse().unwrap();
        let a = per_ip.admit(ip, 2).unwrap();
        let _b = per_ip.admit(ip, 2).unwrap();
        assert!(per_ip.admit(ip, 2).is_none());
        assert!(per_ip.admit(other, 2).is_some());
        drop(a);
        assert!(per_ip.admit(ip, 2).is_some());
    }
}
