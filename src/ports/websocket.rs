//! A WebSocket an app accepted: the app answers a WebSocket upgrade with `101` and the client end of a
//! `WebSocketPair`; the runtime puts a `WebSocketUpgrade` in that response's extensions, and the HTTP front end
//! completes the upgrade, then moves messages between the client and the two channels until either side closes.

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

/// The app's side of an accepted WebSocket, as the front end sees it.
pub struct WsChannels {
    /// What the app sends, in order; it ends (or sends `Close`) when the app closes.
    pub to_client: mpsc::UnboundedReceiver<WsMessage>,
    /// Where the client's messages go; bounded, so a client that sends faster than the app reads waits.
    pub from_client: mpsc::Sender<WsMessage>,
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
