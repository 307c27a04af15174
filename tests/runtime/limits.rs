//! Limits, isolation and lifecycle: what happens when apps misbehave, and that other apps do not notice.

use crate::harness::*;
use nano::core::{EnvValue, Limits};
use nano::ports::{Body, Limit, RuntimeError};
use serde_json::json;

const COUNTER: &str = r#"let hits = 0;
export default { async fetch(req) {
  const p = new URL(req.url).pathname;
  if (p === '/spin') { while (true) {} }
  if (p === '/bomb') { const keep = []; for (;;) keep.push(new Array(100000).fill(keep.length)); }
  if (p === '/hang') { await new Promise(() => {}); }
  if (p === '/throw') { throw new Error('kaput'); }
  if (p === '/reject') { return Promise.reject(new TypeError('rejected')); }
  if (p === '/notresponse') { return 'a string'; }
  if (p === '/recurse') { const f = (n) => f(n + 1) + 1; return new Response(String(f(0))); }
  hits++;
  return Response.json({ hits });
} };"#;

fn limit_of(r: Result<Answer, RuntimeError>) -> (Limit, serde_json::Value) {
    match r {
        Err(e) => {
            let limit = e
                .limit()
                .unwrap_or_else(|| panic!("not a limit error: {e}"));
            let res = e.to_response();
            assert_eq!(res.status(), limit.status());
            let status = res.status().as_u16();
            let body = futures::executor::block_on(res.into_body().collect()).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["status"], status);
            (limit, v)
        }
        Ok(a) => panic!("expected a limit, got {} {}", a.status, a.body),
    }
}

pub async fn cpu_limit_spares_other_apps(rt: &Rt) {
    let spinner = app(rt, COUNTER).await;
    let other = app(rt, COUNTER).await;
    let (spin, calm) = tokio::join!(send(rt, &spinner, get_req("/spin")), get(rt, &other, "/"));
    let (limit, body) = limit_of(spin);
    assert_eq!(limit, Limit::Cpu);
    assert_eq!(body["ok"], false);
    assert_eq!(body["status"], 503);
    assert_eq!(body["limit"], "cpu");
    assert_eq!(calm.json(), json!({"hits": 1}));
    // The spinning app keeps serving (from a background thread now), with its state.
    assert_eq!(get(rt, &spinner, "/").await.json(), json!({"hits": 1}));
    assert_eq!(get(rt, &spinner, "/").await.json(), json!({"hits": 2}));
}

pub async fn memory_limit_replaces_isolate(rt: &Rt) {
    let limits = Limits {
        memory_mb: 16,
        cpu_ms: 10_000,
        ..Default::default()
    };
    let bomb = app_with(rt, COUNTER, &[], limits).await;
    let other = app(rt, COUNTER).await;
    assert_eq!(get(rt, &bomb, "/").await.json(), json!({"hits": 1}));
    let (limit, body) = limit_of(send(rt, &bomb, get_req("/bomb")).await);
    assert_eq!(limit, Limit::Memory);
    assert_eq!(body["status"], 503);
    assert_eq!(body["limit"], "memory");
    // A fresh isolate: module state starts over.
    assert_eq!(get(rt, &bomb, "/").await.json(), json!({"hits": 1}));
    assert_eq!(get(rt, &other, "/").await.json(), json!({"hits": 1}));
    let stats = rt.stats(&bomb).await.unwrap();
    assert_eq!(stats.terminations.get("memory"), Some(&1));
    assert!(
        stats.heap_bytes > 0 && stats.heap_bytes < 16 * 1024 * 1024,
        "{stats:?}"
    );
}

pub async fn background_work_is_cpu_limited(rt: &Rt) {
    // A timer set at module level belongs to no request; it is still stopped at the CPU limit.
    let app = app(
        rt,
        r#"let fired = 0;
        setTimeout(() => { fired++; while (true) {} }, 0);
        export default { async fetch() { await new Promise((r) => setTimeout(r, 5)); return Response.json({ fired }); } };"#,
    )
    .await;
    let mut last = json!(null);
    for _ in 0..3 {
        last = get(rt, &app, "/").await.json();
    }
    assert_eq!(last, json!({"fired": 1}));
}

