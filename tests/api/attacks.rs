//! Attacks on a real nano, each as an anonymous client or a hostile tenant would send it: every one must be refused
//! or contained, and a neighbour tenant's app must keep answering. Each test prints how many attacks it tried.

use crate::support::{client, fresh_name, TestNano};
use nano::app::config::BindingConfig;
use nano::app::AppConfig;
use nano::core::{jwt, Limits, ServiceKind};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The neighbour's app: answers `neighbour ok` to any request.
const NEIGHBOUR: &str = "export default { fetch() { return new Response('neighbour ok'); } };";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn app(name: &str, tenant: &str, entry: &Path, bindings: &[(&str, ServiceKind)]) -> AppConfig {
    AppConfig {
        name: name.into(),
        tenant: tenant.into(),
        hostnames: vec![format!("{name}.test")],
        entry: entry.to_path_buf(),
        env: Default::default(),
        limits: Limits::default(),
        engine: None,
        triggers: Default::default(),
        bindings: bindings
            .iter()
            .map(|(n, s)| {
                (
                    n.to_string(),
                    BindingConfig {
                        service: *s,
                        domain: "files".into(),
                    },
                )
            })
            .collect(),
        outbound: Default::default(),
    }
}

fn write(dir: &Path, file: &str, code: &str) -> std::path::PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, code).unwrap();
    path
}

/// Asserts the neighbour's app still answers.
async fn neighbour_answers(nano: &TestNano) {
    let res = client()
        .get(nano.url("/"))
        .header("host", "neighbour.test")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "neighbour ok");
}

/// A nano running `code` as one app per engine (`<name>-v8.test`, `<name>-quickjs.test`) of tenant `name`, each
/// changed by `adjust`, beside the neighbour's app. The folder of the code lives as long as the nano is used.
async fn on_both_engines(
    name: &str,
    code: &str,
    adjust: impl Fn(&mut AppConfig),
) -> (TestNano, tempfile::TempDir) {
    let files = tempfile::tempdir().unwrap();
    let entry = write(files.path(), &format!("{name}.js"), code);
    let neighbour = write(files.path(), "neighbour.js", NEIGHBOUR);
    let nano = TestNano::start_with(|c| {
        for engine in ["v8", "quickjs"] {
            let mut a = app(&format!("{name}-{engine}"), name, &entry, &[]);
            a.engine = Some(engine.into());
            adjust(&mut a);
            c.apps.push(a);
        }
        c.apps
            .push(app("neighbour", "neighbour-t", &neighbour, &[]));
        c.tenants = vec![name.into(), "neighbour-t".into()];
    })
    .await;
    (nano, files)
}

/// A key of `tenant` with `grant`: (id, secret).
async fn key(nano: &TestNano, tenant: &str, grant: Value) -> (String, String) {
    let v: Value = client()
        .post(nano.url(&format!("/admin/tenants/{tenant}/keys")))
        .json(&grant)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        v["key"]["id"].as_str().unwrap().to_string(),
        v["secret"].as_str().unwrap().to_string(),
    )
}

