//! Web API behaviours: each API checked by what it does, through apps driven over the runtime port.

use crate::harness::*;
use futures::StreamExt;
use nano::core::EnvValue;
use nano::ports::Body;
use serde_json::json;

pub async fn hello_world(rt: &Rt) {
    let app = app(
        rt,
        r#"export default { async fetch(req) {
            const h = new Headers({ 'x-one': '1' });
            h.append('set-cookie', 'a=1'); h.append('set-cookie', 'b=2');
            return new Response('hello from nano', { status: 201, headers: h });
        } };"#,
    )
    .await;
    let a = get(rt, &app, "/").await;
    assert_eq!(a.status, 201);
    assert_eq!(a.body, "hello from nano");
    assert_eq!(a.headers["x-one"], "1");
    assert_eq!(a.headers["content-type"], "text/plain;charset=UTF-8");
    let cookies: Vec<_> = a.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
}

pub async fn request_fields(rt: &Rt) {
    let app = app(
        rt,
        r#"export default { async fetch(req) {
            const u = new URL(req.url);
            let immutable = false;
            try { req.headers.set('x', 'y'); } catch (e) { immutable = e instanceof TypeError; }
            return Response.json({ method: req.method, path: u.pathname, q: u.searchParams.get('q'),
              host: req.headers.get('host'), multi: req.headers.get('x-multi'), immutable, body: req.body });
        } };"#,
    )
    .await;
    let req = http::Request::builder()
        .uri("http://example.test/a/b?q=nano%20rt")
        .header("host", "example.test")
        .header("x-multi", "1")
        .header("x-multi", "2")
        .body(Body::empty())
        .unwrap();
    let a = send(rt, &app, req).await.unwrap();
    assert_eq!(
        a.json(),
        json!({"method":"GET","path":"/a/b","q":"nano rt","host":"example.test","multi":"1, 2","immutable":true,"body":null})
    );
}

pub async fn post_bodies(rt: &Rt) {
    let app = app(
        rt,
        r#"export default { async fetch(req) {
            const kind = new URL(req.url).pathname;
            if (kind === '/json') { const v = await req.json(); return Response.json({ got: v, used: req.bodyUsed }); }
            if (kind === '/text') { const t = await req.text(); let again = null;
              try { await req.text(); } catch (e) { again = e.constructor.name; }
              return Response.json({ t, again }); }
            if (kind === '/bytes') { const b = new Uint8Array(await req.arrayBuffer()); return Response.json([...b]); }
            if (kind === '/form') { const f = await req.formData(); return Response.json([...f]); }
            return new Response(req.body, { headers: { 'x-echo': '1' } });
        } };"#,
    )
    .await;
    let post = |path: &str, ct: &str, body: &'static [u8]| {
        http::Request::builder()
            .method("POST")
            .uri(format!("http://example.test{path}"))
            .header("content-type", ct)
            .body(Body::from_bytes(body))
            .unwrap()
    };
    let a = send(
        rt,
        &app,
        post("/json", "application/json", br#"{"a":[1,2]}"#),
    )
    .await
    .unwrap();
    assert_eq!(a.json(), json!({"got":{"a":[1,2]},"used":true}));
    let a = send(rt, &app, post("/text", "text/plain", "héllo".as_bytes()))
        .await
        .unwrap();
    assert_eq!(a.json(), json!({"t":"héllo","again":"TypeError"}));
    let a = send(rt, &app, post("/bytes", "x/y", &[0, 255, 7]))
        .await
        .unwrap();
    assert_eq!(a.json(), json!([0, 255, 7]));
    let a = send(
        rt,
        &app,
        post(
            "/form",
            "application/x-www-form-urlencoded",
            b"a=1&b=x+y&a=%C3%A9",
        ),
    )
    .await
    .unwrap();
    assert_eq!(a.json(), json!([["a", "1"], ["b", "x y"], ["a", "é"]]));
    let a = send(rt, &app, post("/echo", "x/y", b"streamed back"))
        .await
        .unwrap();
    assert_eq!(a.body, "streamed back");
    assert_eq!(a.headers["x-echo"], "1");
}

pub async fn response_helpers(rt: &Rt) {
    let app = app(
        rt,
        r#"export default { async fetch(req) {
            const p = new URL(req.url).pathname;
            if (p === '/json') return Response.json({ n: 1 }, { status: 202, headers: { 'x-a': 'b' } });
            if (p === '/redirect') return Response.redirect('https://example.com/next', 307);
            const errs = [];
            try { new Response('x', { status: 204 }); } catch (e) { errs.push(e.constructor.name); }
            try { new Response('x', { status: 99 }); } catch (e) { errs.push(e.constructor.name); }
            try { Response.redirect('https://x.test/', 200); } catch (e) { errs.push(e.constructor.name); }
            const r = new Response('abc', { statusText: 'Fine' });
            const c = r.clone();
            return Response.json({ errs, ok: r.ok, st: r.statusText, a: await r.text(), b: await c.text(),
              err: Response.error().type, status: Response.error().status });
        } };"#,
    )
    .await;
    let a = get(rt, &app, "/json").await;
    assert_eq!(a.status, 202);
    assert_eq!(a.headers["content-type"], "application/json");
    assert_eq!(a.headers["x-a"], "b");
    assert_eq!(a.json(), json!({"n":1}));
    let a = get(rt, &app, "/redirect").await;
    assert_eq!(a.status, 307);
    assert_eq!(a.headers["location"], "https://example.com/next");
    let a = get(rt, &app, "/other").await;
    assert_eq!(
        a.json(),
        json!({"errs":["TypeError","RangeError","RangeError"],"ok":true,"st":"Fine","a":"abc","b":"abc","err":"error","status":0})
    );
}

