//! App bindings: `env.DATA`, `env.CACHE`, `env.STORAGE`, `env.SEARCH`, `env.QUEUE` against the real SQLite, fs and
//! tantivy adapters, called in process for the app's tenant; other tenants' data stays out of reach. `env.ASSETS`
//! against a real assets folder.

use crate::harness::{get, version, Rt};
use crate::support::fresh_name;
use nano::adapters::fs::FsStorage;
use nano::adapters::sql::SqlQueue;
use nano::adapters::sqlite::{self, SqliteCache, SqliteDataStore};
use nano::adapters::tantivy::TantivySearch;
use nano::core::{AppName, BindingSpec, DomainName, Limits, ServiceKind, TenantId, TenantScope};
use nano::ports::search::IndexMapping;
use nano::ports::{AppBindings, QueueConfig};
use serde_json::{json, Value};
use std::sync::Arc;

/// Real adapters in a temporary folder, with one domain of each service created for `tenant`.
pub struct World {
    _dir: tempfile::TempDir,
    pub ports: AppBindings,
    pub domain: DomainName,
}

impl World {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let ports = AppBindings {
            tenant: None,
            cache: Some(Arc::new(
                SqliteCache::open(&p.join("cache.db")).await.unwrap(),
            )),
            data: Some(Arc::new(
                SqliteDataStore::open(&p.join("data.db")).await.unwrap(),
            )),
            storage: Some(Arc::new(FsStorage::open(&p.join("storage")).unwrap())),
            search: Some(Arc::new(TantivySearch::open(&p.join("search")).unwrap())),
            queue: Some(Arc::new(
                SqlQueue::sqlite(sqlite::queue_database(&p.join("queue.db")).await.unwrap())
                    .await
                    .unwrap(),
            )),
            assets: None,
            peers: None,
        };
        Self {
            _dir: dir,
            ports,
            domain: DomainName::parse(&fresh_name("d")).unwrap(),
        }
    }

    /// Creates the domain under every service for a new tenant and returns the tenant.
    pub async fn tenant(&self) -> TenantId {
        let t = TenantId::parse(&fresh_name("t")).unwrap();
        let s = TenantScope::resolved(t.clone());
        let d = &self.domain;
        let p = &self.ports;
        p.data.as_ref().unwrap().create_db(&s, d).await.unwrap();
        p.cache.as_ref().unwrap().create_store(&s, d).await.unwrap();
        p.storage
            .as_ref()
            .unwrap()
            .create_bucket(&s, d)
            .await
            .unwrap();
        let mapping = IndexMapping {
            fields: vec!["title".into()],
            store_fields: vec!["title".into()],
            ..Default::default()
        };
        p.search
            .as_ref()
            .unwrap()
            .create_index(&s, d, mapping)
            .await
            .unwrap();
        let config = QueueConfig {
            target: "http://127.0.0.1:9/jobs".into(),
            secret: None,
            max_attempts: 1,
            backoff_ms: 1000,
            concurrency: 1,
        };
        p.queue
            .as_ref()
            .unwrap()
            .create_queue(&s, d, &config)
            .await
            .unwrap();
        t
    }

    /// Loads an app of `tenant` bound to this world's domain under every service (as `DATA`, `CACHE`, ...) whose
    /// handler runs `body` and answers its value as JSON.
    pub async fn app(&self, rt: &Rt, tenant: &TenantId, body: &str) -> AppName {
        self.app_bound(rt, tenant, body, &ALL).await
    }

    pub async fn app_bound(
        &self,
        rt: &Rt,
        tenant: &TenantId,
        body: &str,
        names: &[(&str, ServiceKind)],
    ) -> AppName {
        let src = format!(
            "export default {{ async fetch(request, env) {{ const result = await (async () => {{ {body} }})(); return Response.json(result); }} }};"
        );
        let name = fresh_name("app");
        let mut spec = crate::harness::spec(&name, &[], Limits::default());
        spec.tenant = tenant.clone();
        for (n, service) in names {
            spec.bindings.insert(
                n.to_string(),
                BindingSpec {
                    service: *service,
                    domain: self.domain.clone(),
                },
            );
        }
        let mut v = version(spec, &[("index.js", &src)]);
        v.bindings = AppBindings {
            tenant: Some(tenant.clone()),
            ..self.ports.clone()
        };
        rt.load(v).await.unwrap();
        AppName::parse(&name).unwrap()
    }

    pub async fn run(&self, rt: &Rt, tenant: &TenantId, body: &str) -> Value {
        let app = self.app(rt, tenant, body).await;
        let a = get(rt, &app, "/").await;
        assert_eq!(a.status, 200, "app failed: {}", a.body);
        a.json()
    }
}

