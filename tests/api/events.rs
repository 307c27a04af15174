//! A queue targeting `app://<name>` feeds that app's `queue` handler, and cron triggers run its `scheduled`
//! handler (here through the admin route); both write through the app's cache binding, read back over HTTP. Two prod
//! nodes serving one app run each of its cron's scheduled minutes once between them.

use crate::support::{client, fresh_name, TestNano};
use nano::app::config::{BindingConfig, TriggersConfig};
use nano::app::AppConfig;
use nano::core::{Limits, ServiceKind};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const APP: &str = r#"export default {
  async fetch(req, env) {
    return Response.json(await env.SEEN.get(new URL(req.url).pathname.slice(1)));
  },
  async queue(batch, env, ctx) {
    for (const m of batch.messages) {
      if (m.body.fail) { m.retry(); continue; }
      await env.SEEN.set('job-' + m.body.n, { n: m.body.n, queue: batch.queue, attempts: m.attempts, id: m.id });
    }
  },
  async scheduled(event, env, ctx) {
    ctx.waitUntil(env.SEEN.set('cron', { cron: event.cron, type: event.type, at: event.scheduledTime }));
  },
};"#;

async fn call(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.unwrap();
    (res.status(), res.json().await.unwrap())
}

/// Polls the app for cache key `key` until it is there (30 s at most).
async fn wait_seen(nano: &TestNano, host: &str, key: &str) -> Value {
    for _ in 0..600 {
        let (_, b) = call(
            client()
                .get(nano.url(&format!("/{key}")))
                .header("host", host),
        )
        .await;
        if b["ok"] == true {
            return b["doc"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{key} never written by the app");
}

#[tokio::test]
async fn queue_jobs_reach_the_apps_queue_handler_and_crons_run_scheduled() {
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("index.js"), APP).unwrap();
    let entry = files.path().join("index.js");
    let (acme, other) = (fresh_name("acme"), fresh_name("other"));
    let app = fresh_name("consumer");
    let (a, o, name) = (acme.clone(), other.clone(), app.clone());
    let nano = TestNano::start_with(move |c| {
        c.tenants = vec![a.clone(), o];
        c.apps.push(AppConfig {
            name: name.clone(),
            tenant: a,
            hostnames: vec![format!("{name}.test")],
            entry,
            env: Default::default(),
            limits: Limits::default(),
            engine: None,
            triggers: TriggersConfig {
                crons: vec!["0 0 1 1 *".into()],
                ..Default::default()
            },
            bindings: [(
                "SEEN".to_string(),
                BindingConfig {
                    service: ServiceKind::Cache,
                    domain: "seen".into(),
                },
            )]
            .into(),
            outbound: Default::default(),
        });
    })
    .await;
    let http = client();
    let host = format!("{app}.test");
    let (status, _) = call(http.put(nano.url(&format!("/{acme}/cache/seen")))).await;
    assert_eq!(status, StatusCode::CREATED);
    let queue = nano.url(&format!("/{acme}/queue/jobs"));
    let (status, b) = call(http.put(&queue).json(&json!({
        "target": format!("app://{app}"), "maxAttempts": 2, "backoffMs": 10,
    })))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let (status, b) = call(
        http.put(nano.url(&format!("/{acme}/queue/bad")))
            .json(&json!({"target": "app://Not An App"})),
    )
    .await;
    assert_eq!(
        (status, b["msg"].clone()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("Invalid Arguments 'target': Invalid url.")
        )
    );
    let mut ids = Vec::new();
    for job in [json!({"n": 1}), json!({"n": 2}), json!({"fail": true})] {
        let (status, b) = call(http.post(&queue).json(&job)).await;
        assert_eq!(status, StatusCode::CREATED);
        ids.push(b["id"].as_i64().unwrap());
    }
    let one = wait_seen(&nano, &host, "job-1").await;
    assert_eq!(
        one,
        json!({"n": 1, "queue": "jobs", "attempts": 1, "id": ids[0].to_string()})
    );
    assert_eq!(wait_seen(&nano, &host, "job-2").await["n"], 2);
    // The retried job follows the queue's rules: attempted twice, then ERROR; the acknowledged ones are gone.
    let mut errors = Vec::new();
    for _ in 0..600 {
        let (_, b) = call(http.get(format!("{queue}?status=ERROR"))).await;
        errors = b["jobs"].as_array().cloned().unwrap_or_default();
        if !errors.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["id"], ids[2]);
    assert_eq!(errors[0]["attempts"], 2);
    assert!(
        errors[0]["lastError"].as_str().unwrap().contains("retried"),
        "{}",
        errors[0]
    );
    let (_, b) = call(http.get(format!("{queue}?status=READY"))).await;
    assert_eq!(b["jobs"], json!([]));

    // A queue of another tenant cannot target this app: its jobs fail with an error naming the app.
    let foreign = nano.url(&format!("/{other}/queue/steal"));
    call(
        http.put(&foreign)
            .json(&json!({"target": format!("app://{app}"), "maxAttempts": 1})),
    )
    .await;
    call(http.post(&foreign).json(&json!({"n": 99}))).await;
    let mut errors = Vec::new();
    for _ in 0..600 {
        let (_, b) = call(http.get(format!("{foreign}?status=ERROR"))).await;
        errors = b["jobs"].as_array().cloned().unwrap_or_default();
        if !errors.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let msg = errors[0]["lastError"].as_str().unwrap();
    assert!(
        msg.contains(&format!("app {app} is not a hosted app of tenant {other}")),
        "{msg}"
    );
    let (_, b) = call(http.get(nano.url("/job-99")).header("host", &host)).await;
    assert_eq!(b["ok"], false);

    // The admin route runs `scheduled` now, with the app's first cron or the one asked for.
    let route = nano.url(&format!("/admin/apps/{app}/scheduled"));
    let (status, b) = call(http.post(&route)).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["scheduled"]["cron"], "0 0 1 1 *");
    assert_eq!(b["scheduled"]["app"], app.as_str());
    let cron = wait_seen(&nano, &host, "cron").await;
    assert_eq!(
        (cron["cron"].clone(), cron["type"].clone()),
        (json!("0 0 1 1 *"), json!("scheduled"))
    );
    assert_eq!(cron["at"], b["scheduled"]["scheduledTime"]);
    let (status, b) = call(http.post(format!("{route}?cron=*/5+*+*+*+*"))).await;
    assert_eq!(
        (status, b["scheduled"]["cron"].clone()),
        (StatusCode::OK, json!("*/5 * * * *"))
    );
    let (status, b) = call(http.post(format!("{route}?cron=61+*+*+*+*"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(b["msg"].as_str().unwrap().contains("minute field"), "{b}");
    let (status, _) = call(http.post(nano.url("/admin/apps/no-such-app/scheduled"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    nano.stop().await;
}

const RECORDER: &str = r#"export default {
  async fetch() { return new Response('ok'); },
  async scheduled(event, env) {
    await env.RUNS.add({ _id: event.scheduledTime + '-' + Math.random().toString(36).slice(2), at: event.scheduledTime });
  },
};"#;

/// Two prod nodes on one PostgreSQL schema serve the same app with an every-minute cron: each scheduled minute is
/// run once for the pair (each run adds a document of its own to a shared database). Waits for the next minute, so
/// it takes up to about 65 s.
#[tokio::test]
async fn two_prod_nodes_run_each_scheduled_minute_once() {
    let files = tempfile::tempdir().unwrap();
    let entry = files.path().join("index.js");
    std::fs::write(&entry, RECORDER).unwrap();
    let schema = fresh_name("nt").replace('-', "_");
    let prefix = fresh_name("np");
    let (tenant, app, db) = (fresh_name("t"), fresh_name("cron"), fresh_name("runs"));
    let configure = |node: &'static str| {
        let (tenant, app, db, entry) = (tenant.clone(), app.clone(), db.clone(), entry.clone());
        move |c: &mut nano::app::Config| {
            c.auth = false;
            c.node_name = Some(node.into());
            c.default_tenant = Some(tenant.clone());
            c.apps.push(AppConfig {
                name: app.clone(),
                tenant,
                hostnames: vec![format!("{app}.test")],
                entry,
                env: Default::default(),
                limits: Limits::default(),
                engine: None,
                triggers: TriggersConfig {
                    crons: vec!["* * * * *".into()],
                    ..Default::default()
                },
                bindings: [(
                    "RUNS".to_string(),
                    BindingConfig {
                        service: ServiceKind::Data,
                        domain: db,
                    },
                )]
                .into(),
                outbound: Default::default(),
            });
        }
    };
    let a = TestNano::start_prod_on(&schema, &prefix, configure("a")).await;
    let b = TestNano::start_prod_on(&schema, &prefix, configure("b")).await;
    let http = client();
    let (status, _) = call(http.put(a.url(&format!("/data/{db}")))).await;
    assert_eq!(status, StatusCode::CREATED);
    let runs = || async {
        let (status, found) = call(
            client()
                .post(b.url(&format!("/data/{db}/_query")))
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
    for _ in 0..150 {
        seen = runs().await;
        if !seen.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(!seen.is_empty(), "no scheduled run within 75 s");
    // Both nodes tick every second: give the second one time to have fired too, had it not lost the claim.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen = runs().await;
    let mut minutes = seen.clone();
    minutes.dedup();
    assert_eq!(seen, minutes, "a scheduled minute ran more than once");
    assert!(minutes.iter().all(|m| m % 60_000 == 0), "{minutes:?}");
    a.stop().await;
    b.stop().await;
}