pub async fn headers_behaviour(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"const h = new Headers([['B', '2'], ['a', '1']]);
        h.append('a', '3'); h.append('Set-Cookie', 'x=1'); h.append('set-cookie', 'y=2');
        const bad = []; try { h.append('bad name', 'v'); } catch (e) { bad.push(e.constructor.name); }
        try { h.set('x', 'a\nb'); } catch (e) { bad.push(e.constructor.name); }
        for (const name of ['', 'caf\u00e9', 'a:b', 'x{']) { try { h.append(name, 'v'); bad.push('accepted ' + name); } catch (e) { bad.push(e.constructor.name); } }
        h.append("X-Tok!#$%&'*+-.^_`|~09az", 't');
        h.set('c', '  padded  ');
        const copy = new Headers(h); copy.delete('a');
        const dup = new Headers([['d', '1'], ['e', 'x'], ['D', '2'], ['f', 'y']]); dup.set('d', '3');
        const gone = new Headers(dup); gone.delete('E');
        return { entries: [...h], a: h.get('A'), has: h.has('b'), missing: h.get('zz'), cookies: h.getSetCookie(),
          c: h.get('c'), bad, copyHasA: copy.has('a'), origHasA: h.has('a'), dup: [...dup], gone: [...gone.keys()] };"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"entries":[["a","1, 3"],["b","2"],["c","padded"],["set-cookie","x=1"],["set-cookie","y=2"],["x-tok!#$%&'*+-.^_`|~09az","t"]],
            "a":"1, 3","has":true,"missing":null,"cookies":["x=1","y=2"],"c":"padded",
            "bad":["TypeError","TypeError","TypeError","TypeError","TypeError","TypeError"],
            "copyHasA":false,"origHasA":true,"dup":[["d","3"],["e","x"],["f","y"]],"gone":["d","f"]})
    );
}

pub async fn streaming_response_is_not_buffered(rt: &Rt) {
    // The app never closes its stream: the caller can only see chunks if they are forwarded as written.
    let app = app(
        rt,
        r#"export default { async fetch() {
            let i = 0;
            const body = new ReadableStream({ async pull(c) {
                await new Promise((r) => setTimeout(r, 1));
                c.enqueue(new TextEncoder().encode(`chunk ${i++};`));
            } });
            return new Response(body, { headers: { 'content-type': 'text/plain' } });
        } };"#,
    )
    .await;
    let res = rt.dispatch(&app, get_req("/")).await.unwrap();
    assert_eq!(res.status(), 200);
    let mut stream = res.into_body().into_stream();
    let mut seen = String::new();
    while !seen.contains("chunk 3;") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
            .await
            .expect("a chunk arrives while the app is still streaming")
            .expect("stream still open")
            .unwrap();
        seen.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(
        seen.starts_with("chunk 0;chunk 1;chunk 2;chunk 3;"),
        "{seen}"
    );
}

pub async fn large_streaming_response(rt: &Rt) {
    // 64 MB through an app whose heap limit is 32 MB: only possible if chunks are not accumulated.
    let limits = nano::core::Limits {
        memory_mb: 32,
        cpu_ms: 5_000,
        ..Default::default()
    };
    let app = app_with(
        rt,
        r#"export default { async fetch() {
            const chunk = new Uint8Array(65536).fill(120);
            let n = 0;
            return new Response(new ReadableStream({ pull(c) { if (n++ < 1024) c.enqueue(chunk); else c.close(); } }));
        } };"#,
        &[],
        limits,
    )
    .await;
    let res = rt.dispatch(&app, get_req("/")).await.unwrap();
    let mut stream = res.into_body().into_stream();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        assert!(chunk.iter().all(|b| *b == b'x'));
        total += chunk.len();
    }
    assert_eq!(total, 64 * 1024 * 1024);
}

pub async fn request_body_streams(rt: &Rt) {
    let app = app(
        rt,
        r#"export default { async fetch(req) {
            let bytes = 0, chunks = 0;
            for await (const c of req.body) { bytes += c.byteLength; chunks++; }
            return Response.json({ bytes, many: chunks > 1 });
        } };"#,
    )
    .await;
    let chunks = futures::stream::iter(
        (0..64).map(|_| Ok::<_, nano::ports::BodyError>(bytes::Bytes::from(vec![1u8; 16384]))),
    );
    let req = http::Request::builder()
        .method("PUT")
        .uri("http://example.test/up")
        .body(Body::from_stream(chunks))
        .unwrap();
    let a = send(rt, &app, req).await.unwrap();
    assert_eq!(a.json(), json!({"bytes": 64 * 16384, "many": true}));
}

pub async fn streams_behaviour(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"const log = [];
        const rs = new ReadableStream({ start(c) { log.push('start:' + c.desiredSize); c.enqueue('a'); c.enqueue('b'); log.push('after:' + c.desiredSize); c.close(); } },
          new CountQueuingStrategy({ highWaterMark: 3 }));
        const reader = rs.getReader();
        const locked = rs.locked;
        const r1 = await reader.read(), r2 = await reader.read(), r3 = await reader.read();
        reader.releaseLock();
        const [t1, t2] = new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); c.close(); } }).tee();
        const a = []; for await (const x of t1) a.push(x);
        const b = []; for await (const x of t2) b.push(x);
        const errored = new ReadableStream({ start(c) { c.error(new RangeError('boom')); } });
        let err = null; try { await errored.getReader().read(); } catch (e) { err = e.message; }
        let cancelled = null;
        const cs = new ReadableStream({ cancel(r) { cancelled = r; } });
        await cs.cancel('why');
        const written = [];
        const ws = new WritableStream({ write(chunk) { written.push(chunk); } }, { highWaterMark: 2 });
        const w = ws.getWriter();
        const ds = [w.desiredSize];
        w.write('x'); ds.push(w.desiredSize);
        await w.write('y'); await w.close();
        let afterClose = null; try { await w.write('z'); } catch (e) { afterClose = e.constructor.name; }
        const from = []; for await (const x of ReadableStream.from([1, 2, 3])) from.push(x);
        return { log, locked, r: [r1, r2, r3.done], a, b, err, cancelled, written, ds, afterClose, from };"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"log":["start:3","after:1"],"locked":true,"r":[{"value":"a","done":false},{"value":"b","done":false},true],
            "a":[1,2],"b":[1,2],"err":"boom","cancelled":"why","written":["x","y"],"ds":[2,1],"afterClose":"TypeError","from":[1,2,3]})
    );
}

