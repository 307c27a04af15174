//! Cloudflare's binding APIs: Workers KV on the cache, R2 on storage and Queues producers on the queue, against the
//! real SQLite and fs adapters; each tenant sees only its own namespaces, buckets and queues.

use crate::bindings::World;
use crate::harness::{get, Rt};
use nano::core::{ServiceKind, TenantScope};
use serde_json::{json, Value};

const CF: [(&str, ServiceKind); 3] = [
    ("KV", ServiceKind::Kv),
    ("BUCKET", ServiceKind::R2),
    ("QUEUE", ServiceKind::Queues),
];

async fn run(w: &World, rt: &Rt, tenant: &nano::core::TenantId, body: &str) -> Value {
    let app = w.app_bound(rt, tenant, body, &CF).await;
    let a = get(rt, &app, "/").await;
    assert_eq!(a.status, 200, "app failed: {}", a.body);
    a.json()
}

/// What a rejected promise threw, as `[name, message]`.
const ERR: &str = "const err = async (p) => { try { await p; return null; } catch (e) { return [e.name, e.message]; } };";

pub async fn kv_binding(rt: &Rt) {
    let w = World::new().await;
    let t = w.tenant().await;
    let r = run(
        &w,
        rt,
        &t,
        &format!(
            r#"{ERR}
        const KV = env.KV;
        const out = {{}};
        await KV.put('user:1', 'Alice', {{ metadata: {{ role: 'admin' }} }});
        await KV.put('user:2', JSON.stringify({{ name: 'Bob' }}), {{ expirationTtl: 3600 }});
        await KV.put('bin', new Uint8Array([0, 1, 255]));
        await KV.put('Upper Case/ü', 'any text key');
        out.text = await KV.get('user:1');
        out.textOpt = await KV.get('user:1', {{ type: 'text' }});
        out.json = await KV.get('user:2', 'json');
        out.bytes = Array.from(new Uint8Array(await KV.get('bin', 'arrayBuffer')));
        out.stream = await new Response(await KV.get('user:1', {{ type: 'stream' }})).text();
        out.unicode = await KV.get('Upper Case/ü');
        out.missing = await KV.get('nope');
        out.meta = await KV.getWithMetadata('user:1');
        out.metaNone = await KV.getWithMetadata('user:2', 'json');
        out.metaMissing = await KV.getWithMetadata('nope');
        out.many = Object.fromEntries(await KV.get(['user:1', 'nope']));
        const all = await KV.list();
        out.all = all.keys.map((k) => k.name);
        out.allComplete = all.list_complete;
        out.expiring = all.keys.find((k) => k.name === 'user:2').expiration > Date.now() / 1000 + 3500;
        out.listedMeta = all.keys.find((k) => k.name === 'user:1').metadata;
        out.prefix = (await KV.list({{ prefix: 'user:' }})).keys.map((k) => k.name);
        const page1 = await KV.list({{ prefix: 'user:', limit: 1 }});
        const page2 = await KV.list({{ prefix: 'user:', limit: 1, cursor: page1.cursor }});
        out.pages = [page1.keys.map((k) => k.name), page1.list_complete, typeof page1.cursor, page2.keys.map((k) => k.name), page2.list_complete, 'cursor' in page2];
        await KV.delete('user:1');
        await KV.delete('never-there');
        out.deleted = await KV.get('user:1');
        out.emptyKey = await err(KV.put('', 'x'));
        out.longKey = await err(KV.put('k'.repeat(513), 'x'));
        out.maxKey = await err(KV.put('k'.repeat(512), 'x'));
        out.shortTtl = await err(KV.put('a', 'x', {{ expirationTtl: 30 }}));
        out.pastExpiration = await err(KV.put('a', 'x', {{ expiration: 1000 }}));
        out.bigMeta = await err(KV.put('a', 'x', {{ metadata: {{ v: 'm'.repeat(1100) }} }}));
        out.badLimit = await err(KV.list({{ limit: 1001 }}));
        out.badValue = await err(KV.put('a', 42));
        out.badType = await err(KV.get('a', 'blob'));
        return out;
    "#
        ),
    )
    .await;
    assert_eq!(r["text"], "Alice");
    assert_eq!(r["textOpt"], "Alice");
    assert_eq!(r["json"], json!({"name": "Bob"}));
    assert_eq!(r["bytes"], json!([0, 1, 255]));
    assert_eq!(r["stream"], "Alice");
    assert_eq!(r["unicode"], "any text key");
    assert_eq!(r["missing"], Value::Null);
    assert_eq!(r["meta"]["value"], "Alice");
    assert_eq!(r["meta"]["metadata"], json!({"role": "admin"}));
    assert_eq!(r["metaNone"]["value"], json!({"name": "Bob"}));
    assert_eq!(r["metaNone"]["metadata"], Value::Null);
    assert_eq!(r["metaMissing"]["value"], Value::Null);
    assert_eq!(r["many"], json!({"user:1": "Alice", "nope": null}));
    assert_eq!(r["all"], json!(["Upper Case/ü", "bin", "user:1", "user:2"]));
    assert_eq!(r["allComplete"], true);
    assert_eq!(r["expiring"], true);
    assert_eq!(r["listedMeta"], json!({"role": "admin"}));
    assert_eq!(r["prefix"], json!(["user:1", "user:2"]));
    assert_eq!(
        r["pages"],
        json!([["user:1"], false, "string", ["user:2"], true, false])
    );
    assert_eq!(r["deleted"], Value::Null);
    assert_eq!(r["emptyKey"][0], "TypeError");
    assert!(
        r["emptyKey"][1].as_str().unwrap().contains("empty"),
        "{}",
        r["emptyKey"]
    );
    assert_eq!(r["longKey"][0], "Error");
    assert!(r["longKey"][1]
        .as_str()
        .unwrap()
        .contains("513 exceeds key length limit of 512"));
    assert_eq!(r["maxKey"], Value::Null);
    assert!(
        r["shortTtl"][1].as_str().unwrap().contains("at least 60"),
        "{}",
        r["shortTtl"]
    );
    assert!(r["pastExpiration"][1]
        .as_str()
        .unwrap()
        .contains("at least 60 seconds in the future"));
    assert!(r["bigMeta"][1]
        .as_str()
        .unwrap()
        .contains("exceeds limit of 1024"));
    assert!(r["badLimit"][1].as_str().unwrap().contains("1000"));
    assert_eq!(r["badValue"][0], "TypeError");
    assert_eq!(r["badType"][0], "TypeError");
}