pub async fn wall_limit(rt: &Rt) {
    let limits = Limits {
        wall_ms: 300,
        ..Default::default()
    };
    let app = app_with(rt, COUNTER, &[], limits).await;
    let (limit, body) = limit_of(send(rt, &app, get_req("/hang")).await);
    assert_eq!(limit, Limit::Wall);
    assert_eq!(body["status"], 504);
    assert_eq!(body["limit"], "wall");
    assert_eq!(get(rt, &app, "/").await.json(), json!({"hits": 1}));
}

pub async fn subrequest_limit(rt: &Rt) {
    let limits = Limits {
        subrequests: 3,
        ..Default::default()
    };
    let app = app_with(
        rt,
        r#"export default { async fetch() {
            const out = [];
            for (let i = 0; i < 5; i++) {
              try { await fetch('http://127.0.0.1:1/'); out.push('sent'); }
              catch (e) { out.push(e.constructor.name + ':' + (/subrequest limit/.test(e.message) ? 'limit' : 'net')); }
            }
            return Response.json(out);
        } };"#,
        &[],
        limits,
    )
    .await;
    let expected = json!([
        "TypeError:net",
        "TypeError:net",
        "TypeError:net",
        "TypeError:limit",
        "TypeError:limit"
    ]);
    assert_eq!(get(rt, &app, "/").await.json(), expected);
    // The count is per request.
    assert_eq!(get(rt, &app, "/").await.json(), expected);
}

pub async fn request_signal_aborts_when_the_request_ends(rt: &Rt) {
    let limits = Limits {
        wall_ms: 300,
        ..Default::default()
    };
    let app = app_with(
        rt,
        r#"const aborted = {};
        export default { async fetch(req) {
            const p = new URL(req.url).pathname;
            if (p === '/seen') return Response.json(aborted);
            req.signal.addEventListener('abort', () => { aborted[p] = req.signal.reason.name + ': ' + req.signal.reason.message; });
            await new Promise(() => {});
        } };"#,
        &[],
        limits,
    )
    .await;
    // Past the wall limit.
    let (limit, _) = limit_of(send(rt, &app, get_req("/wall")).await);
    assert_eq!(limit, Limit::Wall);
    // A client that gives up: dropping the dispatch future closes the reply channel.
    let gave_up = tokio::time::timeout(
        std::time::Duration::from_millis(50),
        rt.dispatch(&app, get_req("/gone")),
    )
    .await;
    assert!(gave_up.is_err());
    let mut seen = json!({});
    for _ in 0..100 {
        seen = get(rt, &app, "/seen").await.json();
        if seen.get("/gone").is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        seen["/wall"],
        "AbortError: wall limit exceeded: request ran past its wall-time limit"
    );
    assert_eq!(seen["/gone"], "AbortError: the client went away");
}

pub async fn request_body_limit(rt: &Rt) {
    let limits = Limits {
        request_body_bytes: 1000,
        ..Default::default()
    };
    let app = app_with(
        rt,
        r#"globalThis.ran = 0;
        export default { async fetch(req) {
            if (req.method === 'GET') return Response.json({ ran: globalThis.ran });
            globalThis.ran++;
            try { const t = await req.text(); return new Response('read ' + t.length); }
            catch (e) { return new Response('body error: ' + e.message, { status: 400 }); }
        } };"#,
        &[],
        limits,
    )
    .await;
    let big = http::Request::builder()
        .method("POST")
        .uri("http://example.test/")
        .header("content-length", "5000")
        .body(Body::from_bytes(vec![0u8; 5000]))
        .unwrap();
    let (limit, body) = limit_of(send(rt, &app, big).await);
    assert_eq!(limit, Limit::RequestBody);
    assert_eq!(body["status"], 413);
    assert_eq!(get(rt, &app, "/").await.json(), json!({"ran": 0}));
    // Without a declared length the stream itself stops at the limit.
    let chunked = http::Request::builder()
        .method("POST")
        .uri("http://example.test/")
        .body(Body::from_stream(futures::stream::iter((0..10).map(
            |_| Ok::<_, nano::ports::BodyError>(bytes::Bytes::from(vec![1u8; 500])),
        ))))
        .unwrap();
    let a = send(rt, &app, chunked).await.unwrap();
    assert_eq!(a.status, 400);
    assert!(a.body.contains("over 1000 bytes"), "{}", a.body);
    let ok = http::Request::builder()
        .method("POST")
        .uri("http://example.test/")
        .body(Body::from_bytes(vec![b'a'; 999]))
        .unwrap();
    assert_eq!(send(rt, &app, ok).await.unwrap().body, "read 999");
}