pub async fn transform_and_pipe(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"const upper = new TransformStream({ transform(chunk, c) { c.enqueue(chunk.toUpperCase()); }, flush(c) { c.enqueue('!'); } });
        const src = new ReadableStream({ start(c) { ['a', 'b', 'c'].forEach((x) => c.enqueue(x)); c.close(); } });
        const out = []; for await (const x of src.pipeThrough(upper)) out.push(x);
        const sink = []; 
        await new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); c.close(); } })
          .pipeTo(new WritableStream({ write(x) { sink.push(x * 10); } }));
        const text = [];
        const enc = new ReadableStream({ start(c) { c.enqueue('hé'); c.enqueue('llo'); c.close(); } })
          .pipeThrough(new TextEncoderStream()).pipeThrough(new TextDecoderStream());
        for await (const t of enc) text.push(t);
        let aborted = null;
        const ac = new AbortController();
        const p = new ReadableStream({ pull() { return new Promise(() => {}); } }).pipeTo(new WritableStream(), { signal: ac.signal });
        ac.abort(new Error('stop'));
        try { await p; } catch (e) { aborted = e.message; }
        return { out, sink, text: text.join(''), aborted };"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"out":["A","B","C","!"],"sink":[10,20],"text":"héllo","aborted":"stop"})
    );
}

pub async fn encoding_behaviour(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"const e = new TextEncoder().encode('€a\uD800');
        const d = new TextDecoder();
        const parts = [d.decode(new Uint8Array([0xE2, 0x82]), { stream: true }), d.decode(new Uint8Array([0xAC, 0x21]))];
        let fatal = null; try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])); } catch (x) { fatal = x.constructor.name; }
        let label = null; try { new TextDecoder('klingon'); } catch (x) { label = x.constructor.name; }
        const into = new Uint8Array(4);
        const r = new TextEncoder().encodeInto('a€b', into);
        return { e: [...e], parts, lossy: new TextDecoder().decode(new Uint8Array([0x61, 0xff])), fatal, label,
          bom: new TextDecoder().decode(new Uint8Array([0xEF, 0xBB, 0xBF, 0x41])), into: [r.read, r.written, ...into] };"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"e":[226,130,172,97,239,191,189],"parts":["","€!"],"lossy":"a\u{fffd}","fatal":"TypeError","label":"RangeError",
            "bom":"A","into":[2,4,97,226,130,172]})
    );
}

pub async fn url_behaviour(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"const u = new URL('../x/y?a=1&b=2#frag', 'https://user:pw@Example.COM:8443/p/q/r');
        const parts = [u.href, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash, u.origin];
        u.searchParams.append('c', 'd e');
        const afterAppend = u.href;
        u.pathname = '/new path'; u.hash = ''; u.port = '443';
        let invalid = null; try { new URL('not a url'); } catch (e) { invalid = e.constructor.name; }
        const sp = new URLSearchParams('z=1&a=2&z=0');
        sp.sort();
        const obj = new URLSearchParams({ k: 'v&w', 'ü': '+' });
        return { parts, afterAppend, after: u.href, invalid, sorted: sp.toString(), obj: obj.toString(),
          getAll: new URLSearchParams('a=1&a=2').getAll('a'), can: [URL.canParse('http://x'), URL.canParse('nope')],
          size: sp.size, json: JSON.stringify({ u: new URL('http://a.test/') }), whatwg: whatwg() };
        function whatwg() {
          const sc = new URL('sc://test:12/');
          sc.host = '';
          const h = new URL('http://a.test:8080/');
          h.host = 'b.test/x?y';
          h.port = '81junk';
          const empty = new URL('http://a.test/?#');
          let bad = null;
          try { h.href = 'nope'; } catch (e) { bad = [e.constructor.name, e.message]; }
          return [sc.href, h.href, empty.href, empty.search, empty.hash, new URL('http://a.test/\ud800').pathname, bad];
        }"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"parts":["https://user:pw@example.com:8443/p/x/y?a=1&b=2#frag","https:","user","pw","example.com:8443","example.com","8443","/p/x/y","?a=1&b=2","#frag","https://example.com:8443"],
            "afterAppend":"https://user:pw@example.com:8443/p/x/y?a=1&b=2&c=d+e#frag",
            "after":"https://user:pw@example.com/new%20path?a=1&b=2&c=d+e",
            "invalid":"TypeError","sorted":"a=2&z=1&z=0","obj":"k=v%26w&%C3%BC=%2B","getAll":["1","2"],"can":[true,false],
            "size":3,"json":"{\"u\":\"http://a.test/\"}",
            "whatwg":["sc://test:12/","http://b.test:81/","http://a.test/?#","","","/%EF%BF%BD",["TypeError","Invalid URL: nope"]]})
    );
}

/// Cases adapted from WPT's urlpatterntestdata.json, then canonicalization cases (case, IPv4, percent-encoding, dot
/// segments): `pattern` (constructor arguments), optional `obj` (component
/// getters), `inputs` (exec arguments) and `match` (the components named there, `null` for no match, `"error"` when
/// the constructor must throw a TypeError). An unmatched optional group is `null` here (`undefined` in JS).
const URLPATTERN_CASES: &str = include_str!("urlpattern_cases.json");

pub async fn urlpattern_cases(rt: &Rt) {
    let cases: Vec<serde_json::Value> = serde_json::from_str(URLPATTERN_CASES).unwrap();
    assert!(cases.len() >= 30);
    let body = format!(
        r#"const cases = {URLPATTERN_CASES};
        const nulls = (v) => JSON.parse(JSON.stringify(v, (k, x) => (x === undefined ? null : x)));
        return cases.map((c) => {{
          let p;
          try {{ p = new URLPattern(...c.pattern); }} catch (e) {{ return {{ error: e.constructor.name }}; }}
          const obj = {{}};
          for (const k of Object.keys(c.obj || {{}})) obj[k] = p[k];
          if (!c.inputs) return {{ obj }};
          const r = p.exec(...c.inputs);
          const match = r === null ? null : {{}};
          if (r) for (const k of Object.keys(c.match || {{}})) match[k] = nulls(r[k]);
          return {{ obj, match, test: p.test(...c.inputs), inputs: r && r.inputs.length }};
        }});"#
    );
    let got = eval_json(rt, &body).await;
    for (case, got) in cases.iter().zip(got.as_array().unwrap()) {
        if case["match"] == "error" {
            assert_eq!(got["error"], "TypeError", "case {case}");
            continue;
        }
        assert!(got.get("error").is_none(), "case {case}: threw {got}");
        if let Some(obj) = case.get("obj") {
            assert_eq!(&got["obj"], obj, "case {case}");
        }
        if case.get("inputs").is_some() {
            assert_eq!(got["match"], case["match"], "case {case}");
            assert_eq!(got["test"], !case["match"].is_null(), "case {case}");
            if !case["match"].is_null() {
                assert_eq!(
                    got["inputs"],
                    case["inputs"].as_array().unwrap().len(),
                    "case {case}"
                );
            }
        }
    }
}

