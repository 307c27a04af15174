//! Hosted apps over HTTP: `[[apps]]` from the config answer for their hostnames; other hosts reach the services.

use crate::support::{client, TestNano};
use nano::app::AppConfig;
use nano::core::{EnvValue, Limits};
use serde_json::{json, Value};

const APP: &str = r#"import { shout } from './lib/shout.js';
export default { async fetch(req, env) {
  const u = new URL(req.url);
  if (u.pathname === '/echo') return new Response(req.body, { headers: { 'x-len': req.headers.get('content-length') || '' } });
  if (u.pathname === '/spin') { while (true) {} }
  return Response.json({ url: req.url, greeting: shout(env.GREETING), method: req.method },
    { headers: { 'access-control-allow-origin': 'https://app.test', 'set-cookie': 'a=1' } });
} };"#;

fn write_app(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(dir.join("index.js"), APP).unwrap();
    std::fs::write(
        dir.join("lib/shout.js"),
        "export const shout = (s) => s.toUpperCase() + '!';",
    )
    .unwrap();
    dir.join("index.js")
}

async fn start() -> (TestNano, tempfile::TempDir) {
    let files = tempfile::tempdir().unwrap();
    let entry = write_app(files.path());
    let nano = TestNano::start_with(|c| {
        c.apps.push(AppConfig {
            name: "hello".into(),
            tenant: "acme".into(),
            hostnames: vec!["hello.test".into(), "*.apps.test".into()],
            entry: entry.clone(),
            env: [("GREETING".to_string(), EnvValue::Text("hi".into()))].into(),
            limits: Limits::default(),
            bindings: Default::default(),
            engine: None,
            triggers: Default::default(),
            outbound: Default::default(),
        });
        c.apps.push(AppConfig {
            name: "other".into(),
            tenant: "beta".into(),
            hostnames: vec!["other.test".into()],
            entry,
            env: [("GREETING".to_string(), EnvValue::Text("yo".into()))].into(),
            limits: Limits::default(),
            bindings: Default::default(),
            // The other app runs on the other engine: one host serves apps on both.
            engine: Some("quickjs".into()),
            triggers: Default::default(),
            outbound: Default::default(),
        });
    })
    .await;
    (nano, files)
}

#[tokio::test]
async fn apps_answer_for_their_hosts_and_other_hosts_reach_the_services() {
    let (nano, _files) = start().await;
    let c = client();
    let res = c
        .get(nano.url("/p?x=1"))
        .header("host", "hello.test:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.test"
    );
    assert_eq!(res.headers()["set-cookie"], "a=1");
    // A body the app gave whole is sent with its length, not chunked.
    assert!(
        res.headers().get("content-length").is_some(),
        "{:?}",
        res.headers()
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"url": "http://hello.test:8080/p?x=1", "greeting": "HI!", "method": "GET"})
    );
    let body: Value = c
        .get(nano.url("/"))
        .header("host", "deep.apps.test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["greeting"], "HI!");
    let body: Value = c
        .get(nano.url("/"))
        .header("host", "other.test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["greeting"], "YO!");
    // A host no app claims gets the services API.
    let body: Value = c
        .get(nano.url("/"))
        .header("host", "apps.test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["name"], "nano");
    nano.stop().await;
}

#[tokio::test]
async fn bodies_stream_through_and_limits_answer_json() {
    let (nano, _files) = start().await;
    let c = client();
    let payload: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let res = c
        .post(nano.url("/echo"))
        .header("host", "hello.test")
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-len"], "2000000");
    assert_eq!(res.bytes().await.unwrap().as_ref(), payload.as_slice());
    let (spin, calm) = tokio::join!(
        c.get(nano.url("/spin")).header("host", "hello.test").send(),
        c.get(nano.url("/")).header("host", "other.test").send()
    );
    let spin = spin.unwrap();
    assert_eq!(spin.status(), 503);
    assert_eq!(spin.headers()["content-type"], "application/json");
    let body: Value = spin.json().await.unwrap();
    assert_eq!(body["ok"], false);
    assert_eq!(body["status"], 503);
    assert_eq!(body["limit"], "cpu");
    assert_eq!(calm.unwrap().status(), 200);
    nano.stop().await;
}