pub async fn env_limits_name_app_and_var(rt: &Rt) {
    let limits = Limits {
        env_var_bytes: 10,
        env_vars: 2,
        ..Default::default()
    };
    let s = spec(
        "envy",
        &[
            ("SMALL", text("ok")),
            ("HUGE", text("this is far too long")),
        ],
        limits.clone(),
    );
    let err = rt
        .load(version(s, &[("index.js", COUNTER)]))
        .await
        .unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Env));
    let msg = err.to_string();
    assert!(msg.contains("envy") && msg.contains("HUGE"), "{msg}");
    let s = spec(
        "crowded",
        &[("A", text("1")), ("B", text("2")), ("C", text("3"))],
        limits,
    );
    let msg = rt
        .load(version(s, &[("index.js", COUNTER)]))
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("crowded") && msg.contains('3'), "{msg}");
}

pub async fn startup_limit(rt: &Rt) {
    let limits = Limits {
        startup_cpu_ms: 50,
        ..Default::default()
    };
    let s = spec("spinup", &[], limits);
    let err = rt
        .load(version(
            s,
            &[(
                "index.js",
                "while (true) {} export default { fetch() { return new Response('never'); } };",
            )],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.limit(), Some(Limit::Startup));
    assert!(err.to_string().contains("spinup"), "{err}");
}

pub async fn load_errors(rt: &Rt) {
    let err = load_err(rt, "broken", &[("index.js", "export default { fetch( { }")]).await;
    assert!(matches!(err, RuntimeError::Load { .. }), "{err}");
    assert!(
        err.to_string().contains("broken") && err.to_string().contains("index.js"),
        "{err}"
    );
    let err = load_err(rt, "noentry", &[("other.js", COUNTER)]).await;
    assert!(err.to_string().contains("index.js"), "{err}");
    // Bare specifiers are not resolved: loading fails, naming the import.
    let bare = "import x from 'lodash'; export default { fetch() { return new Response(x); } };";
    let err = load_err(rt, "bare", &[("index.js", bare)]).await;
    assert!(err.to_string().contains("lodash"), "{err}");
    let err = load_err(rt, "nodefault", &[("index.js", "export const x = 1;")]).await;
    assert!(err.to_string().contains("default export"), "{err}");
    let throws = "throw new Error('top-level boom'); export default {};";
    let err = load_err(rt, "throws", &[("index.js", throws)]).await;
    assert!(err.to_string().contains("top-level boom"), "{err}");
}

pub async fn env_isolation(rt: &Rt) {
    let src = r#"export default { async fetch(req, env) {
        const seen = globalThis.mark; globalThis.mark = env.NAME;
        return Response.json({ name: env.NAME, cfg: env.CFG, seen: seen ?? null, keys: Object.keys(env).sort() });
    } };"#;
    let a = app_with(
        rt,
        src,
        &[
            ("NAME", text("alpha")),
            ("CFG", EnvValue::Json(json!({"n": 1}))),
        ],
        Limits::default(),
    )
    .await;
    let b = app_with(rt, src, &[("NAME", text("beta"))], Limits::default()).await;
    assert_eq!(
        get(rt, &a, "/").await.json(),
        json!({"name":"alpha","cfg":{"n":1},"seen":null,"keys":["CFG","NAME"]})
    );
    assert_eq!(
        get(rt, &b, "/").await.json(),
        json!({"name":"beta","seen":null,"keys":["NAME"]})
    );
    assert_eq!(get(rt, &a, "/").await.json()["seen"], "alpha");
}