pub const ALL: [(&str, ServiceKind); 5] = [
    ("DATA", ServiceKind::Data),
    ("CACHE", ServiceKind::Cache),
    ("STORAGE", ServiceKind::Storage),
    ("SEARCH", ServiceKind::Search),
    ("QUEUE", ServiceKind::Queue),
];

pub async fn data_binding(rt: &Rt) {
    let w = World::new().await;
    let t = w.tenant().await;
    let r = w
        .run(
            rt,
            &t,
            r#"
        const D = env.DATA;
        const out = {};
        out.add = await D.add({ _id: 'm1', type: 'movie', title: 'Ghostbusters', year: 1984 });
        out.add2 = await D.add({ _id: 'm2', type: 'movie', title: 'Jaws', year: 1975 });
        out.dup = await D.add({ _id: 'm1', title: 'again' });
        out.get = await D.get('m1');
        out.missing = await D.get('nope');
        out.update = await D.update('m1', { type: 'movie', title: 'Ghostbusters', year: 1985 });
        out.afterUpdate = await D.get('m1');
        out.list = await D.list({ limit: 10 });
        out.keys = await D.list({ keys: ['m2'] });
        out.index = await D.index('by-year', ['year']);
        out.query = await D.query({ year: { $lt: 1980 } }, { sort: [{ year: 'ASC' }] });
        out.bulk = await D.bulk([{ _id: 'm3', title: 'Alien' }, { _id: 'm2', _deleted: true }]);
        out.remove = await D.remove('m1');
        out.final = await D.list();
        out.noMethod = typeof D.nothing;
        return out;
    "#,
        )
        .await;
    assert_eq!(r["add"], json!({"ok": true, "id": "m1"}));
    assert_eq!(r["dup"]["ok"], false);
    assert_eq!(r["dup"]["status"], 409);
    assert_eq!(r["get"]["ok"], true);
    assert_eq!(r["get"]["doc"]["title"], "Ghostbusters");
    assert_eq!(r["get"]["doc"]["_id"], "m1");
    assert_eq!(r["missing"]["ok"], false);
    assert_eq!(r["missing"]["status"], 404);
    assert_eq!(r["update"], json!({"ok": true, "id": "m1"}));
    assert_eq!(r["afterUpdate"]["doc"]["year"], 1985);
    assert_eq!(r["list"]["docs"].as_array().unwrap().len(), 2);
    assert_eq!(r["keys"]["docs"][0]["_id"], "m2");
    assert_eq!(r["index"], json!({"ok": true}));
    assert_eq!(r["query"]["ok"], true);
    assert_eq!(r["query"]["docs"].as_array().unwrap().len(), 1);
    assert_eq!(r["query"]["docs"][0]["title"], "Jaws");
    assert_eq!(
        r["bulk"],
        json!({"ok": true, "results": [{"ok": true, "id": "m3"}, {"ok": true, "id": "m2"}]})
    );
    assert_eq!(r["remove"], json!({"ok": true, "id": "m1"}));
    let ids: Vec<&str> = r["final"]["docs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["m3"]);
    assert_eq!(r["noMethod"], "undefined");
}

pub async fn cache_binding(rt: &Rt) {
    let w = World::new().await;
    let t = w.tenant().await;
    let r = w
        .run(
            rt,
            &t,
            r#"
        const C = env.CACHE;
        const out = {};
        out.add = await C.add('movie-1', { title: 'Ghostbusters' });
        out.dup = await C.add('movie-1', { title: 'again' });
        out.get = await C.get('movie-1');
        out.set = await C.set('movie-2', { title: 'Jaws' }, '1h');
        out.missing = await C.get('nope');
        out.query = await C.query('movie-*');
        out.remove = await C.remove('movie-1');
        out.after = await C.query('*');
        out.badTtl = await C.set('x', { a: 1 }, 'soon');
        return out;
    "#,
        )
        .await;
    assert_eq!(r["add"], json!({"ok": true}));
    assert_eq!(r["dup"]["status"], 409);
    assert_eq!(
        r["get"],
        json!({"ok": true, "doc": {"title": "Ghostbusters"}})
    );
    assert_eq!(r["set"], json!({"ok": true}));
    assert_eq!(r["missing"]["ok"], false);
    assert_eq!(r["missing"]["status"], 404);
    assert_eq!(
        r["query"],
        json!({"ok": true, "docs": [
            {"key": "movie-1", "value": {"title": "Ghostbusters"}},
            {"key": "movie-2", "value": {"title": "Jaws"}}
        ]})
    );
    assert_eq!(r["remove"], json!({"ok": true}));
    assert_eq!(r["after"]["docs"].as_array().unwrap().len(), 1);
    assert_eq!(r["badTtl"]["status"], 422);
}

pub async fn storage_binding(rt: &Rt) {
    let w = World::new().await;
    let t = w.tenant().await;
    let r = w
        .run(
            rt,
            &t,
            r#"
        const S = env.STORAGE;
        const out = {};
        out.text = await S.upload('docs/hello.txt', 'hello world');
        const big = new Uint8Array(300000);
        for (let at = 0; at < big.length; at += 65536) crypto.getRandomValues(big.subarray(at, at + 65536));
        const stream = new ReadableStream({
          start(c) { c.enqueue(big.subarray(0, 100000)); c.enqueue(big.subarray(100000)); c.close(); },
        });
        out.stream = await S.upload('data/big.bin', stream);
        out.bad = await S.upload('../escape', 'x');
        const dl = await S.download('docs/hello.txt');
        out.downloadOk = dl.ok;
        out.downloadIsStream = dl.object instanceof ReadableStream;
        out.downloaded = await new Response(dl.object).text();
        const back = new Uint8Array(await new Response((await S.download('data/big.bin')).object).arrayBuffer());
        out.bigSize = back.byteLength;
        const hex = async (b) => Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', b))).join(',');
        out.bigSame = (await hex(back)) === (await hex(big));
        out.missing = await S.download('nope.txt');
        out.list = await S.list('docs/');
        out.remove = await S.remove('docs/hello.txt');
        out.removedAgain = await S.remove('docs/hello.txt');
        out.after = await S.list();
        return out;
    "#,
        )
        .await;
    assert_eq!(r["text"], json!({"ok": true}));
    assert_eq!(r["stream"], json!({"ok": true}));
    assert_eq!(r["bad"]["ok"], false);
    assert_eq!(r["bad"]["status"], 400);
    assert_eq!(r["downloadOk"], true);
    assert_eq!(r["downloadIsStream"], true);
    assert_eq!(r["downloaded"], "hello world");
    assert_eq!(r["bigSize"], 300000);
    assert_eq!(r["bigSame"], true);
    assert_eq!(r["missing"]["status"], 404);
    assert_eq!(r["list"]["objects"][0]["name"], "docs/hello.txt");
    assert_eq!(r["list"]["objects"][0]["size"], 11);
    assert_eq!(r["list"]["objects"].as_array().unwrap().len(), 1);
    assert_eq!(r["remove"], json!({"ok": true}));
    assert_eq!(r["removedAgain"]["status"], 404);
    assert_eq!(r["after"]["objects"].as_array().unwrap().len(), 1);
}

pub async fn search_binding(rt: &Rt) {
    let w = World::new().await;
    let t = w.tenant().await;
    let r = w
        .run(
            rt,
            &t,
            r#"
        const S = env.SEARCH;
        const out = {};
        out.add = await S.add('m1', { title: 'Ghostbusters' });
        out.dup = await S.add('m1', { title: 'again' });
        out.get = await S.get('m1');
        out.update = await S.update('m1', { title: 'Ghostbusters II' });
        out.load = await S.load([{ _id: 'm2', title: 'Jaws' }, { _id: 'm3', title: 'Jaws 2' }]);
        out.query = await S.query('jaws');
        out.remove = await S.remove('m2');
        out.after = await S.query('jaws');
        out.missing = await S.get('m2');
        return out;
    "#,
        )
        .await;
    assert_eq!(r["add"], json!({"ok": true}));
    assert_eq!(r["dup"]["status"], 409);
    assert_eq!(r["get"]["ok"], true);
    assert_eq!(r["get"]["key"], "m1");
    assert_eq!(r["get"]["doc"]["title"], "Ghostbusters");
    assert_eq!(r["update"], json!({"ok": true}));
    assert_eq!(
        r["load"],
        json!({"ok": true, "results": [{"ok": true, "id": "m2"}, {"ok": true, "id": "m3"}]})
    );
    let mut ids: Vec<&str> = r["query"]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["m2", "m3"]);
    assert!(r["query"]["matches"][0]["title"]
        .as_str()
        .unwrap()
        .starts_with("Jaws"));
    assert_eq!(r["remove"], json!({"ok": true}));
    assert_eq!(r["after"]["matches"].as_array().unwrap().len(), 1);
    assert_eq!(r["missing"]["status"], 404);
}

