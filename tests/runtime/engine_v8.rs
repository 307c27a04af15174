//! V8-only behaviours: isolates created and dropped from every worker thread at once, isolates started from the
//! startup snapshot that share none of its state, and heap limits that end the request (never the process).

use crate::harness::*;
use nano::adapters::js::{v8::V8, JsRuntime, RuntimeOptions};
use nano::core::Limits;
use nano::ports::RuntimeError;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const COUNTER: &str = r#"let hits = 0;
export default { async fetch(req) {
  const p = new URL(req.url).pathname;
  if (p === '/objects') { const keep = []; for (;;) keep.push({ a: keep.length, b: [keep.length] }); }
  if (p === '/strings') { const keep = []; for (let i = 0; ; i++) keep.push('s'.repeat(1000) + i); }
  if (p === '/map') { const m = new Map(); for (let i = 0; ; i++) m.set(i, new Float64Array(64)); }
  hits += 1;
  return Response.json({ hits });
} };"#;

fn runtime(threads: usize, idle_evict: Duration) -> Rt {
    Arc::new(
        JsRuntime::<V8>::with_options(RuntimeOptions {
            threads,
            idle_evict,
            max_isolates: 0,
            ..Default::default()
        })
        .expect("v8 runtime"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn isolates_are_created_and_dropped_on_every_thread_at_once() {
    // Idle isolates are evicted at once, so every request creates and drops an isolate on its worker thread.
    let rt = runtime(4, Duration::ZERO);
    let apps = futures::future::join_all((0..8).map(|_| app(&rt, COUNTER))).await;
    for _round in 0..5 {
        let answers = futures::future::join_all(apps.iter().map(|a| get(&rt, a, "/"))).await;
        for a in answers {
            assert_eq!(
                a.json(),
                json!({"hits": 1}),
                "each request had a fresh isolate"
            );
        }
    }
    // And a second runtime's threads, started while the first one's are busy.
    let rt2 = runtime(4, Duration::ZERO);
    let more = futures::future::join_all((0..4).map(|_| app(&rt2, COUNTER))).await;
    let both = futures::future::join_all(
        apps.iter()
            .map(|a| (rt.clone(), a.clone()))
            .chain(more.iter().map(|a| (rt2.clone(), a.clone())))
            .map(|(rt, a)| async move { get(&rt, &a, "/").await.json() }),
    )
    .await;
    assert!(both.iter().all(|v| v == &json!({"hits": 1})), "{both:?}");
}

/// Reports what must differ between isolates made from the snapshot, and changes the glue's globals (which must not
/// reach another isolate).
const FRESH: &str = r#"const seen = { prior: typeof globalThis.touched, priorHeaders: Headers.prototype.touched };
globalThis.touched = 1;
Headers.prototype.touched = 1;
const originAtStart = performance.timeOrigin;
export default { fetch() {
  return Response.json({ ...seen, origin: performance.timeOrigin, originAtStart, now: Date.now(), since: performance.now(),
    uuid: crypto.randomUUID(), random: Math.random(), bytes: Array.from(crypto.getRandomValues(new Uint8Array(16))) });
} };"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolates_from_the_snapshot_have_their_own_clock_randomness_and_globals() {
    let rt = runtime(2, Duration::from_secs(300));
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64;
    let first = app(&rt, FRESH).await;
    let a = get(&rt, &first, "/").await.json();
    // Later than the first isolate's origin by a clear margin (the clock's resolution is 1 ms).
    tokio::time::sleep(Duration::from_millis(30)).await;
    let second = app(&rt, FRESH).await;
    let b = get(&rt, &second, "/").await.json();
    for v in [&a, &b] {
        assert_eq!(v["prior"], json!("undefined"), "{v}");
        assert_eq!(v["priorHeaders"], json!(null), "{v}");
        let origin = v["origin"].as_f64().unwrap();
        assert_eq!(v["originAtStart"].as_f64().unwrap(), origin, "{v}");
        // The origin is this isolate's start: not before the test began, and now = origin + performance.now().
        assert!(
            origin + 1.0 >= started,
            "origin {origin} before the test began at {started}"
        );
        let drift = (origin + v["since"].as_f64().unwrap() - v["now"].as_f64().unwrap()).abs();
        assert!(drift < 50.0, "{v}");
    }
    assert!(
        b["origin"].as_f64().unwrap() > a["origin"].as_f64().unwrap() + 10.0,
        "{a} {b}"
    );
    for k in ["uuid", "random", "bytes"] {
        assert_ne!(a[k], b[k], "{k}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heap_limit_ends_the_request_and_other_apps_keep_serving() {
    // One thread: the other app's isolate lives next to the ones that hit the heap limit (and every request of
    // an app reaches the same isolate, whose state the test follows).
    let rt = runtime(1, Duration::from_secs(300));
    let limits = Limits {
        memory_mb: 16,
        cpu_ms: 20_000,
        wall_ms: 60_000,
        ..Default::default()
    };
    let other = app(&rt, COUNTER).await;
    assert_eq!(get(&rt, &other, "/").await.json(), json!({"hits": 1}));
    for path in ["/objects", "/strings", "/map"] {
        let bomb = app_with(&rt, COUNTER, &[], limits.clone()).await;
        assert_eq!(get(&rt, &bomb, "/").await.json(), json!({"hits": 1}));
        match send(&rt, &bomb, get_req(path)).await {
            Err(RuntimeError::Limit { limit, msg }) => {
                assert_eq!(limit.as_str(), "memory", "{path}: {msg}");
            }
            Err(e) => panic!("{path}: expected the memory limit, got {e}"),
            Ok(a) => panic!(
                "{path}: expected the memory limit, got {} {}",
                a.status, a.body
            ),
        }
        // The isolate was replaced: module state starts over, and the app serves again.
        assert_eq!(get(&rt, &bomb, "/").await.json(), json!({"hits": 1}));
        // The replaced isolate is dropped by its thread after the reply (the new one may live on another thread):
        // read the stats once it is gone, within a bound.
        let until = std::time::Instant::now() + Duration::from_secs(5);
        let mut stats = rt.stats(&bomb).await.unwrap();
        while stats.isolates > 1 && std::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
            stats = rt.stats(&bomb).await.unwrap();
        }
        assert_eq!(stats.terminations.get("memory"), Some(&1), "{path}");
        assert!(stats.heap_bytes < 16 * 1024 * 1024, "{path}: {stats:?}");
    }
    // The other app kept its isolate and its state throughout.
    assert_eq!(get(&rt, &other, "/").await.json(), json!({"hits": 2}));
    assert_eq!(get(&rt, &other, "/").await.json(), json!({"hits": 3}));
    assert_eq!(rt.engine(), "v8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_compiled_one_after_another_on_one_thread_keep_their_own_code() {
    // One worker thread means one background thread: every version below is compiled in the same compiler isolate.
    let rt = runtime(1, Duration::from_secs(300));
    let answer =
        |n: u32| format!("export default {{ fetch() {{ return new Response('v{n}'); }} }};");
    let first = app(&rt, &answer(1)).await;
    let err = load_err(
        &rt,
        "brokenmid",
        &[("index.js", "export default { fetch( {")],
    )
    .await;
    assert!(matches!(err, RuntimeError::Load { .. }), "{err}");
    // An import of a module the app does not have fails too, and leaves nothing behind for the next version.
    let files = [("index.js", "import x from './gone.js'; export default x;")];
    let err = load_err(&rt, "missingmid", &files).await;
    assert!(err.to_string().contains("gone.js"), "{err}");
    let second = app(&rt, &answer(2)).await;
    let helper = spec("withhelper", &[], Limits::default());
    let third = helper.name.clone();
    rt.load(version(
        helper,
        &[
            ("index.js", "import { n } from './n.js'; export default { fetch() { return new Response('v' + n); } };"),
            ("n.js", "export const n = 3;"),
        ],
    ))
    .await
    .unwrap();
    assert_eq!(get(&rt, &first, "/").await.body, "v1");
    assert_eq!(get(&rt, &second, "/").await.body, "v2");
    assert_eq!(get(&rt, &third, "/").await.body, "v3");
}

/// `(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))`, compiled both ways:
/// the async compile ends in a task V8 posts for the isolate after the request's turn, which must still run.
const WASM: &str = r#"const bytes = new Uint8Array([0,97,115,109,1,0,0,0,1,7,1,96,2,127,127,1,127,3,2,1,0,7,7,1,3,97,100,100,0,0,
  10,9,1,7,0,32,0,32,1,106,11]);
export default { async fetch() {
  const sync = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.add(2, 3);
  const { instance } = await WebAssembly.instantiate(bytes);
  const compiled = await WebAssembly.compile(bytes);
  return Response.json({ sync, async: instance.exports.add(40, 2), module: WebAssembly.Module.exports(compiled) });
} };"#;

/// The streaming forms take a Response: served as `application/wasm` it compiles; another type, a failed response or
/// a non-Response is refused with a TypeError naming the problem.
const WASM_STREAMING: &str = r#"const bytes = new Uint8Array([0,97,115,109,1,0,0,0,1,7,1,96,2,127,127,1,127,3,2,1,0,7,7,1,3,97,100,100,0,0,
  10,9,1,7,0,32,0,32,1,106,11]);