pub async fn kv_names_follow_the_cache_rules(rt: &Rt) {
    // A namespace the tenant does not have is the cache's "cache not found".
    let w = World::new().await;
    let bare = nano::core::TenantId::parse(&crate::support::fresh_name("t")).unwrap();
    let r = run(
        &w,
        rt,
        &bare,
        &format!("{ERR} return {{ put: await err(env.KV.put('a', 'x')), r2: await err(env.BUCKET.put('a', 'x')) }};"),
    )
    .await;
    assert_eq!(r["put"][0], "Error");
    assert_eq!(r["put"][1], "cache not found");
    assert_eq!(r["r2"][1], "bucket does not exist");
}

pub async fn r2_binding(rt: &Rt) {
    let w = World::new().await;
    let t = w.tenant().await;
    let r = run(
        &w,
        rt,
        &t,
        &format!(
            r#"{ERR}
        const B = env.BUCKET;
        const out = {{}};
        const put = await B.put('photos/cat.txt', 'meow meow', {{
          httpMetadata: {{ contentType: 'text/plain', cacheControl: 'max-age=60' }},
          customMetadata: {{ owner: 'alice' }},
        }});
        out.put = {{ key: put.key, size: put.size, etag: put.etag.length, httpEtag: put.httpEtag === `"${{put.etag}}"`, uploaded: put.uploaded instanceof Date, body: 'body' in put }};
        await B.put('photos/dog.txt', new TextEncoder().encode('woof'), {{ httpMetadata: new Headers({{ 'content-type': 'text/x-dog' }}) }});
        await B.put('photos/2024/a.txt', new Blob(['a']));
        await B.put('readme.txt', new Response('streamed').body);
        await B.put('empty', null);
        const got = await B.get('photos/cat.txt');
        out.got = {{ text: await got.text(), used: got.bodyUsed, http: got.httpMetadata, custom: got.customMetadata, size: got.size, etag: got.etag === put.etag }};
        const headers = new Headers();
        got.writeHttpMetadata(headers);
        out.headers = [headers.get('content-type'), headers.get('cache-control')];
        out.dogType = (await B.head('photos/dog.txt')).httpMetadata.contentType;
        const part = await B.get('photos/cat.txt', {{ range: {{ offset: 5, length: 4 }} }});
        out.range = [await part.text(), part.range, part.size];
        out.suffix = await (await B.get('photos/cat.txt', {{ range: {{ suffix: 3 }} }})).text();
        out.from = await (await B.get('photos/cat.txt', {{ range: {{ offset: 5 }} }})).text();
        out.json = await (await B.get('readme.txt')).text();
        out.empty = (await B.get('empty')).size;
        const head = await B.head('photos/cat.txt');
        out.head = {{ key: head.key, size: head.size, body: 'body' in head, custom: head.customMetadata }};
        out.missingGet = await B.get('nope.txt');
        out.missingHead = await B.head('nope.txt');
        const all = await B.list();
        out.all = [all.objects.map((o) => o.key), all.truncated, all.delimitedPrefixes, 'cursor' in all, Object.keys(all.objects[2].customMetadata).length];
        const withMeta = await B.list({{ prefix: 'photos/cat', include: ['customMetadata'] }});
        out.withMeta = withMeta.objects[0].customMetadata;
        const dir = await B.list({{ prefix: 'photos/', delimiter: '/' }});
        out.dir = [dir.objects.map((o) => o.key), dir.delimitedPrefixes];
        const p1 = await B.list({{ limit: 2 }});
        const p2 = await B.list({{ limit: 2, cursor: p1.cursor }});
        const p3 = await B.list({{ limit: 2, cursor: p2.cursor }});
        out.pages = [p1.objects.map((o) => o.key), p1.truncated, p2.objects.map((o) => o.key), p3.objects.map((o) => o.key), p3.truncated];
        await B.delete('photos/dog.txt');
        await B.delete(['photos/2024/a.txt', 'never-there']);
        out.afterDelete = (await B.list()).objects.map((o) => o.key);
        out.badLimit = await err(B.list({{ limit: 0 }}));
        out.badKey = await err(B.put('a/../b', 'x'));
        out.badValue = await err(B.put('a', 42));
        return out;
    "#
        ),
    )
    .await;
    assert_eq!(
        r["put"],
        json!({"key": "photos/cat.txt", "size": 9, "etag": 32, "httpEtag": true, "uploaded": true, "body": false})
    );
    assert_eq!(
        r["got"],
        json!({"text": "meow meow", "used": true, "http": {"contentType": "text/plain", "cacheControl": "max-age=60"},
               "custom": {"owner": "alice"}, "size": 9, "etag": true})
    );
    assert_eq!(r["headers"], json!(["text/plain", "max-age=60"]));
    assert_eq!(r["dogType"], "text/x-dog");
    assert_eq!(r["range"], json!(["meow", {"offset": 5, "length": 4}, 9]));
    assert_eq!(r["suffix"], "eow");
    assert_eq!(r["from"], "meow");
    assert_eq!(r["json"], "streamed");
    assert_eq!(r["empty"], 0);
    assert_eq!(
        r["head"],
        json!({"key": "photos/cat.txt", "size": 9, "body": false, "custom": {"owner": "alice"}})
    );
    assert_eq!(r["missingGet"], Value::Null);
    assert_eq!(r["missingHead"], Value::Null);
    assert_eq!(
        r["all"],
        json!([
            [
                "empty",
                "photos/2024/a.txt",
                "photos/cat.txt",
                "photos/dog.txt",
                "readme.txt"
            ],
            false,
            [],
            false,
            0
        ])
    );
    assert_eq!(r["withMeta"], json!({"owner": "alice"}));
    assert_eq!(
        r["dir"],
        json!([["photos/cat.txt", "photos/dog.txt"], ["photos/2024/"]])
    );
    assert_eq!(
        r["pages"],
        json!([
            ["empty", "photos/2024/a.txt"],
            true,
            ["photos/cat.txt", "photos/dog.txt"],
            ["readme.txt"],
            false
        ])
    );
    assert_eq!(
        r["afterDelete"],
        json!(["empty", "photos/cat.txt", "readme.txt"])
    );
    assert_eq!(r["badLimit"][0], "TypeError");
    assert!(
        r["badKey"][1]
            .as_str()
            .unwrap()
            .contains("relative path parts"),
        "{}",
        r["badKey"]
    );
    assert_eq!(r["badValue"][0], "TypeError");
}