pub async fn queue_binding(rt: &Rt) {
    let w = World::new().await;
    let t = w.tenant().await;
    let r = w
        .run(
            rt,
            &t,
            r#"
        const Q = env.QUEUE;
        const out = {};
        out.enqueue = await Q.enqueue({ type: 'email', to: 'a@example.com' });
        out.queued = await Q.queued();
        out.errors = await Q.errors();
        out.bad = await Q.enqueue('not an object');
        return out;
    "#,
        )
        .await;
    assert_eq!(r["enqueue"]["ok"], true);
    let id = r["enqueue"]["id"].as_i64().unwrap();
    assert!(id > 0);
    assert_eq!(r["queued"]["ok"], true);
    assert_eq!(r["queued"]["jobs"][0]["id"], id);
    assert_eq!(
        r["queued"]["jobs"][0]["job"],
        json!({"type": "email", "to": "a@example.com"})
    );
    assert_eq!(r["queued"]["jobs"][0]["status"], "READY");
    assert_eq!(r["errors"], json!({"ok": true, "jobs": []}));
    // The same 422 as `POST /queue/:name` with a body that is not an object.
    assert_eq!(r["bad"]["status"], 422);
    assert_eq!(
        r["bad"]["msg"],
        "Invalid Arguments 'job': Expected object, received string."
    );
}

