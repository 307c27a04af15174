//! The queue service over HTTP: hyper's `/queue` routes and, end to end with a real receiver on loopback, signed
//! at-least-once delivery with retries, ERROR after the last attempt, isolation of slow targets and of tenants,
//! and delivery across a kill -9 and restart of the real `nano` binary.

use crate::lifecycle::{free_port, send_signal, wait_until_up};
use crate::receiver::{numbers, verify, Answer, Receiver};
use crate::support::{client, fresh_name, nano_bin, TestNano};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

async fn call(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.unwrap();
    let status = res.status();
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    (status, res.json().await.unwrap())
}

/// Polls `GET <queue>?status=<status>` until `done` holds for its jobs (60 s at most).
async fn wait_jobs(url: &str, status: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let http = client();
    for _ in 0..1200 {
        let (_, b) = call(http.get(format!("{url}?status={status}"))).await;
        let jobs = b["jobs"].as_array().cloned().unwrap_or_default();
        if done(&jobs) {
            return jobs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{status} jobs of {url} never reached the expected state");
}

#[tokio::test]
async fn queues_are_created_listed_and_deleted() {
    let nano = TestNano::start().await;
    let http = client();
    let name = fresh_name("q");
    let url = nano.url(&format!("/queue/{name}"));
    let target = json!({"target": "http://127.0.0.1:9/hook"});
    let (status, b) = call(
        http.put(nano.url(&format!("/queue/{}", name.to_uppercase())))
            .json(&target),
    )
    .await;
    assert_eq!(
        (status, b),
        (StatusCode::CREATED, json!({"ok": true})),
        "create lower-cases"
    );
    let (status, b) = call(http.put(&url).json(&target)).await;
    assert_eq!(
        (status, b),
        (
            StatusCode::CONFLICT,
            json!({"ok": false, "status": 409, "msg": "queue already exists"})
        )
    );
    let (status, b) = call(http.get(nano.url("/queue"))).await;
    assert_eq!(
        (status, b),
        (
            StatusCode::OK,
            json!({"name": "queue", "version": "0.0.4", "queues": [name]})
        )
    );
    for (body, msg) in [
        (json!({}), "Invalid Arguments 'target': Required."),
        (
            json!({"target": "not a url"}),
            "Invalid Arguments 'target': Invalid url.",
        ),
        (
            json!({"target": 5}),
            "Invalid Arguments 'target': Expected string, received number.",
        ),
        (
            json!({"target": "http://x/", "secret": "s".repeat(101)}),
            "Invalid Arguments 'secret': String must contain at most 100 character(s).",
        ),
        (
            json!({"target": "http://x/", "maxAttempts": 0}),
            "Invalid Arguments 'maxAttempts': Expected an integer from 1 to 100.",
        ),
    ] {
        let (status, b) = call(
            http.put(nano.url(&format!("/queue/{}", fresh_name("q"))))
                .json(&body),
        )
        .await;
        assert_eq!(
            (status, b["msg"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!(msg)),
            "{body}"
        );
    }
    let (status, b) = call(http.put(nano.url("/queue/bad.name")).json(&target)).await;
    assert_eq!(
        (status, b["msg"].clone()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("queue name is not valid!")
        )
    );
    let (status, b) = call(http.delete(&url)).await;
    assert_eq!((status, b), (StatusCode::CREATED, json!({"ok": true})));
    let (status, b) = call(http.delete(&url)).await;
    assert_eq!(
        (status, b),
        (
            StatusCode::NOT_FOUND,
            json!({"ok": false, "status": 404, "msg": "queue not found"})
        )
    );
    nano.stop().await;
}

#[tokio::test]
async fn jobs_are_enqueued_listed_cancelled_and_retried() {
    let nano = TestNano::start().await;
    let http = client();
    let url = nano.url(&format!("/queue/{}", fresh_name("q")));
    // A dead target and a long backoff: jobs fail once and then wait, READY, for a day.
    let dead = format!("http://127.0.0.1:{}/hook", free_port());
    http.put(&url)
        .json(&json!({"target": dead, "maxAttempts": 100, "backoffMs": 86_400_000}))
        .send()
        .await
        .unwrap();
    let (status, b) = call(http.post(&url).json(&json!({"n": 1, "msg": "hello"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(b["ok"], true);
    let id = b["id"].as_i64().expect("integer id");
    let (_, b2) = call(http.post(&url).json(&json!({"n": 2}))).await;
    let id2 = b2["id"].as_i64().unwrap();
    assert!(id2 > id);
    let (status, b) = call(http.post(&url).json(&json!([1, 2]))).await;
    assert_eq!(
        (status, b["msg"].clone()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("Invalid Arguments 'job': Expected object, received array.")
        )
    );

    let jobs = wait_jobs(&url, "READY", |jobs| {
        jobs.len() == 2 && jobs.iter().all(|j| j["attempts"] == 1)
    })
    .await;
    assert_eq!(jobs[0]["id"], id);
    assert_eq!(jobs[0]["job"], json!({"n": 1, "msg": "hello"}));
    assert_eq!(jobs[0]["status"], "READY");
    assert!(
        jobs[0]["queue"].is_string() && jobs[0]["timestmp"].is_i64(),
        "{}",
        jobs[0]
    );
    assert!(
        jobs[0]["lastError"]
            .as_str()
            .unwrap()
            .contains("request failed"),
        "{}",
        jobs[0]
    );
    let (status, b) = call(http.get(format!("{url}/{id}"))).await;
    assert_eq!(
        (status, b["job"]["id"].clone()),
        (StatusCode::OK, json!(id))
    );

    for query in ["", "?status=DONE", "?status=ready"] {
        let (status, b) = call(http.get(format!("{url}{query}"))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(
            b["msg"]
                .as_str()
                .unwrap()
                .starts_with("Invalid Arguments 'status'"),
            "{b}"
        );
    }
    let (status, b) = call(http.get(format!("{url}?status=ERROR"))).await;
    assert_eq!(
        (status, b),
        (StatusCode::OK, json!({"ok": true, "jobs": []}))
    );

    // Cancel really removes the job.
    let (status, b) = call(http.post(format!("{url}/{id}/_cancel"))).await;
    assert_eq!((status, b), (StatusCode::CREATED, json!({"ok": true})));
    let (status, b) = call(http.post(format!("{url}/{id}/_cancel"))).await;
    assert_eq!(
        (status, b["msg"].clone()),
        (StatusCode::NOT_FOUND, json!("job not found"))
    );
    let (status, _) = call(http.get(format!("{url}/{id}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, b) = call(http.get(format!("{url}?status=READY"))).await;
    assert_eq!(b["jobs"].as_array().unwrap().len(), 1);
    let (status, b) = call(http.post(format!("{url}/{id2}/_retry"))).await;
    assert_eq!((status, b), (StatusCode::CREATED, json!({"ok": true})));
    let (status, _) = call(http.post(format!("{url}/999999/_retry"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let missing = nano.url(&format!("/queue/{}", fresh_name("q")));
    for req in [
        http.post(&missing).json(&json!({})),
        http.get(format!("{missing}?status=READY")),
        http.post(format!("{missing}/1/_cancel")),
    ] {
        let (status, b) = call(req).await;
        assert_eq!(
            (status, b["msg"].clone()),
            (StatusCode::NOT_FOUND, json!("queue not found"))
        );
    }
    nano.stop().await;
}

#[tokio::test]
async fn deliveries_are_signed_retried_and_at_least_once() {
    // Odd jobs fail twice (500) before they are accepted; job 13 always fails (it ends in ERROR).
    let receiver = Receiver::start(|hit, seen| {
        let n = hit.json()["n"].as_i64().unwrap_or(0);
        match n {
            13 => Answer::Status(503),
            n if n % 2 == 1 && seen < 2 => Answer::Status(500),
            _ => Answer::Status(204),
        }
    })
    .await;
    let nano = TestNano::start().await;
    let http = client();
    let url = nano.url(&format!("/queue/{}", fresh_name("q")));
    let secret = "s3cret-key";
    let (status, _) = call(http.put(&url).json(&json!({
        "target": receiver.url, "secret": secret, "maxAttempts": 3, "backoffMs": 20, "concurrency": 4
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let before = chrono_ms();
    // Bodies with what JSON.stringify writes differently from naive serializers: 1.0, key order, unicode.
    for n in 0..20 {
        let body = format!(r#"{{ "n": {n}, "x": 1.0, "2": "two", "1": "één\u0001" }}"#);
        let (status, b) = call(
            http.post(&url)
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{b}");
    }
    let want: std::collections::BTreeSet<i64> = (0..20).filter(|n| *n != 13).collect();
    let hits = receiver
        .wait_for("every job accepted", |hits| {
            let accepted: Vec<_> = hits
                .iter()
                .filter(|h| {
                    let n = h.json()["n"].as_i64().unwrap();
                    n != 13 && (n % 2 == 0 || hits.iter().filter(|x| x.body == h.body).count() >= 3)
                })
                .cloned()
                .collect();
            numbers(&accepted) == want
        })
        .await;
    for hit in &hits {
        assert_eq!(hit.content_type.as_deref(), Some("application/json"));
        assert_eq!(hit.path, "/hook");
        let t = verify(hit, secret).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            t >= before - 1_000 && t <= chrono_ms(),
            "t={t} is the enqueue time"
        );
        assert!(
            hit.body.starts_with(br#"{"1":"#),
            "JS key order: {}",
            String::from_utf8_lossy(&hit.body)
        );
    }
    // Every delivery of one job carries the same t (taken at enqueue), and retries really happened.
    let odd: Vec<_> = hits.iter().filter(|h| h.json()["n"] == 1).collect();
    assert!(odd.len() >= 3, "job 1 was retried");
    assert!(odd.iter().all(|h| h.signature == odd[0].signature));
    // Job 13 ends in ERROR after 3 attempts, with the last status and error kept; READY empties.
    let errors = wait_jobs(&url, "ERROR", |jobs| jobs.len() == 1).await;
    assert_eq!(errors[0]["job"]["n"], 13);
    assert_eq!(errors[0]["attempts"], 3);
    assert_eq!(errors[0]["lastStatus"], 503);
    assert!(
        errors[0]["lastError"].as_str().unwrap().contains("503"),
        "{}",
        errors[0]
    );
    assert_eq!(hits.iter().filter(|h| h.json()["n"] == 13).count(), 3);
    wait_jobs(&url, "READY", |jobs| jobs.is_empty()).await;
    // Retrying the ERROR job once the target accepts it delivers it.
    receiver.answer_with(|_, _| Answer::Status(200));
    let id = errors[0]["id"].as_i64().unwrap();
    let (status, _) = call(http.post(format!("{url}/{id}/_retry"))).await;
    assert_eq!(status, StatusCode::CREATED);
    wait_jobs(&url, "ERROR", |jobs| jobs.is_empty()).await;
    receiver
        .wait_for("job 13 delivered after retry", |hits| {
            hits.iter().filter(|h| h.json()["n"] == 13).count() >= 4
        })
        .await;
    nano.stop().await;
}

#[tokio::test]
async fn a_hanging_target_does_not_hold_up_other_queues_or_tenants() {
    let hanging = Receiver::start(|_, _| Answer::Hang).await;
    let good = Receiver::accepting().await;
    let (t1, t2) = (fresh_name("t"), fresh_name("t"));
    let tenants = vec![t1.clone(), t2.clone()];
    let nano = TestNano::start_with(|c| c.tenants = tenants).await;
    let http = client();
    let name = fresh_name("q");
    let slow = nano.url(&format!("/{t1}/queue/{name}"));
    let other_queue = nano.url(&format!("/{t1}/queue/{}", fresh_name("q")));
    let other_tenant = nano.url(&format!("/{t2}/queue/{name}"));
    http.put(&slow)
        .json(&json!({"target": hanging.url}))
        .send()
        .await
        .unwrap();
    http.put(&other_queue)
        .json(&json!({"target": good.url}))
        .send()
        .await
        .unwrap();
    http.put(&other_tenant)
        .json(&json!({"target": good.url}))
        .send()
        .await
        .unwrap();
    for n in 0..50 {
        http.post(&slow)
            .json(&json!({"n": 1000 + n}))
            .send()
            .await
            .unwrap();
    }
    hanging
        .wait_for("the slow queue's first deliveries", |h| !h.is_empty())
        .await;
    for n in 0..10 {
        http.post(&other_queue)
            .json(&json!({"n": n}))
            .send()
            .await
            .unwrap();
        http.post(&other_tenant)
            .json(&json!({"n": 100 + n}))
            .send()
            .await
            .unwrap();
    }
    let want: std::collections::BTreeSet<i64> = (0..10).chain(100..110).collect();
    good.wait_for("the other queue's and tenant's jobs", |h| {
        numbers(h) == want
    })
    .await;
    // The hanging queue has at most its concurrency (8 by default) in flight.
    assert!(hanging.hits().len() <= 8, "{}", hanging.hits().len());
    nano.stop().await;
}

#[tokio::test]
async fn tenants_do_not_see_each_others_queues_or_jobs() {
    let (a, b) = (fresh_name("t"), fresh_name("t"));
    let tenants = vec![a.clone(), b.clone()];
    let nano = TestNano::start_with(|c| c.tenants = tenants).await;
    let http = client();
    let name = fresh_name("q");
    let dead = format!("http://127.0.0.1:{}/", free_port());
    let url = |t: &str| nano.url(&format!("/{t}/queue/{name}"));
    http.put(url(&a))
        .json(&json!({"target": dead, "backoffMs": 86_400_000}))
        .send()
        .await
        .unwrap();
    let (status, _) = call(http.post(url(&b)).json(&json!({"n": 1}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    http.put(url(&b))
        .json(&json!({"target": dead}))
        .send()
        .await
        .unwrap();
    let (_, job) = call(http.post(url(&a)).json(&json!({"n": 1}))).await;
    let id = job["id"].as_i64().unwrap();
    let (_, listed) = call(http.get(format!("{}?status=READY", url(&b)))).await;
    assert_eq!(listed["jobs"], json!([]));
    let (status, _) = call(http.post(format!("{}/{id}/_cancel", url(&b)))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    call(http.delete(url(&b))).await;
    let (status, _) = call(http.get(format!("{}/{id}", url(&a)))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, queues) = call(http.get(nano.url(&format!("/{b}/queue")))).await;
    assert_eq!(queues["queues"], json!([]));
    nano.stop().await;
}

fn chrono_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn spawn_nano(bin: &std::path::Path, port: u16, data: &std::path::Path) -> tokio::process::Child {
    tokio::process::Command::new(bin)
        .args([
            "run",
            "--profile",
            "dev",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data)
        .current_dir(data.parent().unwrap())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Waits for the nano on `port` and checks it is the one serving `data` with a queue service: `GET /queue` lists
/// `queues` (a port reused by another test, or a binary built without the queue, would fail here).
async fn wait_for_nano(port: u16, child: &mut tokio::process::Child, queues: &[&str]) -> String {
    let base = format!("http://127.0.0.1:{port}");
    wait_until_up(&format!("{base}/healthz")).await;
    assert!(child.try_wait().unwrap().is_none(), "nano exited at start");
    let (status, listed) = call(client().get(format!("{base}/queue"))).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{} serves no queue: {listed}",
        nano_bin().display()
    );
    assert_eq!(
        listed["queues"],
        json!(queues),
        "another nano answers on {port}"
    );
    base
}

#[tokio::test]
async fn ready_jobs_survive_kill_9_and_are_delivered_after_restart() {
    // The target first hangs, so jobs are in flight (claimed) when nano is killed.
    let receiver = Receiver::start(|_, _| Answer::Hang).await;
    let secret = "restart-secret";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // One copy of the binary for both runs, so a rebuild meanwhile cannot swap it.
    let bin = dir.path().join("nano");
    std::fs::copy(nano_bin(), &bin).unwrap();
    let port = free_port();
    let mut nano = spawn_nano(&bin, port, &data);
    let base = wait_for_nano(port, &mut nano, &[]).await;
    let http = client();
    let url = format!("{base}/queue/jobs");
    let (status, b) = call(http.put(&url).json(&json!({
        "target": receiver.url, "secret": secret, "concurrency": 4, "backoffMs": 50
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    for n in 0..20 {
        let (status, _) = call(http.post(&url).json(&json!({"n": n}))).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    receiver
        .wait_for("deliveries in flight", |h| h.len() >= 4)
        .await;
    assert_eq!(send_signal(nano.id().unwrap() as i32, "KILL"), 0);
    let _ = nano.wait().await;
    assert!(
        numbers(&receiver.hits()).len() <= 4,
        "nothing was acknowledged before the kill"
    );

    receiver.answer_with(|_, _| Answer::Status(200));
    let port = free_port();
    let mut nano = spawn_nano(&bin, port, &data);
    let base = wait_for_nano(port, &mut nano, &["jobs"]).await;
    let url = format!("{base}/queue/jobs");
    let want: std::collections::BTreeSet<i64> = (0..20).collect();
    let hits = receiver
        .wait_for("all 20 jobs after the restart", |h| numbers(h) == want)
        .await;
    for hit in &hits {
        verify(hit, secret).unwrap_or_else(|e| panic!("{e}"));
    }
    wait_jobs(&url, "READY", |jobs| jobs.is_empty()).await;
    let _ = nano.kill().await;
}

/// A job no node was told of (written to the shared store by another node, which then died) is found and delivered
/// by a running node within its registry rescan, without any enqueue through it.
#[tokio::test]
async fn a_job_no_node_was_told_of_is_delivered_by_a_running_node() {
    use nano::adapters::sql::SqlQueue;
    use nano::ports::{QueueConfig, QueueStore};
    let schema = fresh_name("nt").replace('-', "_");
    let prefix = fresh_name("np");
    let tenant = fresh_name("t");
    let receiver = Receiver::accepting().await;
    let t = tenant.clone();
    let node = TestNano::start_prod_on(&schema, &prefix, move |c| {
        c.tenants = vec![t];
        c.outbound.private_networks = true;
    })
    .await;
    // Let the node's first sweep find nothing pending for the tenant and stop watching it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Another node's store on the same schema: it writes the queue and the job, and nothing tells this node.
    let target = nano::adapters::postgres::PgTarget::new(crate::support::pg_url(), Some(schema));
    let (pool, confine) = nano::adapters::postgres::queue_tables(&target)
        .await
        .unwrap();
    let other = SqlQueue::postgres(pool, confine, Duration::from_secs(15))
        .await
        .unwrap();
    let scope = nano::core::TenantScope::resolved(nano::core::TenantId::parse(&tenant).unwrap());
    let name = nano::core::DomainName::parse("jobs").unwrap();
    other
        .create_queue(&scope, &name, &QueueConfig::new(receiver.url.clone(), None))
        .await
        .unwrap();
    other
        .enqueue(
            &scope,
            &name,
            bytes::Bytes::from_static(b"{\"n\":7}"),
            chrono_ms(),
        )
        .await
        .unwrap();
    let hits = receiver
        .wait_for("the job no node was told of", |hits| !hits.is_empty())
        .await;
    assert_eq!(hits[0].json(), json!({"n": 7}));
    drop(other);
    node.stop().await;
}