pub async fn queues_binding(rt: &Rt) {
    let w = World::new().await;
    let t = w.tenant().await;
    let r = run(
        &w,
        rt,
        &t,
        &format!(
            r#"{ERR}
        await env.QUEUE.send({{ url: 'https://example.com', n: 1 }});
        await env.QUEUE.send('plain text');
        await env.QUEUE.sendBatch([{{ body: 1 }}, {{ body: [2] }}]);
        await env.QUEUE.send({{ later: true }}, {{ delaySeconds: 600 }});
        return {{
          tooMany: await err(env.QUEUE.sendBatch(Array.from({{ length: 101 }}, (_, i) => ({{ body: i }})))),
          tooBig: await err(env.QUEUE.send('x'.repeat(130 * 1024))),
        }};
    "#
        ),
    )
    .await;
    assert!(
        r["tooMany"][1].as_str().unwrap().contains("at most 100"),
        "{}",
        r["tooMany"]
    );
    assert!(
        r["tooBig"][1].as_str().unwrap().contains("131072"),
        "{}",
        r["tooBig"]
    );
    let jobs = w
        .ports
        .queue
        .as_ref()
        .unwrap()
        .list_jobs(
            &TenantScope::resolved(t),
            &w.domain,
            nano::ports::JobStatus::Ready,
        )
        .await
        .unwrap();
    let bodies: Vec<Value> = jobs
        .iter()
        .map(|j| nano::services::queue::message_body(serde_json::from_slice(&j.body).unwrap()))
        .collect();
    assert_eq!(
        bodies,
        [
            json!({"url": "https://example.com", "n": 1}),
            json!("plain text"),
            json!(1),
            json!([2]),
            json!({"later": true})
        ]
    );
    // The delayed message is due ten minutes on, the others at once.
    let due = jobs[4].next_attempt_ms - jobs[3].next_attempt_ms;
    assert!((590_000..=610_000).contains(&due), "{due}");
}

