//! Data service benchmark: documents/second for `POST` and `_bulk` over loopback HTTP against nano started in this
//! process, and `_query` latency (median, p99) on 100,000 documents with and without an index.
//! Run with `cargo bench --bench data`; it is bounded in count and time and prints a markdown table.

use nano::app::{self, Config, Profile};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const DOCS: usize = 100_000;
const BULK_BATCH: usize = 1_000;
const POSTS: usize = 5_000;
const POST_CONCURRENCY: usize = 16;
const QUERY_TIME_BUDGET: Duration = Duration::from_secs(15);

fn doc(i: usize) -> Value {
    json!({
        "_id": format!("d{i:06}"),
        "type": if i.is_multiple_of(2) { "even" } else { "odd" },
        "n": i,
        "title": format!("title {i:06}"),
        "tags": ["bench", format!("t{}", i % 10)],
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Runs `make(i)` queries until `max` ran or the time budget is spent; returns (runs, median, p99).
async fn latencies(
    http: &reqwest::Client,
    url: &str,
    max: usize,
    make: impl Fn(usize) -> Value,
) -> (usize, Duration, Duration) {
    let started = Instant::now();
    let mut samples = Vec::new();
    for i in 0..max {
        if started.elapsed() > QUERY_TIME_BUDGET && samples.len() >= 5 {
            break;
        }
        let body = make(i);
        let t = Instant::now();
        let res = http.post(url).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.unwrap();
        samples.push(t.elapsed());
        assert!(v["docs"].is_array(), "{v}");
    }
    samples.sort();
    (
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
    )
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults(Profile::Dev);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.data_dir = dir.path().to_path_buf();
    config.log_level = "warn".into();
    let running = app::start(config).await.expect("nano starts");
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut rows: Vec<(String, String)> = Vec::new();

    // POST: single documents, POST_CONCURRENCY in flight.
    assert_eq!(
        http.put(format!("{base}/data/posts"))
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..POST_CONCURRENCY {
        let (http, url) = (http.clone(), format!("{base}/data/posts"));
        tasks.push(tokio::spawn(async move {
            for i in (w..POSTS).step_by(POST_CONCURRENCY) {
                let res = http.post(&url).json(&doc(i)).send().await.unwrap();
                assert_eq!(res.status(), 201);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    rows.push((
        format!("POST /data/:db ({POSTS} docs, {POST_CONCURRENCY} concurrent)"),
        format!("{:.0} docs/s", POSTS as f64 / secs),
    ));

    // _bulk: 100,000 documents in batches, one request at a time.
    assert_eq!(
        http.put(format!("{base}/data/big"))
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let started = Instant::now();
    for start in (0..DOCS).step_by(BULK_BATCH) {
        let batch: Vec<Value> = (start..start + BULK_BATCH).map(doc).collect();
        let res = http
            .post(format!("{base}/data/big/_bulk"))
            .json(&batch)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let secs = started.elapsed().as_secs_f64();
    rows.push((
        format!("POST /data/:db/_bulk ({DOCS} docs, batches of {BULK_BATCH})"),
        format!("{:.0} docs/s", DOCS as f64 / secs),
    ));

    let query_url = format!("{base}/data/big/_query");
    let eq = |i: usize| json!({ "selector": { "n": (i * 7919) % DOCS } });
    let range = |i: usize| {
        json!({ "selector": { "title": { "$gte": format!("title {:06}", (i * 7919) % DOCS) } },
                "sort": [{ "title": "ASC" }], "limit": 25 })
    };
    let (runs, med, p99) = latencies(&http, &query_url, 200, eq).await;
    rows.push((
        format!("_query n = X, no index ({runs} runs)"),
        format!("median {}, p99 {}", ms(med), ms(p99)),
    ));
    let (runs, med, p99) = latencies(&http, &query_url, 200, range).await;
    rows.push((
        format!("_query title >= X sort title limit 25, no index ({runs} runs)"),
        format!("median {}, p99 {}", ms(med), ms(p99)),
    ));

    let started = Instant::now();
    for (name, field) in [("by-n", "n"), ("by-title", "title")] {
        let res = http
            .post(format!("{base}/data/big/_index"))
            .json(&json!({ "name": name, "fields": [field] }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    rows.push((
        "_index on n and title (100,000 docs)".into(),
        ms(started.elapsed()),
    ));
    let (runs, med, p99) = latencies(&http, &query_url, 2000, eq).await;
    rows.push((
        format!("_query n = X, indexed ({runs} runs)"),
        format!("median {}, p99 {}", ms(med), ms(p99)),
    ));
    let (runs, med, p99) = latencies(&http, &query_url, 2000, range).await;
    rows.push((
        format!("_query title >= X sort title limit 25, indexed ({runs} runs)"),
        format!("median {}, p99 {}", ms(med), ms(p99)),
    ));

    println!("\n| data benchmark | result |\n| --- | --- |");
    for (what, result) in rows {
        println!("| {what} | {result} |");
    }
    running.stop().await;
}
