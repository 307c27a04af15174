//! Multi-app hosting over HTTP: Host routing (exact, wildcard, unknown, many apps), app folders, the admin app
//! routes with bad input, hot reload (also under continuous load), static assets, and SIGTERM with apps in flight.

use crate::support::{client, nano_bin, TestNano};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const HELLO: &str = "export default { fetch(req, env) { const u = new URL(req.url); \
  return Response.json({ app: env.APP_NAME || 'none', path: u.pathname, host: u.hostname }); } };";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// An app folder answering `{ app: <APP_NAME>, path, host }`.
fn app_folder(root: &Path, name: &str, nano_toml: &str) {
    write(&root.join(name).join("index.js"), HELLO);
    write(
        &root.join(name).join("nano.toml"),
        &format!("env = {{ APP_NAME = \"{name}\" }}\n{nano_toml}"),
    );
}

async fn get_json(url: &str, host: &str) -> (u16, Value) {
    let res = client().get(url).header("host", host).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Polls until `check` passes (hot reload polls every 500 ms), failing after 15 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..150 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test]
async fn hosts_route_to_folder_apps_exact_wildcard_and_unknown() {
    let apps = tempfile::tempdir().unwrap();
    app_folder(apps.path(), "alpha", "");
    app_folder(
        apps.path(),
        "beta",
        "hostnames = [\"beta.test\", \"www.beta.test\", \"*.beta.test\"]\n",
    );
    write(
        &apps.path().join("gamma/wrangler.toml"),
        "name = \"gamma\"\nmain = \"src/worker.js\"\nroutes = [\"https://gamma.example.com/*\"]\n[vars]\nAPP_NAME = \"gamma-w\"\n",
    );
    write(&apps.path().join("gamma/src/worker.js"), HELLO);
    let dir = apps.path().to_path_buf();
    let nano = TestNano::start_with(|c| c.apps_dir = dir).await;
    let url = nano.url("/x");
    assert_eq!(get_json(&url, "alpha.localhost").await.1["app"], "alpha");
    assert_eq!(
        get_json(&url, "alpha.localhost:9999").await.1["app"],
        "alpha"
    );
    assert_eq!(get_json(&url, "beta.test").await.1["app"], "beta");
    assert_eq!(get_json(&url, "www.beta.test").await.1["app"], "beta");
    let (_, body) = get_json(&url, "a.b.beta.test").await;
    assert_eq!(body["app"], "beta");
    assert_eq!(body["host"], "a.b.beta.test");
    assert_eq!(
        get_json(&url, "gamma.example.com").await.1["app"],
        "gamma-w"
    );
    // Unknown hosts reach the services API in dev.
    let (status, body) = get_json(&nano.url("/"), "nobody.test").await;
    assert_eq!(status, 200);
    assert!(body.get("app").is_none(), "{body}");
    assert!(body.get("name").is_some(), "{body}");
}

#[tokio::test]
async fn unknown_hosts_get_404_json_when_configured() {
    let apps = tempfile::tempdir().unwrap();
    app_folder(apps.path(), "alpha", "");
    let dir = apps.path().to_path_buf();
    let nano = TestNano::start_with(|c| {
        c.apps_dir = dir;
        c.unknown_host_404 = true;
        c.services_hosts = vec!["api.example.com".into()];
    })
    .await;
    let (status, body) = get_json(&nano.url("/"), "nobody.test").await;
    assert_eq!(status, 404);
    assert_eq!(body["ok"], false);
    assert_eq!(
        get_json(&nano.url("/"), "alpha.localhost").await.1["app"],
        "alpha"
    );
    assert_eq!(get_json(&nano.url("/"), "api.example.com").await.0, 200);
    let res = client().get(nano.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200, "an IP address reaches the services");
}

#[tokio::test]
async fn many_apps_each_answer_for_their_own_host() {
    let apps = tempfile::tempdir().unwrap();
    for i in 0..60 {
        app_folder(apps.path(), &format!("app{i}"), "");
    }
    let dir = apps.path().to_path_buf();
    let nano = TestNano::start_with(|c| c.apps_dir = dir).await;
    for i in (0..60).rev() {
        let (status, body) = get_json(&nano.url("/"), &format!("app{i}.localhost")).await;
        assert_eq!(status, 200);
        assert_eq!(body["app"], format!("app{i}"));
    }
}

