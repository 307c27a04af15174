//! Workers apps from npm frameworks, bundled to one file with esbuild as their users deploy them, run unmodified:
//! Hono and itty-router, routed by Host, with params, query strings, JSON bodies, env and 404s; JWTs and JWEs with
//! jose, hono/jwt and @tsndr/cloudflare-worker-jwt on nano's `crypto.subtle`; and a Worker made of Cloudflare's
//! documentation examples (RS256 JWTs, the Cache API, a WebSocket echo, a service binding, KV, R2 and Queues),
//! declared in its wrangler.toml, on a dev node and on a prod one.

use crate::support::{client, TestNano};
use nano::app::AppConfig;
use nano::core::{EnvValue, Limits};
use std::path::Path;
use std::process::Command;

fn bundle(name: &str, out: &Path) -> std::path::PathBuf {
    let target = out.join(format!("{name}.js"));
    bundle_to(&format!("{name}.js"), &target);
    target
}

/// Bundles `tests/compat/workers/<source>` into `target`.
fn bundle_to(source: &str, target: &Path) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat");
    let esbuild = dir.join("node_modules/.bin/esbuild");
    assert!(
        esbuild.exists(),
        "esbuild is not installed: run `npm ci` in tests/compat (scripts/test.sh does)"
    );
    let name = source;
    let status = Command::new(esbuild)
        .arg(dir.join("workers").join(source))
        .args(["--bundle", "--format=esm", "--log-level=warning"])
        .arg(format!("--outfile={}", target.display()))
        .current_dir(&dir)
        .status()
        .expect("esbuild runs");
    assert!(status.success(), "esbuild failed for {name}");
}

fn app(name: &str, entry: std::path::PathBuf) -> AppConfig {
    AppConfig {
        name: name.into(),
        tenant: "default".into(),
        hostnames: vec![format!("{name}.test")],
        entry,
        env: [("GREETING".to_string(), EnvValue::Text("hi from env".into()))].into(),
        limits: Limits::default(),
        bindings: Default::default(),
        engine: None,
        triggers: Default::default(),
        outbound: Default::default(),
    }
}

