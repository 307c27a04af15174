//! Apps' outbound WebSockets (`WsConnector`): the outbound policy judges the URL and every resolved address, as for
//! fetch; the connection is TLS for `wss:` (the Web PKI roots), the handshake tungstenite's with the app's headers,
//! and the messages then move through `websocket::relay`, under the same 1 MiB limit as accepted sockets.

use super::websocket::{config, relay};
use crate::core::outbound::{refused, OutboundPolicy};
use crate::ports::websocket::{channels, WsConnected, WsConnector};
use async_trait::async_trait;
use rustls_pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

/// How long resolving, connecting and the handshake may take together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Request headers the handshake sets itself; the app's values for them are dropped.
const HANDSHAKE_HEADERS: [&str; 7] = [
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "content-length",
];

pub struct WsClient {
    tls: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for WsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WsClient")
    }
}

impl Default for WsClient {
    fn default() -> Self {
        let roots = tokio_rustls::rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        Self {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
        }
    }
}

/// The first address of `host:port` the policy allows.
async fn resolve(
    host: &str,
    port: u16,
    policy: &OutboundPolicy,
) -> Result<std::net::SocketAddr, String> {
    let addrs: Vec<_> = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("could not resolve {host}: {e}"))?
        .collect();
    let mut why = None;
    for addr in &addrs {
        match policy.refuses_address(addr.ip()) {
            None => return Ok(*addr),
            Some(w) => why = Some(w),
        }
    }
    Err(match why {
        Some(why) => refused(host, &why),
        None => format!("could not resolve {host}"),
    })
}

impl WsClient {
    async fn open(
        &self,
        url: &url::Url,
        headers: Vec<(String, String)>,
        policy: &OutboundPolicy,
    ) -> Result<WsConnected, String> {
        if let Some(why) = policy.refuses_url(url) {
            return Err(why);
        }
        let host = url.host_str().unwrap_or_default().to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let tls = url.scheme() == "https";
        let mut ws_url = url.clone();
        let _ = ws_url.set_scheme(if tls { "wss" } else { "ws" });
        let mut request = ws_url
            .as_str()
            .into_client_request()
            .map_err(|e| format!("invalid WebSocket request: {e}"))?;
        for (name, value) in headers {
            if HANDSHAKE_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                continue;
            }
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) else {
                return Err(format!("invalid request header {name}"));
            };
            request.headers_mut().append(name, value);
        }
        let addr = resolve(&host, port, policy).await?;
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("could not connect to {host}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        if !tls {
            return handshake(request, tcp, &host).await;
        }
        let name = ServerName::try_from(host.trim_matches(['[', ']']).to_string())
            .map_err(|e| format!("invalid TLS name {host}: {e}"))?;
        let stream = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {host} failed: {e}"))?;
        handshake(request, stream, &host).await
    }
}

/// The WebSocket handshake on `stream`, then the relay of its messages: the app's end and the server's subprotocol.
async fn handshake<S>(request: Request, stream: S, host: &str) -> Result<WsConnected, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (ws, response) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config()))
            .await
            .map_err(|e| format!("WebSocket handshake with {host} failed: {e}"))?;
    let protocol = response
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (relayed, end) = channels();
    tokio::spawn(relay(ws, relayed));
    Ok(WsConnected { end, protocol })
}

#[async_trait]
impl WsConnector for WsClient {
    async fn connect(
        &self,
        url: &url::Url,
        headers: Vec<(String, String)>,
        policy: &OutboundPolicy,
    ) -> Result<WsConnected, String> {
        tokio::time::timeout(CONNECT_TIMEOUT, self.open(url, headers, policy))
            .await
            .unwrap_or_else(|_| Err(format!("WebSocket connection to {url} timed out")))
    }
}