#[tokio::test]
async fn a_folder_with_only_public_serves_its_files() {
    let apps = tempfile::tempdir().unwrap();
    write(&apps.path().join("site/public/index.html"), "<h1>home</h1>");
    write(&apps.path().join("site/public/css/a.css"), "body{}");
    let dir = apps.path().to_path_buf();
    let nano = TestNano::start_with(|c| c.apps_dir = dir).await;
    let c = client();
    let res = c
        .get(nano.url("/"))
        .header("host", "site.localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(res.text().await.unwrap(), "<h1>home</h1>");
    let res = c
        .get(nano.url("/css/a.css"))
        .header("host", "site.localhost")
        .send()
        .await
        .unwrap();
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    let res = c
        .get(nano.url("/missing"))
        .header("host", "site.localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn assets_conditional_range_index_hostname_page_and_no_escape() {
    let apps = tempfile::tempdir().unwrap();
    app_folder(
        apps.path(),
        "shop",
        "hostnames = [\"shop.test\", \"eu.shop.test\"]\n",
    );
    let public = apps.path().join("shop/public");
    write(&public.join("data.txt"), "0123456789");
    write(&public.join("docs/index.html"), "docs");
    write(&public.join("eu.shop.test.html"), "europe");
    write(&apps.path().join("secret.txt"), "TOP-SECRET-CONTENT");
    write(&apps.path().join("shop/index.js.bak"), "TOP-SECRET-CONTENT");
    let dir = apps.path().to_path_buf();
    let nano = TestNano::start_with(|c| c.apps_dir = dir).await;
    let c = client();
    let get = |path: &str, host: &str| c.get(nano.url(path)).header("host", host.to_string());
    let res = get("/data.txt", "shop.test").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(res.headers()["content-length"], "10");
    assert_eq!(res.text().await.unwrap(), "0123456789");
    let res = get("/data.txt", "shop.test")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    let res = get("/data.txt", "shop.test")
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = get("/data.txt", "shop.test")
        .header("range", "bytes=2-4")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(res.headers()["content-range"], "bytes 2-4/10");
    assert_eq!(res.text().await.unwrap(), "234");
    let res = get("/data.txt", "shop.test")
        .header("range", "bytes=-3")
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), "789");
    let res = get("/data.txt", "shop.test")
        .header("range", "bytes=20-")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 416);
    assert_eq!(res.headers()["content-range"], "bytes */10");
    let res = c
        .head(nano.url("/data.txt"))
        .header("host", "shop.test")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-length"], "10");
    assert_eq!(
        get("/docs/", "shop.test")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "docs"
    );
    assert_eq!(
        get("/docs", "shop.test")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "docs"
    );
    // The hostname's own page answers `/` for that hostname only; other paths and hosts reach the code.
    assert_eq!(
        get("/", "eu.shop.test")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "europe"
    );
    let body: Value = get("/", "shop.test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["app"], "shop");
    // POST never reads assets.
    let res = c
        .post(nano.url("/data.txt"))
        .header("host", "shop.test")
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["app"], "shop");
    // Escapes are refused by the asset server: the request reaches the app's code instead.
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/docs/..%5c..%5csecret.txt",
        "/%2e%2e/index.js.bak",
    ] {
        let res = get(path, "shop.test").send().await.unwrap();
        let text = res.text().await.unwrap();
        assert!(!text.contains("TOP-SECRET"), "{path} leaked: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["app"], "shop", "{path} reached the app's code");
    }
}

