//! Per-tenant quotas from config: a tenant over its request rate or one of its stored-data quotas (documents,
//! cache keys, storage bytes, search docs, queue jobs) gets 429 with a message naming the quota; nothing of a refused
//! write is kept; other tenants (unlimited by default) are not affected, and app bindings meet the same limits.

use crate::support::{client, fresh_name, TestNano};
use nano::app::config::QuotaConfig;
use serde_json::{json, Value};

#[tokio::test]
async fn a_tenant_over_its_request_rate_gets_429_and_others_do_not() {
    let (slow, free) = (fresh_name("slow"), fresh_name("free"));
    let (s, f) = (slow.clone(), free.clone());
    let nano = TestNano::start_with(move |c| {
        c.tenants = vec![s.clone(), f];
        c.tenant_quotas.insert(
            s,
            QuotaConfig {
                requests_per_second: Some(1),
                ..QuotaConfig::default()
            },
        );
    })
    .await;
    let c = client();
    let mut statuses = Vec::new();
    let mut refusal = None;
    for _ in 0..20 {
        let res = c
            .get(nano.url(&format!("/{slow}/data/movies")))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        if status == 429 && refusal.is_none() {
            refusal = Some(res.json::<Value>().await.unwrap());
        }
        statuses.push(status);
    }
    assert_ne!(statuses[0], 429, "the first request fits the quota");
    let refusal = refusal.expect("20 requests in a row exceed 1 per second");
    assert_eq!(refusal["ok"], false);
    assert_eq!(refusal["status"], 429);
    let msg = refusal["msg"].as_str().unwrap();
    assert!(
        msg.contains(&slow) && msg.contains("1 requests per second"),
        "{msg}"
    );
    for _ in 0..20 {
        let res = c
            .get(nano.url(&format!("/{free}/data/movies")))
            .send()
            .await
            .unwrap();
        assert_ne!(res.status(), 429, "an unlimited tenant is never refused");
    }
    nano.stop().await;
}

/// Prod counts a tenant's rate once for the cluster: two nodes on one PostgreSQL schema and Redis prefix together
/// admit one second's worth of a burst, not one per node.
#[tokio::test]
async fn two_prod_nodes_share_a_tenants_request_rate() {
    let (schema, prefix) = (fresh_name("nt").replace('-', "_"), fresh_name("np"));
    let tenant = fresh_name("rate");
    let node = |tenant: String| {
        let (schema, prefix) = (schema.clone(), prefix.clone());
        async move {
            TestNano::start_prod_on(&schema, &prefix, move |c| {
                c.auth = false;
                c.default_tenant = Some(tenant.clone());
                c.tenant_quotas.insert(
                    tenant,
                    QuotaConfig {
                        requests_per_second: Some(5),
                        ..QuotaConfig::default()
                    },
                );
            })
            .await
        }
    };
    let a = node(tenant.clone()).await;
    let b = node(tenant.clone()).await;
    let c = client();
    let started = std::time::Instant::now();
    let mut admitted = 0;
    for _ in 0..10 {
        for n in [&a, &b] {
            let res = c.get(n.url("/data/movies")).send().await.unwrap();
            if res.status() != 429 {
                admitted += 1;
            }
        }
    }
    let took = started.elapsed().as_secs_f64();
    let at_most = 5 + (took * 5.0).ceil() as u32 + 1;
    assert!(
        (5..=at_most).contains(&admitted),
        "two nodes admitted {admitted} of 20 at 5 per second in {took:.3}s"
    );
    a.stop().await;
    b.stop().await;
}

/// A nano with tenants `limited` (the quotas `set` writes) and `free` (no quotas), and the two names.
async fn two_tenants(
    set: impl FnOnce(&mut QuotaConfig) + Send + 'static,
) -> (TestNano, String, String) {
    let (limited, free) = (fresh_name("lim"), fresh_name("free"));
    let (l, f) = (limited.clone(), free.clone());
    let nano = TestNano::start_with(move |c| {
        c.tenants = vec![l.clone(), f];
        let mut q = QuotaConfig::default();
        set(&mut q);
        c.tenant_quotas.insert(l, q);
    })
    .await;
    (nano, limited, free)
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The refusal of a write over a stored-data quota: 429 in hyper's error shape, naming tenant, quota and limit.
fn assert_refused((status, body): (u16, Value), tenant: &str, quota: &str, limit: u64) {
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["ok"], false);
    assert_eq!(body["status"], 429);
    let msg = body["msg"].as_str().unwrap();
    assert!(
        msg.contains(tenant) && msg.contains(quota) && msg.contains(&format!("limit {limit} ")),
        "{msg}"
    );
}

