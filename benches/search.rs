//! Search: bulk indexing rate and query latency over loopback HTTP against a release nano, on an index of
//! 100,000 short documents. Run: `cargo bench --bench search`.

mod common;

use common::{client, rss_kib, start_nano};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const DOCS: usize = 100_000;
/// Documents per `_bulk` request; `BENCH_BATCH=<n>` overrides it.
const BATCH: usize = 1_000;
const QUERIES_PER_KIND: usize = 300;
const WARMUP: usize = 100;
const TIME_BUDGET: Duration = Duration::from_secs(240);
const SYLLABLES: [&str; 20] = [
    "ka", "lo", "mi", "ra", "tu", "sen", "dor", "vel", "quin", "bar", "zel", "fo", "ni", "pra",
    "gus", "tal", "mer", "os", "lin", "che",
];

fn vocabulary(rng: &mut StdRng) -> Vec<String> {
    let mut words = std::collections::BTreeSet::new();
    while words.len() < 5_000 {
        let n = rng.gen_range(2..=3);
        let w: String = (0..n)
            .map(|_| SYLLABLES[rng.gen_range(0..SYLLABLES.len())])
            .collect();
        words.insert(w);
    }
    words.into_iter().collect()
}

/// A word, skewed towards the start of the vocabulary (a few frequent words, a long tail).
fn word<'a>(rng: &mut StdRng, vocab: &'a [String]) -> &'a str {
    let x: f64 = rng.gen();
    &vocab[((x * x) * vocab.len() as f64) as usize]
}

fn sentence(rng: &mut StdRng, vocab: &[String], n: usize) -> String {
    (0..n)
        .map(|_| word(rng, vocab))
        .collect::<Vec<_>>()
        .join(" ")
}

fn typo(rng: &mut StdRng, w: &str) -> String {
    let mut chars: Vec<char> = w.chars().collect();
    let i = rng.gen_range(1..chars.len());
    chars[i] = if chars[i] == 'x' { 'y' } else { 'x' };
    chars.into_iter().collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let deadline = Instant::now() + TIME_BUDGET;
    let dir = tempfile::tempdir().unwrap();
    let nano = start_nano(&dir.path().join("data")).await;
    let http = client();
    let index = format!("{}/search/bench", nano.base);
    let mapping =
        json!({"fields": ["title", "body"], "storeFields": ["title"], "boost": {"title": 2}});
    assert_eq!(
        http.put(&index)
            .json(&mapping)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let mut rng = StdRng::seed_from_u64(7);
    let vocab = vocabulary(&mut rng);

    let batch: usize = std::env::var("BENCH_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(BATCH);
    let started = Instant::now();
    let mut loaded = 0;
    while loaded < DOCS && Instant::now() < deadline {
        let docs: Vec<Value> = (loaded..(loaded + batch).min(DOCS))
            .map(|i| {
                json!({"id": format!("d{i}"), "title": sentence(&mut rng, &vocab, 3), "body": sentence(&mut rng, &vocab, 8)})
            })
            .collect();
        let res = http
            .post(format!("{index}/_bulk"))
            .json(&docs)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        loaded += docs.len();
    }
    let load_secs = started.elapsed().as_secs_f64();
    let rss_after_load = rss_kib(nano.pid);

    let kinds: [(&str, Option<usize>); 5] = [
        ("one word", Some(20)),
        ("two words", Some(20)),
        ("prefix (3 letters)", Some(20)),
        ("one typo (5+ letters)", Some(20)),
        ("one word, default limit (1000)", None),
    ];
    let mut rows = Vec::new();
    for (k, (kind, limit)) in kinds.iter().enumerate() {
        let mut latencies = Vec::new();
        let mut total_matches = 0usize;
        for n in 0..WARMUP + QUERIES_PER_KIND {
            if Instant::now() > deadline {
                break;
            }
            let text = match k {
                0 | 4 => word(&mut rng, &vocab).to_string(),
                1 => format!("{} {}", word(&mut rng, &vocab), word(&mut rng, &vocab)),
                2 => word(&mut rng, &vocab).chars().take(3).collect(),
                _ => loop {
                    let w = word(&mut rng, &vocab);
                    if w.len() >= 5 {
                        break typo(&mut rng, w);
                    }
                },
            };
            let mut body = json!({"query": text});
            if let Some(l) = limit {
                body["limit"] = json!(l);
            }
            let t = Instant::now();
            let res = http
                .post(format!("{index}/_query"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let v: Value = res.json().await.unwrap();
            let elapsed = t.elapsed().as_secs_f64() * 1000.0;
            if n >= WARMUP {
                latencies.push(elapsed);
                total_matches += v["matches"].as_array().map_or(0, |m| m.len());
            }
        }
        latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if latencies.is_empty() {
            continue;
        }
        rows.push(format!(
            "| {kind} | {} | {:.2} | {:.2} | {:.1} |",
            latencies.len(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            total_matches as f64 / latencies.len() as f64
        ));
    }

    println!("\nsearch: {loaded} short documents (3-word title, 8-word body) in batches of {batch}, release nano, loopback HTTP\n");
    println!("| bulk indexing | docs | seconds | docs/s | server RSS after |");
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| `_bulk`, commit per request | {loaded} | {load_secs:.1} | {:.0} | {:.1} MiB |",
        loaded as f64 / load_secs,
        rss_after_load as f64 / 1024.0
    );
    println!("\n| query (sequential, one client) | queries | median ms | p99 ms | matches/query |");
    println!("| --- | --- | --- | --- | --- |");
    for r in rows {
        println!("{r}");
    }
}
