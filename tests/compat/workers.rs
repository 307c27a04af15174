//! Workers apps from npm frameworks, bundled to one file with esbuild as their users deploy them, run unmodified:
//! Hono and itty-router, routed by Host, with params, query strings, JSON bodies, env and 404s.

use crate::support::{client, TestNano};
use nano::app::AppConfig;
use nano::core::{EnvValue, Limits};
use std::path::Path;
use std::process::Command;

fn bundle(name: &str, out: &Path) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat");
    let esbuild = dir.join("node_modules/.bin/esbuild");
    assert!(
        esbuild.exists(),
        "esbuild is not installed: run `npm ci` in tests/compat (scripts/test.sh does)"
    );
    let target = out.join(format!("{name}.js"));
    let status = Command::new(esbuild)
        .arg(dir.join("workers").join(format!("{name}.js")))
        .args(["--bundle", "--format=esm", "--log-level=warning"])
        .arg(format!("--outfile={}", target.display()))
        .current_dir(&dir)
        .status()
        .expect("esbuild runs");
    assert!(status.success(), "esbuild failed for {name}");
    target
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