/// A dev nano with auth on, two tenants (`victim`, `neighbour`) and the neighbour's app.
async fn secured(extra: impl FnOnce(&mut nano::app::Config, &Path)) -> (TestNano, String) {
    let files = tempfile::tempdir().unwrap();
    let victim = fresh_name("victim");
    let tenants = vec![victim.clone(), "neighbour".to_string()];
    let nano = TestNano::start_with(|c| {
        c.auth = true;
        c.default_tenant = None;
        c.tenants = tenants;
        let entry = write(files.path(), "neighbour.js", NEIGHBOUR);
        c.apps.push(app("neighbour", "neighbour", &entry, &[]));
        extra(c, files.path());
    })
    .await;
    // The code files were read at load; the folder may go.
    drop(files);
    (nano, victim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_made_up_signature_authorizes_nothing_but_what_it_signs() {
    let (nano, victim) = secured(|_, _| {}).await;
    let c = client();
    let (id, secret) = key(&nano, &victim, json!({})).await;
    let token = jwt::sign(&id, now() + 600, secret.as_bytes());
    let base = nano.url(&format!("/{victim}/storage/files"));
    let res = c.put(&base).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let res = c
        .post(format!("{base}/secret.txt"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("the victim's secret")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());

    let fake = "signature=deadbeef&expires=9999999999";
    let mut attacks = 0;
    for (method, path) in [
        (Method::DELETE, format!("{base}?{fake}")),
        (Method::DELETE, format!("{base}/?{fake}")),
        (Method::DELETE, format!("{base}//?{fake}")),
        (Method::DELETE, format!("{base}///?{fake}")),
        (Method::GET, format!("{base}/?{fake}")),
        (Method::GET, format!("{base}//?{fake}")),
        (Method::PUT, format!("{base}/?{fake}")),
        (Method::POST, format!("{base}/?{fake}")),
        (Method::POST, format!("{base}//?{fake}")),
        (Method::DELETE, format!("{base}/secret.txt?{fake}")),
        (Method::PATCH, format!("{base}/secret.txt?{fake}")),
        (
            Method::DELETE,
            nano.url(&format!("/{victim}/storage/?{fake}")),
        ),
        (Method::GET, nano.url(&format!("/{victim}/storage/?{fake}"))),
    ] {
        for authorization in [None, Some("Bearer garbage"), Some("Basic Zm9vOmJhcg==")] {
            let mut req = c.request(method.clone(), &path);
            if let Some(a) = authorization {
                req = req.header("authorization", a);
            }
            if method == Method::POST {
                req = req
                    .header("content-type", "multipart/form-data; boundary=x")
                    .body("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"evil.txt\"\r\n\r\nevil\r\n--x--\r\n");
            }
            let res = req.send().await.unwrap();
            attacks += 1;
            assert_eq!(
                res.status(),
                401,
                "{method} {path} with {authorization:?} was not refused: {}",
                res.text().await.unwrap()
            );
        }
    }
    // A made-up signature on the object itself is verified and refused (403), and reads nothing.
    for method in [Method::GET, Method::HEAD, Method::PUT] {
        let res = c
            .request(method.clone(), format!("{base}/secret.txt?{fake}"))
            .send()
            .await
            .unwrap();
        attacks += 1;
        assert_eq!(res.status(), 403, "{method} with a made-up signature");
        assert!(!res.text().await.unwrap().contains("secret"));
    }
    // The bucket and the object are untouched, and no object named by the attacker appeared.
    let listed: Value = c
        .get(&base)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listed["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["secret.txt"]);
    // A real signed URL still works for exactly its object and method.
    let signed: Value = c
        .get(format!("{base}/secret.txt?useSignedUrl=true"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = signed["url"].as_str().unwrap();
    let res = c.get(url).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "the victim's secret");
    let res = c.put(url).body("overwritten").send().await.unwrap();
    attacks += 1;
    assert_eq!(res.status(), 403, "a download URL used to upload");
    neighbour_answers(&nano).await;
    println!("storage signature attacks: {attacks} tried, all refused");
    nano.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_keys_only_read_and_tokens_must_expire() {
    let (nano, victim) = secured(|_, _| {}).await;
    let c = client();
    let (id, secret) = key(&nano, &victim, json!({})).await;
    let admin = jwt::sign(&id, now() + 600, secret.as_bytes());
    for path in ["/storage/files", "/data/files"] {
        let res = c
            .put(nano.url(&format!("/{victim}{path}")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{path}");
    }
    let (ro_id, ro_secret) = key(&nano, &victim, json!({ "read_only": true })).await;
    let ro = jwt::sign(&ro_id, now() + 600, ro_secret.as_bytes());
    let mut attacks = 0;
    // `_query` is a read in data, never in storage (it would upload an object named `_query`).
    let res = c
        .post(nano.url(&format!("/{victim}/storage/files/_query")))
        .bearer_auth(&ro)
        .header("content-type", "text/plain")
        .body("written by a read-only key")
        .send()
        .await
        .unwrap();
    attacks += 1;
    assert_eq!(res.status(), 401);
    let res = c
        .post(nano.url(&format!("/{victim}/data/files/_query")))
        .bearer_auth(&ro)
        .json(&json!({ "selector": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a read-only key queries data");
    let listed: Value = c
        .get(nano.url(&format!("/{victim}/storage/files")))
        .bearer_auth(&ro)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["objects"], json!([]), "nothing was uploaded");

    // Tokens the right secret signed but that never expire, or whose `exp` is not a number.
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use hmac::{Hmac, Mac};
    for claims in [
        json!({ "sub": id }),
        json!({ "sub": id, "exp": "never" }),
        json!({ "sub": id, "exp": null }),
        json!({ "sub": id, "exp": { "n": 1 } }),
    ] {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(signed.as_bytes());
        let token = format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        let res = c
            .get(nano.url(&format!("/{victim}/data/files")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        attacks += 1;
        assert_eq!(res.status(), 401, "{claims}");
    }
    let res = c
        .get(nano.url(&format!("/{victim}/data/files")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a token with an expiry still works");
    neighbour_answers(&nano).await;
    println!("key and token attacks: {attacks} tried, all refused");
    nano.stop().await;
}

/// Sends raw bytes and returns the status line's code.
async fn raw_status(nano: &TestNano, request: &str) -> u16 {
    let mut s = tokio::net::TcpStream::connect(nano.addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_service_input_is_refused_with_a_clear_status() {
    malformed_input(false).await;
}

/// The same attacks on the prod profile's engines (PostgreSQL, Redis), where a NUL or an oversized selector
/// would reach the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_service_input_is_refused_in_prod_too() {
    malformed_input(true).await;
}

async fn malformed_input(prod: bool) {
    let files = tempfile::tempdir().unwrap();
    let code = r#"export default { async fetch(req, env) {
  const r = await env.DATA.add({ _id: 'a\u0000b', v: 1 });
  const s = await env.DATA.get('x\u0000');
  return Response.json([r, s]);
} };"#;
    let entry = write(files.path(), "nul.js", code);
    let neighbour = write(files.path(), "neighbour.js", NEIGHBOUR);
    let setup = move |c: &mut nano::app::Config| {
        c.apps.push(app(
            "nul",
            "default",
            &entry,
            &[("DATA", ServiceKind::Data)],
        ));
        c.apps
            .push(app("neighbour", "neighbour-t", &neighbour, &[]));
        c.tenants = vec!["neighbour-t".into(), "default".into()];
        // Requests name no tenant and carry no key: the default tenant answers, in prod too.
        c.auth = false;
        c.default_tenant = Some("default".into());
        c.unknown_host_404 = false;
        c.admin_token = Some(nano::app::config::Secret::new("admin-secret"));
    };
    let nano = if prod {
        TestNano::start_prod(setup).await
    } else {
        TestNano::start_with(setup).await
    };
    let c = client();
    let mut attacks = 0;
    let expect = |attacks: &mut i32, got: StatusCode, want: u16, what: &str| {
        *attacks += 1;
        assert_eq!(got.as_u16(), want, "{what}");
    };
    assert_eq!(
        c.put(nano.url("/data/files"))
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    assert_eq!(
        c.put(nano.url("/search/files"))
            .json(&json!({ "fields": ["title"] }))
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    // NUL in ids, keys and documents: 400 naming it, in every profile (PostgreSQL cannot store it).
    let res = c
        .post(nano.url("/data/files"))
        .json(&json!({ "_id": "a\u{0}b", "v": 1 }))
        .send()
        .await
        .unwrap();
    expect(&mut attacks, res.status(), 400, "NUL in a document _id");
    assert!(res.text().await.unwrap().contains("NUL"));
    for (method, path) in [
        (Method::GET, "/data/files/a%00b"),
        (Method::PUT, "/data/files/a%00b"),
        (Method::DELETE, "/cache/files/k%00"),
        (Method::GET, "/search/files/k%00"),
    ] {
        let res = c
            .request(method.clone(), nano.url(path))
            .json(&json!({ "v": 1 }))
            .send()
            .await
            .unwrap();
        expect(&mut attacks, res.status(), 400, path);
    }
    let res = c
        .post(nano.url("/search/files"))
        .json(&json!({ "key": "k\u{0}", "doc": { "title": "x" } }))
        .send()
        .await
        .unwrap();
    expect(&mut attacks, res.status(), 400, "NUL in a search key");
    let res = c
        .get(nano.url("/"))
        .header("host", "nul.test")
        .send()
        .await
        .unwrap();
    let calls: Value = res.json().await.unwrap();
    attacks += 2;
    assert_eq!(calls[0]["status"], 400, "{calls}");
    assert_eq!(calls[1]["status"], 400, "{calls}");

    // A search query of 1,025 terms.
    let words: Vec<String> = (0..1025).map(|i| format!("w{i}")).collect();
    let res = c
        .post(nano.url("/search/files/_query"))
        .json(&json!({ "query": words.join(" ") }))
        .send()
        .await
        .unwrap();
    expect(&mut attacks, res.status(), 422, "1,025 search terms");
    assert!(res.text().await.unwrap().contains("1024"));
    // Mango selectors too wide or too deep for one SQL statement.
    let wide: Vec<Value> = (0..20_000).map(|i| json!({ "n": i })).collect();
    let mut deep = json!({ "n": 1 });
    for _ in 0..60 {
        deep = json!({ "$or": [deep] });
    }
    for selector in [json!({ "$or": wide }), deep] {
        let res = c
            .post(nano.url("/data/files/_query"))
            .json(&json!({ "selector": selector }))
            .send()
            .await
            .unwrap();
        expect(&mut attacks, res.status(), 400, "an oversized selector");
    }
    // Tenants named after a service would make `/<tenant>/<service>` and `/<service>/<domain>` collide.
    for id in ["data", "cache", "storage", "search", "queue", "admin"] {
        let res = c
            .post(nano.url("/admin/tenants"))
            .bearer_auth("admin-secret")
            .json(&json!({ "id": id }))
            .send()
            .await
            .unwrap();
        expect(&mut attacks, res.status(), 400, id);
    }
    // Two Host headers (request smuggling between routing and the app).
    let status = raw_status(
        &nano,
        "GET / HTTP/1.1\r\nHost: neighbour.test\r\nHost: nul.test\r\nConnection: close\r\n\r\n",
    )
    .await;
    attacks += 1;
    assert_eq!(status, 400, "two Host headers");
    neighbour_answers(&nano).await;
    let profile = if prod { "prod" } else { "dev" };
    println!("malformed input attacks ({profile}): {attacks} tried, all refused");
    nano.stop().await;
}

/// Whether the server closed `s` (a read returns end of file or an error) within `within`.
async fn closed_within(s: &mut tokio::net::TcpStream, within: std::time::Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_cannot_hold_descriptors() {
    use std::time::Duration;
    let files = tempfile::tempdir().unwrap();
    let neighbour = write(files.path(), "neighbour.js", NEIGHBOUR);
    let slow = write(
        files.path(),
        "slow.js",
        "export default { async fetch() { await new Promise((r) => setTimeout(r, 3000)); return new Response('slow ok'); } };",
    );
    let nano = TestNano::start_with(|c| {
        c.apps
            .push(app("neighbour", "neighbour-t", &neighbour, &[]));
        c.apps.push(app("slow", "neighbour-t", &slow, &[]));
        c.tenants = vec!["neighbour-t".into()];
        c.header_read_timeout_secs = 1.0;
        c.idle_timeout_secs = 1.5;
        c.max_connections_per_ip = 20;
    })
    .await;
    let mut attacks = 0;
    let connect = || tokio::net::TcpStream::connect(nano.addr);
    // An h2c client that made one request and then sits idle on the connection.
    let mut h2_after = connect().await.unwrap();
    let mut frames =
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00".to_vec();
    // HEADERS, END_STREAM | END_HEADERS, stream 1: GET http://neighbour.test/ in HPACK (indexed :method GET,
    // :scheme http, :path /; :authority with an indexed name and a literal value).
    let mut block = vec![0x82, 0x86, 0x84, 0x41, 14];
    block.extend_from_slice(b"neighbour.test");
    frames.extend_from_slice(&[0, 0, block.len() as u8, 0x01, 0x05, 0, 0, 0, 1]);
    frames.extend_from_slice(&block);
    h2_after.write_all(&frames).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(12).any(|w| w == b"neighbour ok") {
        let n = tokio::time::timeout(Duration::from_secs(5), h2_after.read(&mut buf))
            .await
            .expect("the h2c request was answered")
            .unwrap();
        assert!(n > 0, "the h2c connection closed before answering");
        seen.extend_from_slice(&buf[..n]);
    }
    // A request that takes longer than the idle timeout is in flight, not idle: it is answered.
    let res = client()
        .get(nano.url("/"))
        .header("host", "slow.test")
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), "slow ok");
    // A client that connects and sends nothing; one that trickles a request head a byte at a time; one that sends a
    // request and then keeps its keep-alive connection idle; an h2c client idle after its preface.
    let mut silent = connect().await.unwrap();
    let mut trickle = connect().await.unwrap();
    let mut idle = connect().await.unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: neighbour.test\r\n\r\n")
        .await
        .unwrap();
    let mut h2 = connect().await.unwrap();
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let trickling = tokio::spawn(async move {
        for b in b"GET / HTTP/1.1\r\nHost: neighbour.test\r\nX-Slow: "
            .iter()
            .cycle()
            .take(40)
        {
            if trickle.write_all(&[*b]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        closed_within(&mut trickle, Duration::from_millis(10)).await
    });
    for (what, s) in [
        ("silent", &mut silent),
        ("idle keep-alive", &mut idle),
        ("idle h2c", &mut h2),
        ("h2c idle after a request", &mut h2_after),
    ] {
        attacks += 1;
        assert!(
            closed_within(s, Duration::from_secs(6)).await,
            "{what} connection still open"
        );
    }
    attacks += 1;
    assert!(trickling.await.unwrap(), "the trickled head was not cut");

    // More connections from one IP than its cap: the excess are closed at once, the neighbour keeps answering.
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(connect().await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut excess = connect().await.unwrap();
    attacks += 1;
    assert!(
        closed_within(&mut excess, Duration::from_secs(1)).await,
        "a connection past the per-IP cap was kept"
    );
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    neighbour_answers(&nano).await;
    println!("connection attacks: {attacks} tried, all contained");
    nano.stop().await;
}

/// Fetches `?u=` with `redirect: ?r=` and reports what happened.
const PROBE: &str = r#"export default { async fetch(req) {
  const q = new URL(req.url).searchParams;
  try {
    const res = await fetch(q.get('u'), { redirect: q.get('r') || 'follow' });
    return Response.json({ ok: true, status: res.status, url: res.url, redirected: res.redirected });
  } catch (e) {
    return Response.json({ ok: false, name: e.name, message: e.message, code: e.cause && e.cause.code });
  }
} };"#;

/// A server that answers every request with a 302 to `to`.
async fn redirector(to: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/start", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let to = to.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = s.write_all(head.as_bytes()).await;
            });
        }
    });
    url
}

/// The probe app on both engines (`probe-v8.test`, `probe-quickjs.test`) with `outbound` rules.
fn probes(c: &mut nano::app::Config, dir: &Path, rules: nano::core::outbound::HostRules) {
    let entry = write(dir, "probe.js", PROBE);
    for engine in ["v8", "quickjs"] {
        let mut a = app(&format!("probe-{engine}"), "prober", &entry, &[]);
        a.engine = Some(engine.into());
        a.outbound = rules.clone();
        c.apps.push(a);
    }
    let neighbour = write(dir, "neighbour.js", NEIGHBOUR);
    c.apps
        .push(app("neighbour", "neighbour-t", &neighbour, &[]));
    c.tenants = vec!["prober".into(), "neighbour-t".into()];
}

async fn probe(nano: &TestNano, engine: &str, url: &str, redirect: &str) -> Value {
    let target: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("u", url)
        .append_pair("r", redirect)
        .finish();
    client()
        .get(nano.url(&format!("/?{target}")))
        .header("host", format!("probe-{engine}.test"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A receiver on loopback that answers every request 200, and its port.
async fn receiver_answering_200() -> (crate::receiver::Receiver, String) {
    use crate::receiver::{Answer, Receiver};
    let receiver = Receiver::start(|_, _| Answer::Status(200)).await;
    let port = receiver
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    (receiver, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_and_queues_cannot_reach_internal_addresses() {
    let (receiver, port) = receiver_answering_200().await;
    let files = tempfile::tempdir().unwrap();
    let nano = TestNano::start_with(|c| {
        // The prod profile's address rule.
        c.outbound.private_networks = false;
        probes(c, files.path(), Default::default());
    })
    .await;
    assert!(
        !nano::app::Config::defaults(nano::app::Profile::Prod)
            .outbound
            .private_networks
    );
    let mut attacks = 0;
    for url in [
        format!("http://127.0.0.1:{port}/direct"),
        format!("http://localhost:{port}/by-name"),
        format!("http://2130706433:{port}/integer"),
        format!("http://127.1:{port}/short"),
        format!("http://0x7f.0.0.1:{port}/hex"),
        format!("http://[::ffff:127.0.0.1]:{port}/mapped"),
        format!("http://[::1]:{port}/v6"),
        format!("http://0.0.0.0:{port}/unspecified"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://10.0.0.5/".to_string(),
        "http://192.168.1.1/".to_string(),
    ] {
        for engine in ["v8", "quickjs"] {
            let out = probe(&nano, engine, &url, "follow").await;
            attacks += 1;
            assert_eq!(out["ok"], false, "{engine} reached {url}: {out}");
            assert_eq!(out["name"], "TypeError", "{out}");
            assert_eq!(out["code"], "EPOLICY", "{engine} {url}: {out}");
            assert!(
                out["message"]
                    .as_str()
                    .unwrap()
                    .contains("refused by the outbound policy"),
                "{out}"
            );
        }
    }
    // A queue whose target is internal is refused at creation.
    for target in [receiver.url.clone(), "http://169.254.169.254/x".to_string()] {
        let res = client()
            .put(nano.url("/queue/hooks"))
            .json(&json!({ "target": target }))
            .send()
            .await
            .unwrap();
        attacks += 1;
        assert_eq!(res.status(), 422, "{target}");
        assert!(res.text().await.unwrap().contains("outbound policy"));
    }
    assert!(receiver.hits().is_empty(), "a refused request arrived");
    neighbour_answers(&nano).await;
    println!("outbound attacks: {attacks} tried, all refused");
    nano.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_and_fetch_failures_follow_the_fetch_standard() {
    let (receiver, port) = receiver_answering_200().await;
    let to_final = redirector(format!("http://127.0.0.1:{port}/final")).await;
    let to_denied = redirector(format!("http://localhost:{port}/denied")).await;
    let files = tempfile::tempdir().unwrap();
    let off = write(files.path(), "off.js", PROBE);
    let nano = TestNano::start_with(|c| {
        probes(
            c,
            files.path(),
            nano::core::outbound::HostRules {
                deny: vec!["localhost".into()],
                ..Default::default()
            },
        );
        let mut a = app("off", "prober", &off, &[]);
        a.outbound.none = true;
        c.apps.push(a);
        // The tenant's own rules apply on top of the app's.
        c.tenant_outbound.insert(
            "prober".into(),
            nano::core::outbound::HostRules {
                deny: vec!["127.0.0.2".into()],
                ..Default::default()
            },
        );
    })
    .await;
    let mut attacks = 0;
    for engine in ["v8", "quickjs"] {
        let out = probe(&nano, engine, &to_final, "follow").await;
        assert_eq!(out["status"], 200, "{out}");
        assert_eq!(out["redirected"], true, "{out}");
        assert!(out["url"].as_str().unwrap().ends_with("/final"), "{out}");
        let out = probe(&nano, engine, &to_final, "manual").await;
        assert_eq!(out["status"], 302, "{out}");
        assert_eq!(out["redirected"], false, "{out}");
        let out = probe(&nano, engine, &to_final, "error").await;
        assert_eq!(out["code"], "EREDIRECT", "{out}");
        // A redirect to a host the app's rules deny is refused like a direct request.
        let out = probe(&nano, engine, &to_denied, "follow").await;
        attacks += 1;
        assert_eq!(out["code"], "EPOLICY", "{out}");
        let out = probe(&nano, engine, "http://127.0.0.1:1/", "follow").await;
        assert_eq!(out["code"], "ECONNREFUSED", "{out}");
        let out = probe(&nano, engine, "http://nonexistent.invalid/", "follow").await;
        assert_eq!(out["code"], "ENOTFOUND", "{out}");
        // Dev allows loopback, never link-local (cloud metadata); the tenant's deny rule holds too.
        for (url, why) in [
            ("http://169.254.169.254/latest/meta-data/", "link-local"),
            ("http://127.0.0.2:1/", "tenant"),
        ] {
            let out = probe(&nano, engine, url, "follow").await;
            attacks += 1;
            assert_eq!(out["code"], "EPOLICY", "{out}");
            assert!(out["message"].as_str().unwrap().contains(why), "{out}");
        }
    }
    // `outbound = "none"`: nothing at all.
    let res: Value = client()
        .get(nano.url(&format!("/?u=http://127.0.0.1:{port}/off")))
        .header("host", "off.test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    attacks += 1;
    assert_eq!(res["code"], "EPOLICY", "{res}");
    let paths: Vec<String> = receiver.hits().iter().map(|h| h.path.clone()).collect();
    assert_eq!(
        paths,
        vec!["/final", "/final"],
        "only the allowed redirects arrived"
    );
    neighbour_answers(&nano).await;
    println!("redirect and policy attacks: {attacks} tried, all refused");
    nano.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_chain_back_into_nano_cannot_multiply() {
    // An app that calls itself through nano, resetting the hop count it is told as it goes: the chain still stops.
    let code = r#"export default { async fetch(req) {
  const u = new URL(req.url);
  const hops = Number(req.headers.get('x-nano-hops') || 0);
  const r = await fetch(`http://127.0.0.1:${u.searchParams.get('port')}/?port=${u.searchParams.get('port')}`,
    { headers: { host: u.host, 'x-nano-hops': '0' } });
  if (r.status === 508) return Response.json({ deepest: hops, stopped: await r.json() });
  return r;
} };"#;
    let files = tempfile::tempdir().unwrap();
    let entry = write(files.path(), "loop.js", code);
    let neighbour = write(files.path(), "neighbour.js", NEIGHBOUR);
    let nano = TestNano::start_with(|c| {
        c.apps.push(app("loop", "looper", &entry, &[]));
        c.apps
            .push(app("neighbour", "neighbour-t", &neighbour, &[]));
        c.tenants = vec!["looper".into(), "neighbour-t".into()];
    })
    .await;
    let res = client()
        .get(nano.url(&format!("/?port={}", nano.addr.port())))
        .header("host", "loop.test")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let out: Value = res.json().await.unwrap();
    assert_eq!(out["deepest"], 15, "{out}");
    assert_eq!(out["stopped"]["status"], 508, "{out}");
    neighbour_answers(&nano).await;
    println!("request chain attack: 1 tried, stopped at 16 hops");
    nano.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_output_cannot_flood_the_logs() {
    let code = r#"export default { fetch(req) {
  if (req.url.endsWith('?big')) console.log('x'.repeat(1 << 20));
  else for (let i = 0; i < 40; i++) console.log(i + ' ' + 'y'.repeat(16000));
  return new Response('logged');
} };"#;
    let (nano, _files) = on_both_engines("flood", code, |_| {}).await;
    crate::install_app_logs();
    let c = client();
    let logs_of = |engine: &str| {
        let url = nano.url(&format!("/admin/apps/flood-{engine}/logs"));
        let c = c.clone();
        async move {
            let v: Value = c.get(url).send().await.unwrap().json().await.unwrap();
            v["logs"].as_array().unwrap().clone()
        }
    };
    for engine in ["v8", "quickjs"] {
        for path in ["/?big", "/"] {
            let res = c
                .get(nano.url(path))
                .header("host", format!("flood-{engine}.test"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.text().await.unwrap(), "logged");
            if path == "/?big" {
                let lines = logs_of(engine).await;
                let msg = lines.last().unwrap()["msg"].as_str().unwrap();
                assert!(msg.len() <= 16 * 1024 + 64, "{}", msg.len());
                assert!(
                    msg.ends_with("[truncated: 1048576 bytes]"),
                    "{}",
                    &msg[msg.len() - 40..]
                );
            }
        }
        let logs: Value = c
            .get(nano.url(&format!("/admin/apps/flood-{engine}/logs")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let lines = logs["logs"].as_array().unwrap();
        let sizes: Vec<usize> = lines
            .iter()
            .map(|l| l["msg"].as_str().unwrap().len())
            .collect();
        assert!(sizes.iter().all(|n| *n <= 16 * 1024 + 64), "{sizes:?}");
        assert!(sizes.iter().sum::<usize>() <= 256 * 1024, "{sizes:?}");
        let last = lines.last().unwrap()["msg"].as_str().unwrap();
        assert!(last.starts_with("39 "), "the newest line is kept");
    }
    neighbour_answers(&nano).await;
    println!("log flood attacks: 2 tried, both bounded");
    nano.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_cut_short_ends_as_an_error_on_the_wire() {
    let code = r#"export default { fetch(req) {
  const mode = new URL(req.url).searchParams.get('m');
  const enc = new TextEncoder();
  let i = 0;
  return new Response(new ReadableStream({
    async pull(c) {
      await new Promise((r) => setTimeout(r, 40));
      if (mode === 'error' && i === 3) return c.error(new Error('broke mid-body'));
      if (mode === 'clean' && i === 5) return c.close();
      c.enqueue(enc.encode(`chunk ${i++}\n`));
    },
  }));
} };"#;
    let (nano, _files) = on_both_engines("stream", code, |a| {
        a.limits.wall_ms = 1_500;
    })
    .await;
    let h1 = client();
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let mut attacks = 0;
    for engine in ["v8", "quickjs"] {
        for (protocol, c) in [("HTTP/1.1", &h1), ("h2c", &h2)] {
            let get = |mode: &str| {
                c.get(nano.url(&format!("/?m={mode}")))
                    .header("host", format!("stream-{engine}.test"))
                    .send()
            };
            let body = get("clean").await.unwrap().bytes().await.unwrap();
            assert_eq!(body.len(), 40, "{engine} {protocol}: a whole body");
            for mode in ["error", "forever"] {
                let started = std::time::Instant::now();
                let res = get(mode).await.unwrap();
                assert_eq!(res.status(), 200);
                let read = res.bytes().await;
                attacks += 1;
                assert!(
                    read.is_err(),
                    "{engine} {protocol} {mode}: the cut body ended cleanly: {:?}",
                    read.map(|b| b.len())
                );
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(10),
                    "{mode}: wall_ms did not end the stream"
                );
            }
        }
    }
    neighbour_answers(&nano).await;
    println!("cut response attacks: {attacks} tried, each an error on the wire");
    nano.stop().await;
}

/// Held by the tests that measure the process's RSS, so that two of them never grow it at once.
static RSS_MEASURE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// This process's resident memory, in bytes (nano runs in the test process).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn array_buffers_count_against_an_apps_memory_limit() {
    let _measuring = RSS_MEASURE.lock().await;
    // Each request keeps four more 8 MB buffers, written so their pages are real: 640 MB after 20 requests if
    // nothing stopped it.
    let code = r#"const kept = [];
export default { fetch() {
  for (let i = 0; i < 4; i++) kept.push(new Uint8Array(8 << 20).fill(7));
  return new Response(String(kept.length));
} };"#;
    let (nano, _files) = on_both_engines("hog", code, |a| {
        a.limits.memory_mb = 64;
        a.limits.cpu_ms = 2_000;
    })
    .await;
    let c = client();
    let mut attacks = 0;
    for engine in ["v8", "quickjs"] {
        neighbour_answers(&nano).await;
        let before = rss_bytes();
        let mut refused = 0;
        let mut peak = before;
        for _ in 0..20 {
            let res = c
                .get(nano.url("/"))
                .header("host", format!("hog-{engine}.test"))
                .send()
                .await
                .unwrap();
            attacks += 1;
            let status = res.status();
            let text = res.text().await.unwrap();
            if status == 503 {
                assert!(text.contains("\"limit\":\"memory\""), "{text}");
                refused += 1;
            } else {
                assert_eq!(status, 200, "{text}");
            }
            peak = peak.max(rss_bytes());
        }
        assert!(
            refused >= 4,
            "{engine}: the memory limit stopped {refused} of 20 requests"
        );
        let grown = peak.saturating_sub(before) >> 20;
        assert!(
            grown < 64 + 96,
            "{engine}: the process grew by {grown} MB under an app limited to 64 MB"
        );
        println!("{engine}: {refused} of 20 requests stopped by the memory limit, RSS grew {grown} MB at most");
    }
    neighbour_answers(&nano).await;
    println!("memory attacks: {attacks} tried, all contained");
    nano.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webassembly_memories_count_against_an_apps_memory_limit() {
    let _measuring = RSS_MEASURE.lock().await;
    // V8 maps WebAssembly memories itself, past the ArrayBuffer allocator. `keep` holds four more 8 MB memories per
    // request (640 MB after 20); `grow` grows one memory by 256 KB at a time to 1 GB, writing each step; `big` asks
    // for 1 GB at once and writes it. QuickJS has no WebAssembly.
    let code = r#"const kept = [];
export default { fetch(req) {
  const kind = new URL(req.url).pathname.slice(1);
  if (kind === 'keep') for (let i = 0; i < 4; i++) {
    const m = new WebAssembly.Memory({ initial: 128 });
    new Uint8Array(m.buffer).fill(1);
    kept.push(m);
  }
  if (kind === 'grow') {
    const m = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    kept.push(m);
    for (let i = 0; i < 4000; i++) { m.grow(4); new Uint8Array(m.buffer).fill(1, i * 4 * 65536); }
  }
  if (kind === 'big') {
    const m = new WebAssembly.Memory({ initial: 16384 });
    kept.push(m);
    const u = new Uint8Array(m.buffer);
    for (let i = 0; i < 16384; i++) u.fill(1, i * 65536, (i + 1) * 65536);
  }
  return new Response(String(kept.length));
} };"#;
    let (nano, _files) = on_both_engines("wasm", code, |a| {
        a.limits.memory_mb = 64;
        a.limits.cpu_ms = 5_000;
    })
    .await;
    let c = client();
    let mut attacks = 0;
    for (kind, requests) in [("keep", 20), ("grow", 3), ("big", 3)] {
        neighbour_answers(&nano).await;
        let before = rss_bytes();
        let mut refused = 0;
        let mut peak = before;
        for _ in 0..requests {
            let res = c
                .get(nano.url(&format!("/{kind}")))
                .header("host", "wasm-v8.test")
                .send()
                .await
                .unwrap();
            attacks += 1;
            let status = res.status();
            let text = res.text().await.unwrap();
            if status == 503 {
                assert!(text.contains("\"limit\":\"memory\""), "{kind}: {text}");
                refused += 1;
            } else {
                assert_eq!(status, 200, "{kind}: {text}");
            }
            peak = peak.max(rss_bytes());
        }
        let least = if kind == "keep" { 4 } else { requests };
        assert!(
            refused >= least,
            "{kind}: the memory limit stopped {refused} of {requests} requests"
        );
        let grown = peak.saturating_sub(before) >> 20;
        assert!(
            grown < 64 + 96,
            "{kind}: the process grew by {grown} MB under an app limited to 64 MB"
        );
        println!("v8 wasm {kind}: {refused} of {requests} requests stopped by the memory limit, RSS grew {grown} MB at most");
    }
    neighbour_answers(&nano).await;
    println!("webassembly memory attacks: {attacks} tried, all contained");
    nano.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_cannot_make_the_host_hold_an_apps_output() {
    let _measuring = RSS_MEASURE.lock().await;
    // Each response is 16 MB, whole (`?whole`) or streamed in 1 MB chunks (`?stream`); 20 clients ask and never
    // read, so the host would hold 320 MB of one app's output if nothing bounded it.
    let code = r#"export default { fetch(req) {
  if (new URL(req.url).search === '?stream') {
    let n = 0;
    return new Response(new ReadableStream({ pull(c) { if (n++ < 16) c.enqueue(new Uint8Array(1 << 20).fill(1)); else c.close(); } }));
  }
  return new Response(new Uint8Array(16 << 20).fill(1));
} };"#;
    let (nano, _files) = on_both_engines("slow", code, |a| {
        a.limits.memory_mb = 64;
        a.limits.wall_ms = 5_000;
    })
    .await;
    let mut attacks = 0;
    for engine in ["v8", "quickjs"] {
        for kind in ["whole", "stream"] {
            neighbour_answers(&nano).await;
            let before = rss_bytes();
            let mut peak = before;
            let mut clients = Vec::new();
            for _ in 0..20 {
                let mut s = tokio::net::TcpStream::connect(nano.addr).await.unwrap();
                let req = format!("GET /?{kind} HTTP/1.1\r\nHost: slow-{engine}.test\r\n\r\n");
                s.write_all(req.as_bytes()).await.unwrap();
                clients.push(s);
                attacks += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                peak = peak.max(rss_bytes());
            }
            for _ in 0..10 {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                peak = peak.max(rss_bytes());
            }
            // The app's isolate may hold 64 MB, and the host 64 MB more of its output on the way to clients.
            let grown = peak.saturating_sub(before) >> 20;
            assert!(
                grown < 2 * 64 + 96,
                "{engine} {kind}: the process grew by {grown} MB holding output of an app limited to 64 MB"
            );
            neighbour_answers(&nano).await;
            // The answers past the app's limit are the memory 503, of those requests only.
            let mut refused = 0;
            for s in &mut clients {
                let mut head = [0u8; 12];
                s.read_exact(&mut head).await.unwrap();
                match &head[9..12] {
                    b"200" => {}
                    b"503" => refused += 1,
                    other => panic!("{engine} {kind}: {}", String::from_utf8_lossy(other)),
                }
            }
            if kind == "whole" {
                assert!(refused > 0, "{engine}: no response was refused");
            }
            drop(clients);
            println!(
                "{engine} {kind}: 20 slow clients, {refused} refused, RSS grew {grown} MB at most"
            );
        }
    }
    println!("slow client attacks: {attacks} tried, all contained");
    nano.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolates_past_the_process_memory_budget_are_refused() {
    let files = tempfile::tempdir().unwrap();
    let big = write(files.path(), "big.js", NEIGHBOUR);
    let neighbour = write(files.path(), "neighbour.js", NEIGHBOUR);
    let nano = TestNano::start_with(|c| {
        c.max_memory_mb = 100;
        for engine in ["v8", "quickjs"] {
            let mut a = app(&format!("big-{engine}"), "big", &big, &[]);
            a.engine = Some(engine.into());
            a.limits.memory_mb = 128;
            c.apps.push(a);
        }
        let mut n = app("neighbour", "neighbour-t", &neighbour, &[]);
        n.limits.memory_mb = 32;
        c.apps.push(n);
        c.tenants = vec!["big".into(), "neighbour-t".into()];
    })
    .await;
    let mut attacks = 0;
    for engine in ["v8", "quickjs"] {
        let res = client()
            .get(nano.url("/"))
            .header("host", format!("big-{engine}.test"))
            .send()
            .await
            .unwrap();
        attacks += 1;
        assert_eq!(res.status(), 503);
        let text = res.text().await.unwrap();
        assert!(text.contains("max_memory_mb = 100"), "{text}");
        neighbour_answers(&nano).await;
    }
    println!("memory budget attacks: {attacks} tried, both refused");
    nano.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_work_after_the_response_is_bounded() {
    // `?spin` arms an interval that burns CPU; `?tick` one that burns none but never stops; `?count` reads how often
    // they ran.
    let code = r#"let runs = 0;
export default { fetch(req) {
  const u = new URL(req.url);
  if (u.search === '?spin') setInterval(() => { runs++; const end = Date.now() + 10; while (Date.now() < end); }, 1);
  if (u.search === '?tick') setInterval(() => { runs++; }, 5);
  return new Response(String(runs));
} };"#;
    let files = tempfile::tempdir().unwrap();
    let entry = write(files.path(), "bg.js", code);
    let neighbour = write(files.path(), "neighbour.js", NEIGHBOUR);
    let nano = TestNano::start_with(|c| {
        for engine in ["v8", "quickjs"] {
            for kind in ["spin", "tick"] {
                let mut a = app(&format!("{kind}-{engine}"), "bg", &entry, &[]);
                a.engine = Some(engine.into());
                a.limits.wait_until_ms = 300;
                c.apps.push(a);
            }
        }
        c.apps
            .push(app("neighbour", "neighbour-t", &neighbour, &[]));
        c.tenants = vec!["bg".into(), "neighbour-t".into()];
        c.js_threads = 1;
    })
    .await;
    let c = client();
    let get = |host: String, q: &'static str| {
        let c = c.clone();
        let url = nano.url(&format!("/?{q}"));
        async move {
            let res = c.get(url).header("host", host).send().await.unwrap();
            res.text().await.unwrap().parse::<u64>().unwrap()
        }
    };
    let mut attacks = 0;
    for engine in ["v8", "quickjs"] {
        for kind in ["spin", "tick"] {
            let host = format!("{kind}-{engine}.test");
            get(host.clone(), kind).await;
            tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
            let first = get(host.clone(), "count").await;
            tokio::time::sleep(std::time::Duration::from_millis(600)).await;
            let second = get(host.clone(), "count").await;
            attacks += 1;
            assert!(first > 0, "{engine} {kind}: the interval never ran");
            assert_eq!(
                first, second,
                "{engine} {kind}: background work kept running"
            );
            if kind == "spin" {
                // Each run spins 10 ms of wall time, so 300 ms of `wait_until_ms` alone would allow about 30 runs.
                // The 50 ms CPU budget allows 5 on an idle machine; fewer than 10 ms of CPU per run (a busy
                // machine) allows a few more.
                assert!(first <= 20, "{engine}: {first} spinning runs");
            }
            println!("{engine} {kind}: {first} background runs, then cancelled");
        }
    }
    neighbour_answers(&nano).await;
    println!("background work attacks: {attacks} tried, all stopped");
    nano.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_builtins_are_interrupted_by_the_cpu_limit() {
    // Each loop is seconds of work in builtins that never return to the interpreter for long; a CPU limit that did
    // not stop them would let the request answer `done`.
    let code = r#"const WASM = new Uint8Array([0,97,115,109,1,0,0,0,1,4,1,96,0,0,3,2,1,0,7,8,1,4,108,111,111,112,0,0,10,9,1,7,0,3,64,12,0,11,11]);
export default { fetch(req) {
  const kind = new URL(req.url).search.slice(1);
  const a = new Uint8Array(8 << 20);
  if (kind === 'fill') for (let i = 0; i < 3000; i++) a.fill(i);
  if (kind === 'copy') for (let i = 0; i < 3000; i++) a.copyWithin(0, 1);
  if (kind === 'sort') { const f = new Float64Array(1 << 20); for (let i = 0; i < 300; i++) { f[i] = i; f.sort(); } }
  if (kind === 'json') {
    const s = JSON.stringify(Array.from({ length: 20000 }, (_, i) => ({ i, s: 'x'.repeat(20) })));
    for (let i = 0; i < 1000; i++) JSON.parse(s);
  }
  if (kind === 'regex') for (;;) /(a+)+$/.test('a'.repeat(28) + 'b');
  if (kind === 'wasm') new WebAssembly.Instance(new WebAssembly.Module(WASM)).exports.loop();
  return new Response('done');
} };"#;
    let (nano, _files) = on_both_engines("long", code, |_| {}).await;
    let mut attacks = 0;
    // QuickJS has no WebAssembly.
    let cases = [
        ("v8", &["fill", "copy", "sort", "json", "regex", "wasm"][..]),
        ("quickjs", &["fill", "copy", "sort", "json", "regex"][..]),
    ];
    for (engine, kinds) in cases {
        for kind in kinds {
            let started = std::time::Instant::now();
            let res = client()
                .get(nano.url(&format!("/?{kind}")))
                .header("host", format!("long-{engine}.test"))
                .timeout(std::time::Duration::from_secs(120))
                .send()
                .await
                .unwrap();
            let status = res.status();
            let text = res.text().await.unwrap();
            attacks += 1;
            assert_eq!(status, 503, "{engine} {kind}: {text}");
            assert!(
                text.contains("\"limit\":\"cpu\""),
                "{engine} {kind}: {text}"
            );
            println!(
                "{engine} {kind}: stopped after {} ms of wall time (CPU limit 50 ms)",
                started.elapsed().as_millis()
            );
            neighbour_answers(&nano).await;
        }
    }
    println!("long builtin attacks: {attacks} tried, all interrupted");
    nano.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_prod_an_apps_exception_is_not_shown_to_the_client() {
    let code = r#"export default { fetch() {
  throw new Error('db password is hunter2 at postgres://10.0.0.7');
} };"#;
    let files = tempfile::tempdir().unwrap();
    let entry = write(files.path(), "throws.js", code);
    let neighbour = write(files.path(), "neighbour.js", NEIGHBOUR);
    let setup = |c: &mut nano::app::Config| {
        c.apps.push(app("throws", "thrower", &entry, &[]));
        c.apps
            .push(app("neighbour", "neighbour-t", &neighbour, &[]));
        c.tenants = vec!["thrower".into(), "neighbour-t".into()];
    };
    for prod in [true, false] {
        let nano = if prod {
            TestNano::start_prod(setup).await
        } else {
            TestNano::start_with(setup).await
        };
        let res = client()
            .get(nano.url("/"))
            .header("host", "throws.test")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 500);
        let id = res
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = res.text().await.unwrap();
        if prod {
            assert!(!text.contains("hunter2"), "{text}");
            let body: Value = serde_json::from_str(&text).unwrap();
            let id = id.expect("a request id");
            assert_eq!(body["requestId"], id.as_str(), "{body}");
            neighbour_answers(&nano).await;
        } else {
            // Dev keeps showing the exception, for the developer.
            assert!(text.contains("hunter2"), "{text}");
        }
        nano.stop().await;
    }
    println!("error disclosure attack: 1 tried, nothing shown in prod");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_follower_that_never_reads_cannot_hold_up_the_app() {
    let code = r#"export default { fetch(req) {
  for (let i = 0; i < 250; i++) console.log(i + ' ' + 'z'.repeat(4000));
  return new Response('logged');
} };"#;
    // The test is about the followers, not the CPU limit: logging 1 MB a request takes more than 50 ms unoptimized.
    let (nano, _files) = on_both_engines("stall", code, |a| a.limits.cpu_ms = 5000).await;
    crate::install_app_logs();
    let c = client();
    // Followers that take the headers and then never read a byte.
    let mut stalled = Vec::new();
    for engine in ["v8", "quickjs"] {
        let res = c
            .get(nano.url(&format!("/admin/apps/stall-{engine}/logs?follow=1")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        stalled.push(res);
    }
    // 10,000 lines of 4 kB (40 MB) logged while nobody reads: every request still answers promptly.
    let mut slowest = std::time::Duration::ZERO;
    for round in 0..20 {
        for engine in ["v8", "quickjs"] {
            let started = std::time::Instant::now();
            let res = c
                .get(nano.url("/"))
                .header("host", format!("stall-{engine}.test"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.text().await.unwrap(), "logged");
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "round {round} on {engine} took {:?}",
                started.elapsed()
            );
            slowest = slowest.max(started.elapsed());
        }
    }
    neighbour_answers(&nano).await;
    // Reading at last, a follower is told what it missed.
    use futures::StreamExt;
    let mut body = stalled.remove(0).bytes_stream();
    let mut text = String::new();
    while !text.contains("log records dropped") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(20), body.next())
            .await
            .expect("the drop report within 20 s")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    println!("stalled log followers: 2 tried, 10,000 lines logged past them, slowest request {slowest:?}");
    nano.stop().await;
}