/// Only configured bindings exist; each reaches only its own domain and its app's tenant.
pub async fn bindings_are_scoped_to_tenant_and_domain(rt: &Rt) {
    let w = World::new().await;
    let (a, b) = (w.tenant().await, w.tenant().await);
    let wrote = w
        .run(
            rt,
            &a,
            r#"
        await env.DATA.add({ _id: 'secret', owner: 'a' });
        await env.CACHE.add('secret', { owner: 'a' });
        await env.STORAGE.upload('secret.txt', 'a');
        await env.SEARCH.add('secret', { title: 'secret' });
        await env.QUEUE.enqueue({ owner: 'a' });
        return true;
    "#,
        )
        .await;
    assert_eq!(wrote, true);
    // Tenant b has the same domain names: it sees nothing of a's, and its writes do not reach a.
    let r = w
        .run(
            rt,
            &b,
            r#"
        const out = {};
        out.data = await env.DATA.get('secret');
        out.list = await env.DATA.list();
        out.overwrite = await env.DATA.update('secret', { owner: 'b' });
        out.cache = await env.CACHE.get('secret');
        out.cacheQuery = await env.CACHE.query('*');
        out.storage = await env.STORAGE.download('secret.txt');
        out.storageList = await env.STORAGE.list();
        out.search = await env.SEARCH.get('secret');
        out.searchQuery = await env.SEARCH.query('secret');
        out.queued = await env.QUEUE.queued();
        return out;
    "#,
        )
        .await;
    assert_eq!(r["data"]["status"], 404);
    assert_eq!(r["list"]["docs"], json!([]));
    assert_eq!(r["cache"]["status"], 404);
    assert_eq!(r["cacheQuery"]["docs"], json!([]));
    assert_eq!(r["storage"]["status"], 404);
    assert_eq!(r["storageList"]["objects"], json!([]));
    assert_eq!(r["search"]["status"], 404);
    assert_eq!(r["searchQuery"]["matches"], json!([]));
    assert_eq!(r["queued"]["jobs"], json!([]));
    let back = w
        .run(
            rt,
            &a,
            "return [await env.DATA.get('secret'), (await env.QUEUE.queued()).jobs.length];",
        )
        .await;
    assert_eq!(
        back,
        json!([{"ok": true, "doc": {"_id": "secret", "owner": "a"}}, 1])
    );
    // An app bound only to DATA has no other binding, and cannot name another domain.
    let app = w
        .app_bound(
            rt,
            &a,
            "return { keys: Object.keys(env).sort(), cache: typeof env.CACHE, data: (await env.MOVIES.list()).docs.length };",
            &[("MOVIES", ServiceKind::Data)],
        )
        .await;
    let only = get(rt, &app, "/").await.json();
    assert_eq!(
        only,
        json!({"keys": ["MOVIES"], "cache": "undefined", "data": 1})
    );
    // An app without a tenant handle for its bindings sees none.
    let r = crate::harness::eval_json(rt, "return Object.keys(env);").await;
    assert_eq!(r, json!([]));
}