const wasm = (status = 200, type = 'application/wasm') => new Response(bytes, { status, headers: { 'content-type': type } });
const refusal = (p) => p.then(() => 'accepted', (e) => e.name + ': ' + e.message);
export default { async fetch() {
  const { module, instance } = await WebAssembly.instantiateStreaming(Promise.resolve(wasm()), {});
  const compiled = await WebAssembly.compileStreaming(wasm());
  return Response.json({
    add: instance.exports.add(20, 22),
    module: module instanceof WebAssembly.Module && compiled instanceof WebAssembly.Module,
    wrongType: await refusal(WebAssembly.compileStreaming(wasm(200, 'application/octet-stream'))),
    failed: await refusal(WebAssembly.instantiateStreaming(wasm(404))),
    notResponse: await refusal(WebAssembly.compileStreaming(bytes)),
  });
} };"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webassembly_compiles_and_instantiates_from_a_response() {
    let rt = runtime(1, Duration::from_secs(300));
    let wasm = app(&rt, WASM_STREAMING).await;
    let v = get(&rt, &wasm, "/").await.json();
    assert_eq!(v["add"], 42, "{v}");
    assert_eq!(v["module"], true, "{v}");
    let refused = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    assert!(
        refused("wrongType")
            .starts_with("TypeError: WebAssembly streaming needs Content-Type application/wasm"),
        "{v}"
    );
    assert!(
        refused("failed").contains("ok response, this one is 404"),
        "{v}"
    );
    assert!(refused("notResponse").contains("needs a Response"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_webassembly_compiles_finish_between_turns() {
    let rt = runtime(1, Duration::from_secs(300));
    let wasm = app(&rt, WASM).await;
    for _ in 0..3 {
        assert_eq!(
            get(&rt, &wasm, "/").await.json(),
            json!({"sync": 5, "async": 42, "module": [{"name": "add", "kind": "function"}]})
        );
    }
}
