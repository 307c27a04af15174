//! The operator console (`/admin/ui`) and the admin routes it adds: its files served without auth under a strict
//! policy, app settings edits, versions and rollback, a tenant's services with ERROR jobs retried and cancelled, and
//! the whole console driven in headless Chromium (`tests/console/console.mjs`).

use crate::support::{client, TestNano};
use nano::app::config::Secret;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

const TOKEN: &str = "console-token";

async fn send(
    nano: &TestNano,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client().request(method, nano.url(path)).bearer_auth(TOKEN);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

async fn app_says(nano: &TestNano, host: &str) -> String {
    let res = client()
        .get(nano.url("/"))
        .header("host", host)
        .send()
        .await
        .unwrap();
    res.text().await.unwrap()
}

fn answering(text: &str) -> Value {
    json!({ "index.js": format!("export default {{ fetch(req, env) {{ return new Response('{text} ' + (env.G ?? '')); }} }};") })
}

#[tokio::test]
async fn console_files_are_served_without_auth_under_a_strict_policy() {
    let nano = TestNano::start_with(|c| c.admin_token = Some(Secret::new(TOKEN))).await;
    for (path, kind) in [
        ("/admin/ui/", "text/html"),
        ("/admin/ui/console.js", "text/javascript"),
        ("/admin/ui/pages.js", "text/javascript"),
        ("/admin/ui/console.css", "text/css"),
    ] {
        let res = client().get(nano.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers();
        assert!(
            h["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(h["cache-control"], "no-store");
    }
    let res = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(nano.url("/admin/ui"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/admin/ui/");
    for path in [
        "/admin/ui/nope.js",
        "/admin/ui/index.html.bak",
        "/admin/ui/a/b",
    ] {
        let res = client().get(nano.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    let res = client().post(nano.url("/admin/ui/")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    // The files hold no data; the API behind them still wants the token.
    let res = client()
        .get(nano.url("/admin/tenants"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn apps_are_edited_listed_by_version_and_rolled_back() {
    use reqwest::Method;
    let nano = TestNano::start_with(|c| c.admin_token = Some(Secret::new(TOKEN))).await;
    let (status, body) = send(
        &nano,
        Method::POST,
        "/admin/apps",
        Some(json!({ "name": "ver", "files": answering("one") })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = send(&nano, Method::POST, "/admin/apps/ver/rollback", None).await;
    assert_eq!(status, 409, "nothing to roll back to: {body}");
    // An edit keeps the code and changes the settings, as a new version.
    let (status, body) = send(
        &nano,
        Method::PATCH,
        "/admin/apps/ver",
        Some(json!({ "env": { "G": "hi" } })),
    )
    .await;
    assert_eq!(
        (status, &body["app"]["env"]["G"]),
        (200, &json!("hi")),
        "{body}"
    );
    assert_eq!(app_says(&nano, "ver.localhost").await, "one hi");
    let (status, body) = send(
        &nano,
        Method::PATCH,
        "/admin/apps/ver",
        Some(json!({ "tenant": "other" })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = send(
        &nano,
        Method::PUT,
        "/admin/apps/ver",
        Some(json!({ "files": answering("two") })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app_says(&nano, "ver.localhost").await, "two ");
    let (status, body) = send(&nano, Method::GET, "/admin/apps/ver/versions", None).await;
    assert_eq!(status, 200, "{body}");
    let versions: Vec<(i64, bool)> = body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [(3, true), (2, false), (1, false)]);
    assert_eq!(body["versions"][0]["files"], json!(["index.js"]));
    // Rollback serves the previous version; a second rollback undoes the first.
    let (status, body) = send(&nano, Method::POST, "/admin/apps/ver/rollback", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app_says(&nano, "ver.localhost").await, "one hi");
    let (_, body) = send(&nano, Method::POST, "/admin/apps/ver/rollback", None).await;
    assert_eq!(body["app"]["status"], "serving");
    assert_eq!(app_says(&nano, "ver.localhost").await, "two ");
    for (method, path) in [
        (Method::GET, "/admin/apps/none/versions"),
        (Method::POST, "/admin/apps/none/rollback"),
        (Method::PATCH, "/admin/apps/none"),
    ] {
        let body = (method == Method::PATCH).then(|| json!({}));
        let (status, _) = send(&nano, method, path, body).await;
        assert_eq!(status, 404, "{path}");
    }
    // Deleting the app forgets its versions: created again, it starts anew.
    send(&nano, Method::DELETE, "/admin/apps/ver", None).await;
    send(
        &nano,
        Method::POST,
        "/admin/apps",
        Some(json!({ "name": "ver", "files": answering("three") })),
    )
    .await;
    let (_, body) = send(&nano, Method::GET, "/admin/apps/ver/versions", None).await;
    assert_eq!(body["versions"].as_array().unwrap().len(), 1, "{body}");
}

#[tokio::test]
async fn a_tenants_services_are_listed_and_error_jobs_retried_or_cancelled() {
    use reqwest::Method;
    let nano = TestNano::start_with(|c| c.admin_token = Some(Secret::new(TOKEN))).await;
    send(
        &nano,
        Method::POST,
        "/admin/tenants",
        Some(json!({ "id": "svc" })),
    )
    .await;
    let services = |path: &str| client().put(nano.url(path));
    services("/svc/data/movies").send().await.unwrap();
    services("/svc/cache/sessions").send().await.unwrap();
    services("/svc/storage/pics").send().await.unwrap();
    services("/svc/queue/mail")
        .json(&json!({ "target": "http://127.0.0.1:9/", "maxAttempts": 1 }))
        .send()
        .await
        .unwrap();
    for n in 0..2 {
        let res = client()
            .post(nano.url("/svc/queue/mail"))
            .json(&json!({ "n": n }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let mut body = Value::Null;
    for _ in 0..100 {
        (_, body) = send(&nano, Method::GET, "/admin/tenants/svc/services", None).await;
        if body["queue"][0]["error"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(body["data"], json!(["movies"]), "{body}");
    assert_eq!(body["cache"], json!(["sessions"]), "{body}");
    assert_eq!(body["storage"], json!(["pics"]), "{body}");
    assert_eq!(
        body["queue"],
        json!([{ "name": "mail", "ready": 0, "error": 2 }]),
        "{body}"
    );
    let (status, jobs) = send(
        &nano,
        Method::GET,
        "/admin/tenants/svc/queue/mail?status=ERROR",
        None,
    )
    .await;
    assert_eq!(status, 200, "{jobs}");
    let ids: Vec<String> = jobs["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].to_string().trim_matches('"').to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{jobs}");
    let (status, _) = send(
        &nano,
        Method::POST,
        &format!("/admin/tenants/svc/queue/mail/{}/_cancel", ids[0]),
        None,
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = send(
        &nano,
        Method::POST,
        &format!("/admin/tenants/svc/queue/mail/{}/_retry", ids[1]),
        None,
    )
    .await;
    assert_eq!(status, 201);
    let (_, jobs) = send(
        &nano,
        Method::GET,
        "/admin/tenants/svc/queue/mail?status=ERROR",
        None,
    )
    .await;
    assert!(
        jobs["jobs"].as_array().unwrap().len() <= 1,
        "the cancelled job is gone: {jobs}"
    );
    // Another tenant's services are its own, and an unknown tenant has none.
    send(
        &nano,
        Method::POST,
        "/admin/tenants",
        Some(json!({ "id": "other" })),
    )
    .await;
    let (_, body) = send(&nano, Method::GET, "/admin/tenants/other/services", None).await;
    assert_eq!(
        (&body["data"], &body["queue"]),
        (&json!([]), &json!([])),
        "{body}"
    );
    let (status, _) = send(&nano, Method::GET, "/admin/tenants/nobody/services", None).await;
    assert_eq!(status, 404);
    let res = client()
        .get(nano.url("/admin/tenants/svc/services"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the admin token is required");
}

/// Where the browser test's screenshots are kept for the docs: `NANO_CONSOLE_SHOTS=1` writes them there.
fn docs_shots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/site/public/console")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_does_every_admin_task_in_chromium() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() || !here.join("node_modules/playwright-core").exists() {
        eprintln!(
            "SKIPPED: the console's browser test needs Chromium at {chromium} and tests/console's npm packages; \
             scripts/test.sh installs both"
        );
        return;
    }
    crate::install_app_logs();
    let nano = TestNano::start_with(|c| c.admin_token = Some(Secret::new(TOKEN))).await;
    let shots = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new("node")
        .arg(here.join("console.mjs"))
        .arg(nano.url(""))
        .arg(TOKEN)
        .arg(shots.path())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(480), out)
        .await
        .expect("the browser test ends within 8 minutes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(", 0 failed"), "{stdout}");
    let taken: Vec<_> = std::fs::read_dir(shots.path()).unwrap().flatten().collect();
    assert_eq!(taken.len(), 14, "7 pages at two widths");
    if std::env::var("NANO_CONSOLE_SHOTS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(docs_shots()).unwrap();
        for f in taken {
            std::fs::copy(f.path(), docs_shots().join(f.file_name())).unwrap();
        }
    }
}
