//! The Workers Cache API (`caches.default`, `caches.open(name)`) against the real SQLite cache adapter: what is kept,
//! for how long, what `put` refuses, and that one tenant's cached responses are out of another's reach.

use crate::bindings::World;
use crate::harness::Rt;
use serde_json::json;

pub async fn cache_api_behaviour(rt: &Rt) {
    let w = World::new().await;
    let t = w.tenant().await;
    let r = w
        .run(
            rt,
            &t,
            r#"
        const c = caches.default;
        const u = 'https://example.com/a?x=1';
        const out = {};
        const refused = async (f) => { try { await f(); return 'kept'; } catch (e) { return e.name; } };
        out.miss = (await c.match(u)) === undefined;
        await c.put(u, new Response('hello', { headers: { 'cache-control': 'max-age=60', 'x-a': '1' } }));
        const hit = await c.match(new Request(u));
        out.hit = [hit.status, await hit.text(), hit.headers.get('x-a'), hit.headers.get('cf-cache-status')];
        out.post = (await c.match(new Request(u, { method: 'POST' }))) === undefined;
        out.postIgnored = (await c.match(new Request(u, { method: 'POST' }), { ignoreMethod: true })) !== undefined;
        await c.put('https://example.com/cookie', new Response('c', { headers: { 'set-cookie': 'a=1', 'cache-control': 'max-age=60' } }));
        out.cookie = (await c.match('https://example.com/cookie')) === undefined;
        await c.put('https://example.com/private', new Response('p', { headers: { 'set-cookie': 'a=1', 'cache-control': 'max-age=60, private=Set-Cookie' } }));
        const priv = await c.match('https://example.com/private');
        out.privateKept = [await priv.text(), priv.headers.get('set-cookie')];
        await c.put('https://example.com/nostore', new Response('n', { headers: { 'cache-control': 'no-store' } }));
        out.nostore = (await c.match('https://example.com/nostore')) === undefined;
        await c.put('https://example.com/error', new Response('e', { status: 500 }));
        out.error = (await c.match('https://example.com/error')) === undefined;
        out.nonGet = await refused(() => c.put(new Request(u, { method: 'POST', body: 'x' }), new Response('x')));
        out.partial = await refused(() => c.put(u, new Response('x', { status: 206 })));
        out.varyAll = await refused(() => c.put(u, new Response('x', { headers: { vary: '*' } })));
        const used = new Response('x');
        await used.text();
        out.used = await refused(() => c.put(u, used));
        out.tooLarge = await c.put('https://example.com/big', new Response(new Uint8Array(6 << 20))).catch((e) => e.message);
        const named = await caches.open('custom:cache');
        out.separate = (await named.match(u)) === undefined;
        await named.put(u, new Response('named', { headers: { 'cache-control': 's-maxage=30' } }));
        out.named = await (await named.match(u)).text();
        out.defaultStill = await (await c.match(u)).text();
        out.deleted = await c.delete(u);
        out.deletedAgain = await c.delete(u);
        out.gone = (await c.match(u)) === undefined;
        out.tags = [String(caches), String(c)];
        return out;
    "#,
        )
        .await;
    assert_eq!(r["miss"], true, "{r}");
    assert_eq!(r["hit"], json!([200, "hello", "1", "HIT"]), "{r}");
    assert_eq!(r["post"], true, "{r}");
    assert_eq!(r["postIgnored"], true, "{r}");
    assert_eq!(
        r["cookie"], true,
        "a Set-Cookie response is never kept: {r}"
    );
    assert_eq!(r["privateKept"], json!(["p", null]), "{r}");
    assert_eq!(r["nostore"], true, "{r}");
    assert_eq!(r["error"], true, "a 500 has no edge TTL: {r}");
    for refused in ["nonGet", "partial", "varyAll", "used"] {
        assert_eq!(r[refused], "TypeError", "{refused}: {r}");
    }
    let too_large = r["tooLarge"].as_str().unwrap_or_default();
    assert!(too_large.contains("larger than the Cache API keeps"), "{r}");
    assert_eq!(r["separate"], true, "{r}");
    assert_eq!(r["named"], "named", "{r}");
    assert_eq!(r["defaultStill"], "hello", "{r}");
    assert_eq!(r["deleted"], true, "{r}");
    assert_eq!(r["deletedAgain"], false, "{r}");
    assert_eq!(r["gone"], true, "{r}");
    assert_eq!(
        r["tags"],
        json!(["[object CacheStorage]", "[object Cache]"])
    );
}

pub async fn cache_api_is_per_tenant(rt: &Rt) {
    let w = World::new().await;
    let (a, b) = (w.tenant().await, w.tenant().await);
    let put = w
        .run(
            rt,
            &a,
            r#"
        await caches.default.put('https://shared.example/x', new Response('secret of a', { headers: { 'cache-control': 'max-age=60' } }));
        return (await (await caches.default.match('https://shared.example/x')).text());
    "#,
        )
        .await;
    assert_eq!(put, "secret of a");
    let other = w
        .run(
            rt,
            &b,
            r#"
        const found = await caches.default.match('https://shared.example/x');
        const deleted = await caches.default.delete('https://shared.example/x');
        return { found: found === undefined ? null : await found.text(), deleted };
    "#,
        )
        .await;
    assert_eq!(other, json!({"found": null, "deleted": false}));
    let again = w
        .run(
            rt,
            &a,
            "return (await (await caches.default.match('https://shared.example/x')).text());",
        )
        .await;
    assert_eq!(
        again, "secret of a",
        "the other tenant's delete reached nothing"
    );
}