/// A router in the style of itty-router and Hono's URLPattern router: routes are patterns tried in order.
pub async fn urlpattern_router(rt: &Rt) {
    let app = app(
        rt,
        r#"class Router {
          routes = [];
          on(method, path, handler) { this.routes.push({ method, pattern: new URLPattern({ pathname: path }), handler }); return this; }
          get(path, handler) { return this.on('GET', path, handler); }
          post(path, handler) { return this.on('POST', path, handler); }
          async handle(request, env, ctx) {
            for (const { method, pattern, handler } of this.routes) {
              if (method !== request.method) continue;
              const m = pattern.exec(request.url);
              if (m) return handler(request, m.pathname.groups, m);
            }
            return Response.json({ error: 'no route' }, { status: 404 });
          }
        }
        const api = new URLPattern('https://api.:zone.test/*');
        const router = new Router()
          .get('/users/:id(\\d+)', (req, p) => Response.json({ user: Number(p.id) }))
          .get('/users/:name', (req, p) => Response.json({ byName: p.name }))
          .get('/posts/:slug{/comments/:page}?', (req, p) => Response.json(p))
          .get('/files/*', (req, p) => Response.json({ file: p[0] }))
          .post('/users', async (req) => Response.json({ created: await req.json() }, { status: 201 }));
        export default { fetch(request, env, ctx) {
          const zone = api.exec(request.url);
          if (zone) return Response.json({ zone: zone.hostname.groups.zone, rest: zone.pathname.groups[0] });
          return router.handle(request, env, ctx);
        } };"#,
    )
    .await;
    let cases = [
        ("/users/42", 200, json!({"user": 42})),
        ("/users/ada", 200, json!({"byName": "ada"})),
        ("/posts/hello", 200, json!({"slug": "hello"})),
        (
            "/posts/hello/comments/3",
            200,
            json!({"slug": "hello", "page": "3"}),
        ),
        ("/files/a/b/c.txt", 200, json!({"file": "a/b/c.txt"})),
        ("/nothing/here", 404, json!({"error": "no route"})),
    ];
    for (path, status, body) in cases {
        let a = get(rt, &app, path).await;
        assert_eq!(a.status, status, "{path}: {}", a.body);
        assert_eq!(a.json(), body, "{path}");
    }
    let req = http::Request::builder()
        .method("POST")
        .uri("http://example.test/users")
        .header("content-type", "application/json")
        .body(Body::from_bytes(r#"{"name":"grace"}"#))
        .unwrap();
    let a = send(rt, &app, req).await.unwrap();
    assert_eq!(
        (a.status, a.json()),
        (201, json!({"created": {"name": "grace"}}))
    );
    let req = http::Request::builder()
        .uri("https://api.eu.test/v1/items")
        .body(Body::empty())
        .unwrap();
    let a = send(rt, &app, req).await.unwrap();
    assert_eq!(a.json(), json!({"zone": "eu", "rest": "v1/items"}));
}

pub async fn base64_behaviour(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"let bad = null; try { btoa('€'); } catch (e) { bad = e.name; }
        let badIn = null; try { atob('@@@'); } catch (e) { badIn = e.name; }
        return { b: btoa('hello\xff'), a: atob('aGVsbG//'), ws: atob(' aG k= '), bad, badIn };"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"b":"aGVsbG//","a":"hello\u{ff}","ws":"hi","bad":"InvalidCharacterError","badIn":"InvalidCharacterError"})
    );
}

pub async fn timers_behaviour(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"const order = [];
        await new Promise((done) => {
          setTimeout(() => order.push('t20'), 20);
          setTimeout((x) => order.push(x), 5, 't5');
          const cancelled = setTimeout(() => order.push('cancelled'), 10);
          clearTimeout(cancelled);
          let n = 0;
          const iv = setInterval(() => { order.push('i' + ++n); if (n === 3) { clearInterval(iv); setTimeout(done, 30); } }, 1);
        });
        return order.filter((x) => !x.startsWith('i')).concat(order.filter((x) => x.startsWith('i')));"#,
    )
    .await;
    assert_eq!(v, json!(["t5", "t20", "i1", "i2", "i3"]));
}

pub async fn microtasks_and_clone(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"const order = [];
        setTimeout(() => order.push('timeout'), 0);
        queueMicrotask(() => order.push('micro'));
        Promise.resolve().then(() => order.push('promise'));
        order.push('sync');
        await new Promise((r) => setTimeout(r, 5));
        const src = { d: new Date(0), m: new Map([[1, { x: 1 }]]), s: new Set([1]), b: new Uint8Array([1, 2]), n: null };
        src.self = src;
        const c = structuredClone(src);
        let fn = null; try { structuredClone({ f() {} }); } catch (e) { fn = e.name; }
        return { order, distinct: c !== src && c.m.get(1) !== src.m.get(1), cycle: c.self === c, date: c.d.getTime(),
          map: c.m.get(1).x, set: c.s.has(1), bytes: [...c.b], isU8: c.b instanceof Uint8Array, fn };"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"order":["sync","micro","promise","timeout"],"distinct":true,"cycle":true,"date":0,"map":1,"set":true,
            "bytes":[1,2],"isU8":true,"fn":"DataCloneError"})
    );
}

