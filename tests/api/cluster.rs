//! Three real nano processes in the prod profile on one PostgreSQL schema and Redis prefix, each with its own data
//! folder: the registry is the cluster's source of truth for apps. An app created, changed or deleted through one
//! node is served and listed by every node; two nodes can never both take one app name or hostname; and an app
//! created from a local folder in prod is the same code on every node, whatever becomes of the folder.

use crate::prod_node::{start_node_with, Node};
use crate::support::{client, fresh_name};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TOKEN: &str = "cluster-admin-token";

/// How soon every node must follow a change made through another (the promise of `docs/.../prod.md`).
const FOLLOW_WITHIN: Duration = Duration::from_secs(2);

/// Three prod nodes sharing PostgreSQL and Redis, not a disk.
struct Cluster {
    nodes: Vec<Node>,
    _dirs: Vec<tempfile::TempDir>,
}

impl Cluster {
    async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Three nodes, each with `env` (`NANO_*` settings) too.
    async fn start_with(extra: &[(&str, &str)]) -> Self {
        let schema = fresh_name("cl").replace('-', "_");
        let prefix = fresh_name("nanotest");
        let tenant = fresh_name("t");
        let mut nodes = Vec::new();
        let mut dirs = Vec::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let mut env = vec![("NANO_ADMIN_TOKEN", TOKEN)];
            env.extend_from_slice(extra);
            nodes.push(start_node_with(dir.path(), &schema, &prefix, &tenant, &env).await);
            dirs.push(dir);
        }
        Self { nodes, _dirs: dirs }
    }
}

async fn admin(
    node: &Node,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = client()
        .request(method, format!("{}{path}", node.base))
        .bearer_auth(TOKEN);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// What `GET /` at `host` answers through `node`: status and text.
async fn served(node: &Node, host: &str) -> (StatusCode, String) {
    let res = client()
        .get(format!("{}/", node.base))
        .header("host", host)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap_or_default())
}

/// Whether `node`'s admin API shows app `name` (`GET /admin/apps/{name}` and in `GET /admin/apps`), with its
/// hostnames as shown.
async fn listed(node: &Node, name: &str) -> Option<Value> {
    let (s, one) = admin(node, Method::GET, &format!("/admin/apps/{name}"), None).await;
    let (_, all) = admin(node, Method::GET, "/admin/apps", None).await;
    let in_list = all["apps"]
        .as_array()
        .is_some_and(|apps| apps.iter().any(|a| a["name"] == name));
    match (s, in_list) {
        (StatusCode::OK, true) => Some(one["app"]["hostnames"].clone()),
        (StatusCode::NOT_FOUND, false) => None,
        other => panic!("app {name}: GET {other:?} disagree ({one})"),
    }
}

