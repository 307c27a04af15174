//! Helpers for the runtime suite: load inline apps, send requests, read answers.

use crate::support::fresh_name;
use nano::core::{AppName, AppSpec, EnvValue, Limits, TenantId};
use nano::ports::{AppRuntime, AppVersion, Body, RuntimeError};
use std::collections::BTreeMap;
use std::sync::Arc;

pub type Rt = Arc<dyn AppRuntime>;

pub fn spec(name: &str, env: &[(&str, EnvValue)], limits: Limits) -> AppSpec {
    AppSpec {
        name: AppName::parse(name).unwrap(),
        tenant: TenantId::parse(&fresh_name("t")).unwrap(),
        hostnames: Vec::new(),
        entry: "index.js".into(),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        limits,
        bindings: BTreeMap::new(),
        engine: None,
        outbound: Default::default(),
    }
}

pub fn version(spec: AppSpec, files: &[(&str, &str)]) -> AppVersion {
    AppVersion {
        spec,
        modules: files
            .iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect::<BTreeMap<_, _>>(),
        bindings: Default::default(),
    }
}

/// Loads a one-file app with default limits and returns its name.
pub async fn app(rt: &Rt, src: &str) -> AppName {
    app_with(rt, src, &[], Limits::default()).await
}

pub async fn app_with(rt: &Rt, src: &str, env: &[(&str, EnvValue)], limits: Limits) -> AppName {
    let name = fresh_name("app");
    let s = spec(&name, env, limits);
    let app = s.name.clone();
    rt.load(version(s, &[("index.js", src)])).await.unwrap();
    app
}

/// Loads app `name` (default limits) from `files`, which must fail; returns the error.
pub async fn load_err(rt: &Rt, name: &str, files: &[(&str, &str)]) -> RuntimeError {
    rt.load(version(spec(name, &[], Limits::default()), files))
        .await
        .expect_err("the load should fail")
}

pub fn text(s: &str) -> EnvValue {
    EnvValue::Text(s.to_string())
}

pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub async fn send(
    rt: &Rt,
    app: &AppName,
    req: http::Request<Body>,
) -> Result<Answer, RuntimeError> {
    let res = tokio::time::timeout(std::time::Duration::from_secs(30), rt.dispatch(app, req))
        .await
        .expect("dispatch timed out")?;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.expect("body");
    Ok(Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

pub fn get_req(path: &str) -> http::Request<Body> {
    http::Request::builder()
        .uri(format!("http://example.test{path}"))
        .header("host", "example.test")
        .body(Body::empty())
        .unwrap()
}

pub async fn get(rt: &Rt, app: &AppName, path: &str) -> Answer {
    send(rt, app, get_req(path))
        .await
        .unwrap_or_else(|e| panic!("GET {path} failed: {e}"))
}

/// Loads an app whose fetch handler evaluates `body` (an async function body returning a JSON-able value) and
/// returns that value.
pub async fn eval_json(rt: &Rt, body: &str) -> serde_json::Value {
    eval_json_with(rt, body, Limits::default()).await
}

/// `eval_json` for an app with these limits.
pub async fn eval_json_with(rt: &Rt, body: &str, limits: Limits) -> serde_json::Value {
    let src = format!(
        "export default {{ async fetch(request, env, ctx) {{ const result = await (async () => {{ {body} }})(); return Response.json(result); }} }};"
    );
    capture_logs();
    let app = app_with(rt, &src, &[], limits).await;
    let a = get(rt, &app, "/").await;
    assert_eq!(a.status, 200, "eval failed: {}", a.body);
    // The Web API glue handles its own promises: nothing it does internally is reported as unhandled.
    let unhandled: Vec<_> = logs_of(app.as_str())
        .into_iter()
        .filter(|f| {
            f["message"]
                .as_str()
                .is_some_and(|m| m.contains("unhandled promise rejection"))
        })
        .collect();
    assert!(unhandled.is_empty(), "{unhandled:#?}");
    a.json()
}

/// Every log record of this test process, as JSON lines (installed once as the global subscriber).
fn log_buffer() -> &'static std::sync::Mutex<Vec<u8>> {
    static BUF: std::sync::OnceLock<&'static std::sync::Mutex<Vec<u8>>> =
        std::sync::OnceLock::new();
    BUF.get_or_init(|| {
        let buf: &'static std::sync::Mutex<Vec<u8>> =
            Box::leak(Box::new(std::sync::Mutex::new(Vec::new())));
        struct W(&'static std::sync::Mutex<Vec<u8>>);
        impl std::io::Write for W {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let _ = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || W(buf))
            .try_init();
        buf
    })
}

/// Starts capturing logs (call before the app runs).
pub fn capture_logs() {
    log_buffer();
}

/// The `fields` of every record naming `app`.
pub fn logs_of(app: &str) -> Vec<serde_json::Value> {
    let text = String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["fields"].clone())
        .filter(|f| f["app"] == app)
        .collect()
}

/// Waits (bounded) until some record of `app` satisfies `pred`.
pub async fn wait_for_log(
    app: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    for _ in 0..200 {
        if let Some(v) = logs_of(app).into_iter().find(&pred) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no matching log record for {app}: {:#?}", logs_of(app));
}