pub async fn crypto_behaviour(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
        const enc = new TextEncoder();
        const r = crypto.getRandomValues(new Uint8Array(32));
        const r2 = crypto.getRandomValues(new Uint8Array(32));
        let quota = null; try { crypto.getRandomValues(new Uint8Array(70000)); } catch (e) { quota = e.name; }
        let floats = null; try { crypto.getRandomValues(new Float32Array(2)); } catch (e) { floats = e.name; }
        const key = await crypto.subtle.importKey('raw', enc.encode('Jefe'), { name: 'HMAC', hash: 'SHA-256' }, true, ['sign', 'verify']);
        const sig = await crypto.subtle.sign('HMAC', key, enc.encode('what do ya want for nothing?'));
        const ok = await crypto.subtle.verify('HMAC', key, sig, enc.encode('what do ya want for nothing?'));
        const notOk = await crypto.subtle.verify('HMAC', key, sig, enc.encode('tampered'));
        const jwk = await crypto.subtle.exportKey('jwk', key);
        const key2 = await crypto.subtle.importKey('jwk', jwk, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
        const ok2 = await crypto.subtle.verify('HMAC', key2, sig, enc.encode('what do ya want for nothing?'));
        const lens = [];
        for (const a of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) lens.push((await crypto.subtle.digest(a, enc.encode('abc'))).byteLength);
        let unsupported = null; try { await crypto.subtle.digest('MD5', enc.encode('')); } catch (e) { unsupported = e.name; }
        return { random: r.some((x) => x !== 0) && hex(r) !== hex(r2), quota, floats,
          uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()),
          sha256: hex(await crypto.subtle.digest('SHA-256', enc.encode('abc'))),
          sha1: hex(await crypto.subtle.digest({ name: 'SHA-1' }, enc.encode('abc'))),
          hmac: hex(sig), ok, notOk, jwk: [jwk.kty, jwk.alg, jwk.k], ok2, lens, unsupported,
          keyInfo: [key.type, key.algorithm.name, key.algorithm.hash.name, key.usages.join()] };"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"random":true,"quota":"QuotaExceededError","floats":"TypeMismatchError","uuid":true,
            "sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "sha1":"a9993e364706816aba3e25717850c26c9cd0d89d",
            "hmac":"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843","ok":true,"notOk":false,
            "jwk":["oct","HS256","SmVmZQ"],"ok2":true,"lens":[20,32,48,64],"unsupported":"NotSupportedError",
            "keyInfo":["secret","HMAC","SHA-256","sign,verify"]})
    );
}

pub async fn crypto_derivation_and_aes(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
        const unhex = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)));
        const enc = new TextEncoder();
        const pw = await crypto.subtle.importKey('raw', enc.encode('password'), 'PBKDF2', false, ['deriveBits', 'deriveKey']);
        const p1 = hex(await crypto.subtle.deriveBits({ name: 'PBKDF2', salt: enc.encode('salt'), iterations: 1, hash: 'SHA-256' }, pw, 256));
        const p2 = hex(await crypto.subtle.deriveBits({ name: 'PBKDF2', salt: enc.encode('salt'), iterations: 2, hash: 'SHA-256' }, pw, 256));
        const ikm = await crypto.subtle.importKey('raw', new Uint8Array(22).fill(0x0b), 'HKDF', false, ['deriveBits']);
        const h = hex(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: unhex('000102030405060708090a0b0c'),
          info: unhex('f0f1f2f3f4f5f6f7f8f9') }, ikm, 336));
        const zero = await crypto.subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', true, ['encrypt', 'decrypt']);
        const iv = new Uint8Array(12);
        const c0 = hex(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, zero, new Uint8Array(0)));
        const c16 = hex(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, zero, new Uint8Array(16)));
        const key = await crypto.subtle.deriveKey({ name: 'PBKDF2', salt: enc.encode('s'), iterations: 10, hash: 'SHA-256' }, pw,
          { name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
        const iv2 = crypto.getRandomValues(new Uint8Array(12));
        const aad = enc.encode('header');
        const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: iv2, additionalData: aad }, key, enc.encode('secret msg'));
        const opened = new TextDecoder().decode(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: iv2, additionalData: aad }, key, sealed));
        const bad = new Uint8Array(sealed); bad[0] ^= 1;
        let tampered = null; try { await crypto.subtle.decrypt({ name: 'AES-GCM', iv: iv2, additionalData: aad }, key, bad); } catch (e) { tampered = e.name; }
        const jwk = await crypto.subtle.exportKey('jwk', key);
        const gen = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 128 }, false, ['encrypt']);
        let ecdsa = null; try { await crypto.subtle.generateKey({ name: 'X448' }, true, ['deriveBits']); } catch (e) { ecdsa = e.name; }
        return { p1, p2, h, c0, c16, opened, tampered, sealedLen: sealed.byteLength, jwk: [jwk.alg, jwk.k.length], gen: gen.algorithm.length, ecdsa };"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"p1":"120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b",
            "p2":"ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43",
            "h":"3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
            "c0":"58e2fccefa7e3061367f1d57a4e7455a",
            "c16":"0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf",
            "opened":"secret msg","tampered":"OperationError","sealedLen":26,"jwk":["A256GCM",43],"gen":128,"ecdsa":"NotSupportedError"})
    );
}

pub async fn crypto_signatures(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
        const unhex = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)));
        const b64u = (b) => btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
        const s = crypto.subtle;
        const data = new TextEncoder().encode('signed by nano');
        const ec = await s.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
        const sig = await s.sign({ name: 'ECDSA', hash: 'SHA-256' }, ec.privateKey, data);
        const ok = await s.verify({ name: 'ECDSA', hash: 'SHA-256' }, ec.publicKey, sig, data);
        const wrongHash = await s.verify({ name: 'ECDSA', hash: 'SHA-384' }, ec.publicKey, sig, data);
        const other = new Uint8Array(data); other[0] ^= 1;
        const tampered = await s.verify({ name: 'ECDSA', hash: 'SHA-256' }, ec.publicKey, sig, other);
        const spki = await s.exportKey('spki', ec.publicKey);
        const pub2 = await s.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
        const pkcs8 = await s.exportKey('pkcs8', ec.privateKey);
        const priv2 = await s.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
        const sig2 = await s.sign({ name: 'ECDSA', hash: 'SHA-512' }, priv2, data);
        const jwk = await s.exportKey('jwk', ec.publicKey);
        const pub3 = await s.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
        const raw = new Uint8Array(await s.exportKey('raw', ec.publicKey));
        const roundTrips = [await s.verify({ name: 'ECDSA', hash: 'SHA-512' }, pub2, sig2, data),
          await s.verify({ name: 'ECDSA', hash: 'SHA-512' }, pub3, sig2, data)];
        let privRaw = null; try { await s.exportKey('raw', ec.privateKey); } catch (e) { privRaw = e.name; }
        const seed = unhex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
        const pubEd = unhex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
        const ed = await s.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: b64u(pubEd), d: b64u(seed) }, 'Ed25519', true, ['sign']);
        const edSig = hex(await s.sign('Ed25519', ed, new Uint8Array(0)));
        const edPub = await s.importKey('raw', pubEd, { name: 'Ed25519' }, true, ['verify']);
        const edOk = await s.verify('Ed25519', edPub, unhex(edSig), new Uint8Array(0));
        const edBad = await s.verify('Ed25519', edPub, unhex(edSig), new Uint8Array(1));
        const edGen = await s.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
        const edSpki = await s.exportKey('spki', edGen.publicKey);
        return { types: [ec.privateKey.type, ec.publicKey.type, ec.privateKey.algorithm.namedCurve, ec.publicKey.usages.join()],
          sigLen: sig.byteLength, ok, wrongHash, tampered, roundTrips, jwk: [jwk.kty, jwk.crv, !!jwk.d], rawLen: raw.length, raw0: raw[0],
          privRaw, edSig, edOk, edBad, edSpkiLen: edSpki.byteLength, edUsages: [edGen.privateKey.usages.join(), edGen.publicKey.usages.join()] };"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"types":["private","public","P-256","verify"],"sigLen":64,"ok":true,"wrongHash":false,"tampered":false,
            "roundTrips":[true,true],"jwk":["EC","P-256",false],"rawLen":65,"raw0":4,"privRaw":"InvalidAccessError",
            "edSig":"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            "edOk":true,"edBad":false,"edSpkiLen":44,"edUsages":["sign","verify"]})
    );
}