/// Polls `check` on every node until it holds on all of them, within `FOLLOW_WITHIN`.
async fn every_node<'a, F, Fut>(nodes: &[&'a Node], what: &str, check: F)
where
    F: Fn(&'a Node) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let started = Instant::now();
    for &node in nodes {
        loop {
            match check(node).await {
                Ok(()) => {
                    println!("{what}: on {} after {:?}", node.base, started.elapsed());
                    break;
                }
                Err(last) if started.elapsed() > FOLLOW_WITHIN => {
                    panic!(
                        "{what}: not on {} within {FOLLOW_WITHIN:?}: {last}",
                        node.base
                    )
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
}

fn app_text(text: &str) -> Value {
    json!({ "index.js": format!("export default {{ fetch() {{ return new Response({text:?}); }} }};") })
}

async fn serves(node: &Node, host: &str, text: &str) -> Result<(), String> {
    match served(node, host).await {
        (StatusCode::OK, t) if t == text => Ok(()),
        other => Err(format!("{host} answers {other:?}, not {text}")),
    }
}

#[tokio::test]
async fn apps_changed_through_one_node_are_served_and_listed_by_every_node() {
    let cluster = Cluster::start().await;
    let [a, b, c] = [&cluster.nodes[0], &cluster.nodes[1], &cluster.nodes[2]];
    let name = fresh_name("app");
    let host = format!("{name}.test");

    // Created through A: B and C serve and list it.
    let (s, body) = admin(
        a,
        Method::POST,
        "/admin/apps",
        Some(json!({ "name": name, "hostnames": [host], "files": app_text("v1") })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (n, h) = (name.clone(), host.clone());
    every_node(&[b, c], "created app", move |node| {
        let (n, h) = (n.clone(), h.clone());
        async move {
            serves(node, &h, "v1").await?;
            listed(node, &n)
                .await
                .map(|_| ())
                .ok_or("not listed".into())
        }
    })
    .await;

    // Changed through B: A and C serve the new version.
    let (s, body) = admin(
        b,
        Method::PUT,
        &format!("/admin/apps/{name}"),
        Some(json!({ "hostnames": [host], "files": app_text("v2") })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let h = host.clone();
    every_node(&[a, c], "changed app", move |node| {
        let h = h.clone();
        async move { serves(node, &h, "v2").await }
    })
    .await;

    // Deleted through C: A and B neither serve nor list it.
    let (s, body) = admin(c, Method::DELETE, &format!("/admin/apps/{name}"), None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (n, h) = (name.clone(), host.clone());
    every_node(&[a, b], "deleted app", move |node| {
        let (n, h) = (n.clone(), h.clone());
        async move {
            if serves(node, &h, "v2").await.is_ok() {
                return Err("still served".into());
            }
            match listed(node, &n).await {
                None => Ok(()),
                Some(_) => Err("still listed".into()),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn an_app_from_a_local_folder_in_prod_is_the_same_code_on_every_node() {
    let cluster = Cluster::start().await;
    let [a, b, c] = [&cluster.nodes[0], &cluster.nodes[1], &cluster.nodes[2]];
    let name = fresh_name("folder");
    let host = format!("{name}.test");
    // The folder is on A's disk only, and goes away once the app is created.
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir(folder.path().join("lib")).unwrap();
    std::fs::write(
        folder.path().join("index.js"),
        "import { text } from './lib/text.js'; export default { fetch() { return new Response(text); } };",
    )
    .unwrap();
    std::fs::write(
        folder.path().join("lib/text.js"),
        "export const text = 'from the folder';",
    )
    .unwrap();
    let (s, body) = admin(
        a,
        Method::POST,
        "/admin/apps",
        Some(json!({ "name": name, "hostnames": [host], "path": folder.path() })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["app"]["source"],
        json!({ "bundle": ["index.js", "lib/text.js"] }),
        "{body}"
    );
    drop(folder);
    let (s, body) = admin(a, Method::POST, "/admin/reload", None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let h = host.clone();
    every_node(&[a, b, c], "app from a folder", move |node| {
        let h = h.clone();
        async move { serves(node, &h, "from the folder").await }
    })
    .await;
}

/// Attack: nodes (or operators racing through different nodes) claim one app name or one hostname at once; the
/// registry gives it to one, the others get 409 through any node, and nothing of the winner is overwritten.
#[tokio::test]
async fn names_and_hostnames_are_decided_once_for_the_cluster() {
    let cluster = Cluster::start().await;
    let nodes = [&cluster.nodes[0], &cluster.nodes[1], &cluster.nodes[2]];

    // One name, created through the three nodes at once, each with its own code and hostname.
    let name = fresh_name("race");
    let tries = nodes.iter().enumerate().map(|(i, node)| {
        let name = name.clone();
        async move {
            let body = json!({ "name": name, "hostnames": [format!("n{i}.{name}.test")], "files": app_text(&format!("node {i}")) });
            admin(node, Method::POST, "/admin/apps", Some(body)).await
        }
    });
    let results = futures::future::join_all(tries).await;
    let won: Vec<usize> = (0..3)
        .filter(|&i| results[i].0 == StatusCode::CREATED)
        .collect();
    assert_eq!(won.len(), 1, "{results:?}");
    for (s, body) in results.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*s, StatusCode::CONFLICT, "{body}");
    }
    let w = won[0];
    let winner_host = format!("n{w}.{name}.test");
    let (n, h) = (name.clone(), winner_host.clone());
    every_node(&nodes, "the name's winner", move |node| {
        let (n, h) = (n.clone(), h.clone());
        async move {
            serves(node, &h, &format!("node {w}")).await?;
            match listed(node, &n).await {
                Some(hosts) if hosts == json!([h]) => Ok(()),
                other => Err(format!("listed as {other:?}")),
            }
        }
    })
    .await;
    for (i, node) in nodes.iter().enumerate().filter(|(i, _)| *i != w) {
        let (s, _) = served(node, &format!("n{i}.{name}.test")).await;
        assert_ne!(s, StatusCode::OK, "a loser's hostname is served");
    }

    // One hostname, claimed by three new apps through the three nodes at once.
    let host = format!("{}.test", fresh_name("shared"));
    let names: Vec<String> = (0..3).map(|_| fresh_name("claim")).collect();
    let tries = nodes.iter().zip(&names).map(|(node, name)| {
        let host = host.clone();
        async move {
            let body = json!({ "name": name, "hostnames": [host], "files": app_text(name) });
            admin(node, Method::POST, "/admin/apps", Some(body)).await
        }
    });
    let results = futures::future::join_all(tries).await;
    let won: Vec<usize> = (0..3)
        .filter(|&i| results[i].0 == StatusCode::CREATED)
        .collect();
    assert_eq!(won.len(), 1, "{results:?}");
    for (s, body) in results.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*s, StatusCode::CONFLICT, "{body}");
        assert!(body["msg"].as_str().unwrap().contains(&host), "{body}");
    }
    let winner = names[won[0]].clone();
    let losers: Vec<String> = names.iter().filter(|n| **n != winner).cloned().collect();
    let (h, wn) = (host.clone(), winner.clone());
    every_node(&nodes, "the hostname's winner", move |node| {
        let (h, wn, losers) = (h.clone(), wn.clone(), losers.clone());
        async move {
            serves(node, &h, &wn).await?;
            for loser in &losers {
                if listed(node, loser).await.is_some() {
                    return Err(format!("{loser} is listed"));
                }
            }
            Ok(())
        }
    })
    .await;

    // Afterwards, through any node: the taken name and the taken hostname are 409, and nothing changes.
    for node in nodes {
        let body = json!({ "name": name, "files": app_text("again") });
        let (s, body) = admin(node, Method::POST, "/admin/apps", Some(body)).await;
        assert_eq!(s, StatusCode::CONFLICT, "{body}");
        let body =
            json!({ "name": fresh_name("late"), "hostnames": [host], "files": app_text("late") });
        let (s, body) = admin(node, Method::POST, "/admin/apps", Some(body)).await;
        assert_eq!(s, StatusCode::CONFLICT, "{body}");
        // An update that would take the other app's hostname is refused whole.
        let body = json!({ "hostnames": [winner_host, host], "files": app_text("stolen") });
        let (s, body) = admin(
            node,
            Method::PUT,
            &format!("/admin/apps/{name}"),
            Some(body),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{body}");
    }
    // Another tenant cannot take the name either.
    let other = fresh_name("t");
    let (s, body) = admin(
        nodes[0],
        Method::POST,
        "/admin/tenants",
        Some(json!({ "id": other })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let body = json!({ "name": name, "tenant": other, "hostnames": [format!("{other}.test")], "files": app_text("other") });
    let (s, body) = admin(nodes[1], Method::POST, "/admin/apps", Some(body)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    for node in nodes {
        serves(node, &winner_host, &format!("node {w}"))
            .await
            .unwrap();
        serves(node, &host, &winner).await.unwrap();
    }
}

/// A round-robin balancer in front of the cluster: each call goes to the next node.
struct RoundRobin<'a> {
    nodes: &'a [Node],
    next: std::sync::atomic::AtomicUsize,
}

impl<'a> RoundRobin<'a> {
    fn new(nodes: &'a [Node]) -> Self {
        Self {
            nodes,
            next: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn node(&self) -> &'a Node {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        &self.nodes[i % self.nodes.len()]
    }
}

/// Records each cron run as a document of its own, and answers its Host.
const RECORDER: &str = r#"export default {
  fetch() { return new Response('round robin'); },
  async scheduled(event, env) {
    await env.RUNS.add({ _id: 'run-' + event.scheduledTime + '-' + Math.random().toString(36).slice(2), at: event.scheduledTime });
  },
};"#;

/// Three nodes behind a round-robin balancer act as one nano: every admin call, the app, its cron trigger, queue
/// jobs, a tenant's request-rate quota and the tenant's deletion, each call through the next node. Waits for a minute
/// boundary for the cron trigger, so it takes up to about 75 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_behind_a_round_robin_balancer_act_as_one() {
    let cluster = Cluster::start_with(&[("NANO_QUOTAS__REQUESTS_PER_SECOND", "40")]).await;
    let lb = RoundRobin::new(&cluster.nodes);
    let http = client();
    let tenant = fresh_name("rr");

    // Admin: one tenant, created once for the cluster.
    let (s, body) = admin(
        lb.node(),
        Method::POST,
        "/admin/tenants",
        Some(json!({ "id": tenant })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = admin(
        lb.node(),
        Method::POST,
        "/admin/tenants",
        Some(json!({ "id": tenant })),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "a second create through another node: {body}"
    );
    let res = http
        .put(format!("{}/{tenant}/data/runs", lb.node().base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    // The app, created through the balancer with an every-minute cron trigger, answers through every node.
    let name = fresh_name("rr-app");
    let host = format!("{name}.test");
    let spec = json!({
        "name": name, "tenant": tenant, "hostnames": [host],
        "files": { "index.js": RECORDER },
        "triggers": { "crons": ["* * * * *"] },
        "bindings": { "RUNS": { "service": "data", "domain": "runs" } },
    });
    let (s, body) = admin(lb.node(), Method::POST, "/admin/apps", Some(spec)).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let h = host.clone();
    every_node(
        &cluster.nodes.iter().collect::<Vec<_>>(),
        "the app",
        move |node| {
            let h = h.clone();
            async move { serves(node, &h, "round robin").await }
        },
    )
    .await;
    for _ in 0..6 {
        assert_eq!(serves(lb.node(), &host, "round robin").await, Ok(()));
    }

    // Queue jobs enqueued through every node are each delivered, and the queue empties.
    let receiver = crate::receiver::Receiver::accepting().await;
    let queue = fresh_name("q");
    let res = http
        .put(format!("{}/{tenant}/queue/{queue}", lb.node().base))
        .json(&json!({ "target": receiver.url }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let total = 12;
    for n in 0..total {
        let res = http
            .post(format!("{}/{tenant}/queue/{queue}", lb.node().base))
            .json(&json!({ "n": n }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    receiver
        .wait_for("every job", |hits| {
            crate::receiver::numbers(hits).len() == total
        })
        .await;

    // One request-rate quota for the cluster: a burst through all three nodes is admitted once, not three times.
    let started = Instant::now();
    let mut admitted = 0;
    for _ in 0..90 {
        let res = http
            .get(format!("{}/{tenant}/data/runs", lb.node().base))
            .send()
            .await
            .unwrap();
        if res.status() != StatusCode::TOO_MANY_REQUESTS {
            admitted += 1;
        }
    }
    let at_most = 40 + (started.elapsed().as_secs_f64() * 40.0).ceil() as u32 + 1;
    assert!(
        admitted <= at_most,
        "three nodes admitted {admitted} of 90 at 40 per second"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // Cron: the coming minute runs once for the cluster.
    let runs = |http: reqwest::Client, base: String| {
        let url = format!("{base}/{tenant}/data/runs/_query");
        async move {
            let res = http
                .post(url)
                .json(&json!({ "selector": {} }))
                .send()
                .await
                .unwrap();
            let docs: Value = res.json().await.unwrap();
            docs["docs"].as_array().cloned().unwrap_or_default()
        }
    };
    let deadline = Instant::now() + Duration::from_secs(80);
    let first = loop {
        let docs = runs(http.clone(), lb.node().base.clone()).await;
        if let Some(doc) = docs.first() {
            break doc["at"].clone();
        }
        assert!(Instant::now() < deadline, "no cron run within 80 s");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let docs = runs(http.clone(), lb.node().base.clone()).await;
    let of_minute = docs.iter().filter(|d| d["at"] == first).count();
    assert_eq!(
        of_minute, 1,
        "the minute {first} ran {of_minute} times: {docs:?}"
    );

    // Deleted through one node, the tenant is gone on every node; created again, it starts empty.
    let (s, body) = admin(
        lb.node(),
        Method::DELETE,
        &format!("/admin/tenants/{tenant}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    for node in &cluster.nodes {
        let started = Instant::now();
        loop {
            let res = http
                .get(format!("{}/{tenant}/data/runs", node.base))
                .send()
                .await
                .unwrap();
            if res.status().is_client_error() {
                break;
            }
            assert!(
                started.elapsed() < FOLLOW_WITHIN,
                "{} still serves the deleted tenant",
                node.base
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let (s, body) = admin(
        lb.node(),
        Method::POST,
        "/admin/tenants",
        Some(json!({ "id": tenant })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let res = http
        .get(format!("{}/{tenant}/data/runs", lb.node().base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "the re-created tenant starts empty"
    );
}
