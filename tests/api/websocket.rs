//! Server-side WebSockets on both engines, through a real client over loopback: an app accepts a `WebSocketPair`,
//! answers `101`, echoes text and binary messages and closes with a code; a `101` without a WebSocket is the app's
//! error; a neighbour keeps answering.

use crate::support::{client, TestNano};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

const ECHO: &str = r#"export default { fetch(req) {
  if (new URL(req.url).pathname === '/bad') return new Response(null, { status: 101 });
  if (req.headers.get('upgrade') !== 'websocket') return new Response('expected a WebSocket', { status: 426 });
  const [client, server] = Object.values(new WebSocketPair());
  server.accept();
  server.send('hello');
  let n = 0;
  server.addEventListener('message', (e) => {
    n++;
    if (e.data === 'close') server.close(4000, 'bye after ' + n);
    else if (e.data === 'spin') for (;;) {}
    else if (e.data === 'huge') { try { server.send(new Uint8Array((1 << 20) + 1)); } catch (err) { server.send('refused: ' + err.message); } }
    else server.send(typeof e.data === 'string' ? 'echo:' + e.data : e.data);
  });
  server.onclose = (e) => console.log('closed', e.code, e.reason);
  return new Response(null, { status: 101, webSocket: client });
} };"#;

fn app(name: &str, entry: &std::path::Path, engine: &str) -> nano::app::AppConfig {
    toml::from_str(&format!(
        "name = '{name}'\ntenant = 'ws'\nhostnames = ['{name}.test']\nentry = '{}'\nengine = '{engine}'\n",
        entry.display()
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_accepts_a_websocket_and_echoes_until_it_closes() {
    crate::install_app_logs();
    let files = tempfile::tempdir().unwrap();
    let entry = files.path().join("echo.js");
    std::fs::write(&entry, ECHO).unwrap();
    let nano = TestNano::start_with(|c| {
        for engine in ["v8", "quickjs"] {
            c.apps.push(app(&format!("echo-{engine}"), &entry, engine));
        }
        c.tenants = vec!["ws".into()];
    })
    .await;
    for engine in ["v8", "quickjs"] {
        let mut request = format!("ws://{}/chat", nano.addr)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("host", format!("echo-{engine}.test").parse().unwrap());
        let (mut ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(response.status(), 101, "{engine}");
        let next = |m: Option<Result<Message, _>>| m.expect("a message").expect("no error");
        assert_eq!(next(ws.next().await), Message::text("hello"), "{engine}");
        ws.send(Message::text("hi")).await.unwrap();
        assert_eq!(next(ws.next().await), Message::text("echo:hi"), "{engine}");
        ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
        assert_eq!(
            next(ws.next().await),
            Message::binary(vec![1u8, 2, 3]),
            "{engine}"
        );
        ws.send(Message::text("close")).await.unwrap();
        match next(ws.next().await) {
            Message::Close(Some(frame)) => {
                assert_eq!(frame.code, CloseCode::from(4000), "{engine}");
                assert_eq!(frame.reason.as_str(), "bye after 3", "{engine}");
            }
            other => panic!("{engine}: expected a close frame, got {other:?}"),
        }
        // Reading on sends the client's side of the close handshake; then the stream ends.
        assert!(ws.next().await.is_none(), "{engine}");
        // A plain request to the same app still gets its own answer.
        let res = client()
            .get(nano.url("/"))
            .header("host", format!("echo-{engine}.test"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 426, "{engine}");
        // A 101 with no WebSocket is the app's mistake, named.
        let mut bad = format!("ws://{}/bad", nano.addr)
            .into_client_request()
            .unwrap();
        bad.headers_mut()
            .insert("host", format!("echo-{engine}.test").parse().unwrap());
        let err = tokio_tungstenite::connect_async(bad).await.unwrap_err();
        assert!(err.to_string().contains("500"), "{engine}: {err}");
        let answer = client()
            .get(nano.url("/bad"))
            .header("host", format!("echo-{engine}.test"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 500, "{engine}");
        let text = answer.text().await.unwrap();
        assert!(text.contains("needs a webSocket"), "{engine}: {text}");
    }
    let logs = client()
        .get(nano.url("/admin/apps/echo-v8/logs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The close event carries the client's side of the handshake: its code, as it echoed the app's.
    assert!(logs.contains("closed 4000"), "{logs}");
    nano.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_closes_the_apps_socket() {
    crate::install_app_logs();
    let files = tempfile::tempdir().unwrap();
    let entry = files.path().join("echo.js");
    std::fs::write(&entry, ECHO).unwrap();
    let nano = TestNano::start_with(|c| {
        for engine in ["v8", "quickjs"] {
            c.apps.push(app(&format!("gone-{engine}"), &entry, engine));
        }
        c.tenants = vec!["ws".into()];
    })
    .await;
    for engine in ["v8", "quickjs"] {
        let mut request = format!("ws://{}/", nano.addr)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("host", format!("gone-{engine}.test").parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        ws.next().await.unwrap().unwrap();
        ws.close(None).await.unwrap();
        drop(ws);
        // The app hears the close: its handler logs it.
        let mut logged = String::new();
        for _ in 0..50 {
            logged = client()
                .get(nano.url(&format!("/admin/apps/gone-{engine}/logs")))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if logged.contains("closed 1005") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(logged.contains("closed 1005"), "{engine}: {logged}");
    }
    nano.stop().await;
}

/// Reads until the server's close frame; its code.
async fn close_code<S>(ws: &mut S) -> u16
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    while let Some(m) = ws.next().await {
        match m {
            Ok(Message::Close(frame)) => return frame.map_or(1005, |f| u16::from(f.code)),
            Ok(_) => continue,
            Err(e) => panic!("the socket failed instead of closing: {e}"),
        }
    }
    panic!("the socket ended without a close frame")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_is_bounded_by_the_cpu_limit_per_message_and_by_its_idle_time() {
    let files = tempfile::tempdir().unwrap();
    let entry = files.path().join("echo.js");
    std::fs::write(&entry, ECHO).unwrap();
    let nano = TestNano::start_with(|c| {
        c.websocket_idle_secs = 1;
        for engine in ["v8", "quickjs"] {
            c.apps.push(app(&format!("bound-{engine}"), &entry, engine));
        }
        c.tenants = vec!["ws".into()];
    })
    .await;
    let connect = |engine: &str| {
        let mut request = format!("ws://{}/", nano.addr)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("host", format!("bound-{engine}.test").parse().unwrap());
        tokio_tungstenite::connect_async(request)
    };
    for engine in ["v8", "quickjs"] {
        // Each message has the whole CPU limit: 30 messages pass, then one that spins ends the socket's request.
        let (mut ws, _) = connect(engine).await.unwrap();
        ws.next().await.unwrap().unwrap();
        for i in 0..30 {
            ws.send(Message::text(format!("m{i}"))).await.unwrap();
            let back = ws.next().await.unwrap().unwrap();
            assert_eq!(back, Message::text(format!("echo:m{i}")), "{engine}");
        }
        // The app may not send more than 1 MiB in one message either.
        ws.send(Message::text("huge")).await.unwrap();
        let refused = ws.next().await.unwrap().unwrap();
        assert_eq!(
            refused,
            Message::text(
                "refused: a WebSocket message may hold at most 1048576 bytes, not 1048577"
            ),
            "{engine}"
        );
        ws.send(Message::text("spin")).await.unwrap();
        assert_eq!(
            close_code(&mut ws).await,
            1011,
            "{engine}: a spinning handler"
        );
        // A client that sends nothing is closed after websocket_idle_secs.
        let (mut idle, _) = connect(engine).await.unwrap();
        idle.next().await.unwrap().unwrap();
        let waited =
            tokio::time::timeout(std::time::Duration::from_secs(30), close_code(&mut idle))
                .await
                .expect("an idle socket is closed");
        assert_eq!(waited, 1011, "{engine}: an idle socket");
        // A message over 1 MiB never reaches the app: the socket closes with 1009 (message too big).
        let (mut big, _) = connect(engine).await.unwrap();
        big.next().await.unwrap().unwrap();
        big.send(Message::binary(vec![0u8; (1 << 20) + 1]))
            .await
            .unwrap();
        assert_eq!(
            close_code(&mut big).await,
            1009,
            "{engine}: an oversized message"
        );
        // The app still answers new sockets.
        let (mut again, _) = connect(engine).await.unwrap();
        assert_eq!(
            again.next().await.unwrap().unwrap(),
            Message::text("hello"),
            "{engine}"
        );
    }
    nano.stop().await;
}