pub async fn cloudflare_bindings_are_scoped_to_tenant(rt: &Rt) {
    let w = World::new().await;
    let (a, b) = (w.tenant().await, w.tenant().await);
    run(
        &w,
        rt,
        &a,
        "await env.KV.put('secret', 'a'); await env.BUCKET.put('secret.txt', 'a'); return true;",
    )
    .await;
    // Tenant b's namespace and bucket have the same names: it sees nothing of a's, and its writes stay its own.
    let r = run(
        &w,
        rt,
        &b,
        r#"
        const out = {};
        out.kv = await env.KV.get('secret');
        out.kvList = (await env.KV.list()).keys;
        out.r2 = await env.BUCKET.get('secret.txt');
        out.r2Head = await env.BUCKET.head('secret.txt');
        out.r2List = (await env.BUCKET.list()).objects;
        await env.KV.put('secret', 'b');
        await env.BUCKET.delete('secret.txt');
        return out;
    "#,
    )
    .await;
    assert_eq!(
        r,
        json!({"kv": null, "kvList": [], "r2": null, "r2Head": null, "r2List": []})
    );
    let again = run(
        &w,
        rt,
        &a,
        "return [await env.KV.get('secret'), await (await env.BUCKET.get('secret.txt')).text()];",
    )
    .await;
    assert_eq!(again, json!(["a", "a"]));
}

/// Loads `src` as an app of `tenant` with `bindings` (`NAME` -> bound app) and the runtime as its peers.
async fn peer_app(
    rt: &Rt,
    tenant: &nano::core::TenantId,
    src: &str,
    bindings: &[(&str, &str)],
    limits: nano::core::Limits,
) -> nano::core::AppName {
    let name = crate::support::fresh_name("app");
    let mut spec = crate::harness::spec(&name, &[], limits);
    spec.tenant = tenant.clone();
    for (n, app) in bindings {
        spec.bindings.insert(
            n.to_string(),
            nano::core::BindingSpec {
                service: ServiceKind::App,
                domain: nano::core::DomainName::parse(app).unwrap(),
            },
        );
    }
    let mut v = crate::harness::version(spec, &[("index.js", src)]);
    v.bindings.tenant = Some(tenant.clone());
    v.bindings.peers = Some(std::sync::Arc::downgrade(rt));
    rt.load(v).await.unwrap();
    nano::core::AppName::parse(&name).unwrap()
}

const ECHO: &str = r#"export default { async fetch(request) {
    const url = new URL(request.url);
    return Response.json({ method: request.method, path: url.pathname, body: await request.text(),
      header: request.headers.get('x-test'), hops: request.headers.get('x-nano-hops') }, { headers: { 'x-from': 'echo' } });
} };"#;