async fn admin(
    method: reqwest::Method,
    nano: &TestNano,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client().request(method, nano.url(path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn admin_app_routes_create_get_update_delete_and_refuse_bad_input() {
    use reqwest::Method;
    let nano = TestNano::start().await;
    let name = crate::support::fresh_name("app");
    let host = format!("{name}.test");
    let files = json!({ "index.js": "import { v } from './lib/v.js'; export default { fetch() { console.log('served ' + v); return new Response(v); } };", "lib/v.js": "export const v = 'one';" });
    let (s, body) = admin(
        Method::POST,
        &nano,
        "/admin/apps",
        Some(json!({ "name": name, "hostnames": [host], "files": files, "entry": "index.js" })),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["app"]["name"], name);
    assert_eq!(body["app"]["status"], "serving");
    let text = client()
        .get(nano.url("/"))
        .header("host", &host)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "one");
    // Duplicates, taken hostnames, bad names, bad bodies, missing entries.
    let (s, body) = admin(
        Method::POST,
        &nano,
        "/admin/apps",
        Some(json!({ "name": name, "files": files })),
    )
    .await;
    assert_eq!(s, 409, "{body}");
    let (s, body) = admin(
        Method::POST,
        &nano,
        "/admin/apps",
        Some(json!({ "name": "other", "hostnames": [host], "files": files })),
    )
    .await;
    assert_eq!(s, 409, "{body}");
    assert!(body["msg"].as_str().unwrap().contains(&host), "{body}");
    let (s, _) = admin(
        Method::POST,
        &nano,
        "/admin/apps",
        Some(json!({ "name": "Bad Name", "files": files })),
    )
    .await;
    assert_eq!(s, 400);
    let (s, body) = admin(
        Method::POST,
        &nano,
        "/admin/apps",
        Some(json!({ "name": "nofiles" })),
    )
    .await;
    assert_eq!(s, 400);
    assert!(body["msg"].as_str().unwrap().contains("files"), "{body}");
    let (s, _) = admin(
        Method::POST,
        &nano,
        "/admin/apps",
        Some(json!({ "name": "x1", "files": files, "entry": "main.js" })),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = admin(
        Method::POST,
        &nano,
        "/admin/apps",
        Some(json!({ "name": "x2", "path": "/nonexistent/app" })),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = admin(
        Method::POST,
        &nano,
        "/admin/apps",
        Some(json!({ "name": "x3", "files": files, "bogus": 1 })),
    )
    .await;
    assert_eq!(s, 400);
    let res = client()
        .post(nano.url("/admin/apps"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // A module that fails to load is reported and never registered.
    let broken = format!("{name}-broken");
    let (s, body) = admin(
        Method::POST,
        &nano,
        "/admin/apps",
        Some(json!({ "name": broken, "files": { "index.js": "export default {{{" } })),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(!body["msg"].as_str().unwrap().is_empty());
    assert_eq!(
        admin(Method::GET, &nano, &format!("/admin/apps/{broken}"), None)
            .await
            .0,
        404
    );
    // Get, list, update, logs, metrics, reload.
    let (s, body) = admin(Method::GET, &nano, &format!("/admin/apps/{name}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(body["app"]["hostnames"], json!([host]));
    assert_eq!(
        body["app"]["source"]["bundle"],
        json!(["index.js", "lib/v.js"])
    );
    let (_, body) = admin(Method::GET, &nano, "/admin/apps", None).await;
    assert!(body["apps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == name));
    let files2 =
        json!({ "index.js": "export default { fetch() { return new Response('two'); } };" });
    let (s, body) = admin(
        Method::PUT,
        &nano,
        &format!("/admin/apps/{name}"),
        Some(json!({ "hostnames": [host], "files": files2 })),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let text = client()
        .get(nano.url("/"))
        .header("host", &host)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "two");
    // A broken update leaves the working version serving.
    let (s, _) = admin(
        Method::PUT,
        &nano,
        &format!("/admin/apps/{name}"),
        Some(json!({ "hostnames": [host], "files": { "index.js": "syntax error here (" } })),
    )
    .await;
    assert_eq!(s, 400);
    let text = client()
        .get(nano.url("/"))
        .header("host", &host)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "two");
    let (s, _) = admin(
        Method::PUT,
        &nano,
        "/admin/apps/missing-app",
        Some(json!({ "files": files2 })),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = admin(
        Method::PUT,
        &nano,
        &format!("/admin/apps/{name}"),
        Some(json!({ "name": "another", "files": files2 })),
    )
    .await;
    assert_eq!(s, 400);
    let (s, body) = admin(
        Method::GET,
        &nano,
        &format!("/admin/apps/{name}/logs"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(body["logs"].is_array());
    assert_eq!(
        admin(Method::GET, &nano, "/admin/apps/missing-app/logs", None)
            .await
            .0,
        404
    );
    let res = client()
        .get(nano.url("/admin/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    assert!(
        text.contains(&format!(
            "nano_app_requests_total{{app=\"{name}\",tenant=\"default\"}}"
        )),
        "{text}"
    );
    assert!(
        text.contains("nano_app_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("limit=\"cpu\""), "{text}");
    let (s, body) = admin(Method::POST, &nano, "/admin/reload", None).await;
    assert_eq!(s, 200);
    assert!(body["reload"]["failed"].is_object(), "{body}");
    // Delete: the host is no longer an app's.
    assert_eq!(
        admin(Method::DELETE, &nano, &format!("/admin/apps/{name}"), None)
            .await
            .0,
        200
    );
    assert_eq!(
        admin(Method::DELETE, &nano, &format!("/admin/apps/{name}"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        admin(Method::GET, &nano, &format!("/admin/apps/{name}"), None)
            .await
            .0,
        404
    );
    let (s, body) = get_json(&nano.url("/"), &host).await;
    assert_eq!(s, 200);
    assert!(
        body.get("name").is_some(),
        "the services answer now: {body}"
    );
}

#[tokio::test]
async fn admin_app_routes_need_the_token() {
    let nano =
        TestNano::start_with(|c| c.admin_token = Some(nano::app::config::Secret::new("tok"))).await;
    let res = client().get(nano.url("/admin/apps")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = client()
        .get(nano.url("/admin/metrics"))
        .bearer_auth("tok")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn editing_an_app_folder_reloads_it_and_a_broken_edit_keeps_the_old_version() {
    let apps = tempfile::tempdir().unwrap();
    let entry = apps.path().join("live/index.js");
    write(
        &entry,
        "export default { fetch() { return new Response('v1'); } };",
    );
    let dir = apps.path().to_path_buf();
    let nano = TestNano::start_with(|c| c.apps_dir = dir).await;
    let url = nano.url("/");
    let text = || async {
        client()
            .get(&url)
            .header("host", "live.localhost")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert_eq!(text().await, "v1");
    write(
        &entry,
        "export default { fetch() { return new Response('v2'); } };",
    );
    eventually("v2 serves", || async { text().await == "v2" }).await;
    write(
        &entry,
        "export default { fetch() { return new Response('v3') ",
    );
    // The failed change is reported while the previous version keeps serving: `serving`, with the error.
    eventually("the failure is reported", || async {
        let (_, body) = get_json(&nano.url("/admin/apps/live"), "127.0.0.1").await;
        body["app"]["status"] == "serving" && body["app"]["error"].is_string()
    })
    .await;
    assert_eq!(text().await, "v2");
    // A new folder appears, then goes away.
    write(
        &apps.path().join("fresh/index.js"),
        "export default { fetch() { return new Response('fresh'); } };",
    );
    eventually("the new folder serves", || async {
        client()
            .get(&url)
            .header("host", "fresh.localhost")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            == "fresh"
    })
    .await;
    std::fs::remove_dir_all(apps.path().join("fresh")).unwrap();
    eventually("the removed folder is gone", || async {
        get_json(&nano.url("/admin/apps/fresh"), "127.0.0.1")
            .await
            .0
            == 404
    })
    .await;
}

#[tokio::test]
async fn fifty_reloads_under_continuous_load_fail_no_request() {
    use reqwest::Method;
    let nano = TestNano::start().await;
    let name = crate::support::fresh_name("load");
    let host = format!("{name}.test");
    let version = |n: usize| json!({ "name": name, "hostnames": [host], "files": { "index.js": format!("export default {{ fetch() {{ return new Response('v{n}'); }} }};") } });
    assert_eq!(
        admin(Method::POST, &nano, "/admin/apps", Some(version(0)))
            .await
            .0,
        201
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut loaders = Vec::new();
    for _ in 0..4 {
        let (url, host, stop) = (nano.url("/"), host.clone(), stop.clone());
        loaders.push(tokio::spawn(async move {
            let c = client();
            let (mut ok, mut failed) = (0u32, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && ok < 100_000 {
                match c.get(&url).header("host", &host).send().await {
                    Ok(res) if res.status() == 200 => {
                        let text = res.text().await.unwrap_or_default();
                        if text.starts_with('v') {
                            ok += 1;
                        } else {
                            failed.push(text);
                        }
                    }
                    Ok(res) => failed.push(format!(
                        "{} {}",
                        res.status(),
                        res.text().await.unwrap_or_default()
                    )),
                    Err(e) => failed.push(e.to_string()),
                }
            }
            (ok, failed)
        }));
    }
    for n in 1..=50 {
        let (s, body) = admin(
            Method::PUT,
            &nano,
            &format!("/admin/apps/{name}"),
            Some(version(n)),
        )
        .await;
        assert_eq!(s, 200, "{body}");
        if n % 10 == 0 {
            assert_eq!(
                admin(Method::POST, &nano, "/admin/reload", None).await.0,
                200
            );
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for l in loaders {
        let (ok, failed) = l.await.unwrap();
        assert!(failed.is_empty(), "failed requests: {failed:?}");
        total += ok;
    }
    assert!(total > 0);
    let text = client()
        .get(nano.url("/"))
        .header("host", &host)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "v50");
}

#[tokio::test]
async fn sigterm_lets_in_flight_app_requests_finish_and_exits_0() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("apps/slow/index.js"),
        "export default { async fetch() { await new Promise(r => setTimeout(r, 1500)); return new Response('done'); } };",
    );
    let mut child = tokio::process::Command::new(nano_bin())
        .args([
            "run",
            "--profile",
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--apps",
        ])
        .arg(dir.path().join("apps"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .current_dir(dir.path())
        .env("NANO_LOG_FORMAT", "json")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut port = None;
    let mut banner = Vec::new();
    while let Some(line) = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
    {
        banner.push(line.clone());
        if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
            port = rest
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse::<u16>()
                .ok();
        }
        if line.contains("services API at") {
            break;
        }
    }
    let port = port.expect("a listening on line");
    assert!(
        banner
            .iter()
            .any(|l| l.contains(&format!("http://slow.localhost:{port}/"))),
        "{banner:?}"
    );
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let url = format!("http://127.0.0.1:{port}/");
    let mut in_flight = Vec::new();
    for _ in 0..3 {
        let url = url.clone();
        in_flight.push(tokio::spawn(async move {
            client()
                .get(&url)
                .header("host", "slow.localhost")
                .send()
                .await?
                .text()
                .await
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = child.id().unwrap() as i32;
    assert_eq!(crate::lifecycle::send_signal(pid, "TERM"), 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        client()
            .get(&url)
            .header("host", "slow.localhost")
            .send()
            .await
            .is_err(),
        "new connections are refused"
    );
    for r in in_flight {
        assert_eq!(
            r.await.unwrap().expect("in-flight request completes"),
            "done"
        );
    }
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn api_created_apps_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        let mut c = nano::app::Config::defaults(nano::app::Profile::Dev);
        c.listen = "127.0.0.1:0".parse().unwrap();
        c.data_dir = dir.path().to_path_buf();
        c.apps_dir = dir.path().join("no-apps");
        c
    };
    let files = json!({ "index.js": "export default { fetch(req, env) { return new Response('kept ' + env.WHO); } };" });
    let running = nano::app::start(config()).await.unwrap();
    let base = format!("http://{}", running.addr);
    let res = client()
        .post(format!("{base}/admin/apps"))
        .json(&json!({ "name": "kept", "hostnames": ["kept.test"], "files": files, "env": { "WHO": "me" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = client()
        .post(format!("{base}/admin/apps"))
        .json(&json!({ "name": "gone", "files": files }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = client()
        .delete(format!("{base}/admin/apps/gone"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // An app of a tenant that does not exist is refused.
    let res = client()
        .post(format!("{base}/admin/apps"))
        .json(&json!({ "name": "orphan", "tenant": "no-such-tenant", "files": files }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    running.stop().await;
    let running = nano::app::start(config()).await.unwrap();
    let base = format!("http://{}", running.addr);
    let text = client()
        .get(format!("{base}/"))
        .header("host", "kept.test")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "kept me");
    let res = client()
        .get(format!("{base}/admin/apps/gone"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = client()
        .get(format!("{base}/admin/apps/kept"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["app"]["origin"], "api");
    running.stop().await;
}

/// The value of a metric line `name{app="<app>",...} value` in the admin metrics text.
async fn app_metric(nano: &TestNano, name: &str, app: &str) -> Option<f64> {
    let res = client()
        .get(nano.url("/admin/metrics"))
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    let prefix = format!("{name}{{app=\"{app}\"");
    text.lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn idle_isolates_are_evicted_after_the_configured_time() {
    let apps = tempfile::tempdir().unwrap();
    app_folder(apps.path(), "sleepy", "");
    let dir = apps.path().to_path_buf();
    let nano = TestNano::start_with(|c| {
        c.apps_dir = dir;
        c.idle_evict_secs = 1;
    })
    .await;
    assert_eq!(get_json(&nano.url("/"), "sleepy.localhost").await.0, 200);
    assert_eq!(
        app_metric(&nano, "nano_app_isolates", "sleepy").await,
        Some(1.0)
    );
    eventually("the idle isolate is evicted", || async {
        app_metric(&nano, "nano_app_isolates", "sleepy").await == Some(0.0)
    })
    .await;
    // The next request makes a new isolate.
    assert_eq!(get_json(&nano.url("/"), "sleepy.localhost").await.0, 200);
    assert_eq!(
        app_metric(&nano, "nano_app_isolates", "sleepy").await,
        Some(1.0)
    );
    assert_eq!(
        app_metric(&nano, "nano_app_isolate_starts_total", "sleepy").await,
        Some(2.0)
    );
}

/// An app that failed to load, with no earlier version serving, answers 503 naming the error on its hostnames,
/// instead of its requests falling through to the services API (which answers 200); once fixed, it serves.
#[tokio::test]
async fn an_app_that_failed_to_load_answers_503_with_its_error() {
    let apps = tempfile::tempdir().unwrap();
    write(
        &apps.path().join("broken/index.js"),
        "const a = 1;\nexport default { fetch( ;",
    );
    app_folder(apps.path(), "fine", "");
    let dir = apps.path().to_path_buf();
    let nano = TestNano::start_with(|c| c.apps_dir = dir).await;
    let (status, body) = get_json(&nano.url("/"), "broken.localhost").await;
    assert_eq!(status, 503, "{body}");
    let msg = body["msg"].as_str().unwrap();
    assert!(
        msg.starts_with("app broken failed to load: index.js: "),
        "{msg}"
    );
    // Where the mistake is: file, line and column.
    assert!(msg.ends_with("at index.js:2:25"), "{msg}");
    assert_eq!(body["status"], 503);
    // A neighbour loads and answers as before.
    let (status, body) = get_json(&nano.url("/"), "fine.localhost").await;
    assert_eq!((status, body["app"].as_str()), (200, Some("fine")));
    // Fixed on disk, it serves after the hot reload.
    write(&apps.path().join("broken/index.js"), HELLO);
    let url = nano.url("/");
    eventually("the fixed app to serve", || {
        let url = url.clone();
        async move { get_json(&url, "broken.localhost").await.0 == 200 }
    })
    .await;
    nano.stop().await;
}

/// The common first mistakes get a hint naming the fix: service-worker syntax, a TypeScript entry.
#[tokio::test]
async fn common_load_mistakes_get_a_hint() {
    let apps = tempfile::tempdir().unwrap();
    write(
        &apps.path().join("sw/index.js"),
        "addEventListener('fetch', (e) => e.respondWith(new Response('x')));",
    );
    write(&apps.path().join("ts/src/index.ts"), "export default {};");
    write(
        &apps.path().join("ts/wrangler.toml"),
        "main = \"src/index.ts\"\n",
    );
    let dir = apps.path().to_path_buf();
    let nano = TestNano::start_with(|c| c.apps_dir = dir).await;
    let (status, body) = get_json(&nano.url("/"), "sw.localhost").await;
    assert_eq!(status, 503);
    let msg = body["msg"].as_str().unwrap();
    assert!(
        msg.contains("hint: nano runs ES module Workers: write `export default"),
        "{msg}"
    );
    let (status, body) = get_json(&nano.url("/"), "ts.localhost").await;
    assert_eq!(status, 503);
    let msg = body["msg"].as_str().unwrap();
    assert!(
        msg.contains("hint: nano runs JavaScript: bundle TypeScript first"),
        "{msg}"
    );
    nano.stop().await;
}
