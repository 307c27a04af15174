//! Outbound WebSockets on both engines, against a real WebSocket server on loopback: `new WebSocket(url, protocols)`
//! opens, negotiates a subprotocol, echoes and closes; `fetch` with `Upgrade: websocket` gives a `101` whose
//! `webSocket` the app accepts; an app that returns that response proxies a client's socket to the server; and with
//! private networks refused by the outbound policy, the connection is refused with the policy's reason while a
//! neighbour keeps answering.

use crate::support::{client, TestNano};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;

/// A WebSocket server on loopback that picks the subprotocol `chat` when offered, echoes each message as
/// `echo:<text>` and closes with 4001 when told `close`.
#[allow(clippy::result_large_err)] // tungstenite's callback signature
async fn echo_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let pick = |req: &Request, mut res: Response| {
                    let offered = req
                        .headers()
                        .get("sec-websocket-protocol")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    if offered.split(',').any(|p| p.trim() == "chat") {
                        res.headers_mut()
                            .insert("sec-websocket-protocol", "chat".parse().unwrap());
                    }
                    Ok(res)
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, pick).await else {
                    return;
                };
                while let Some(Ok(m)) = ws.next().await {
                    match m {
                        Message::Text(t) if t.as_str() == "close" => {
                            let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
                                code: 4001.into(),
                                reason: "told to".into(),
                            };
                            let _ = ws.close(Some(frame)).await;
                        }
                        Message::Text(t) => {
                            let _ = ws.send(Message::text(format!("echo:{t}"))).await;
                        }
                        Message::Binary(b) => {
                            let _ = ws.send(Message::Binary(b)).await;
                        }
                        _ => {}
                    }
                }
            });
        }
    });
    addr
}

const CLIENT: &str = r#"const once = (ws, type) => new Promise((resolve) => ws.addEventListener(type, resolve, { once: true }));
export default { async fetch(req) {
  const target = new URL(req.url).searchParams.get('to');
  const path = new URL(req.url).pathname;
  if (path === '/new') {
    const ws = new WebSocket(target, ['chat', 'other']);
    const state = ws.readyState;
    let early = null;
    try { ws.send('too soon'); } catch (e) { early = e.name; }
    const opened = await Promise.race([once(ws, 'open').then(() => 'open'), once(ws, 'close').then((e) => 'closed ' + e.code + ' ' + e.reason)]);
    if (opened !== 'open') return Response.json({ opened });
    ws.send('hi');
    const echoed = (await once(ws, 'message')).data;
    ws.send('close');
    const closed = await once(ws, 'close');
    return Response.json({ state, early, opened, protocol: ws.protocol, url: ws.url, echoed, code: closed.code, reason: closed.reason });
  }
  if (path === '/fetch') {
    const res = await fetch(target, { headers: { Upgrade: 'websocket' } });
    const ws = res.webSocket;
    ws.accept();
    ws.send('via fetch');
    const echoed = (await once(ws, 'message')).data;
    ws.close(1000, 'done');
    return Response.json({ status: res.status, echoed });
  }
  if (path === '/proxy') return fetch(target, { headers: { Upgrade: 'websocket' } });
  if (path === '/refused') {
    const ws = new WebSocket(target);
    const [err, closed] = await Promise.all([once(ws, 'error'), once(ws, 'close')]);
    return Response.json({ error: err.message, code: closed.code, clean: closed.wasClean });
  }
  return new Response('ok');
} };"#;

fn app(name: &str, entry: &std::path::Path, engine: &str) -> nano::app::AppConfig {
    toml::from_str(&format!(
        "name = '{name}'\ntenant = 'wsout'\nhostnames = ['{name}.test']\nentry = '{}'\nengine = '{engine}'\n",
        entry.display()
    ))
    .unwrap()
}

async fn get_json(nano: &TestNano, host: &str, path: &str) -> serde_json::Value {
    let res = client()
        .get(nano.url(path))
        .header("host", host)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{host}{path}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{host}{path}: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_open_websockets_to_servers_and_proxy_clients_to_them() {
    crate::install_app_logs();
    let server = echo_server().await;
    let files = tempfile::tempdir().unwrap();
    let entry = files.path().join("client.js");
    std::fs::write(&entry, CLIENT).unwrap();
    let nano = TestNano::start_with(|c| {
        for engine in ["v8", "quickjs"] {
            c.apps.push(app(&format!("out-{engine}"), &entry, engine));
        }
        c.tenants = vec!["wsout".into()];
    })
    .await;
    for engine in ["v8", "quickjs"] {
        let host = format!("out-{engine}.test");
        let v = get_json(&nano, &host, &format!("/new?to=ws://{server}/socket")).await;
        assert_eq!(v["opened"], "open", "{engine}: {v}");
        assert_eq!(v["state"], 0, "{engine}: {v}");
        assert_eq!(v["early"], "InvalidStateError", "{engine}: {v}");
        assert_eq!(v["protocol"], "chat", "{engine}: {v}");
        assert_eq!(v["url"], format!("ws://{server}/socket"), "{engine}: {v}");
        assert_eq!(v["echoed"], "echo:hi", "{engine}: {v}");
        assert_eq!(
            (v["code"].as_u64(), v["reason"].as_str()),
            (Some(4001), Some("told to")),
            "{engine}: {v}"
        );

        let v = get_json(&nano, &host, &format!("/fetch?to=http://{server}/")).await;
        assert_eq!(v["status"], 101, "{engine}: {v}");
        assert_eq!(v["echoed"], "echo:via fetch", "{engine}: {v}");

        let mut request = format!("ws://{}/proxy?to=http://{server}/", nano.addr)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert("host", host.parse().unwrap());
        let (mut ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(response.status(), 101, "{engine}");
        ws.send(Message::text("through nano")).await.unwrap();
        let m = ws.next().await.expect("a message").expect("no error");
        assert_eq!(m, Message::text("echo:through nano"), "{engine}");
        ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
        let m = ws.next().await.expect("a message").expect("no error");
        assert_eq!(m, Message::binary(vec![1u8, 2, 3]), "{engine}");
        ws.close(None).await.unwrap();
    }
}

/// With private networks refused, an app cannot open a WebSocket to loopback: `error` and `close` (1006) name the
/// policy, and the server never sees a connection; a neighbour keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_websockets_obey_the_outbound_policy() {
    crate::install_app_logs();
    let server = echo_server().await;
    let files = tempfile::tempdir().unwrap();
    let entry = files.path().join("client.js");
    std::fs::write(&entry, CLIENT).unwrap();
    let nano = TestNano::start_with(|c| {
        c.outbound.private_networks = false;
        for engine in ["v8", "quickjs"] {
            c.apps.push(app(&format!("out-{engine}"), &entry, engine));
        }
        c.tenants = vec!["wsout".into()];
    })
    .await;
    for engine in ["v8", "quickjs"] {
        let host = format!("out-{engine}.test");
        for to in [
            format!("ws://{server}/"),
            format!("ws://localhost:{}/", server.port()),
        ] {
            let v = get_json(&nano, &host, &format!("/refused?to={to}")).await;
            let error = v["error"].as_str().unwrap_or_default();
            assert!(
                error.contains("refused by the outbound policy"),
                "{engine} {to}: {v}"
            );
            assert_eq!(v["code"], 1006, "{engine}: {v}");
            assert_eq!(v["clean"], false, "{engine}: {v}");
        }
        let res = client()
            .get(nano.url("/"))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(res.text().await.unwrap(), "ok");
    }
}