/// `env.ASSETS.fetch`: files of the app's assets folder with the direct serving's rules (content type, ETag and 304,
/// ranges, `index.html`), 404 for a missing file or an escape attempt, 405 for other methods.
pub async fn assets_binding(rt: &Rt) {
    let dir = tempfile::tempdir().unwrap();
    let public = dir.path().join("public");
    std::fs::create_dir_all(public.join("docs")).unwrap();
    std::fs::write(public.join("data.txt"), "0123456789").unwrap();
    std::fs::write(public.join("docs/index.html"), "<p>docs</p>").unwrap();
    std::fs::write(dir.path().join("secret"), "TOP-SECRET").unwrap();
    let src = r#"export default { async fetch(request, env) {
      const show = async (res) => ({ status: res.status, type: res.headers.get('content-type'),
        etag: res.headers.get('etag'), range: res.headers.get('content-range'), body: await res.text() });
      const file = await show(await env.ASSETS.fetch(new Request('https://shop.test/data.txt')));
      const again = await env.ASSETS.fetch('https://shop.test/data.txt', { headers: { 'if-none-match': file.etag } });
      return Response.json({
        names: Object.keys(env),
        file,
        bare: await show(await env.ASSETS.fetch('/data.txt')),
        notModified: again.status,
        range: await show(await env.ASSETS.fetch('https://shop.test/data.txt', { headers: { range: 'bytes=2-4' } })),
        index: await show(await env.ASSETS.fetch('https://shop.test/docs/')),
        missing: await show(await env.ASSETS.fetch('https://shop.test/nope.txt')),
        escape: await show(await env.ASSETS.fetch('https://shop.test/%2e%2e/secret')),
        escapeRaw: await show(await env.ASSETS.fetch(new Request('https://shop.test/docs/../../secret'))),
        post: (await env.ASSETS.fetch('https://shop.test/data.txt', { method: 'POST', body: 'x' })).status,
      });
    } };"#;
    let name = fresh_name("app");
    let spec = crate::harness::spec(&name, &[], Limits::default());
    let mut v = version(spec, &[("index.js", src)]);
    v.bindings.assets = Some(Arc::new(nano::adapters::fs::FsAssets::new(&public)));
    rt.load(v).await.unwrap();
    let a = get(rt, &AppName::parse(&name).unwrap(), "/").await;
    assert_eq!(a.status, 200, "app failed: {}", a.body);
    let r = a.json();
    assert_eq!(r["names"], json!(["ASSETS"]));
    assert_eq!(r["file"]["status"], 200);
    assert_eq!(r["file"]["type"], "text/plain; charset=utf-8");
    assert_eq!(r["file"]["body"], "0123456789");
    assert!(r["file"]["etag"]
        .as_str()
        .is_some_and(|e| e.starts_with('"')));
    assert_eq!(r["bare"]["body"], "0123456789");
    assert_eq!(r["notModified"], 304);
    assert_eq!(r["range"]["status"], 206);
    assert_eq!(r["range"]["range"], "bytes 2-4/10");
    assert_eq!(r["range"]["body"], "234");
    assert_eq!(r["index"]["status"], 200);
    assert_eq!(r["index"]["type"], "text/html; charset=utf-8");
    assert_eq!(r["index"]["body"], "<p>docs</p>");
    assert_eq!(r["missing"]["status"], 404);
    for escape in ["escape", "escapeRaw"] {
        assert_eq!(r[escape]["status"], 404, "{escape}: {}", r[escape]);
        assert!(!r[escape]["body"].as_str().unwrap().contains("TOP-SECRET"));
    }
    assert_eq!(r["post"], 405);
}