#[tokio::test]
async fn documents_over_the_quota_are_refused_and_a_bulk_is_refused_whole() {
    let (nano, t, free) = two_tenants(|q| q.documents = Some(3)).await;
    let c = client();
    let db = |t: &str| nano.url(&format!("/{t}/data/movies"));
    for tenant in [&t, &free] {
        assert_eq!(send(c.put(db(tenant))).await.0, 201);
    }
    for id in ["m1", "m2"] {
        let (status, b) = send(c.post(db(&t)).json(&json!({ "_id": id }))).await;
        assert_eq!(status, 201, "{b}");
    }
    let bulk = json!([{ "_id": "b1" }, { "_id": "b2" }]);
    assert_refused(
        send(c.post(format!("{}/_bulk", db(&t))).json(&bulk)).await,
        &t,
        "documents",
        3,
    );
    let (status, _) = send(c.get(format!("{}/b1", db(&t)))).await;
    assert_eq!(status, 404, "nothing of a refused bulk is written");
    // A bulk that deletes as many as it adds fits.
    let swap = json!([{ "_id": "m2", "_deleted": true }, { "_id": "b1" }, { "_id": "b2" }]);
    let (status, b) = send(c.post(format!("{}/_bulk", db(&t))).json(&swap)).await;
    assert_eq!(status, 201, "{b}");
    assert_refused(
        send(c.post(db(&t)).json(&json!({ "_id": "m4" }))).await,
        &t,
        "documents",
        3,
    );
    // Replacing a stored document adds nothing; deleting one makes room.
    let (status, b) = send(c.put(format!("{}/m1", db(&t))).json(&json!({ "n": 2 }))).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(send(c.delete(format!("{}/m1", db(&t)))).await.0, 200);
    assert_eq!(
        send(c.post(db(&t)).json(&json!({ "_id": "m5" }))).await.0,
        201
    );
    // The other tenant, with the same database name, is not limited and not counted.
    for i in 0..5 {
        let (status, b) = send(c.post(db(&free)).json(&json!({ "_id": format!("f{i}") }))).await;
        assert_eq!(status, 201, "{b}");
    }
    nano.stop().await;
}

#[tokio::test]
async fn cache_keys_over_the_quota_are_refused() {
    let (nano, t, free) = two_tenants(|q| q.cache_keys = Some(2)).await;
    let c = client();
    let store = |t: &str| nano.url(&format!("/{t}/cache/sessions"));
    for tenant in [&t, &free] {
        assert_eq!(send(c.put(store(tenant))).await.0, 201);
    }
    for k in ["a", "b"] {
        let body = json!({ "key": k, "value": { "v": 1 } });
        assert_eq!(send(c.post(store(&t)).json(&body)).await.0, 201);
    }
    let body = json!({ "key": "c", "value": { "v": 1 } });
    assert_refused(
        send(c.post(store(&t)).json(&body)).await,
        &t,
        "cache_keys",
        2,
    );
    assert_refused(
        send(c.put(format!("{}/c", store(&t))).json(&json!({ "v": 1 }))).await,
        &t,
        "cache_keys",
        2,
    );
    assert_eq!(send(c.get(format!("{}/c", store(&t)))).await.0, 404);
    // Overwriting a key adds none; deleting one makes room.
    let (status, b) = send(c.put(format!("{}/a", store(&t))).json(&json!({ "v": 2 }))).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(send(c.delete(format!("{}/a", store(&t)))).await.0, 200);
    assert_eq!(send(c.post(store(&t)).json(&body)).await.0, 201);
    for k in 0..4 {
        let body = json!({ "key": format!("k{k}"), "value": {} });
        assert_eq!(send(c.post(store(&free)).json(&body)).await.0, 201);
    }
    nano.stop().await;
}

#[tokio::test]
async fn storage_bytes_over_the_quota_are_refused_and_nothing_is_kept() {
    let (nano, t, free) = two_tenants(|q| q.storage_bytes = Some(1000)).await;
    let c = client();
    let obj = |t: &str, p: &str| nano.url(&format!("/{t}/storage/files/{p}"));
    for tenant in [&t, &free] {
        let url = nano.url(&format!("/{tenant}/storage/files"));
        assert_eq!(send(c.put(url)).await.0, 201);
    }
    let upload = |url: String, n: usize| {
        c.post(url)
            .header("content-type", "application/octet-stream")
            .body(vec![b'x'; n])
    };
    assert_eq!(send(upload(obj(&t, "a.bin"), 600)).await.0, 201);
    assert_refused(
        send(upload(obj(&t, "b.bin"), 600)).await,
        &t,
        "storage_bytes",
        1000,
    );
    assert_eq!(
        send(c.get(obj(&t, "b.bin"))).await.0,
        404,
        "a refused upload leaves no object"
    );
    // Replacing an object counts only the difference.
    assert_eq!(send(upload(obj(&t, "a.bin"), 900)).await.0, 201);
    assert_refused(
        send(upload(obj(&t, "c.bin"), 200)).await,
        &t,
        "storage_bytes",
        1000,
    );
    assert_eq!(send(upload(obj(&t, "c.bin"), 100)).await.0, 201);
    assert_eq!(send(upload(obj(&free, "big.bin"), 5000)).await.0, 201);
    nano.stop().await;
}

