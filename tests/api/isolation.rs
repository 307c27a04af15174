//! The isolation matrix: two tenants with the same domain, binding, document, key and object names. Every REST
//! route is tried from each tenant against the other's resources with a wrong Host, a wrong path prefix, its own
//! token, a forged token, an expired token and no token (auth on, as in prod); every binding method runs in each
//! tenant's app with the other's names. Nothing of the other's leaks and nothing of it changes. Prints the count.

use crate::support::{client, fresh_name, TestNano};
use nano::app::config::BindingConfig;
use nano::app::AppConfig;
use nano::core::{jwt, Limits, ServiceKind};
use reqwest::Method;
use serde_json::{json, Value};

const APP: &str = r#"export default { async fetch(req, env) {
  const me = new URL(req.url).pathname.slice(1);
  if (req.method === 'POST') {
    const marker = 'secret-of-' + me;
    await env.DATA.add({ _id: 'doc1', marker });
    await env.CACHE.add('doc1', { marker });
    await env.STORAGE.upload('doc1.txt', marker);
    await env.SEARCH.add('doc1', { title: marker });
    await env.QUEUE.enqueue({ marker });
    return Response.json({ ok: true });
  }
  // Every binding method, aimed at the names the other tenant uses: they can only reach this tenant's own data.
  const out = [];
  const D = env.DATA, C = env.CACHE, S = env.STORAGE, X = env.SEARCH, Q = env.QUEUE;
  out.push(await D.get('doc1'), await D.list(), await D.query({ _id: 'doc1' }), await D.index('i', ['marker']));
  out.push(await D.update('other', { marker: 'written' }), await D.remove('other'));
  out.push(await D.bulk([{ _id: 'other2', marker: 'written' }]), await D.add({ _id: 'other3' }), await D.remove('other2'), await D.remove('other3'));
  out.push(await C.get('doc1'), await C.query('*'), await C.add('other', { v: 1 }), await C.set('other', { v: 2 }), await C.remove('other'));
  const dl = await S.download('doc1.txt');
  out.push({ text: dl.ok ? await new Response(dl.object).text() : dl }, await S.list(), await S.upload('other.txt', 'x'), await S.remove('other.txt'));
  out.push(await X.get('doc1'), await X.query('secret'), await X.add('other', { title: 'x' }), await X.update('other', { title: 'y' }), await X.remove('other'), await X.load([{ _id: 'other', title: 'z' }]), await X.remove('other'));
  out.push(await Q.queued(), await Q.errors());
  return Response.json(out);
} };"#;

struct Tenant {
    id: String,
    key: String,
    secret: String,
}

