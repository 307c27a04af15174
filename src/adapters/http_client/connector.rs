//! The webhook sender's connections: the target's name resolved under the outbound policy's address rule
//! (`guarded::allowed_addrs`, literal addresses included), each allowed address tried in turn within the connect
//! time limit, `TCP_NODELAY`, and TLS with the Web PKI roots for `https`.
//!
//! A connection acknowledges what it receives at once (`TCP_QUICKACK` after every read that got bytes). The sender
//! keeps connections alive between deliveries, and on a kept connection Linux delays acknowledgements (up to 40 ms)
//! hoping to send them with the next request. A target that writes its answer in two parts (head, then body) with
//! Nagle's algorithm on, as Python's `http.server` does, holds the second part until the first is acknowledged: every
//! delivery would then wait for the delayed acknowledgement. Acknowledging at once costs at most an extra empty
//! segment per read.

use super::guarded::allowed_addrs;
use crate::core::outbound::OutboundPolicy;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use std::future::Future;
use std::io::{self, Error, ErrorKind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Opens connections to webhook targets (a `tower` service of URIs, as hyper's pooled client wants).
#[derive(Clone)]
pub struct Connector {
    policy: Arc<OutboundPolicy>,
    tls: TlsConnector,
    /// How long resolving, connecting and the TLS handshake may take together.
    timeout: Duration,
}

impl Connector {
    pub fn new(policy: OutboundPolicy, timeout: Duration) -> Self {
        let roots = tokio_rustls::rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let mut config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self {
            policy: Arc::new(policy),
            tls: TlsConnector::from(Arc::new(config)),
            timeout,
        }
    }

    async fn connect(self, uri: http::Uri) -> io::Result<Conn> {
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(Error::new(ErrorKind::InvalidInput, "not an http(s) URL")),
        };
        let host = uri
            .host()
            .ok_or_else(|| Error::new(ErrorKind::InvalidInput, "the URL has no host"))?
            .trim_matches(['[', ']'])
            .to_string();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let mut failed = None;
        for addr in allowed_addrs(&self.policy, &host, port).await? {
            match TcpStream::connect(addr).await {
                Ok(tcp) => {
                    let _ = tcp.set_nodelay(true);
                    let stream = match tls {
                        false => Stream::Plain(tcp),
                        true => {
                            let name = ServerName::try_from(host.clone())
                                .map_err(|e| Error::new(ErrorKind::InvalidInput, e))?;
                            let tls = self.tls.connect(name, tcp).await.map_err(|e| {
                                Error::new(e.kind(), format!("TLS with {host} failed: {e}"))
                            })?;
                            Stream::Tls(Box::new(tls))
                        }
                    };
                    return Ok(Conn {
                        io: TokioIo::new(stream),
                    });
                }
                Err(e) => failed = Some(e),
            }
        }
        let e = failed.unwrap_or_else(|| Error::from(ErrorKind::NotFound));
        Err(Error::new(
            e.kind(),
            format!("cannot connect to {host}:{port}: {e}"),
        ))
    }
}

impl tower_service::Service<http::Uri> for Connector {
    type Response = Conn;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Conn>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let this = self.clone();
        let limit = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(limit, this.connect(uri)).await {
                Ok(connected) => connected,
                Err(_) => Err(Error::new(
                    ErrorKind::TimedOut,
                    format!("no connection within {} ms", limit.as_millis()),
                )),
            }
        })
    }
}

/// One connection to a target, plain or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => tls.get_ref().0,
        }
    }

    /// Acknowledges what was received so far now, not after the delayed-ACK timer.
    fn quick_ack(&self) {
        #[cfg(target_os = "linux")]
        let _ = socket2::SockRef::from(self.tcp()).set_tcp_quickack(true);
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = match this {
            Stream::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        };
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.quick_ack();
        }
        polled
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(tcp) => tcp.is_write_vectored(),
            Stream::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A connection as hyper's client uses it.
pub struct Conn {
    io: TokioIo<Stream>,
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