pub async fn compression_streams(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"const text = 'nano '.repeat(2000);
        const collect = async (rs) => { const parts = []; for await (const c of rs) parts.push(...c); return new Uint8Array(parts); };
        const out = {};
        for (const f of ['gzip', 'deflate', 'deflate-raw']) {
          const packed = await collect(new Blob([text]).stream().pipeThrough(new CompressionStream(f)));
          const back = await new Response(new Blob([packed]).stream().pipeThrough(new DecompressionStream(f))).text();
          out[f] = [packed.length < 200, back === text, packed[0]];
        }
        const hello = new Uint8Array([0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x06, 0x2c, 0x02, 0x15]);
        out.known = await new Response(new Blob([hello]).stream().pipeThrough(new DecompressionStream('deflate'))).text();
        try { new CompressionStream('brotli'); } catch (e) { out.bad = e.constructor.name; }
        try { await new Response(new Blob([new Uint8Array([1, 2, 3, 4])]).stream().pipeThrough(new DecompressionStream('gzip'))).text(); }
        catch (e) { out.corrupt = e.constructor.name; }
        return out;"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"gzip":[true,true,31],"deflate":[true,true,120],"deflate-raw":[true,true,v["deflate-raw"][2]],
            "known":"hello","bad":"TypeError","corrupt":"TypeError"})
    );
}

pub async fn events_and_abort(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"const log = [];
        const t = new EventTarget();
        const h = (e) => log.push('h:' + e.type + ':' + (e.target === t));
        t.addEventListener('ping', h); t.addEventListener('ping', h);
        t.addEventListener('ping', () => log.push('once'), { once: true });
        t.addEventListener('ping', { handleEvent(e) { log.push('obj'); e.preventDefault(); } });
        const first = t.dispatchEvent(new Event('ping', { cancelable: true }));
        t.removeEventListener('ping', h);
        t.dispatchEvent(new Event('ping'));
        const ce = new CustomEvent('c', { detail: { n: 1 } });
        const ac = new AbortController();
        let reason = null;
        ac.signal.addEventListener('abort', () => { reason = ac.signal.reason.name; });
        ac.abort(); ac.abort();
        const custom = AbortSignal.abort('mine');
        let thrown = null; try { custom.throwIfAborted(); } catch (e) { thrown = e; }
        const any = AbortSignal.any([new AbortController().signal, custom]);
        const timeout = AbortSignal.timeout(5);
        await new Promise((r) => timeout.addEventListener('abort', r));
        const ex = new DOMException('m', 'AbortError');
        return { log, first, detail: ce.detail.n, aborted: ac.signal.aborted, reason, thrown, any: any.reason,
          timeout: timeout.reason.name, ex: [ex.name, ex.code, ex.message, ex instanceof Error] };"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"log":["h:ping:true","once","obj","obj"],"first":false,"detail":1,"aborted":true,"reason":"AbortError",
            "thrown":"mine","any":"mine","timeout":"TimeoutError","ex":["AbortError",20,"m",true]})
    );
}

pub async fn messaging_byob_and_strategies(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"const { port1, port2 } = new MessageChannel();
        const got = [];
        const received = new Promise((r) => { port2.onmessage = (e) => { got.push(e.data); if (got.length === 2) r(); }; });
        const msg = { n: 1, list: [1, 2] };
        port1.postMessage(msg); port1.postMessage('two');
        msg.n = 99;
        await received;
        const bytes = new ReadableStream({ type: 'bytes', start(c) { c.enqueue(new Uint8Array([1, 2, 3, 4, 5])); c.close(); } });
        const reader = bytes.getReader({ mode: 'byob' });
        const first = await reader.read(new Uint8Array(3));
        const second = await reader.read(new Uint8Array(8));
        const end = await reader.read(new Uint8Array(8));
        const bl = new ByteLengthQueuingStrategy({ highWaterMark: 10 });
        const sized = [];
        new ReadableStream({ start(c) { sized.push(c.desiredSize); c.enqueue(new Uint8Array(4)); sized.push(c.desiredSize); } }, bl);
        const ee = new ErrorEvent('error', { message: 'm', error: 7 });
        const pre = new PromiseRejectionEvent('unhandledrejection', { promise: Promise.resolve(), reason: 'r' });
        return { got, first: [...first.value], second: [...second.value], end: end.done, hwm: bl.highWaterMark, size: bl.size(new Uint8Array(6)),
          sized, ee: [ee.message, ee.error], pre: pre.reason, cq: new CountQueuingStrategy({ highWaterMark: 2 }).size() };"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"got":[{"n":1,"list":[1,2]},"two"],"first":[1,2,3],"second":[4,5],"end":true,"hwm":10,"size":6,"sized":[10,6],
            "ee":["m",7],"pre":"r","cq":1})
    );
}