/// A request that hits its CPU limit while a streamed upload through a binding is still reading its body ends with
/// the CPU 503; the isolate keeps serving the app's next request, and freeing it afterwards leaves the process up.
pub async fn cpu_limit_during_streamed_upload(rt: &Rt) {
    let w = World::new().await;
    let t = w.tenant().await;
    let app = w
        .app(
            rt,
            &t,
            r#"
        if (new URL(request.url).pathname === '/ok') return { ok: true };
        let n = 0;
        const stream = new ReadableStream({
          async pull(c) {
            await new Promise((r) => setTimeout(r, 1));
            if (n++ < 50) c.enqueue(new Uint8Array(20000).fill(n)); else c.close();
          },
        });
        env.STORAGE.upload('slow/' + Math.random() + '.bin', stream);
        await new Promise((r) => setTimeout(r, 5));
        while (true) {}
    "#,
        )
        .await;
    for _ in 0..5 {
        match crate::harness::send(rt, &app, crate::harness::get_req("/spin")).await {
            Err(e) => assert_eq!(
                e.limit(),
                Some(nano::ports::Limit::Cpu),
                "spinning upload: {e}"
            ),
            Ok(a) => panic!("spinning upload answered {} {}", a.status, a.body),
        }
        let ok = get(rt, &app, "/ok").await;
        assert_eq!(ok.status, 200, "after the limit: {}", ok.body);
    }
    // Unloading frees the isolate (the engine's whole heap) inside the test, not at process exit.
    rt.unload(&app).await.unwrap();
    assert!(
        crate::harness::send(rt, &app, crate::harness::get_req("/ok"))
            .await
            .is_err()
    );
}
