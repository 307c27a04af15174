//! Two real nano processes in the prod profile sharing one PostgreSQL schema and one Redis prefix: what one node
//! writes the other reads (data, cache, search), and queue jobs enqueued on both are delivered once each.

use crate::prod_node::{start_node, start_node_with};
use crate::receiver::{numbers, Answer, Receiver};
use crate::support::{client, fresh_name};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

async fn call(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn two_prod_nodes_share_data_cache_and_queue() {
    let shared = tempfile::tempdir().unwrap();
    let schema = fresh_name("mn").replace('-', "_");
    let prefix = fresh_name("nanotest");
    let tenant = fresh_name("t");
    let a = start_node(shared.path(), &schema, &prefix, &tenant).await;
    let b = start_node(shared.path(), &schema, &prefix, &tenant).await;
    assert_ne!(a.base, b.base);
    let http = client();

    // Data: a database and a document written through A are read and queried through B.
    let db = fresh_name("db");
    let (s, _) = call(http.put(format!("{}/data/{db}", a.base))).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = call(
        http.post(format!("{}/data/{db}", a.base))
            .json(&json!({"_id": "m1", "title": "Dune", "year": 1965})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, doc) = call(http.get(format!("{}/data/{db}/m1", b.base))).await;
    assert_eq!((s, doc["title"].clone()), (StatusCode::OK, json!("Dune")));
    let (s, found) = call(
        http.post(format!("{}/data/{db}/_query", b.base))
            .json(&json!({"selector": {"year": {"$gt": 1900}}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found["docs"][0]["_id"], "m1", "{found}");

    // Cache: a key set through B is read through A.
    let store = fresh_name("c");
    let (s, _) = call(http.put(format!("{}/cache/{store}", b.base))).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = call(
        http.post(format!("{}/cache/{store}", b.base))
            .json(&json!({"key": "k1", "value": {"hello": "world"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = call(http.get(format!("{}/cache/{store}/k1", a.base))).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"hello": "world"})));

    // Search: an index and a document added through A are found through B, typo and all.
    let index = fresh_name("i");
    let (s, body) = call(
        http.put(format!("{}/search/{index}", a.base))
            .json(&json!({"fields": ["title"], "storeFields": ["title"]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = call(
        http.post(format!("{}/search/{index}", a.base))
            .json(&json!({"key": "m1", "doc": {"title": "Foundation"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, found) = call(
        http.post(format!("{}/search/{index}/_query", b.base))
            .json(&json!({"query": "foundatoin"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    assert_eq!(found["matches"][0]["id"], "m1", "{found}");

    // Queue: jobs enqueued on both nodes reach the receiver once each.
    let receiver = Receiver::accepting().await;
    let queue = fresh_name("q");
    let (s, _) = call(
        http.put(format!("{}/queue/{queue}", a.base))
            .json(&json!({"target": receiver.url})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let total = 40;
    for n in 0..total {
        let node = if n % 2 == 0 { &a } else { &b };
        let (s, body) = call(
            http.post(format!("{}/queue/{queue}", node.base))
                .json(&json!({"n": n})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    receiver
        .wait_for("every job", |hits| numbers(hits).len() == total as usize)
        .await;
    // Let both nodes sweep again: a double claim would show up as a second delivery.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let hits = receiver.hits();
    let mut seen = std::collections::BTreeMap::new();
    for h in &hits {
        *seen.entry(h.json()["n"].as_i64().unwrap()).or_insert(0) += 1;
    }
    assert!(
        seen.values().all(|&c| c == 1),
        "jobs delivered more than once: {seen:?}"
    );
    assert_eq!(seen.len(), total as usize);
}

/// Jobs whose first attempt hangs: node A claims them all, is SIGKILLed with every delivery in flight, and node B
/// delivers each one (at least once) without anything enqueued through it.
#[tokio::test]
async fn a_node_killed_mid_queue_leaves_every_job_to_the_others() {
    let shared = tempfile::tempdir().unwrap();
    let schema = fresh_name("mn").replace('-', "_");
    let prefix = fresh_name("nanotest");
    let tenant = fresh_name("t");
    let mut a = start_node(shared.path(), &schema, &prefix, &tenant).await;
    let b = start_node(shared.path(), &schema, &prefix, &tenant).await;
    let http = client();
    // Every job's first attempt never gets an answer; later attempts get 200.
    let receiver = Receiver::start(|_, earlier| {
        if earlier == 0 {
            Answer::Hang
        } else {
            Answer::Status(200)
        }
    })
    .await;
    let queue = fresh_name("q");
    let total = 12;
    let (s, body) = call(
        http.put(format!("{}/queue/{queue}", a.base))
            .json(&json!({"target": receiver.url, "concurrency": total})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    for n in 0..total {
        let (s, body) = call(
            http.post(format!("{}/queue/{queue}", a.base))
                .json(&json!({"n": n})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    // Every job is being delivered (by A, told of each enqueue at once; or by B's rescan): kill A now.
    receiver
        .wait_for("a first attempt of every job", |hits| {
            numbers(hits).len() == total as usize
        })
        .await;
    a.kill().await;
    // Each job reaches the receiver a second time (answered 200), through B.
    receiver
        .wait_for("a second attempt of every job", |hits| {
            (0..total).all(|n| hits.iter().filter(|h| h.json()["n"] == n).count() >= 2)
        })
        .await;
    // B removes each delivered job: the queue empties.
    let mut left = Value::Null;
    for _ in 0..100 {
        let (s, jobs) = call(http.get(format!("{}/queue/{queue}?status=READY", b.base))).await;
        assert_eq!(s, StatusCode::OK, "{jobs}");
        left = jobs;
        if left["jobs"].as_array().is_some_and(Vec::is_empty) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("jobs left after delivery: {left}");
}

/// Records each `scheduled` run as a document of its own: `at` is the run's scheduled minute.
const RECORDER: &str = r#"export default {
  async fetch() { return new Response('ok'); },
  async scheduled(event, env) {
    await env.RUNS.add({ _id: event.scheduledTime + '-' + Math.random().toString(36).slice(2), at: event.scheduledTime });
  },
};"#;

/// Two prod nodes serve one app with an every-minute cron, with `takeover_secs = 3`. A claim of the coming minute is
/// written as a node that claimed the run and died before starting it: the run still happens once, on one of the
/// two nodes, and every other minute runs once too. Waits for a minute boundary, so it takes up to about 75 s.
#[tokio::test]
async fn a_dead_nodes_cron_claim_is_taken_over_and_each_minute_runs_once() {
    let shared = tempfile::tempdir().unwrap();
    let schema = fresh_name("mn").replace('-', "_");
    let prefix = fresh_name("nanotest");
    let (tenant, app, db) = (fresh_name("t"), fresh_name("cron"), fresh_name("runs"));
    let entry = shared.path().join("recorder.js");
    std::fs::write(&entry, RECORDER).unwrap();
    std::fs::write(
        shared.path().join("nano.toml"),
        format!(
            "takeover_secs = 3\n\n[[apps]]\nname = \"{app}\"\ntenant = \"{tenant}\"\nhostnames = [\"{app}.test\"]\n\
             entry = \"{}\"\ntriggers = {{ crons = [\"* * * * *\"] }}\n\
             bindings = {{ RUNS = {{ service = \"data\", domain = \"{db}\" }} }}\n",
            entry.display()
        ),
    )
    .unwrap();
    let a = start_node(shared.path(), &schema, &prefix, &tenant).await;
    let b = start_node(shared.path(), &schema, &prefix, &tenant).await;
    let http = client();
    let (s, _) = call(http.put(format!("{}/data/{db}", a.base))).await;
    assert_eq!(s, StatusCode::CREATED);
    // The dead node's claim: made at its minute, never started. (A minute less than 10 s away may already be
    // claimed by the live nodes: the next one is used then.)
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut minute = now / 60_000 * 60_000 + 60_000;
    if minute - now < 10_000 {
        minute += 60_000;
    }
    let target = nano::adapters::postgres::PgTarget::new(crate::support::pg_url(), Some(schema));
    let pool = nano::adapters::postgres::schedule_pool(&target)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO run_claims (host, app, cron, scheduled_ms, node, claimed_ms, claimer) \
         VALUES ($1, $2, '* * * * *', $3, 'dead-node', $3, 'dead')",
    )
    .bind(&tenant)
    .bind(&app)
    .bind(minute)
    .execute(&pool)
    .await
    .unwrap();
    let runs = || async {
        let (status, found) = call(
            client()
                .post(format!("{}/data/{db}/_query", b.base))
                .json(&json!({"selector": {}})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        let mut at: Vec<i64> = found["docs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["at"].as_i64().unwrap())
            .collect();
        at.sort();
        at
    };
    let mut seen = Vec::new();
    for _ in 0..200 {
        seen = runs().await;
        if seen.contains(&minute) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        seen.contains(&minute),
        "the dead node's run never ran: {seen:?}"
    );
    // Both nodes asked again after the takeover time: give the loser time to have run it too, had it won as well.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let seen = runs().await;
    let mut minutes = seen.clone();
    minutes.dedup();
    assert_eq!(seen, minutes, "a scheduled minute ran more than once");
    let (started, node): (Option<i64>, String) = sqlx::query_as(
        "SELECT started_ms, node FROM run_claims WHERE host = $1 AND scheduled_ms = $2",
    )
    .bind(&tenant)
    .bind(minute)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(started.is_some());
    assert_ne!(node, "dead-node", "the claim was taken over by a live node");
}

/// Node B takes writes of a tenant (documents, jobs, cache keys) as fast as it can while node A deletes the tenant:
/// once the deletion answered, and B's tenant cache expired, B refuses the tenant; nothing of it is left in the
/// shared database, and the tenant created again under the same name is empty.
#[tokio::test]
async fn a_tenant_deleted_on_one_node_while_another_takes_its_writes_leaves_nothing() {
    let shared = tempfile::tempdir().unwrap();
    let schema = fresh_name("mn").replace('-', "_");
    let prefix = fresh_name("nanotest");
    std::fs::write(
        shared.path().join("nano.toml"),
        "admin_token = \"race-admin\"\n",
    )
    .unwrap();
    let a = start_node(shared.path(), &schema, &prefix, &fresh_name("d")).await;
    let b = start_node(shared.path(), &schema, &prefix, &fresh_name("d")).await;
    let http = client();
    let admin = |req: reqwest::RequestBuilder| req.bearer_auth("race-admin");
    let t = fresh_name("t");
    let (s, body) =
        call(admin(http.post(format!("{}/admin/tenants", a.base))).json(&json!({"id": t}))).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (db, store, queue) = (fresh_name("db"), fresh_name("c"), fresh_name("q"));
    let on_b = |path: String| format!("{}/{t}/{path}", b.base);
    for (req, what) in [
        (http.put(on_b(format!("data/{db}"))), "database"),
        (http.put(on_b(format!("cache/{store}"))), "cache store"),
        (
            http.put(on_b(format!("queue/{queue}")))
                .json(&json!({"target": "http://127.0.0.1:9/never"})),
            "queue",
        ),
    ] {
        let (s, body) = call(req).await;
        assert_eq!(s, StatusCode::CREATED, "{what}: {body}");
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut hammers = Vec::new();
    for lane in 0..6 {
        let (stop, http) = (stop.clone(), http.clone());
        let url = match lane % 3 {
            0 => on_b(format!("data/{db}")),
            1 => on_b(format!("queue/{queue}")),
            _ => on_b(format!("cache/{store}")),
        };
        hammers.push(tokio::spawn(async move {
            let mut accepted = 0;
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let body = match lane % 3 {
                    0 => json!({"_id": format!("d{lane}-{n}"), "n": n}),
                    1 => json!({"n": n}),
                    _ => json!({"key": format!("k{lane}-{n}"), "value": n}),
                };
                if let Ok(res) = http.post(&url).json(&body).send().await {
                    if res.status().is_success() {
                        accepted += 1;
                    }
                }
            }
            accepted
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (s, body) = call(admin(http.delete(format!("{}/admin/tenants/{t}", a.base)))).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // B may serve the tenant from its cache for 2 s more; its writes must still not outlive the deletion.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (s, _) = call(
        http.post(on_b(format!("data/{db}")))
            .json(&json!({"late": true})),
    )
    .await;
    assert!(
        !s.is_success(),
        "B still takes the deleted tenant's writes: {s}"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut accepted = 0;
    for h in hammers {
        accepted += h.await.unwrap();
    }
    assert!(accepted > 0, "no write was accepted before the deletion");
    // Nothing of the tenant is left in the shared database (the test's superuser sees every tenant's rows).
    let target = nano::adapters::postgres::PgTarget::new(crate::support::pg_url(), Some(schema));
    let pool = nano::adapters::postgres::schedule_pool(&target)
        .await
        .unwrap();
    for table in [
        "data_databases",
        "data_docs",
        "queues",
        "queue_jobs",
        "queue_ids",
        "keys",
        "apps",
    ] {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table} WHERE host = $1"))
            .bind(&t)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} keeps {n} rows of the deleted tenant");
    }
    // Created again, through B: empty.
    let (s, body) =
        call(admin(http.post(format!("{}/admin/tenants", b.base))).json(&json!({"id": t}))).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for node in [&a, &b] {
        for path in [
            format!("data/{db}"),
            format!("cache/{store}"),
            format!("queue/{queue}?status=READY"),
        ] {
            let (s, body) = call(http.get(format!("{}/{t}/{path}", node.base))).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{path} of the new tenant: {body}");
        }
        let (s, body) = call(http.get(format!("{}/{t}/data", node.base))).await;
        assert!(s == StatusCode::OK || s == StatusCode::NOT_FOUND, "{body}");
    }
}

/// Nodes on one storage volume: a node starting (here, restarting) empties only its own upload folder, so an upload
/// in flight through another node completes, and every node serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_in_flight_survives_another_nodes_restart() {
    let shared = tempfile::tempdir().unwrap();
    let schema = fresh_name("mn").replace('-', "_");
    let prefix = fresh_name("nanotest");
    let tenant = fresh_name("t");
    let node = |name: &'static str| {
        let (shared, schema, prefix, tenant) = (
            shared.path().to_path_buf(),
            schema.clone(),
            prefix.clone(),
            tenant.clone(),
        );
        async move {
            start_node_with(
                &shared,
                &schema,
                &prefix,
                &tenant,
                &[("NANO_NODE_NAME", name)],
            )
            .await
        }
    };
    let a = node("node-a").await;
    let mut b = node("node-b").await;
    let http = client();
    let (s, _) = call(http.put(format!("{}/storage/docs", a.base))).await;
    assert_eq!(s, StatusCode::CREATED);
    let (tx, body) = crate::fed_body();
    let upload = tokio::spawn({
        let (http, url) = (http.clone(), format!("{}/storage/docs/big.bin", a.base));
        async move {
            let req = http
                .post(url)
                .header("content-type", "application/octet-stream");
            req.body(body).send().await.unwrap().status()
        }
    });
    tx.send(Ok(vec![7u8; 1 << 20])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.kill().await;
    let b = node("node-b").await;
    tx.send(Ok(vec![8u8; 1024])).await.unwrap();
    drop(tx);
    assert_eq!(upload.await.unwrap(), StatusCode::CREATED);
    let got = http
        .get(format!("{}/storage/docs/big.bin", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    let bytes = got.bytes().await.unwrap();
    assert_eq!(bytes.len(), (1 << 20) + 1024);
    assert_eq!((bytes[0], bytes[bytes.len() - 1]), (7, 8));
}