pub async fn blob_and_formdata(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"const b = new Blob(['héllo', new Uint8Array([33]), new Blob([' w'])], { type: 'Text/Plain' });
        const f = new File(['x'], 'a.txt', { type: 'text/plain', lastModified: 5 });
        const fd = new FormData();
        fd.append('name', 'nano'); fd.append('file', f); fd.append('blob', new Blob(['zz']), 'z.bin');
        const req = new Request('http://x.test/', { method: 'POST', body: fd });
        const back = await req.formData();
        const file = back.get('file');
        const streamed = [];
        for await (const c of b.stream()) streamed.push(...c);
        return { size: b.size, type: b.type, text: await b.text(), slice: await b.slice(1, -2).text(), neg: await b.slice(-2).text(),
          file: [f.name, f.lastModified, f.size], ct: req.headers.get('content-type').startsWith('multipart/form-data; boundary='),
          back: [back.get('name'), file.name, await file.text(), file.type, back.get('blob').name], streamed: streamed.length,
          ab: new Uint8Array(await b.arrayBuffer())[0] };"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"size":9,"type":"text/plain","text":"héllo! w","slice":"éllo!","neg":" w","file":["a.txt",5,1],"ct":true,
            "back":["nano","a.txt","x","text/plain","z.bin"],"streamed":9,"ab":104})
    );
}

/// Decodes an HTTP/1.1 chunked body.
fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

/// A one-shot HTTP/1.1 server on loopback answering every connection with `body` (JSON echo of the request line).
async fn tiny_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                loop {
                    let n = sock.read(&mut tmp).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&tmp[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let head = text[..end].to_ascii_lowercase();
                        let chunked = head.contains("transfer-encoding: chunked");
                        let received = if chunked {
                            if !text[end + 4..].contains("0\r\n\r\n") {
                                continue;
                            }
                            dechunk(&text[end + 4..])
                        } else {
                            let len = head
                                .lines()
                                .find_map(|l| {
                                    l.strip_prefix("content-length: ")
                                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                                })
                                .unwrap_or(0);
                            if buf.len() < end + 4 + len {
                                continue;
                            }
                            text[end + 4..].to_string()
                        };
                        let line = text.lines().next().unwrap_or("").to_string();
                        let body =
                            serde_json::json!({"line": line, "body": received, "chunked": chunked})
                                .to_string();
                        let res = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-upstream: yes\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}", body.len(), body);
                        let _ = sock.write_all(res.as_bytes()).await;
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

pub async fn fetch_outbound(rt: &Rt) {
    let upstream = tiny_server().await;
    let app = app_with(
        rt,
        r#"export default { async fetch(req, env) {
            const r = await fetch(env.UPSTREAM + '/path?x=1', { method: 'POST', body: 'payload', headers: { 'x-a': '1' } });
            const data = await r.json();
            let i = 0;
            const streamed = await (await fetch(env.UPSTREAM + '/stream', { method: 'PUT', body: new ReadableStream({
              async pull(c) { await new Promise((r) => setTimeout(r, 1)); if (i < 3) c.enqueue(new TextEncoder().encode('part' + i++ + ';')); else c.close(); } }) })).json();
            let bad = null; try { await fetch('ftp://nope/'); } catch (e) { bad = e.constructor.name; }
            let refused = null; try { await fetch('http://127.0.0.1:1/'); } catch (e) { refused = e.constructor.name; }
            return Response.json({ status: r.status, ok: r.ok, up: r.headers.get('x-upstream'), data, streamed, bad, refused, url: r.url });
        } };"#,
        &[("UPSTREAM", text(&upstream))],
        nano::core::Limits::default(),
    )
    .await;
    let a = get(rt, &app, "/").await;
    let v = a.json();
    assert_eq!(v["status"], 200);
    assert_eq!(v["ok"], true);
    assert_eq!(v["up"], "yes");
    assert_eq!(v["data"]["line"], "POST /path?x=1 HTTP/1.1");
    assert_eq!(v["data"]["body"], "payload");
    assert_eq!(v["data"]["chunked"], false);
    assert_eq!(v["streamed"]["line"], "PUT /stream HTTP/1.1");
    assert_eq!(v["streamed"]["body"], "part0;part1;part2;");
    assert_eq!(v["streamed"]["chunked"], true);
    assert_eq!(v["bad"], "TypeError");
    assert_eq!(v["refused"], "TypeError");
    assert_eq!(v["url"], format!("{upstream}/path?x=1"));
}

pub async fn relative_imports(rt: &Rt) {
    let s = spec(&crate::support::fresh_name("app"), &[], Default::default());
    let name = s.name.clone();
    rt.load(version(
        s,
        &[
            ("index.js", "import { greet } from './lib/greet.js'; export default { fetch() { return new Response(greet('nano')); } };"),
            ("lib/greet.js", "import { excl } from '../util.js'; export function greet(n) { return excl('hi ' + n); }"),
            ("util.js", "export const excl = (s) => s + '!';"),
        ],
    ))
    .await
    .unwrap();
    assert_eq!(get(rt, &name, "/").await.body, "hi nano!");
}

pub async fn console_and_performance(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"console.log('hello %s', 'world', { a: 1 }); console.error(new Error('logged')); console.warn([1, 2]);
        const a = performance.now();
        let x = 0; for (let i = 0; i < 10000; i++) x += i;
        const b = performance.now();
        return { mono: b >= a, origin: performance.timeOrigin > 1.6e12, ua: navigator.userAgent, self: self === globalThis,
          x, report: typeof reportError };"#,
    )
    .await;
    assert_eq!(
        v,
        json!({"mono":true,"origin":true,"ua":"nano","self":true,"x":49995000,"report":"function"})
    );
}

#[allow(dead_code)]
fn json_env(v: serde_json::Value) -> EnvValue {
    EnvValue::Json(v)
}

