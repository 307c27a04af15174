//! Engine benchmark (not a test): QuickJS and V8 side by side through the runtime port — hello-world requests per
//! second, cold start, RSS per idle app, and a CPU-heavy handler (JSON and crypto.subtle.digest in a loop).
//! Run with `cargo bench --bench engines`; prints a markdown table.

use nano::adapters::js::{quickjs::QuickJs, v8::V8, JsRuntime};
use nano::core::{AppName, AppSpec, Limits, TenantId};
use nano::ports::{AppRuntime, AppVersion, Body};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HELLO: &str = "export default { fetch(req) { return new Response('hello world'); } };";

const HEAVY: &str = r#"export default { async fetch(req) {
  const obj = { items: [] };
  for (let i = 0; i < 200; i++) obj.items.push({ id: i, name: 'item ' + i, tags: ['a', 'b', 'c'], value: i * 1.5 });
  let acc = 0;
  for (let k = 0; k < 40; k++) {
    const text = JSON.stringify(obj);
    const back = JSON.parse(text);
    acc += back.items.reduce((s, it) => s + it.value, 0);
    const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
    acc += new Uint8Array(d)[0];
  }
  let x = 0;
  for (let i = 0; i < 1000000; i++) x = (x + i * 31) % 1000003;
  return Response.json({ acc, x });
} };"#;

fn version(name: &str, src: &str) -> AppVersion {
    AppVersion {
        spec: AppSpec {
            name: AppName::parse(name).unwrap(),
            tenant: TenantId::parse("bench").unwrap(),
            hostnames: Vec::new(),
            entry: "index.js".into(),
            env: Default::default(),
            limits: Limits {
                cpu_ms: 60_000,
                wall_ms: 120_000,
                ..Limits::default()
            },
            engine: None,
            bindings: Default::default(),
            outbound: Default::default(),
        },
        modules: [("index.js".to_string(), src.to_string())].into(),
        bindings: Default::default(),
    }
}

fn request() -> http::Request<Body> {
    http::Request::builder()
        .uri("http://bench.test/")
        .body(Body::empty())
        .unwrap()
}

async fn hit(rt: &Arc<dyn AppRuntime>, app: &AppName) -> bytes::Bytes {
    let res = rt.dispatch(app, request()).await.unwrap();
    assert_eq!(res.status(), 200);
    res.into_body().collect().await.unwrap()
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

struct Figures {
    rps: f64,
    load_ms: f64,
    first_ms: f64,
    rss_kb: f64,
    heavy_ms: f64,
}

async fn measure(rt: Arc<dyn AppRuntime>) -> Figures {
    let e = rt.engine();
    // Hello world: one app, 16 requests in flight, 3 s.
    let one = AppName::parse(&format!("{e}-hello")).unwrap();
    rt.load(version(one.as_str(), HELLO)).await.unwrap();
    hit(&rt, &one).await;
    let deadline = Instant::now() + Duration::from_secs(3);
    let started = Instant::now();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (rt, app) = (rt.clone(), one.clone());
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    hit(&rt, &app).await;
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let rps = total as f64 / started.elapsed().as_secs_f64();

    // Cold start: load (compile + trial start) and the first request of apps never seen before.
    let (mut loads, mut firsts) = (Vec::new(), Vec::new());
    for i in 0..30 {
        let app = AppName::parse(&format!("{e}-cold-{i}")).unwrap();
        let t = Instant::now();
        rt.load(version(app.as_str(), HELLO)).await.unwrap();
        loads.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        hit(&rt, &app).await;
        firsts.push(t.elapsed().as_secs_f64() * 1000.0);
    }

    // RSS per idle app: growth over 100 loaded-and-warmed apps.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kb();
    let n = 100;
    for i in 0..n {
        let app = AppName::parse(&format!("{e}-idle-{i}")).unwrap();
        rt.load(version(app.as_str(), HELLO)).await.unwrap();
        hit(&rt, &app).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss = rss_kb().saturating_sub(before) as f64 / n as f64;

    // CPU-heavy handler: median of 10 requests after 2 warm-ups.
    let heavy = AppName::parse(&format!("{e}-heavy")).unwrap();
    rt.load(version(heavy.as_str(), HEAVY)).await.unwrap();
    let expected = hit(&rt, &heavy).await;
    hit(&rt, &heavy).await;
    let mut times = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        assert_eq!(hit(&rt, &heavy).await, expected);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Figures {
        rps,
        load_ms: median(&mut loads),
        first_ms: median(&mut firsts),
        rss_kb: rss,
        heavy_ms: median(&mut times),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let q = measure(Arc::new(JsRuntime::<QuickJs>::new(0).unwrap())).await;
    let v = measure(Arc::new(JsRuntime::<V8>::new(0).unwrap())).await;
    println!("\n| engines ({threads} worker threads each) | quickjs | v8 | v8 vs quickjs |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| hello world, 1 app, 16 in flight | {:.0} req/s | {:.0} req/s | {:.2}x |",
        q.rps,
        v.rps,
        v.rps / q.rps
    );
    println!(
        "| cold start: load (compile + trial start), median | {:.2} ms | {:.2} ms | {:.2}x |",
        q.load_ms,
        v.load_ms,
        q.load_ms / v.load_ms
    );
    println!(
        "| cold start: first request (new isolate from code cache), median | {:.2} ms | {:.2} ms | {:.2}x |",
        q.first_ms,
        v.first_ms,
        q.first_ms / v.first_ms
    );
    println!(
        "| RSS per idle app (100 apps) | {:.0} KB | {:.0} KB | {:.2}x |",
        q.rss_kb,
        v.rss_kb,
        q.rss_kb / v.rss_kb.max(1.0)
    );
    println!(
        "| CPU-heavy handler (JSON + SHA-256 digest loop), median | {:.1} ms | {:.1} ms | {:.2}x faster |",
        q.heavy_ms,
        v.heavy_ms,
        q.heavy_ms / v.heavy_ms
    );
}