async fn get(nano: &TestNano, host: &str, path: &str) -> (u16, String) {
    let res = client()
        .get(nano.url(path))
        .header("host", host)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn hono_and_itty_router_bundles_run_unmodified() {
    let out = tempfile::tempdir().unwrap();
    let (hono, itty) = (bundle("hono", out.path()), bundle("itty", out.path()));
    let nano = TestNano::start_with(|c| {
        c.apps.push(app("hono", hono));
        c.apps.push(app("itty", itty));
    })
    .await;
    assert_eq!(
        get(&nano, "hono.test", "/").await,
        (200, "hello from hono".into())
    );
    assert_eq!(
        get(&nano, "itty.test", "/").await,
        (200, "\"hello from itty\"".into())
    );
    for host in ["hono.test", "itty.test"] {
        let (status, body) = get(&nano, host, "/json/bob?q=1").await;
        assert_eq!(status, 200, "{host}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "name": "bob", "q": "1" }),
            "{host}"
        );
        let res = client()
            .post(nano.url("/echo"))
            .header("host", host)
            .json(&serde_json::json!({ "a": [1, 2] }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{host}");
        assert_eq!(
            res.json::<serde_json::Value>().await.unwrap(),
            serde_json::json!({ "a": [1, 2] })
        );
        assert_eq!(get(&nano, host, "/no/such/route").await.0, 404, "{host}");
    }
    assert_eq!(
        get(&nano, "hono.test", "/env").await,
        (200, "hi from env".into())
    );
    nano.stop().await;
}

/// The JWKS and tokens Node's WebCrypto made for the runtime suite (`tests/runtime/crypto_vectors.mjs`).
const VECTORS: &str = include_str!("../runtime/crypto_vectors.json");

#[tokio::test]
async fn jose_hono_jwt_and_worker_jwt_bundles_run_on_nanos_webcrypto() {
    let out = tempfile::tempdir().unwrap();
    let bundle = bundle("jwt", out.path());
    let nano = TestNano::start_with(|c| {
        for engine in ["quickjs", "v8"] {
            let mut jwt = app(&format!("jwt-{engine}"), bundle.clone());
            jwt.engine = Some(engine.into());
            // RSA key generation in a debug build takes far longer than the default CPU limit.
            jwt.limits = Limits {
                cpu_ms: 120_000,
                wall_ms: 120_000,
                ..Limits::default()
            };
            c.apps.push(jwt);
        }
    })
    .await;
    let vectors: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    for host in ["jwt-quickjs.test", "jwt-v8.test"] {
        jwt_checks(&nano, host, &vectors["jwt"]).await;
    }
    nano.stop().await;
}

/// Node's tokens checked by each library against the JWKS, then each library's own keys, JWTs and JWEs.
async fn jwt_checks(nano: &TestNano, host: &str, jwt: &serde_json::Value) {
    let res = client()
        .post(nano.url("/verify"))
        .header("host", host)
        .json(jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{host}");
    let verified: serde_json::Value = res.json().await.unwrap();
    let checked = |tsndr: bool| {
        let mut v = serde_json::json!({
            "jose": "user-1", "joseForged": "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
            "hono": "user-1", "honoJwks": "user-1", "honoForged": "JwtTokenSignatureMismatched",
        });
        if tsndr {
            v["tsndr"] = "user-1".into();
            v["tsndrForged"] = "INVALID_SIGNATURE".into();
        }
        v
    };
    assert_eq!(
        verified,
        serde_json::json!({ "RS256": checked(true), "PS256": checked(false), "ES256": checked(true) }),
        "{host}"
    );
    let res = client()
        .get(nano.url("/roundtrip"))
        .header("host", host)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{host}");
    let round: serde_json::Value = res.json().await.unwrap();
    let sealed = serde_json::json!(["sealed for nano", "ERR_JWE_DECRYPTION_FAILED"]);
    assert_eq!(
        round,
        serde_json::json!({
            "RS256": "user-1", "PS384": "user-1", "ES256": "user-1", "ES384": "user-1", "ES512": "user-1",
            "EdDSA": "user-1", "HS512": "user-1",
            "RSA-OAEP-256 A256GCM": sealed, "RSA-OAEP A128CBC-HS256": sealed, "ECDH-ES A256GCM": sealed,
            "ECDH-ES+A128KW A128CBC-HS256": sealed, "ECDH-ES+A256KW A256GCM": sealed, "A256KW A192CBC-HS384": sealed,
            "A128GCMKW A128GCM": sealed, "PBES2-HS256+A128KW A256CBC-HS512": sealed, "dir A256GCM": sealed,
            "honoHS256": "user-1", "tsndrES256": "user-1",
        }),
        "{host}"
    );
}

async fn send(
    nano: &TestNano,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> reqwest::Response {
    let mut req = client()
        .request(method.parse().unwrap(), nano.url(path))
        .header("host", "cfdocs.localhost")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// The apps folder of the Cloudflare docs Worker and the `greeter` Worker it calls, each bundled beside its
/// wrangler.toml as `wrangler deploy` would.
fn cloudflare_apps(out: &Path) -> std::path::PathBuf {
    let apps = out.join("apps");
    for name in ["cloudflare", "greeter"] {
        let folder = apps.join(if name == "cloudflare" { "cfdocs" } else { name });
        std::fs::create_dir_all(&folder).unwrap();
        bundle_to(&format!("{name}/index.js"), &folder.join("index.js"));
        let here = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/compat/workers")
            .join(name);
        std::fs::copy(here.join("wrangler.toml"), folder.join("wrangler.toml")).unwrap();
    }
    apps
}

#[tokio::test]
async fn cloudflare_docs_worker_runs_from_its_wrangler_toml_in_dev() {
    let out = tempfile::tempdir().unwrap();
    let apps = cloudflare_apps(out.path());
    // Nothing is created beforehand: the namespace, bucket and queue are made when the app loads.
    let nano = TestNano::start_with(|c| c.apps_dir = apps).await;
    cloudflare_docs_worker(&nano).await;
    nano.stop().await;
}

/// The same Worker on a prod node: KV on Redis, R2 on S3 (SeaweedFS), Queues and the registry on PostgreSQL.
#[tokio::test]
async fn cloudflare_docs_worker_runs_from_its_wrangler_toml_in_prod() {
    use crate::support::{fresh_name, s3_target, use_s3};
    let out = tempfile::tempdir().unwrap();
    let apps = cloudflare_apps(out.path());
    let (schema, prefix) = (fresh_name("cf").replace('-', "_"), fresh_name("cf"));
    let s3 = s3_target();
    let nano = TestNano::start_prod_on(&schema, &prefix, move |c| {
        use_s3(c, &s3);
        c.apps_dir = apps;
    })
    .await;
    cloudflare_docs_worker(&nano).await;
    nano.stop().await;
}

/// RS256 JWTs, the Cache API, a WebSocket echo, a service binding, and KV, R2 and Queues, as the docs Worker uses
/// them.
async fn cloudflare_docs_worker(nano: &TestNano) {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;

    // RS256 against a JWKS, and a forged signature refused.
    let vectors: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    let rs256 = vectors["jwt"]["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            t.as_str()
                .is_some_and(|t| t.starts_with("eyJhbGciOiJSUzI1NiI"))
        })
        .expect("an RS256 token");
    let posted = serde_json::json!({ "keys": vectors["jwt"]["keys"], "token": rs256 }).to_string();
    let jwt: serde_json::Value = send(nano, "POST", "/jwt", &[], &posted)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        jwt,
        serde_json::json!({"sub": "user-1", "forged": "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"})
    );

    // The Cache API: made on a miss (its put may land after the next request), then answered from the cache.
    let mut made = vec![send(nano, "GET", "/cache", &[], "")
        .await
        .text()
        .await
        .unwrap()];
    let mut hit = None;
    for _ in 0..100 {
        let res = send(nano, "GET", "/cache", &[], "").await;
        let from_cache = res
            .headers()
            .get("cf-cache-status")
            .is_some_and(|v| v == "HIT");
        let text = res.text().await.unwrap();
        if from_cache {
            hit = Some(text);
            break;
        }
        made.push(text);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let hit = hit.expect("an answer from the cache");
    assert!(
        made.contains(&hit),
        "{hit} is one the Worker made: {made:?}"
    );
    let again = send(nano, "GET", "/cache", &[], "")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(again, hit, "the cached answer stays");

    // The WebSocket echo.
    let mut request = format!("ws://{}/ws", nano.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("host", "cfdocs.localhost".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::text("ping")).await.unwrap();
    let echoed = ws.next().await.expect("a message").expect("no error");
    assert_eq!(echoed, Message::text("echo: ping"));
    ws.close(None).await.unwrap();

    // The service binding reaches the greeter Worker.
    let greeted = send(nano, "GET", "/service", &[], "")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(greeted, "hello cfdocs from greeter");

    // KV
    let put = send(nano, "PUT", "/kv/user:1", &[], "Alice").await;
    assert_eq!(put.status(), 200);
    let got: serde_json::Value = send(nano, "GET", "/kv/user:1", &[], "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        got,
        serde_json::json!({"value": "Alice", "metadata": {"by": "compat"}})
    );
    assert_eq!(send(nano, "GET", "/kv/nobody", &[], "").await.status(), 404);
    let list: serde_json::Value = send(nano, "GET", "/kv/?prefix=user:", &[], "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["keys"][0]["name"], "user:1");
    assert_eq!(
        list["keys"][0]["metadata"],
        serde_json::json!({"by": "compat"})
    );
    assert!(list["keys"][0]["expiration"].as_u64().unwrap() > 0);
    assert_eq!(list["list_complete"], true);

    // R2
    let put = send(
        nano,
        "PUT",
        "/r2/docs/hello.txt",
        &[("content-type", "text/plain")],
        "hello, r2",
    )
    .await;
    assert_eq!(put.status(), 200);
    assert_eq!(
        put.text().await.unwrap(),
        "Put docs/hello.txt successfully!"
    );
    send(nano, "PUT", "/r2/docs/deep/b.txt", &[], "b").await;
    let got = send(nano, "GET", "/r2/docs/hello.txt", &[], "").await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "text/plain");
    let etag = got.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
    assert_eq!(got.text().await.unwrap(), "hello, r2");
    let part = send(
        nano,
        "GET",
        "/r2/docs/hello.txt",
        &[("range", "bytes=7-8")],
        "",
    )
    .await;
    assert_eq!(part.status(), 206);
    assert_eq!(part.text().await.unwrap(), "r2");
    let head = send(nano, "HEAD", "/r2/docs/hello.txt", &[], "").await;
    assert_eq!(head.headers()["x-size"], "9");
    let listed: serde_json::Value = send(nano, "GET", "/r2/?prefix=docs/", &[], "")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed,
        serde_json::json!({"keys": ["docs/hello.txt"], "prefixes": ["docs/deep/"], "truncated": false})
    );
    assert_eq!(
        send(nano, "DELETE", "/r2/docs/hello.txt", &[], "")
            .await
            .status(),
        200
    );
    assert_eq!(
        send(nano, "GET", "/r2/docs/hello.txt", &[], "")
            .await
            .status(),
        404
    );

    // Queues: the producer sends, the same Worker's queue handler consumes and records in KV.
    let sent = send(nano, "POST", "/queue?note=first", &[], "").await;
    assert_eq!(sent.text().await.unwrap(), "Sent message to the queue");
    let mut consumed = serde_json::Value::Null;
    for _ in 0..200 {
        let r = send(nano, "GET", "/kv/processed/first", &[], "").await;
        if r.status() == 200 {
            consumed = r.json().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let record: serde_json::Value = serde_json::from_str(
        consumed["value"]
            .as_str()
            .expect("the message was consumed"),
    )
    .unwrap();
    assert_eq!(record["queue"], "my-queue");
    assert_eq!(record["body"]["method"], "POST");
    assert_eq!(record["body"]["note"], "first");
}