/// String bodies: sent as UTF-8 (a lone surrogate as U+FFFD), and read back as text, bytes, a stream or a clone.
pub async fn string_bodies(rt: &Rt) {
    let app = app(
        rt,
        r#"export default { async fetch(req) {
            const p = new URL(req.url).pathname;
            if (p === '/text') return new Response('h\u00e9llo \u2713');
            if (p === '/lone') return new Response('a\uD800b');
            const empty = new Response('');
            const clone = new Response('abc');
            const copy = clone.clone();
            const reader = new Response('xyz').body.getReader();
            const chunk = await reader.read();
            const used = new Response('u');
            await used.text();
            const post = new Request('http://example.test/', { method: 'POST', body: 'h\u00e9' });
            return Response.json({
              emptyBody: empty.body !== null, emptyText: await new Response('').text(),
              bytes: (await new Response('h\u00e9llo').arrayBuffer()).byteLength,
              clones: [await clone.text(), await copy.text()],
              chunk: Array.from(chunk.value), done: (await reader.read()).done,
              used: used.bodyUsed, post: await post.text(), type: post.headers.get('content-type'),
            });
        } };"#,
    )
    .await;
    let a = get(rt, &app, "/text").await;
    assert_eq!(a.body, "h\u{e9}llo \u{2713}");
    assert_eq!(a.headers["content-type"], "text/plain;charset=UTF-8");
    assert_eq!(get(rt, &app, "/lone").await.body, "a\u{FFFD}b");
    assert_eq!(
        get(rt, &app, "/").await.json(),
        json!({
            "emptyBody": true, "emptyText": "", "bytes": 6, "clones": ["abc", "abc"],
            "chunk": [120, 121, 122], "done": true, "used": true, "post": "h\u{e9}",
            "type": "text/plain;charset=UTF-8",
        })
    );
}

/// An incoming request's URL and headers are made when first read: a clone taken before either was read, a
/// request read only after an await, and a normalised URL all see the same values.
pub async fn incoming_request_read_late(rt: &Rt) {
    let app = app(
        rt,
        r#"export default { async fetch(req) {
            const copy = req.clone();
            await null;
            return Response.json({
              copyUrl: copy.url, copyHeader: copy.headers.get('x-custom'),
              url: req.url, same: req.url === req.url, names: [...req.headers.keys()],
              header: req.headers.get('X-Custom'), method: req.method,
            });
        } };"#,
    )
    .await;
    let req = http::Request::builder()
        .uri("http://example.test/a/./b/../c?q=%7e")
        .header("host", "example.test")
        .header("X-Custom", "v1")
        .body(Body::empty())
        .unwrap();
    let a = send(rt, &app, req).await.expect("dispatch");
    assert_eq!(
        a.json(),
        json!({
            "copyUrl": "http://example.test/a/c?q=%7e", "copyHeader": "v1",
            "url": "http://example.test/a/c?q=%7e", "same": true, "names": ["host", "x-custom"],
            "header": "v1", "method": "GET",
        })
    );
}

/// The global scope's `error` event: `reportError` and a throwing timer callback dispatch it; a listener's
/// `preventDefault` or `onerror` returning true cancels it; the service-worker events are refused with the fix.
pub async fn global_error_events(rt: &Rt) {
    let v = eval_json(
        rt,
        r#"const seen = [];
        const listener = (e) => { seen.push(['listener', e.message, e.error instanceof Error, e.cancelable]); e.preventDefault(); };
        addEventListener('error', listener);
        reportError(new Error('first'));
        removeEventListener('error', listener);
        onerror = (message, source, lineno, colno, error) => { seen.push(['onerror', message, error.message]); return true; };
        setTimeout(() => { throw new Error('from a timer'); }, 0);
        await new Promise((r) => setTimeout(r, 5));
        onerror = null;
        let refused = null;
        try { addEventListener('fetch', () => {}); } catch (e) { refused = e.name + ': ' + e.message; }
        const dispatched = dispatchEvent(new Event('custom'));
        return { seen, refused, dispatched, types: [typeof onerror, typeof onunhandledrejection] };"#,
    )
    .await;
    assert_eq!(
        v["seen"][0],
        json!(["listener", "first", true, true]),
        "{v}"
    );
    assert_eq!(
        v["seen"][1],
        json!(["onerror", "from a timer", "from a timer"]),
        "{v}"
    );
    assert_eq!(v["seen"].as_array().unwrap().len(), 2, "{v}");
    let refused = v["refused"].as_str().unwrap_or_default();
    assert!(
        refused.starts_with("TypeError: addEventListener('fetch'"),
        "{v}"
    );
    assert!(refused.contains("export default { fetch"), "{v}");
    assert_eq!(v["dispatched"], true);
    assert_eq!(v["types"], json!(["object", "object"]));
}

/// HTML's rejection tracking: a promise still rejected with no handler at a turn's end fires a cancelable
/// `unhandledrejection` (a cancelled one is not logged), `onunhandledrejection` is its handler, and a handler added
/// later fires `rejectionhandled`; one nothing cancelled is logged as before.
pub async fn global_rejection_events(rt: &Rt) {
    let src = r#"export default { async fetch() {
        const seen = [];
        const tick = () => new Promise((r) => setTimeout(r, 5));
        addEventListener('unhandledrejection', (e) => {
          seen.push(['unhandled', String(e.reason && e.reason.message || e.reason), e.promise instanceof Promise, e.cancelable]);
          if (String(e.reason && e.reason.message).startsWith('quiet')) e.preventDefault();
        });
        addEventListener('rejectionhandled', (e) => { seen.push(['handled', e.reason.message]); });
        const p = Promise.reject(new Error('quiet one'));
        await tick();
        p.catch(() => {});
        await tick();
        Promise.reject(new Error('loud one'));
        await tick();
        onunhandledrejection = (e) => { seen.push(['attribute', String(e.reason)]); e.preventDefault(); };
        Promise.reject('quiet two');
        await tick();
        onunhandledrejection = null;
        return Response.json(seen);
    } };"#;
    capture_logs();
    let app = app_with(rt, src, &[], nano::core::Limits::default()).await;
    let r = get(rt, &app, "/").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json(),
        json!([
            ["unhandled", "quiet one", true, true],
            ["handled", "quiet one"],
            ["unhandled", "loud one", true, true],
            ["unhandled", "quiet two", true, true],
            ["attribute", "quiet two"],
        ])
    );
    wait_for_log(app.as_str(), |f| {
        f["message"]
            .as_str()
            .is_some_and(|m| m.contains("unhandled promise rejection") && m.contains("loud one"))
    })
    .await;
    let quiet: Vec<_> = logs_of(app.as_str())
        .into_iter()
        .filter(|f| f["message"].as_str().is_some_and(|m| m.contains("quiet")))
        .collect();
    assert!(
        quiet.is_empty(),
        "cancelled rejections were logged: {quiet:#?}"
    );
}
