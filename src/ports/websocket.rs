//! An app's WebSockets. One it accepted: the app answers a WebSocket upgrade with `101` and the client end of a
//! `WebSocketPair`; the runtime puts a `WebSocketUpgrade` in that response's extensions, and the HTTP front end
//! completes the upgrade, then moves messages between the client and the two channels until either side closes.
//! One it opened (`new WebSocket(url)`, a fetch with `Upgrade: websocket`): a `WsConnector` connects where the
//! outbound policy allows and moves messages the same way.

use bytes::Bytes;
use futures::channel::mpsc;
use std::sync::{Arc, Mutex};

/// The largest message either way (1 MiB, as Workers allows).
pub const MAX_MESSAGE: usize = 1 << 20;

/// One WebSocket message, either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsMessage {
    /// UTF-8 text.
    Text(Bytes),
    Binary(Bytes),
    /// The close handshake: its code and reason (1005 and empty when the peer gave none).
    Close(u16, String),
}

/// The app's side of a WebSocket, as the task moving its messages sees it.
pub struct WsChannels {
    /// What the app sends, in order; it ends (or sends `Close`) when the app closes.
    pub from_app: mpsc::UnboundedReceiver<WsMessage>,
    /// Where the peer's messages go; bounded, so a peer that sends faster than the app reads waits.
    pub to_app: mpsc::Sender<WsMessage>,
}

/// The other ends of `WsChannels`, the app's.
pub struct AppEnd {
    pub send: mpsc::UnboundedSender<WsMessage>,
    pub recv: mpsc::Receiver<WsMessage>,
}

/// A new WebSocket's channels: the relay's side and the app's.
pub fn channels() -> (WsChannels, AppEnd) {
    let (send, from_app) = mpsc::unbounded();
    let (to_app, recv) = mpsc::channel(2);
    (WsChannels { from_app, to_app }, AppEnd { send, recv })
}

/// An outbound WebSocket, open: the app's end and the subprotocol the server chose (empty for none).
pub struct WsConnected {
    pub end: AppEnd,
    pub protocol: String,
}

/// Opens apps' outbound WebSockets.
#[async_trait::async_trait]
pub trait WsConnector: Send + Sync + std::fmt::Debug {
    /// Connects to `url` (`ws:` or `wss:`) with the request `headers`, only to addresses `policy` allows; the
    /// error names the problem (refused, unreachable, handshake failed).
    async fn connect(
        &self,
        url: &url::Url,
        headers: Vec<(String, String)>,
        policy: &crate::core::outbound::OutboundPolicy,
    ) -> Result<WsConnected, String>;
}

/// The channels of an accepted WebSocket, in a `101` response's extensions, taken once by the front end.
#[derive(Clone)]
pub struct WebSocketUpgrade(Arc<Mutex<Option<WsChannels>>>);

impl WebSocketUpgrade {
    pub fn new(channels: WsChannels) -> Self {
        Self(Arc::new(Mutex::new(Some(channels))))
    }

    /// The channels, the first time only.
    pub fn take(&self) -> Option<WsChannels> {
        self.0.lock().ok()?.take()
    }
}