impl Tenant {
    fn token(&self, exp_from_now: i64) -> String {
        jwt::sign(&self.key, now() + exp_from_now, self.secret.as_bytes())
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn binding(service: ServiceKind) -> BindingConfig {
    BindingConfig {
        service,
        domain: "movies".into(),
    }
}

/// The REST routes over the victim's resources (method, path below the tenant, JSON body).
fn routes() -> Vec<(Method, &'static str, Option<Value>)> {
    let doc = Some(json!({ "_id": "doc1", "marker": "overwritten" }));
    vec![
        (Method::GET, "/data/movies", None),
        (Method::PUT, "/data/movies", None),
        (Method::DELETE, "/data/movies", None),
        (Method::POST, "/data/movies", doc.clone()),
        (Method::GET, "/data/movies/doc1", None),
        (Method::PUT, "/data/movies/doc1", doc.clone()),
        (Method::DELETE, "/data/movies/doc1", None),
        (
            Method::POST,
            "/data/movies/_query",
            Some(json!({ "selector": {} })),
        ),
        (
            Method::POST,
            "/data/movies/_bulk",
            Some(json!([{ "_id": "doc1", "_deleted": true }])),
        ),
        (
            Method::POST,
            "/data/movies/_index",
            Some(json!({ "name": "i", "fields": ["marker"] })),
        ),
        (Method::GET, "/cache", None),
        (Method::PUT, "/cache/movies", None),
        (Method::DELETE, "/cache/movies", None),
        (
            Method::POST,
            "/cache/movies",
            Some(json!({ "key": "doc1", "value": { "marker": "overwritten" } })),
        ),
        (Method::GET, "/cache/movies/doc1", None),
        (
            Method::PUT,
            "/cache/movies/doc1",
            Some(json!({ "marker": "overwritten" })),
        ),
        (Method::DELETE, "/cache/movies/doc1", None),
        (Method::POST, "/cache/movies/_query?pattern=*", None),
        (Method::PUT, "/storage/movies", None),
        (Method::DELETE, "/storage/movies", None),
        (Method::GET, "/storage/movies", None),
        (Method::GET, "/storage/movies/doc1.txt", None),
        (
            Method::GET,
            "/storage/movies/doc1.txt?useSignedUrl=true",
            None,
        ),
        (
            Method::POST,
            "/storage/movies/doc1.txt",
            Some(json!("overwritten")),
        ),
        (Method::DELETE, "/storage/movies/doc1.txt", None),
        (
            Method::PUT,
            "/search/movies",
            Some(json!({ "fields": ["title"] })),
        ),
        (Method::DELETE, "/search/movies", None),
        (
            Method::POST,
            "/search/movies",
            Some(json!({ "key": "doc1", "doc": { "title": "overwritten" } })),
        ),
        (Method::GET, "/search/movies/doc1", None),
        (
            Method::PUT,
            "/search/movies/doc1",
            Some(json!({ "title": "overwritten" })),
        ),
        (Method::DELETE, "/search/movies/doc1", None),
        (
            Method::POST,
            "/search/movies/_query",
            Some(json!({ "query": "secret" })),
        ),
        (
            Method::POST,
            "/search/movies/_bulk",
            Some(json!([{ "_id": "doc1", "title": "overwritten" }])),
        ),
        (Method::GET, "/queue", None),
        (
            Method::PUT,
            "/queue/movies",
            Some(json!({ "target": "http://127.0.0.1:9/x" })),
        ),
        (Method::DELETE, "/queue/movies", None),
        (
            Method::POST,
            "/queue/movies",
            Some(json!({ "marker": "overwritten" })),
        ),
        (Method::GET, "/queue/movies?status=READY", None),
        (Method::GET, "/queue/movies/1", None),
        (Method::POST, "/queue/movies/1/_cancel", None),
        (Method::POST, "/queue/movies/1/_retry", None),
    ]
}

/// Everything `t` owns, read with its own valid token, as one comparable value.
async fn state_of(nano: &TestNano, t: &Tenant) -> Value {
    let c = client();
    let token = t.token(600);
    let mut out = Vec::new();
    for path in [
        "/data/movies",
        "/cache/movies/_query?pattern=*",
        "/storage/movies",
        "/search/movies/doc1",
        "/queue/movies?status=READY",
    ] {
        let method = if path.starts_with("/cache") {
            Method::POST
        } else {
            Method::GET
        };
        let res = c
            .request(method, nano.url(&format!("/{}{path}", t.id)))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let mut v: Value = res.json().await.unwrap();
        // Fields that change by themselves: file times and the background delivery attempts of queued jobs.
        for (list, fields) in [
            ("objects", &["modified"][..]),
            (
                "jobs",
                &["attempts", "nextAttempt", "lastError", "lastStatus"][..],
            ),
        ] {
            if let Some(items) = v.get_mut(list).and_then(Value::as_array_mut) {
                for o in items {
                    for f in fields {
                        o.as_object_mut().unwrap().remove(*f);
                    }
                }
            }
        }
        out.push(v);
    }
    let file = c
        .get(nano.url(&format!("/{}/storage/movies/doc1.txt", t.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    out.push(json!(file));
    Value::Array(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_tenant_reaches_another() {
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("index.js"), APP).unwrap();
    let entry = files.path().join("index.js");
    let ids = [fresh_name("iso"), fresh_name("iso")];
    let cfg_ids = ids.clone();
    let nano = TestNano::start_with(move |c| {
        c.auth = true;
        c.default_tenant = None;
        c.tenants = cfg_ids.to_vec();
        for (i, t) in cfg_ids.iter().enumerate() {
            c.apps.push(AppConfig {
                name: format!("app-{i}"),
                tenant: t.clone(),
                hostnames: vec![format!("app-{i}.test")],
                entry: entry.clone(),
                env: Default::default(),
                limits: Limits::default(),
                engine: None,
                triggers: Default::default(),
                bindings: [
                    ("DATA".to_string(), binding(ServiceKind::Data)),
                    ("CACHE".to_string(), binding(ServiceKind::Cache)),
                    ("STORAGE".to_string(), binding(ServiceKind::Storage)),
                    ("SEARCH".to_string(), binding(ServiceKind::Search)),
                    ("QUEUE".to_string(), binding(ServiceKind::Queue)),
                ]
                .into(),
                outbound: Default::default(),
            });
        }
    })
    .await;
    let c = client();
    let mut tenants = Vec::new();
    for id in &ids {
        let key: Value = c
            .post(nano.url(&format!("/admin/tenants/{id}/keys")))
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let t = Tenant {
            id: id.clone(),
            key: key["key"]["id"].as_str().unwrap().to_string(),
            secret: key["secret"].as_str().unwrap().to_string(),
        };
        let token = t.token(600);
        for (path, body) in [
            ("/data/movies", None),
            ("/cache/movies", None),
            ("/storage/movies", None),
            (
                "/search/movies",
                Some(json!({ "fields": ["title"], "storeFields": ["title"] })),
            ),
            (
                "/queue/movies",
                Some(json!({ "target": "http://127.0.0.1:9/x" })),
            ),
        ] {
            let mut req = c.put(nano.url(&format!("/{id}{path}"))).bearer_auth(&token);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 201, "{path}: {}", res.text().await.unwrap());
        }
        tenants.push(t);
    }
    for (i, t) in tenants.iter().enumerate() {
        let res = c
            .post(nano.url(&format!("/{}", t.id)))
            .header("host", format!("app-{i}.test"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    let before = [
        state_of(&nano, &tenants[0]).await,
        state_of(&nano, &tenants[1]).await,
    ];
    for (i, t) in tenants.iter().enumerate() {
        assert!(before[i]
            .to_string()
            .contains(&format!("secret-of-{}", t.id)));
    }

    let mut attempts = 0u64;
    for (a, v) in [(0usize, 1usize), (1, 0)] {
        let (attacker, victim) = (&tenants[a], &tenants[v]);
        let marker = format!("secret-of-{}", victim.id);
        let forged = jwt::sign(&victim.key, now() + 600, b"not the secret");
        let expired = victim.token(-600);
        let own = attacker.token(600);
        // (how, path prefix, Host header, bearer)
        let prefixed = format!("/{}", victim.id);
        let victim_host = format!("{}.nano.test", victim.id);
        let modes: Vec<(&str, &str, Option<&str>, Option<&str>)> = vec![
            ("wrong Host, own token", "", Some(&victim_host), Some(&own)),
            ("wrong path prefix, own token", &prefixed, None, Some(&own)),
            (
                "wrong prefix and Host, own token",
                &prefixed,
                Some(&victim_host),
                Some(&own),
            ),
            ("forged token", &prefixed, None, Some(&forged)),
            (
                "forged token by Host",
                "",
                Some(&victim_host),
                Some(&forged),
            ),
            ("expired token", &prefixed, None, Some(&expired)),
            (
                "expired token by Host",
                "",
                Some(&victim_host),
                Some(&expired),
            ),
            ("no token", &prefixed, None, None),
            ("no token by Host", "", Some(&victim_host), None),
        ];
        for (how, prefix, host, bearer) in &modes {
            for (method, path, body) in routes() {
                let mut req = c.request(method.clone(), nano.url(&format!("{prefix}{path}")));
                if let Some(h) = host {
                    req = req.header("host", *h);
                }
                if let Some(b) = bearer {
                    req = req.bearer_auth(b);
                }
                if let Some(b) = &body {
                    req = req.json(b);
                }
                let res = req.send().await.unwrap();
                let status = res.status().as_u16();
                let text = res.text().await.unwrap();
                attempts += 1;
                assert!(
                    matches!(status, 401 | 403 | 404),
                    "{how}: {method} {prefix}{path} answered {status}: {text}"
                );
                assert!(
                    !text.contains(&marker),
                    "{how}: {method} {prefix}{path} leaked: {text}"
                );
            }
        }
        // The attacker's app runs every binding method with the victim's names: it only ever sees its own data.
        let res = c
            .get(nano.url("/"))
            .header("host", format!("app-{a}.test"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap();
        let calls: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(calls.len(), 28, "every binding method ran");
        attempts += calls.len() as u64;
        assert!(!text.contains(&marker), "bindings leaked: {text}");
        assert!(
            text.contains(&format!("secret-of-{}", attacker.id)),
            "{text}"
        );
    }
    let after = [
        state_of(&nano, &tenants[0]).await,
        state_of(&nano, &tenants[1]).await,
    ];
    // Apps only touched their own tenants' `other*` names and removed them again; the REST attempts changed nothing.
    assert_eq!(after, before, "a tenant's data changed");
    println!(
        "isolation matrix: {attempts} cross-tenant attempts, none leaked or modified anything"
    );
    nano.stop().await;
}

const CF_APP: &str = r#"export default { async fetch(req, env) {
  const me = new URL(req.url).pathname.slice(1);
  const other = me === 'app-0' ? 'app-1' : 'app-0';
  if (req.method === 'POST') {
    await env.KV.put('secret', 'secret-of-' + me, { metadata: { me } });
    await env.BUCKET.put('secret.txt', 'secret-of-' + me, { customMetadata: { me } });
    return Response.json({ ok: true });
  }
  const out = {};
  out.kv = await env.KV.getWithMetadata('secret');
  out.kvList = (await env.KV.list()).keys.map((k) => k.name);
  const obj = await env.BUCKET.get('secret.txt');
  out.r2 = obj && { text: await obj.text(), custom: obj.customMetadata };
  out.r2List = (await env.BUCKET.list()).objects.map((o) => o.key);
  try { await env.OTHER.fetch('https://x/'); out.binding = 'reached'; } catch (e) { out.binding = 'refused'; }
  try { const r = await fetch(`http://${other}.localhost/`); out.local = 'reached ' + r.status; } catch (e) { out.local = 'refused'; }
  return Response.json(out);
} };"#;

/// Two tenants whose apps bind KV and R2 under the same names (made at load for each) and a service binding to
/// the other tenant's app: each sees only its own data and never reaches the other's app.
#[tokio::test]
async fn cloudflare_bindings_reach_only_their_tenant() {
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("index.js"), CF_APP).unwrap();
    let entry = files.path().join("index.js");
    let ids = [fresh_name("iso"), fresh_name("iso")];
    let cfg_ids = ids.clone();
    let nano = TestNano::start_with(move |c| {
        c.default_tenant = None;
        c.tenants = cfg_ids.to_vec();
        for (i, t) in cfg_ids.iter().enumerate() {
            let bound = |service, domain: &str| BindingConfig {
                service,
                domain: domain.into(),
            };
            c.apps.push(AppConfig {
                name: format!("app-{i}"),
                tenant: t.clone(),
                hostnames: vec![format!("app-{i}.test")],
                entry: entry.clone(),
                env: Default::default(),
                limits: Limits::default(),
                engine: None,
                triggers: Default::default(),
                bindings: [
                    ("KV".to_string(), bound(ServiceKind::Kv, "shared")),
                    ("BUCKET".to_string(), bound(ServiceKind::R2, "shared")),
                    (
                        "OTHER".to_string(),
                        bound(ServiceKind::App, &format!("app-{}", 1 - i)),
                    ),
                ]
                .into(),
                outbound: Default::default(),
            });
        }
    })
    .await;
    let c = client();
    let call = |method: Method, i: usize| {
        c.request(method, nano.url(&format!("/app-{i}")))
            .header("host", format!("app-{i}.test"))
            .send()
    };
    let res = call(Method::POST, 0).await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let seen: Value = call(Method::GET, 1).await.unwrap().json().await.unwrap();
    assert_eq!(
        seen,
        json!({"kv": {"value": null, "metadata": null, "cacheStatus": null}, "kvList": [], "r2": null, "r2List": [],
               "binding": "refused", "local": "refused"})
    );
    assert_eq!(call(Method::POST, 1).await.unwrap().status(), 200);
    let own: Value = call(Method::GET, 0).await.unwrap().json().await.unwrap();
    assert_eq!(own["kv"]["value"], "secret-of-app-0");
    assert_eq!(own["kv"]["metadata"], json!({"me": "app-0"}));
    assert_eq!(own["kvList"], json!(["secret"]));
    assert_eq!(
        own["r2"],
        json!({"text": "secret-of-app-0", "custom": {"me": "app-0"}})
    );
    assert_eq!(own["binding"], "refused");
    nano.stop().await;
}