pub async fn wait_until_runs_after_response(rt: &Rt) {
    let app = app(
        rt,
        r#"let done = [];
        export default { async fetch(req, env, ctx) {
            if (new URL(req.url).pathname === '/check') return Response.json(done);
            ctx.waitUntil(new Promise((r) => setTimeout(r, 50)).then(() => done.push('late')));
            ctx.waitUntil(Promise.reject(new Error('ignored')));
            ctx.passThroughOnException();
            return new Response('early');
        } };"#,
    )
    .await;
    assert_eq!(get(rt, &app, "/").await.body, "early");
    let mut seen = json!([]);
    for _ in 0..200 {
        seen = get(rt, &app, "/check").await.json();
        if seen != json!([]) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(seen, json!(["late"]));
}

pub async fn exceptions_give_500_and_isolate_survives(rt: &Rt) {
    let app = app(rt, COUNTER).await;
    assert_eq!(get(rt, &app, "/").await.json(), json!({"hits": 1}));
    for path in ["/throw", "/reject", "/notresponse", "/recurse"] {
        let err = send(rt, &app, get_req(path))
            .await
            .err()
            .expect("must fail");
        assert!(matches!(err, RuntimeError::Exception(_)), "{path}: {err}");
        let res = err.to_response();
        assert_eq!(res.status(), 500);
    }
    let err = send(rt, &app, get_req("/throw")).await.err().unwrap();
    assert!(err.to_string().contains("kaput"), "{err}");
    assert_eq!(get(rt, &app, "/").await.json(), json!({"hits": 2}));
}

pub async fn concurrent_requests_interleave_in_one_isolate(rt: &Rt) {
    let app = app(
        rt,
        r#"let inFlight = 0, most = 0;
        export default { async fetch(req) {
            const n = Number(new URL(req.url).searchParams.get('n'));
            inFlight++; most = Math.max(most, inFlight);
            await new Promise((r) => setTimeout(r, 20 + (n % 5)));
            const body = await req.text();
            inFlight--;
            return Response.json({ n, body, overlapped: most > 1 });
        } };"#,
    )
    .await;
    let calls = (0..40).map(|n| {
        let req = http::Request::builder()
            .method("POST")
            .uri(format!("http://example.test/?n={n}"))
            .body(Body::from_bytes(format!("body {n}")))
            .unwrap();
        send(rt, &app, req)
    });
    let answers = futures::future::join_all(calls).await;
    let mut overlapped = false;
    for (n, a) in answers.into_iter().enumerate() {
        let v = a.unwrap().json();
        assert_eq!(v["n"], n);
        assert_eq!(v["body"], format!("body {n}"));
        overlapped |= v["overlapped"] == true;
    }
    assert!(
        overlapped,
        "requests awaiting timers should overlap in the isolate"
    );
}

pub async fn reload_lets_in_flight_requests_finish(rt: &Rt) {
    let s = spec(&crate::support::fresh_name("app"), &[], Limits::default());
    let name = s.name.clone();
    let v = |tag: &str| {
        format!("export default {{ async fetch(req) {{ if (new URL(req.url).pathname === '/slow') await new Promise((r) => setTimeout(r, 300)); return new Response('{tag}'); }} }};")
    };
    rt.load(version(s.clone(), &[("index.js", &v("old"))]))
        .await
        .unwrap();
    assert_eq!(get(rt, &name, "/").await.body, "old");
    let slow = {
        let rt = rt.clone();
        let name = name.clone();
        tokio::spawn(async move { send(&rt, &name, get_req("/slow")).await.map(|a| a.body) })
    };
    // Once counted, the slow request is on its way to the old version, whatever is loaded next.
    while rt.stats(&name).await.unwrap().requests < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    rt.load(version(s, &[("index.js", &v("new"))]))
        .await
        .unwrap();
    assert_eq!(get(rt, &name, "/").await.body, "new");
    assert_eq!(slow.await.unwrap().unwrap(), "old");
}

pub async fn unload_and_reload(rt: &Rt) {
    let s = spec(&crate::support::fresh_name("app"), &[], Limits::default());
    let name = s.name.clone();
    rt.load(version(
        s.clone(),
        &[(
            "index.js",
            "export default { fetch() { return new Response('v1'); } };",
        )],
    ))
    .await
    .unwrap();
    assert_eq!(get(rt, &name, "/").await.body, "v1");
    rt.load(version(
        s.clone(),
        &[(
            "index.js",
            "export default { fetch() { return new Response('v2'); } };",
        )],
    ))
    .await
    .unwrap();
    assert_eq!(get(rt, &name, "/").await.body, "v2");
    // A version that fails to load (syntax, or throwing while it starts) leaves the previous one serving.
    assert!(rt
        .load(version(s.clone(), &[("index.js", "export default {")]))
        .await
        .is_err());
    assert!(rt
        .load(version(s, &[("index.js", "null.x; export default {};")]))
        .await
        .is_err());
    assert_eq!(get(rt, &name, "/").await.body, "v2");
    rt.unload(&name).await.unwrap();
    assert!(matches!(
        send(rt, &name, get_req("/")).await.err(),
        Some(RuntimeError::NotLoaded(_))
    ));
}

pub async fn logs_name_app_tenant_and_request(rt: &Rt) {
    capture_logs();
    let limits = Limits {
        cpu_ms: 50,
        ..Default::default()
    };
    let s = spec(&crate::support::fresh_name("app"), &[], limits);
    let (name, tenant) = (s.name.clone(), s.tenant.to_string());
    rt.load(version(
        s,
        &[(
            "index.js",
            r#"export default { async fetch(req, env, ctx) {
                const p = new URL(req.url).pathname;
                if (p === '/spin') { while (true) {} }
                console.log('hello %s', 'logs', { n: 1 });
                console.error(new Error('shown with stack'));
                Promise.reject(new Error('floating'));
                ctx.waitUntil(Promise.reject(new Error('in waitUntil')));
                return new Response('ok');
            } };"#,
        )],
    ))
    .await
    .unwrap();
    assert_eq!(get(rt, &name, "/").await.body, "ok");
    let app = name.as_str();
    let hello = wait_for_log(app, |f| f["message"] == "hello logs { n: 1 }").await;
    assert_eq!(hello["tenant"], tenant.as_str());
    assert_ne!(hello["request_id"], "-");
    wait_for_log(app, |f| {
        f["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Error: shown with stack"))
    })
    .await;
    wait_for_log(app, |f| {
        f["message"]
            .as_str()
            .is_some_and(|m| m.contains("unhandled promise rejection: floating"))
    })
    .await;
    wait_for_log(app, |f| {
        f["message"]
            .as_str()
            .is_some_and(|m| m.contains("waitUntil rejected") && m.contains("in waitUntil"))
    })
    .await;
    let _ = send(rt, &name, get_req("/spin")).await;
    let term = wait_for_log(app, |f| f["limit"] == "cpu").await;
    assert_eq!(term["tenant"], tenant.as_str());
}