#[tokio::test]
async fn search_docs_over_the_quota_are_refused_and_a_bulk_is_refused_whole() {
    let (nano, t, free) = two_tenants(|q| q.search_docs = Some(2)).await;
    let c = client();
    let index = |t: &str| nano.url(&format!("/{t}/search/films"));
    for tenant in [&t, &free] {
        let mapping = json!({ "fields": ["title"], "storeFields": ["title"] });
        assert_eq!(send(c.put(index(tenant)).json(&mapping)).await.0, 201);
    }
    let add = json!({ "key": "d1", "doc": { "title": "Dune" } });
    assert_eq!(send(c.post(index(&t)).json(&add)).await.0, 201);
    let bulk = json!([{ "id": "d2", "title": "Alien" }, { "id": "d3", "title": "Heat" }]);
    assert_refused(
        send(c.post(format!("{}/_bulk", index(&t))).json(&bulk)).await,
        &t,
        "search_docs",
        2,
    );
    assert_eq!(send(c.get(format!("{}/d2", index(&t)))).await.0, 404);
    let bulk = json!([{ "id": "d1", "title": "Dune 2" }, { "id": "d2", "title": "Alien" }]);
    let (status, b) = send(c.post(format!("{}/_bulk", index(&t))).json(&bulk)).await;
    assert_eq!(status, 201, "{b}");
    let add = json!({ "key": "d4", "doc": { "title": "Up" } });
    assert_refused(
        send(c.post(index(&t)).json(&add)).await,
        &t,
        "search_docs",
        2,
    );
    for i in 0..3 {
        let add = json!({ "key": format!("f{i}"), "doc": { "title": "Up" } });
        assert_eq!(send(c.post(index(&free)).json(&add)).await.0, 201);
    }
    nano.stop().await;
}

#[tokio::test]
async fn queue_jobs_over_the_quota_are_refused() {
    let (nano, t, free) = two_tenants(|q| q.queue_jobs = Some(2)).await;
    let c = client();
    let queue = |t: &str| nano.url(&format!("/{t}/queue/jobs"));
    for tenant in [&t, &free] {
        // Nothing listens on the target: jobs stay stored, retried later.
        let target = json!({ "target": "http://127.0.0.1:9/hook" });
        assert_eq!(send(c.put(queue(tenant)).json(&target)).await.0, 201);
    }
    for n in 0..2 {
        assert_eq!(
            send(c.post(queue(&t)).json(&json!({ "n": n }))).await.0,
            201
        );
    }
    assert_refused(
        send(c.post(queue(&t)).json(&json!({ "n": 3 }))).await,
        &t,
        "queue_jobs",
        2,
    );
    for n in 0..3 {
        assert_eq!(
            send(c.post(queue(&free)).json(&json!({ "n": n }))).await.0,
            201
        );
    }
    nano.stop().await;
}

const DATA_APP: &str = r#"export default { async fetch(req, env) {
  const id = new URL(req.url).pathname.slice(1);
  return Response.json(await env.DATA.add({ _id: id }));
} };"#;

#[tokio::test]
async fn an_app_writing_through_its_binding_meets_the_same_quota() {
    use nano::app::config::BindingConfig;
    use nano::app::AppConfig;
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("index.js"), DATA_APP).unwrap();
    let t = fresh_name("lim");
    let (tc, entry) = (t.clone(), files.path().join("index.js"));
    let nano = TestNano::start_with(move |c| {
        c.tenants = vec![tc.clone()];
        c.tenant_quotas.insert(
            tc.clone(),
            QuotaConfig {
                documents: Some(1),
                ..QuotaConfig::default()
            },
        );
        c.apps.push(AppConfig {
            name: "writer".into(),
            tenant: tc,
            hostnames: vec!["writer.test".into()],
            entry,
            env: Default::default(),
            limits: Default::default(),
            engine: None,
            triggers: Default::default(),
            bindings: [(
                "DATA".to_string(),
                BindingConfig {
                    service: nano::core::ServiceKind::Data,
                    domain: "movies".into(),
                },
            )]
            .into(),
            outbound: Default::default(),
        });
    })
    .await;
    let c = client();
    assert_eq!(
        send(c.put(nano.url(&format!("/{t}/data/movies")))).await.0,
        201
    );
    let write = |id: &str| {
        c.post(nano.url(&format!("/{id}")))
            .header("host", "writer.test")
    };
    assert_eq!(send(write("one")).await.1["ok"], true);
    let (_, refused) = send(write("two")).await;
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(refused["status"], 429, "{refused}");
    assert!(
        refused["msg"].as_str().unwrap().contains("documents"),
        "{refused}"
    );
    nano.stop().await;
}
