//! REST and app bindings give the same answers: one script of service calls runs twice from the same state, once
//! over hyper's REST API and once through `env.*` bindings of an app of the same tenant, and every step's result
//! or error must match (ids and timestamps aside). A queue job holding 1e21 reaches its target as
//! `JSON.stringify` writes it through both paths.

use crate::receiver::{Answer, Receiver};
use crate::support::{client, fresh_name, TestNano};
use nano::app::config::BindingConfig;
use nano::app::AppConfig;
use nano::core::{Limits, ServiceKind};
use reqwest::Method;
use serde_json::{json, Value};

/// Answers `{ binding, method, args }` with what `env[binding][method](...args)` returned; a download's stream is
/// read into `text`.
const APP: &str = r#"export default { async fetch(req, env) {
  const { binding, method, args } = await req.json();
  const out = await env[binding][method](...args);
  if (out && out.object) return Response.json({ ok: out.ok, text: await new Response(out.object).text() });
  return Response.json(out);
} };"#;

/// One call: the REST request (`{d}` in the path is the REST side's domain) and the binding call.
struct Step {
    rest: (Method, &'static str, Option<Value>),
    binding: (&'static str, &'static str, Value),
}

fn step(
    method: Method,
    path: &'static str,
    body: Option<Value>,
    binding: &'static str,
    call: &'static str,
    args: Value,
) -> Step {
    Step {
        rest: (method, path, body),
        binding: (binding, call, args),
    }
}

/// What `env[binding][method](...args)` answered in the parity app.
async fn through_binding(
    c: &reqwest::Client,
    nano: &TestNano,
    binding: &str,
    method: &str,
    args: &Value,
) -> Value {
    c.post(nano.url("/"))
        .header("host", "parity.test")
        .json(&json!({"binding": binding, "method": method, "args": args}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// What may differ between the two paths: job ids, times and the queue's own name.
fn normalized(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        for k in ["id", "timestmp", "nextAttempt", "queue"] {
            if o.get(k)
                .is_some_and(|x| x.is_number() || (k == "queue" && x.is_string()))
            {
                o.insert(k.into(), json!("<varies>"));
            }
        }
        for (_, x) in o.iter_mut() {
            *x = normalized(x.take());
        }
    } else if let Some(a) = v.as_array_mut() {
        for x in a.iter_mut() {
            *x = normalized(x.take());
        }
    }
    v
}

#[tokio::test]
async fn rest_and_bindings_answer_the_same_calls_alike() {
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("index.js"), APP).unwrap();
    let entry = files.path().join("index.js");
    let tenant = fresh_name("par");
    let t = tenant.clone();
    let bound = |service, domain: &str| BindingConfig {
        service,
        domain: domain.into(),
    };
    let nano = TestNano::start_with(move |c| {
        c.tenants = vec![t.clone()];
        c.apps.push(AppConfig {
            name: "parity".into(),
            tenant: t.clone(),
            hostnames: vec!["parity.test".into()],
            entry,
            env: Default::default(),
            limits: Limits::default(),
            engine: None,
            triggers: Default::default(),
            bindings: [
                ("CACHE".to_string(), bound(ServiceKind::Cache, "bc")),
                ("DATA".to_string(), bound(ServiceKind::Data, "bd")),
                ("SEARCH".to_string(), bound(ServiceKind::Search, "bs")),
                ("QUEUE".to_string(), bound(ServiceKind::Queue, "bq")),
                ("STORAGE".to_string(), bound(ServiceKind::Storage, "bb")),
            ]
            .into(),
            outbound: Default::default(),
        });
    })
    .await;
    let c = client();
    let receiver = Receiver::start(|_, _| Answer::Status(400)).await;
    // The same starting state on both sides: REST uses `r*` domains, the app's bindings `b*`.
    for d in ["r", "b"] {
        for (method, path, body) in [
            (Method::PUT, format!("cache/{d}c"), None),
            (Method::PUT, format!("data/{d}d"), None),
            (
                Method::PUT,
                format!("search/{d}s"),
                Some(json!({"fields": ["title"], "storeFields": ["title"]})),
            ),
            (
                Method::PUT,
                format!("queue/{d}q"),
                Some(json!({"target": receiver.url.clone(), "maxAttempts": 1})),
            ),
            (Method::PUT, format!("storage/{d}b"), None),
        ] {
            let mut req = c.request(method, nano.url(&format!("/{tenant}/{path}")));
            if let Some(body) = body {
                req = req.json(&body);
            }
            let res = req.send().await.unwrap();
            assert!(res.status().is_success(), "{path}: {}", res.status());
        }
    }
    let g = Method::GET;
    #[rustfmt::skip]
    let steps = [
        // cache
        step(Method::POST, "cache/{d}c", Some(json!({"key": "k1", "value": {"a": 1}})), "CACHE", "add", json!(["k1", {"a": 1}])),
        step(Method::POST, "cache/{d}c", Some(json!({"key": "k1", "value": {"a": 2}})), "CACHE", "add", json!(["k1", {"a": 2}])),
        step(Method::POST, "cache/{d}c", Some(json!({"key": "Bad Key", "value": {}})), "CACHE", "add", json!(["Bad Key", {}])),
        step(Method::POST, "cache/{d}c", Some(json!({"key": "k2", "value": "text"})), "CACHE", "add", json!(["k2", "text"])),
        step(Method::POST, "cache/{d}c", Some(json!({"key": "k2", "value": {}, "ttl": "soon"})), "CACHE", "add", json!(["k2", {}, "soon"])),
        step(g.clone(), "cache/{d}c/k1", None, "CACHE", "get", json!(["k1"])),
        step(g.clone(), "cache/{d}c/nope", None, "CACHE", "get", json!(["nope"])),
        step(g.clone(), "cache/{d}c/A", None, "CACHE", "get", json!(["A"])),
        step(Method::PUT, "cache/{d}c/k3?ttl=1h", Some(json!({"b": 2})), "CACHE", "set", json!(["k3", {"b": 2}, "1h"])),
        step(Method::PUT, "cache/{d}c/k4", Some(json!([1])), "CACHE", "set", json!(["k4", [1]])),
        step(Method::POST, "cache/{d}c/_query?pattern=k*", None, "CACHE", "query", json!(["k*"])),
        step(Method::DELETE, "cache/{d}c/k3", None, "CACHE", "remove", json!(["k3"])),
        // data
        step(Method::POST, "data/{d}d", Some(json!({"_id": "d1", "x": 1})), "DATA", "add", json!([{"_id": "d1", "x": 1}])),
        step(Method::POST, "data/{d}d", Some(json!({"_id": "d1", "x": 1})), "DATA", "add", json!([{"_id": "d1", "x": 1}])),
        step(Method::POST, "data/{d}d", Some(json!({})), "DATA", "add", json!([{}])),
        step(Method::POST, "data/{d}d", Some(json!({"_id": 5})), "DATA", "add", json!([{"_id": 5}])),
        step(g.clone(), "data/{d}d/d1", None, "DATA", "get", json!(["d1"])),
        step(g.clone(), "data/{d}d/none", None, "DATA", "get", json!(["none"])),
        step(Method::PUT, "data/{d}d/d1", Some(json!({"x": 2})), "DATA", "update", json!(["d1", {"x": 2}])),
        step(Method::PUT, "data/{d}d/d1", Some(json!([1])), "DATA", "update", json!(["d1", [1]])),
        step(Method::POST, "data/{d}d/_bulk", Some(json!([{"_id": "d2", "x": 3}, {"_id": "d3", "x": 4}])), "DATA", "bulk", json!([[{"_id": "d2", "x": 3}, {"_id": "d3", "x": 4}]])),
        step(g.clone(), "data/{d}d?limit=2&descending=true", None, "DATA", "list", json!([{"limit": 2, "descending": true}])),
        step(g.clone(), "data/{d}d?limit=abc", None, "DATA", "list", json!([{"limit": "abc"}])),
        step(g.clone(), "data/{d}d?keys=d3,d1", None, "DATA", "list", json!([{"keys": ["d3", "d1"]}])),
        step(Method::POST, "data/{d}d/_query", Some(json!({"selector": {"x": {"$gt": 2}}})), "DATA", "query", json!([{"x": {"$gt": 2}}])),
        step(Method::POST, "data/{d}d/_query", Some(json!({"selector": {"x": {"$where": 1}}})), "DATA", "query", json!([{"x": {"$where": 1}}])),
        step(Method::POST, "data/{d}d/_index", Some(json!({"name": "by-x", "fields": ["x"]})), "DATA", "index", json!(["by-x", ["x"]])),
        step(Method::POST, "data/{d}d/_index", Some(json!({"name": "", "fields": ["x"]})), "DATA", "index", json!(["", ["x"]])),
        step(Method::DELETE, "data/{d}d/d2", None, "DATA", "remove", json!(["d2"])),
        // search
        step(Method::POST, "search/{d}s", Some(json!({"key": "m1", "doc": {"title": "ghost hunters"}})), "SEARCH", "add", json!(["m1", {"title": "ghost hunters"}])),
        step(Method::POST, "search/{d}s", Some(json!({"key": "m1", "doc": {"title": "again"}})), "SEARCH", "add", json!(["m1", {"title": "again"}])),
        step(Method::POST, "search/{d}s", Some(json!({"key": "m2", "doc": "nope"})), "SEARCH", "add", json!(["m2", "nope"])),
        step(Method::POST, "search/{d}s/_bulk", Some(json!([{"id": "m3", "title": "ghost ship"}, {"title": "no id"}])), "SEARCH", "load", json!([[{"id": "m3", "title": "ghost ship"}, {"title": "no id"}]])),
        step(g.clone(), "search/{d}s/m1", None, "SEARCH", "get", json!(["m1"])),
        step(g.clone(), "search/{d}s/m9", None, "SEARCH", "get", json!(["m9"])),
        step(Method::POST, "search/{d}s/_query", Some(json!({"query": "ghost", "limit": 5})), "SEARCH", "query", json!(["ghost", {"limit": 5}])),
        step(Method::POST, "search/{d}s/_query", Some(json!({"query": "  "})), "SEARCH", "query", json!(["  "])),
        step(Method::POST, "search/{d}s/_query", Some(json!({"query": "ghost", "limit": 0})), "SEARCH", "query", json!(["ghost", {"limit": 0}])),
        step(Method::PUT, "search/{d}s/m1", Some(json!({"title": "bye"})), "SEARCH", "update", json!(["m1", {"title": "bye"}])),
        step(Method::DELETE, "search/{d}s/m3", None, "SEARCH", "remove", json!(["m3"])),
        // queue: the target refuses every job, so each ends in ERROR on both sides
        step(Method::POST, "queue/{d}q", Some(json!({"n": 1e21, "s": "x"})), "QUEUE", "enqueue", json!([{"n": 1e21, "s": "x"}])),
        step(Method::POST, "queue/{d}q", Some(json!([1])), "QUEUE", "enqueue", json!([[1]])),
        // storage
        step(g.clone(), "storage/{d}b", None, "STORAGE", "list", json!([""])),
        step(Method::DELETE, "storage/{d}b/missing.txt", None, "STORAGE", "remove", json!(["missing.txt"])),
        step(Method::DELETE, "storage/{d}b/a%5Cb", None, "STORAGE", "remove", json!(["a\\b"])),
    ];
    let mut compared = 0;
    for s in &steps {
        let (method, path, body) = &s.rest;
        let path = path.replace("{d}", "r");
        let mut req = c
            .request(method.clone(), nano.url(&format!("/{tenant}/{path}")))
            .header("x-hyper-legacy-get", "false");
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let rest: Value = res.json().await.unwrap();
        if rest["ok"] == false {
            assert_eq!(rest["status"], status, "{path}: {rest}");
        }
        let (binding, call, args) = &s.binding;
        let bound: Value = through_binding(&c, &nano, binding, call, args).await;
        assert_eq!(
            normalized(rest.clone()),
            normalized(bound.clone()),
            "{method} {path} vs {binding}.{call}{args}"
        );
        compared += 1;
    }
    // Both jobs reach the target as JSON.stringify writes them (1e+21), then fail into ERROR alike.
    let hits = receiver.wait_for("both jobs", |hits| hits.len() >= 2).await;
    for hit in &hits {
        assert_eq!(&hit.body[..], br#"{"n":1e+21,"s":"x"}"#);
    }
    let mut listings = Vec::new();
    for _ in 0..200 {
        let rest: Value = c
            .get(nano.url(&format!("/{tenant}/queue/rq?status=ERROR")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let bound: Value = through_binding(&c, &nano, "QUEUE", "errors", &json!([])).await;
        listings = vec![rest, bound];
        if listings
            .iter()
            .all(|l| l["jobs"].as_array().map_or(0, Vec::len) == 1)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(listings[0]["jobs"][0]["lastStatus"], 400, "{}", listings[0]);
    assert_eq!(
        normalized(listings[0].clone()),
        normalized(listings[1].clone())
    );
    // Storage: an upload and its download give the same bytes and answers on both sides.
    let up = c
        .post(nano.url(&format!("/{tenant}/storage/rb/notes/a.txt")))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    let up_rest: Value = up.json().await.unwrap();
    let up_bound: Value = through_binding(
        &c,
        &nano,
        "STORAGE",
        "upload",
        &json!(["notes/a.txt", "hello"]),
    )
    .await;
    assert_eq!(up_rest, up_bound);
    let down = c
        .get(nano.url(&format!("/{tenant}/storage/rb/notes/a.txt")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let down_bound: Value =
        through_binding(&c, &nano, "STORAGE", "download", &json!(["notes/a.txt"])).await;
    assert_eq!(down_bound, json!({"ok": true, "text": down}));
    println!("parity: {compared} calls answered alike over REST and bindings");
    nano.stop().await;
}
