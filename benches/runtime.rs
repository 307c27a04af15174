//! Runtime benchmark (not a test): hello-world requests/second through the runtime port, cold start of never-loaded
//! apps, and resident memory per idle app. Run with `cargo bench --bench runtime`; prints a markdown table.

use nano::adapters::js::{quickjs::QuickJs, JsRuntime};
use nano::core::{AppName, AppSpec, Limits, TenantId};
use nano::ports::{AppRuntime, AppVersion, Body};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HELLO: &str = "export default { fetch(req) { return new Response('hello world'); } };";

fn version(name: &str, src: &str) -> AppVersion {
    AppVersion {
        spec: AppSpec {
            name: AppName::parse(name).unwrap(),
            tenant: TenantId::parse("bench").unwrap(),
            hostnames: Vec::new(),
            entry: "index.js".into(),
            env: Default::default(),
            limits: Limits::default(),
            bindings: Default::default(),
            engine: None,
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

async fn hit(rt: &Arc<dyn AppRuntime>, app: &AppName) {
    let res = rt.dispatch(app, request()).await.unwrap();
    let body = res.into_body().collect().await.unwrap();
    assert_eq!(body.as_ref(), b"hello world");
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

/// Requests/second over `secs` with `concurrency` requests in flight, spread over `apps`.
async fn throughput(
    rt: &Arc<dyn AppRuntime>,
    apps: &[AppName],
    concurrency: usize,
    secs: f64,
) -> f64 {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        let rt = rt.clone();
        let app = apps[i % apps.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                hit(&rt, &app).await;
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rt: Arc<dyn AppRuntime> = Arc::new(JsRuntime::<QuickJs>::new(0).unwrap());
    let mut rows = Vec::new();

    // Throughput: one app (one isolate, one thread), then one app per worker thread.
    let one = AppName::parse("hello-0").unwrap();
    rt.load(version(one.as_str(), HELLO)).await.unwrap();
    hit(&rt, &one).await;
    let rps1 = throughput(&rt, std::slice::from_ref(&one), 16, 3.0).await;
    rows.push((
        "hello world, 1 app, 16 in flight".to_string(),
        format!("{rps1:.0} req/s"),
    ));
    let mut many = vec![one.clone()];
    for i in 1..threads {
        let a = AppName::parse(&format!("hello-{i}")).unwrap();
        rt.load(version(a.as_str(), HELLO)).await.unwrap();
        hit(&rt, &a).await;
        many.push(a);
    }
    let rpsn = throughput(&rt, &many, 32, 3.0).await;
    rows.push((
        format!("hello world, {threads} apps on {threads} threads, 32 in flight"),
        format!("{rpsn:.0} req/s"),
    ));

    // Cold start: load (compile) + first request of apps never seen before.
    let (mut loads, mut firsts, mut seconds) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..50 {
        let name = format!("cold-{i}");
        let app = AppName::parse(&name).unwrap();
        let t = Instant::now();
        rt.load(version(&name, HELLO)).await.unwrap();
        loads.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        hit(&rt, &app).await;
        firsts.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        hit(&rt, &app).await;
        seconds.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    rows.push((
        "load (compile to bytecode + trial start), p50 / p95".into(),
        format!(
            "{:.2} / {:.2} ms",
            percentile(&mut loads, 0.5),
            percentile(&mut loads, 0.95)
        ),
    ));
    rows.push((
        "first request (isolate + Web API + module), p50 / p95".into(),
        format!(
            "{:.2} / {:.2} ms",
            percentile(&mut firsts, 0.5),
            percentile(&mut firsts, 0.95)
        ),
    ));
    rows.push((
        "warm request latency, p50 / p95".into(),
        format!(
            "{:.3} / {:.3} ms",
            percentile(&mut seconds, 0.5),
            percentile(&mut seconds, 0.95)
        ),
    ));

    // Memory per idle app: RSS growth over 200 loaded-and-warmed apps, and the JS heap one reports.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kb();
    let n = 200;
    for i in 0..n {
        let name = format!("idle-{i}");
        rt.load(version(&name, HELLO)).await.unwrap();
        hit(&rt, &AppName::parse(&name).unwrap()).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = rss_kb();
    let heap = rt
        .stats(&AppName::parse("idle-0").unwrap())
        .await
        .unwrap()
        .heap_bytes;
    rows.push((
        format!("RSS per idle app ({n} apps)"),
        format!("{:.0} KB", (after.saturating_sub(before)) as f64 / n as f64),
    ));
    rows.push((
        "JS heap of one idle app (allocator count)".into(),
        format!("{:.0} KB", heap as f64 / 1024.0),
    ));

    println!("\n| runtime (quickjs, {threads} worker threads) | result |\n| --- | --- |");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
}
