//! WebSocket upgrades of app requests. A GET with `Upgrade: websocket` and a `Sec-WebSocket-Key` keeps hyper's
//! upgrade handle while the app answers. An answer of `101` holding a `WebSocketUpgrade` (the app accepted a
//! `WebSocketPair` and returned its client end) completes the handshake (`Sec-WebSocket-Accept`); then a task moves
//! messages between the upgraded connection and the app's channels until either side closes. tungstenite answers
//! pings and refuses a message over `MAX_MESSAGE` bytes (the socket then closes with 1009). A `101` of any other kind
//! is the app's mistake: 500 naming it.

use crate::ports::websocket::{WebSocketUpgrade, WsChannels, WsMessage, MAX_MESSAGE};
use crate::ports::Body;
use base64::Engine as _;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use sha1::{Digest, Sha1};
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as TungsteniteError, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// How long a closing socket waits for the client's side of the close handshake.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// A WebSocket request waiting for the app's answer.
pub struct Pending {
    on_upgrade: hyper::upgrade::OnUpgrade,
    key: String,
}

fn has_token(req: &Request<impl Sized>, name: header::HeaderName, token: &str) -> bool {
    req.headers().get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// Takes hyper's upgrade handle when `req` asks for a WebSocket.
pub fn take_upgrade<B>(req: &mut Request<B>) -> Option<Pending> {
    if req.method() != Method::GET
        || !has_token(req, header::UPGRADE, "websocket")
        || !has_token(req, header::CONNECTION, "upgrade")
    {
        return None;
    }
    let key = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)?
        .to_str()
        .ok()?
        .to_string();
    Some(Pending {
        on_upgrade: hyper::upgrade::on(req),
        key,
    })
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455, section 4.2.2).
fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// The app's answer as the client gets it: a `101` with an accepted WebSocket completes the handshake and starts
/// moving its messages; any other answer passes unchanged.
pub fn finish(pending: Option<Pending>, mut res: Response<Body>) -> Response<Body> {
    if res.status() != StatusCode::SWITCHING_PROTOCOLS {
        return res;
    }
    let channels = res
        .extensions()
        .get::<WebSocketUpgrade>()
        .and_then(WebSocketUpgrade::take);
    let (Some(pending), Some(channels)) = (pending, channels) else {
        return crate::ports::RuntimeError::Exception(
            "the app answered 101 without a WebSocket: return new Response(null, { status: 101, webSocket: client }) \
             to a WebSocket request"
                .into(),
        )
        .to_response();
    };
    let h = res.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept_key(&pending.key)) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    h.remove(header::CONTENT_LENGTH);
    *res.body_mut() = Body::empty();
    tokio::spawn(pump(pending.on_upgrade, channels));
    res
}

fn to_wire(m: WsMessage) -> Message {
    match m {
        WsMessage::Text(t) => match Utf8Bytes::try_from(t) {
            Ok(t) => Message::Text(t),
            Err(_) => Message::Close(Some(CloseFrame {
                code: CloseCode::Error,
                reason: "invalid UTF-8".into(),
            })),
        },
        WsMessage::Binary(b) => Message::binary(b),
        WsMessage::Close(code, reason) => Message::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        })),
    }
}

/// Completes the upgrade, then relays the client's messages.
async fn pump(on_upgrade: hyper::upgrade::OnUpgrade, mut channels: WsChannels) {
    let Ok(io) = on_upgrade.await else {
        let _ = channels
            .to_app
            .send(WsMessage::Close(1006, String::new()))
            .await;
        return;
    };
    let ws = WebSocketStream::from_raw_socket(TokioIo::new(io), Role::Server, Some(config())).await;
    relay(ws, channels).await;
}

/// Both ends' limits: messages and frames of at most `MAX_MESSAGE` bytes.
pub(super) fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE))
}

/// Moves messages between a WebSocket (accepted from a client, or opened by the app) and the app until either side
/// closes; the app always hears of the end (a `Close`, 1006 when the connection just went away).
pub(super) async fn relay<S>(ws: WebSocketStream<S>, channels: WsChannels)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let WsChannels {
        mut from_app,
        mut to_app,
    } = channels;
    let (mut sink, mut stream) = ws.split();
    loop {
        tokio::select! {
            out = from_app.next() => {
                // The app's end went away without closing (its request ended: a limit, idle too long, an error).
                let out = out.unwrap_or(WsMessage::Close(1011, "the app's end of the socket went away".into()));
                let closing = matches!(out, WsMessage::Close(..));
                if sink.send(to_wire(out)).await.is_err() {
                    let _ = to_app.send(WsMessage::Close(1006, String::new())).await;
                    return;
                }
                if closing {
                    // The peer's side of the handshake, briefly: its close reaches the app, other messages no
                    // longer do.
                    let reply = tokio::time::timeout(CLOSE_WAIT, async {
                        while let Some(Ok(m)) = stream.next().await {
                            if let Message::Close(frame) = m {
                                return frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                            }
                        }
                        None
                    })
                    .await;
                    let (code, reason) = reply.ok().flatten().unwrap_or((1005, String::new()));
                    let _ = to_app.send(WsMessage::Close(code, reason)).await;
                    return;
                }
            }
            incoming = stream.next() => {
                let message = match incoming {
                    Some(Ok(Message::Text(t))) => WsMessage::Text(Bytes::from(t)),
                    Some(Ok(Message::Binary(b))) => WsMessage::Binary(b),
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = frame
                            .map(|f| (u16::from(f.code), f.reason.to_string()))
                            .unwrap_or((1005, String::new()));
                        let _ = sink.close().await;
                        let _ = to_app.send(WsMessage::Close(code, reason)).await;
                        return;
                    }
                    Some(Ok(_)) => {
                        // A ping: tungstenite queued its pong, which a flush sends.
                        let _ = sink.flush().await;
                        continue;
                    }
                    Some(Err(TungsteniteError::Capacity(_))) => {
                        // Over `MAX_MESSAGE`: the peer hears why (1009), and so does the app.
                        let reason = format!("a message may hold at most {MAX_MESSAGE} bytes");
                        let _ = sink.send(to_wire(WsMessage::Close(1009, reason.clone()))).await;
                        let _ = to_app.send(WsMessage::Close(1009, reason)).await;
                        return;
                    }
                    Some(Err(_)) | None => {
                        let _ = to_app.send(WsMessage::Close(1006, String::new())).await;
                        return;
                    }
                };
                if to_app.send(message).await.is_err() {
                    let _ = sink.send(Message::Close(None)).await;
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn accept_key_is_rfc_6455s_example() {
        assert_eq!(
            super::accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