/// `app`'s live isolates, read every 10 ms until there are none or `within` has passed.
async fn isolates_once_gone(
    rt: &Rt,
    app: &nano::core::AppName,
    within: std::time::Duration,
) -> u64 {
    let until = std::time::Instant::now() + within;
    loop {
        let isolates = rt.stats(app).await.unwrap().isolates;
        if isolates == 0 || std::time::Instant::now() >= until {
            return isolates;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

pub async fn live_isolates_stay_under_the_cap(make: fn(nano::adapters::js::RuntimeOptions) -> Rt) {
    let rt = make(nano::adapters::js::RuntimeOptions {
        threads: 1,
        max_isolates: 2,
        ..Default::default()
    });
    let mut apps = Vec::new();
    for _ in 0..3 {
        let a = app(&rt, COUNTER).await;
        assert_eq!(get(&rt, &a, "/").await.json(), json!({"hits": 1}));
        assert_eq!(get(&rt, &a, "/").await.json(), json!({"hits": 2}));
        apps.push(a);
    }
    let mut live = 0;
    for a in &apps {
        live += rt.stats(a).await.unwrap().isolates;
    }
    assert_eq!(live, 2, "live isolates of 3 apps under a cap of 2");
    // The first app's isolate was the least recently used: it was evicted, and comes back with fresh module state.
    assert_eq!(rt.stats(&apps[0]).await.unwrap().isolates, 0);
    assert_eq!(get(&rt, &apps[0], "/").await.json(), json!({"hits": 1}));
}

pub async fn idle_isolates_are_evicted(make: fn(nano::adapters::js::RuntimeOptions) -> Rt) {
    let rt = make(nano::adapters::js::RuntimeOptions {
        threads: 1,
        idle_evict: std::time::Duration::from_millis(100),
        ..Default::default()
    });
    let app = app(&rt, COUNTER).await;
    assert_eq!(get(&rt, &app, "/").await.json(), json!({"hits": 1}));
    let isolates = isolates_once_gone(&rt, &app, std::time::Duration::from_secs(5)).await;
    assert_eq!(isolates, 0, "the idle isolate was not evicted");
    // The next request re-creates it from the cached bytecode, with fresh module state.
    assert_eq!(get(&rt, &app, "/").await.json(), json!({"hits": 1}));
}

pub async fn stats_count_requests_and_terminations(rt: &Rt) {
    let app = app(rt, COUNTER).await;
    for _ in 0..3 {
        get(rt, &app, "/").await;
    }
    let _ = send(rt, &app, get_req("/spin")).await;
    let s = rt.stats(&app).await.unwrap();
    assert_eq!(s.requests, 4);
    assert_eq!(s.isolates, 1);
    assert_eq!(s.terminations.get("cpu"), Some(&1));
    assert!(s.cpu_micros >= 50_000, "{s:?}");
    assert!(s.heap_bytes > 0);
    assert!(["quickjs", "v8"].contains(&rt.engine()), "{}", rt.engine());
}

pub async fn requests_queued_before_an_app_turned_long_are_handed_on(
    make: fn(nano::adapters::js::RuntimeOptions) -> Rt,
) {
    let rt = make(nano::adapters::js::RuntimeOptions {
        threads: 1,
        ..Default::default()
    });
    let app = app(&rt, COUNTER).await;
    assert_eq!(get(&rt, &app, "/").await.json(), json!({"hits": 1}));
    // A spin, and two requests sent while it runs: the app has no long turn yet, so they queue behind it on the
    // one foreground thread. The spin shows the app's turns run long; the two are then handed to the background
    // thread, where a new isolate counts them from 1 (in the first isolate they would count on from 1).
    let spin = {
        let (rt, app) = (rt.clone(), app.clone());
        tokio::spawn(async move { send(&rt, &app, get_req("/spin")).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let queued: Vec<_> = (0..2)
        .map(|_| {
            let (rt, app) = (rt.clone(), app.clone());
            tokio::spawn(async move { get(&rt, &app, "/").await.json()["hits"].as_u64() })
        })
        .collect();
    assert_eq!(limit_of(spin.await.unwrap()).0, Limit::Cpu);
    let mut hits = Vec::new();
    for q in queued {
        hits.push(q.await.unwrap().unwrap());
    }
    hits.sort();
    assert_eq!(hits, vec![1, 2], "hits of the queued requests");
    assert_eq!(rt.stats(&app).await.unwrap().isolates, 2);
}

pub async fn long_turns_spread_but_never_hold_every_thread(
    make: fn(nano::adapters::js::RuntimeOptions) -> Rt,
) {
    let rt = make(nano::adapters::js::RuntimeOptions {
        threads: 8,
        ..Default::default()
    });
    let limits = Limits {
        cpu_ms: 400,
        ..Default::default()
    };
    let spinner = app_with(&rt, COUNTER, &[], limits).await;
    // Under one-thread-per-app pinning this app would share the spinner's thread.
    for _ in 0..7 {
        app(&rt, COUNTER).await;
    }
    let other = app(&rt, COUNTER).await;
    let mut spins = Vec::new();
    for _ in 0..4 {
        let (rt, spinner) = (rt.clone(), spinner.clone());
        spins.push(tokio::spawn(async move {
            send(&rt, &spinner, get_req("/spin")).await
        }));
        // Let the turn start, so that the next request sees a thread held by a long turn.
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    // Threads held by its long turns send the spinner's requests to new isolates on the background threads, up to
    // half of them ((4 - 1) / 2, at least 1); then they queue behind its own turns.
    let isolates = rt.stats(&spinner).await.unwrap().isolates;
    assert!((1..=3).contains(&isolates), "spinner isolates: {isolates}");
    // Another app is served meanwhile, on threads the spinner does not hold.
    for _ in 0..3 {
        let hits = get(&rt, &other, "/").await.json()["hits"].as_u64();
        assert!(hits.is_some_and(|n| n >= 1), "{hits:?}");
    }
    let done = spins.iter().filter(|s| s.is_finished()).count();
    assert_eq!(done, 0, "the other app waited for the spinning one");
    // Removing the app drains its isolates on every thread that holds one.
    rt.unload(&spinner).await.unwrap();
    for s in spins {
        assert_eq!(limit_of(s.await.unwrap()).0, Limit::Cpu);
    }
    // A spin still queued at unload may have been handed on to a background thread and run in an isolate made
    // there, which goes once its request is answered: just after the reply, not before.
    let isolates = isolates_once_gone(&rt, &spinner, std::time::Duration::from_secs(2)).await;
    assert_eq!(isolates, 0, "the drained app kept an isolate");
}

/// The nice value in a /proc `stat` file (field 19; fields are counted after the parenthesised name).
fn nice_in(stat: &std::path::Path) -> i64 {
    let stat = std::fs::read_to_string(stat).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    rest.split(' ').nth(16).unwrap().parse().unwrap()
}

/// Nice values of this process's threads whose name has `kind` (`-js-`, `-bg-` or `-watchdo`, as a thread name is
/// cut to 15 bytes) in it; worker threads (`-js-`, `-bg-`) leave out their watchdogs.
fn thread_nice(kind: &str) -> Vec<i64> {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap().flatten();
    let named = |c: &str| c.contains(kind) && (kind == "-watchdo" || !c.contains("-watchdo"));
    tasks
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| named(&c)))
        .map(|t| nice_in(&t.path().join("stat")))
        .collect()
}

pub async fn long_turn_apps_move_to_background_threads(
    make: fn(nano::adapters::js::RuntimeOptions) -> Rt,
) {
    let rt = make(nano::adapters::js::RuntimeOptions {
        threads: 1,
        ..Default::default()
    });
    let spinner = app(&rt, COUNTER).await;
    let calm = app(&rt, COUNTER).await;
    assert_eq!(get(&rt, &spinner, "/").await.json(), json!({"hits": 1}));
    assert_eq!(
        limit_of(send(&rt, &spinner, get_req("/spin")).await).0,
        Limit::Cpu
    );
    // Its turns are long now: the next request runs in a new isolate on the background thread, and the first
    // isolate, which survived its CPU limit, stays where it was.
    assert_eq!(get(&rt, &spinner, "/").await.json(), json!({"hits": 1}));
    assert_eq!(rt.stats(&spinner).await.unwrap().isolates, 2);
    assert_eq!(get(&rt, &calm, "/").await.json(), json!({"hits": 1}));
    assert_eq!(rt.stats(&calm).await.unwrap().isolates, 1);
    // Short turns bring the average down again, and the app goes back to its first isolate (hits 2 there).
    let mut hits = vec![1];
    while hits.len() < 200 && hits.windows(2).all(|w| w[1] == w[0] + 1) {
        hits.push(
            get(&rt, &spinner, "/").await.json()["hits"]
                .as_u64()
                .unwrap(),
        );
    }
    assert_eq!(hits.last(), Some(&2), "hits: {hits:?}");
    // Background threads run at the lowest priority, the others at the process's own.
    let own = nice_in(std::path::Path::new("/proc/thread-self/stat"));
    let (bg, fg) = (thread_nice("-bg-"), thread_nice("-js-"));
    assert!(
        !bg.is_empty() && bg.iter().all(|&n| n == 19),
        "background: {bg:?}"
    );
    assert!(
        !fg.is_empty() && fg.iter().all(|&n| n == own),
        "foreground: {fg:?}, own {own}"
    );
    // V8's CPU watchdogs, one per worker thread that ran JS, keep the process's own priority on every kind.
    let watchdogs = thread_nice("-watchdo");
    assert!(
        watchdogs.iter().all(|&n| n == own),
        "watchdogs: {watchdogs:?}, own {own}"
    );
}