pub async fn service_bindings_reach_apps_of_the_tenant(rt: &Rt) {
    let tenant = nano::core::TenantId::parse(&crate::support::fresh_name("t")).unwrap();
    let echo = peer_app(rt, &tenant, ECHO, &[], Default::default()).await;
    let caller = format!(
        r#"export default {{ async fetch(request, env) {{
        const a = await env.AUTH.fetch('https://auth.internal/check?x=1', {{ method: 'POST', body: 'token', headers: {{ 'x-test': 'yes' }} }});
        const b = await env.AUTH.fetch(new Request('https://any.host/two'));
        const c = await fetch('http://{echo}.localhost/local');
        return Response.json({{ a: await a.json(), aHeader: a.headers.get('x-from'), aStatus: a.status,
          b: await b.json(), c: await c.json() }});
    }} }};"#
    );
    let app = peer_app(
        rt,
        &tenant,
        &caller,
        &[("AUTH", echo.as_str())],
        Default::default(),
    )
    .await;
    let r = get(rt, &app, "/").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = r.json();
    assert_eq!(
        r["a"],
        json!({"method": "POST", "path": "/check", "body": "token", "header": "yes", "hops": "1"})
    );
    assert_eq!(r["aHeader"], "echo");
    assert_eq!(r["aStatus"], 200);
    assert_eq!(r["b"]["path"], "/two");
    assert_eq!(r["c"]["path"], "/local");
}

pub async fn service_bindings_stop_at_the_tenant_and_the_limits(rt: &Rt) {
    let a = nano::core::TenantId::parse(&crate::support::fresh_name("t")).unwrap();
    let b = nano::core::TenantId::parse(&crate::support::fresh_name("t")).unwrap();
    let echo = peer_app(rt, &a, ECHO, &[], Default::default()).await;
    // Tenant b binds to tenant a's app by name, and fetches its .localhost name: neither reaches it.
    let intruder = format!(
        r#"export default {{ async fetch(request, env) {{
        const out = {{}};
        try {{ await env.OTHER.fetch('https://x/'); out.binding = 'reached'; }} catch (e) {{ out.binding = e.message; }}
        try {{ await fetch('http://{echo}.localhost/'); out.local = 'reached'; }} catch (e) {{ out.local = 'refused'; }}
        return Response.json(out);
    }} }};"#
    );
    let app = peer_app(
        rt,
        &b,
        &intruder,
        &[("OTHER", echo.as_str())],
        Default::default(),
    )
    .await;
    let r = get(rt, &app, "/").await.json();
    assert!(r["binding"].as_str().unwrap().contains("no app"), "{r}");
    assert_eq!(r["local"], "refused");
    // Each call is a subrequest of the caller's request.
    let limits = nano::core::Limits {
        subrequests: 1,
        ..Default::default()
    };
    let twice = r#"export default { async fetch(request, env) {
        await env.AUTH.fetch('https://x/');
        try { await env.AUTH.fetch('https://x/'); return new Response('second reached'); }
        catch (e) { return new Response(e.message); }
    } };"#;
    let app = peer_app(rt, &a, twice, &[("AUTH", echo.as_str())], limits).await;
    let r = get(rt, &app, "/").await;
    assert!(r.body.contains("subrequest limit of 1"), "{}", r.body);
    // An app bound to itself ends at the hop limit instead of looping.
    let name = crate::support::fresh_name("app");
    let looping = r#"export default { async fetch(request, env) {
        try { return await env.SELF.fetch(request.url); }
        catch (e) { return new Response(e.message); }
    } };"#;
    let mut spec = crate::harness::spec(&name, &[], Default::default());
    spec.tenant = a.clone();
    spec.bindings.insert(
        "SELF".into(),
        nano::core::BindingSpec {
            service: ServiceKind::App,
            domain: nano::core::DomainName::parse(&name).unwrap(),
        },
    );
    let mut v = crate::harness::version(spec, &[("index.js", looping)]);
    v.bindings.tenant = Some(a.clone());
    v.bindings.peers = Some(std::sync::Arc::downgrade(rt));
    rt.load(v).await.unwrap();
    let r = get(rt, &nano::core::AppName::parse(&name).unwrap(), "/").await;
    assert!(r.body.contains("request loop"), "{}", r.body);
}
